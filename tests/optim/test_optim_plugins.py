"""Methods registered by a package's ``droiz.methods`` entry point, and "did you mean" errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import droiz_plugin_example  # noqa: F401  (registers "worst-ucb")
import pytest
import torch

from droiz import RobustBO
from droiz.exceptions import ConfigError, UnknownNameError
from droiz.optim import METHODS, Method, register_method
from droiz.surrogate import KERNELS

PLUGIN = """
from droiz.optim import register_method
from droiz.optim.methods import ucb

register_method("ep-ucb", final_pick="nominal")(ucb)
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package installed the way pip does: a module and a dist-info with an entry point."""
    (tmp_path / "droiz_ep_plugin.py").write_text(PLUGIN)
    info = tmp_path / "droiz_ep_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: droiz-ep-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[droiz.methods]\nep-ucb = droiz_ep_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with METHODS.scoped():
        monkeypatch.setattr(METHODS, "_loaded", False)  # entry points load once per process
        yield "ep-ucb"
    sys.modules.pop("droiz_ep_plugin", None)


def test_an_entry_point_makes_its_method_available(installed_plugin: str) -> None:
    bo = RobustBO(dim=2, n_groups=2, method=installed_plugin, budget=8, n_init=4, batch_size=4)
    p = bo.ask()
    bo.tell(p, torch.full((4, 2), 0.5, dtype=torch.float64))
    assert bo.ask().round == 1 and installed_plugin in METHODS.names()


def test_a_broken_entry_point_is_reported_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "droiz_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: droiz-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[droiz.methods]\nbroken = droiz_missing_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(METHODS, "_loaded", False)
    with pytest.raises(ConfigError, match="entry point 'broken'"):
        METHODS.get("nope")


def test_unknown_names_suggest_the_closest_and_registration_checks_its_parts() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'hybrid'"):
        RobustBO(method="hybird")
    with pytest.raises(UnknownNameError, match="did you mean 'coupled-scores'"):
        RobustBO(kernel="coupled-score")
    with pytest.raises(UnknownNameError, match="did you mean 'adversarial'"):
        RobustBO(group_selection="adversarail")
    with pytest.raises(UnknownNameError, match="selection 'robst'; did you mean 'robust'"):
        Method("bad", None, final_pick="robst")
    with pytest.raises(ValueError, match="already registered"):
        register_method("dro")(lambda model, ctx: None)
    assert {"matern", "coupled-scores", "coupled-semantic"} <= set(KERNELS.names())


def test_a_plugin_robust_acquisition_reports_its_adversary_weights() -> None:
    small = {"cma_starts": 2, "cma_popsize": 6, "cma_generations": 2}
    bo = RobustBO(2, 3, "worst-ucb", budget=8, n_init=4, batch_size=4, **small)
    p = bo.ask()
    assert bo.last_acquisition_weights is None  # the initial design has no adversary
    y = torch.stack([p.z[:, 0], p.z[:, 1], p.z.sum(-1)], dim=-1).to(torch.float64)
    bo.tell(p, y)
    p = bo.ask()
    weights = bo.last_acquisition_weights
    assert weights is not None and weights.shape == (len(p), 3)
    # all weight on the weakest group, as WorstGroupUCB.adversary_weights says
    assert torch.equal(weights.sum(-1), torch.ones(len(p), dtype=torch.float64))
    assert set(weights.flatten().tolist()) <= {0.0, 1.0}


PRESETS = {  # method: acquisition, reference update, final pick
    "dro": ("robust-ucb", "ema", "robust"),
    "hybrid": ("hybrid", "ema", "robust"),
    "ei": ("ei", "fixed", "nominal"),
    "ucb": ("ucb", "fixed", "nominal"),
    "ucb-sum": ("ucb-sum", "ema", "robust"),
    "random": ("none", "fixed", "observed-nominal"),
    "dro-nobo": ("none", "ema", "observed-robust"),
}


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("rule", ["reference", "adversarial"])
def test_each_builtin_method_is_a_preset_of_the_axes(name: str, rule: str) -> None:
    acquisition, update, pick = PRESETS[name]
    spec = METHODS.get(name)
    expected = {
        "acquisition": acquisition,
        "group_rule": "reference" if spec.model_free else rule,
        "reference_update": update,
        "final_pick": pick,
    }
    assert spec.axes(rule) == expected
    bo = RobustBO(method=name, group_selection=rule)
    assert bo.config.axes() == expected  # reference_update="auto" gives the preset's own


def test_a_group_rule_given_to_register_method_is_deprecated_and_kept_for_auto_only() -> None:
    with METHODS.scoped():
        with pytest.warns(DeprecationWarning, match="no longer part of a method"):
            register_method("old-style", group_rule="adversarial")(lambda model, ctx: None)
        assert RobustBO(method="old-style").config.group_rule() == "reference"
        assert RobustBO(method="old-style", group_selection="auto").config.group_rule() == (
            "adversarial"
        )
