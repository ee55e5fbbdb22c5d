"""Run settings: precedence (flags > file > defaults), files, references, secrets, resume rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from droiz.exceptions import ConfigError
from droiz.redact import redact_url
from droiz.runner import RunConfig, parse_reference, resolve_config
from droiz.runner.settings.files import config_from_dict

BASE = {"task": "antonyms", "generator": "pool:p.txt", "executor": "openai:m"}


def test_flags_override_the_file_which_overrides_defaults(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("budget = 40\nseed = 3\nn-dev = 7\n[engine]\neta = 0.5\n")
    cfg = resolve_config({**BASE, "budget": 50, "seed": None}, toml)
    assert (cfg.budget, cfg.seed, cfg.n_dev, cfg.engine) == (50, 3, 7, {"eta": 0.5})
    assert cfg.method == "dro" and cfg.ambiguity == "kl:0.1" and cfg.reference == "train-mix"
    assert cfg.kernel == "coupled-semantic" and cfg.groups_per_round == 2 and cfg.n_dev == 7
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"method": "random", "task": ["a", "b"]}))
    cfg = resolve_config({"generator": "pool:p", "executor": "openai:m"}, js)
    assert cfg.method == "random" and cfg.task == ("a", "b") and cfg.group_mode == "tasks"


def test_round_trip_and_derived_settings() -> None:
    cfg = RunConfig(**{**BASE, "task": "a, b,c", "groups": "both"})
    assert cfg.task == ("a", "b", "c") and cfg.group_mode == "both"
    assert config_from_dict(cfg.to_dict()) == cfg
    assert RunConfig(**BASE).group_mode == "shift"
    explicit = RunConfig(**{**BASE, "groups": "clean,case"})
    assert explicit.group_mode == "shift" and explicit.shift_groups == ("clean", "case")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("train-mix", "train-mix"),
        ("uniform", "uniform"),
        ("1,1,2", (0.25, 0.25, 0.5)),
        ("0.2, 0.8", (0.2, 0.8)),
    ],
)
def test_parse_reference(spec: str, expected: object) -> None:
    got = parse_reference(spec)
    if isinstance(expected, tuple):
        assert got == pytest.approx(expected)
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("spec", "n", "message"),
    [
        ("0,0", None, "not all 0"),
        ("1,x", None, "--reference must be"),
        ("1,1", 3, "3 groups"),
        ("inf,1", None, ">= 0"),
    ],
)
def test_bad_references(spec: str, n: int | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_reference(spec, n)


def test_secrets_are_refused_and_urls_redacted() -> None:
    with pytest.raises(ConfigError, match="api_key looks like a secret"):
        RunConfig(**BASE, executor_options={"api_key": "sk-1"})
    with pytest.raises(ConfigError, match="Authorization looks like a secret"):  # nested
        RunConfig(**BASE, executor_options={"extra_headers": {"Authorization": "Bearer k"}})
    assert redact_url("https://user:pw@host:8000/v1") == "https://***@host:8000/v1"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    cfg = RunConfig(**BASE, base_url="https://u:secret@example.com/v1")
    assert "secret" not in json.dumps(cfg.to_dict())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"budget": 0}, "budget"),
        ({"n_init": -1}, "n_init"),
        ({"finalists": -1}, "finalists"),
        ({"engine": {"etta": 1}}, "did you mean 'eta'"),
        ({"engine": {"budget": 3}}, "engine"),
        ({"task": ()}, "no task"),
        ({"task": "a,a"}, "twice"),
        ({"generator": None}, "generator"),
        ({"surrogate": "shraed"}, "unknown surrogate 'shraed'; did you mean 'shared'"),
        ({"engine": {"surrogate": "shared"}}, "engine setting"),
        ({"engine": {"final_pick": "bogus"}}, "engine: unknown selection 'bogus'"),
        ({"engine": {"eta": 2.0}}, "engine: need 0 <= eta <= 1"),
        ({"engine": {"reference_update": "sometimes"}}, "engine: reference_update must be"),
        ({"plugins": ["no_such_droiz_plugin"]}, "--plugin no_such_droiz_plugin"),
        ({"plugins": [3]}, "plugins must be a string"),
    ],
)
def test_invalid_settings(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RunConfig(**{**BASE, **settings})


def test_resume_may_change_locations_only() -> None:
    cfg = RunConfig(**BASE)
    assert cfg.explicit_diff({"cache_dir": "/x", "base_url": "http://h:1", "budget": 150}) == []
    assert cfg.explicit_diff({"budget": 10, "seed": 1}) == ["budget", "seed"]


def test_surrogate_and_plugins_are_saved_and_read_back() -> None:
    cfg = RunConfig(**BASE)
    assert cfg.surrogate == "independent" and cfg.plugins == ()
    cfg = RunConfig(**BASE, surrogate="shared", plugins=["json", "json"])
    saved = json.loads(json.dumps(cfg.to_dict()))
    assert saved["surrogate"] == "shared" and saved["plugins"] == ["json"]
    assert config_from_dict(saved) == cfg
    assert cfg.explicit_diff({"surrogate": "independent"}) == ["surrogate"]
    assert cfg.explicit_diff({"plugins": ["json"]}) == []
