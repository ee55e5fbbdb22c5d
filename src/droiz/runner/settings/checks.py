"""The parsers and checks the settings schema names (:mod:`droiz.runner.settings.schema`).

Each check raises a one-line :class:`~droiz.exceptions.ConfigError` naming the setting or flag:
task lists, backend specs, environment-variable names, URLs, group names, references, the
engine's own settings, secrets in option tables, the caps and their prices.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from droiz.axes import DEFAULT_GROUP_RULE
from droiz.exceptions import ConfigError, UnknownNameError
from droiz.registry import unknown_name_message
from droiz.validate import check_seed, check_type, type_hints

if TYPE_CHECKING:
    from droiz.runner.settings.schema import Setting

GROUP_MODES = ("auto", "shift", "tasks", "both")
"""The values of ``--groups`` that are not a list of shift groups."""
GROUP_FORMS: dict[str, re.Pattern[str]] = {"clusters": re.compile(r"clusters:([1-9][0-9]*)")}
"""Parametrised values of ``--groups`` by name: ``clusters:K`` (``K`` k-means clusters of the
inputs' sentence embeddings, :mod:`droiz.tasks.clusters`)."""
REFERENCES = ("train-mix", "uniform")
"""The values of ``--reference`` that are not weights."""
TRACKERS = ("none", "mlflow")
"""The values of ``--track`` (see :mod:`droiz.runner.tracking.hooks`)."""
LARGE_BUDGET = 100_000
"""A budget above this many evaluations needs ``--allow-large-budget``."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RUNNER_OWNED: tuple[str, ...] = (
    "dim",
    "n_groups",
    "method",
    "ambiguity",
    "budget",
    "seed",
    "reference",
)
_RUNNER_OWNED += ("groups_per_round", "kernel", "example_groups", "n_init", "batch_size")
_RUNNER_OWNED += ("surrogate",)
"""Engine settings the run sets itself (not in the ``engine`` table)."""


# ------------------------------------------------------------------ parsers
def task_names(value: object) -> object:
    """``"a, b,c"`` or a list as a tuple of task names."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    if not isinstance(value, list | tuple):
        raise ConfigError(f"task must be a name or a list of names, got {value!r}")
    return tuple(value)


def group_names(value: object) -> object:
    """``"a,b"`` or a list as a tuple of group names (blank ones kept: they are refused)."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(g.strip() for g in value.split(","))
    return tuple(value) if isinstance(value, list | tuple) else value


def path_text(value: object) -> object:
    """A path as a string (JSON-ready)."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def filter_spec(value: Any) -> Any:
    """An answer-filter chain (``"NAME[,NAME...]"`` or a list of names) in its ``a,b`` spelling;
    unknown filters raise."""
    from droiz.tasks.filters import parse_filter

    if value is None:
        return None
    check_type("answer_filter", value, str | list)
    for name in [] if isinstance(value, str) else value:
        check_type("answer_filter", name, str)
    return parse_filter(value).spec


def plugin_names(value: Any) -> Any:
    """Plugin modules as a tuple without repeats (a string is one module)."""
    if value is None:
        return None
    plugins = (value,) if isinstance(value, str) else value
    check_type("plugins", plugins, list)
    for name in plugins:
        check_type("plugins", name, str)
    return tuple(dict.fromkeys(plugins))


def default_if_none(default: str) -> Callable[[object], object]:
    """A parser giving ``default`` for ``None`` (an explicit ``None`` means the default)."""

    def parse(value: object) -> object:
        return default if value is None else value

    return parse


# ------------------------------------------------------------------- checks
def check_tasks(setting: Setting, value: tuple[Any, ...], values: Mapping[str, Any]) -> None:
    for name in value:
        check_type("task", name, str)
    if not value:
        raise ConfigError("no task given: pass --task NAME (or several: --task a,b,c)")
    if len(set(value)) != len(value):
        raise ConfigError(f"--task lists a task twice: {','.join(value)}")


def check_spec(setting: Setting, value: str, values: Mapping[str, Any]) -> None:
    """A backend spec (``kind:value``) of a known kind."""
    from droiz.llm import parse_spec

    parse_spec(value, setting.name)


def check_seed_value(setting: Setting, value: object, values: Mapping[str, Any]) -> None:
    check_seed(value, setting.name)


def check_ambiguity(setting: Setting, value: str, values: Mapping[str, Any]) -> None:
    from droiz.ambiguity import parse_ambiguity

    parse_ambiguity(value)


def check_reference(setting: Setting, value: str, values: Mapping[str, Any]) -> None:
    parse_reference(value)


def check_groups(setting: Setting, value: str, values: Mapping[str, Any]) -> None:
    """``--groups``: a mode, or a list of shift groups."""
    if not value.strip():
        raise ConfigError(
            "--groups is empty; give auto, shift, tasks, both or comma-separated group names"
        )
    if value in GROUP_MODES:
        return
    if match := GROUP_FORMS["clusters"].fullmatch(value):
        check_clusters(int(match.group(1)), values)
        return
    if any(form.fullmatch(value) for form in GROUP_FORMS.values()):
        return
    check_names("--groups", [g.strip() for g in value.split(",")])


def check_clusters(k: int, values: Mapping[str, Any]) -> None:
    """``--groups clusters:K``: one task, at most ``K`` groups per round, ``K`` reference weights
    (what can be checked before the inputs are embedded)."""
    tasks = values.get("task") or ()
    if len(tasks) > 1:
        raise ConfigError(
            f"--groups clusters:{k} clusters the inputs of one task, but --task names "
            f"{len(tasks)}; run one task, or use --groups tasks"
        )
    per_round = values.get("groups_per_round")
    if isinstance(per_round, int) and per_round > k:
        raise ConfigError(
            f"--groups-per-round {per_round} is more than the run's {k} clusters; give at most {k}"
        )
    reference = values.get("reference")
    if isinstance(reference, str):
        parse_reference(reference, k)


def check_group_list(setting: Setting, value: Sequence[str], values: Mapping[str, Any]) -> None:
    """``droiz evaluate --groups``: a list of group names."""
    check_names("--groups", list(value))


def check_metric_name(setting: Setting, value: str, values: Mapping[str, Any]) -> None:
    """A metric's name, or ``python:NAME`` (a callable passed to :func:`droiz.optimize`)."""
    kind, sep, name = value.partition(":")
    if sep and kind == "python":
        if not name.strip():
            raise ConfigError("--metric python: needs a name after the colon (python:NAME)")
        return
    from droiz.tasks.metrics import check_metric

    check_metric(value)


def check_not_blank(setting: Setting, value: str, values: Mapping[str, Any]) -> None:
    if not value.strip():
        raise ConfigError(f"{setting.flag} is empty; give a name or leave it out")


def check_n_init(setting: Setting, value: int, values: Mapping[str, Any]) -> None:
    """The initial design fits in the budget. The default is not refused: a smaller budget caps
    it (the engine stops at the budget), as a run given only ``--budget 8`` expects."""
    budget = values.get("budget")
    if value == setting.default:
        return
    if isinstance(budget, int) and not isinstance(budget, bool) and value > budget:
        raise ConfigError(
            f"--n-init {value} is more than the --budget of {budget} evaluations; lower --n-init "
            "or raise --budget"
        )


def check_instruction(setting: Setting, value: str, values: Mapping[str, Any]) -> None:
    if not value.strip():
        raise ConfigError("--instruction is empty; give the instruction to evaluate")


def check_env_name(value: object, flag: str = "--api-key-env") -> None:
    """The *name* of an environment variable; a value that is not a name (perhaps the key
    itself) is refused without being echoed."""
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise ConfigError(
            f"{flag} must be the NAME of an environment variable (letters, digits and _, e.g. "
            "OPENAI_API_KEY), not the key itself; the given value is not shown"
        )


def check_env_setting(setting: Setting, value: object, values: Mapping[str, Any]) -> None:
    check_env_name(value, setting.flag or setting.name)


def check_base_url(url: object, flag: str = "--base-url") -> None:
    """``None`` (OpenAI) or a base URL :func:`droiz.llm.endpoint.parse_base_url` takes apart
    (credentials masked in the message)."""
    if url is not None:
        from droiz.llm.endpoint import parse_base_url

        parse_base_url(url, flag)


def check_url_setting(setting: Setting, value: object, values: Mapping[str, Any]) -> None:
    check_base_url(value, setting.flag or setting.name)


def check_no_secrets(setting: Setting, value: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """An option table holds no secret at any depth (:func:`droiz.llm.checks.check_no_secrets`):
    keys go in environment variables."""
    from droiz.llm.checks import check_no_secrets as refuse_secrets

    refuse_secrets(setting.name, value)


def check_engine(setting: Setting, value: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Further :class:`~droiz.optim.EngineConfig` settings: known names (not the run's own),
    of their types."""
    from droiz.optim import EngineConfig

    types = type_hints(EngineConfig)
    known = set(types) - set(_RUNNER_OWNED)
    for key, item in value.items():
        if key not in known:
            raise ConfigError(unknown_name_message("engine setting", key, known))
        check_type(f"engine.{key}", item, types[key])
    try:  # the values themselves (names, ranges), before any work rather than at the engine's build
        EngineConfig(**value)
    except (ConfigError, UnknownNameError) as exc:
        raise ConfigError(f"engine: {exc}") from None
    rule, given = value.get("group_selection"), values.get("group_rule")
    if rule is not None and given not in (None, DEFAULT_GROUP_RULE, rule):
        raise ConfigError(
            f"engine.group_selection {rule!r} and group_rule {given!r} disagree; give the group "
            "rule once, as group_rule (--group-rule)"
        )


def check_cap(setting: Setting, value: Any, values: Mapping[str, Any]) -> None:
    """A hard cap, as :class:`~droiz.llm.budget.Limits` takes it."""
    from droiz.llm.budget import Limits

    Limits(**{setting.name: value})


def check_prices(setting: Setting, value: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    from droiz.llm.stats import find_pricing

    for model in value:
        find_pricing(str(model), value)


def check_mapping(where: str, values: Mapping[str, Any], cls: type) -> None:
    """Check a table of settings against the fields of the dataclass ``cls`` (unknown names with
    "did you mean", wrong types)."""
    fields = type_hints(cls)
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(unknown_name_message(f"{where} setting", str(key), fields))
        check_type(f"{where}.{key}", value, fields[key])


def check_names(flag: str, names: Sequence[str]) -> None:
    """A comma-separated list with no empty or repeated item."""
    if not names or any(not n for n in names):
        raise ConfigError(f"{flag} has an empty name; give comma-separated names, e.g. clean,case")
    if len(set(names)) != len(names):
        raise ConfigError(f"{flag} names a group twice: {','.join(names)}")


def parse_reference(spec: str, n_groups: int | None = None) -> tuple[float, ...] | str:
    """``train-mix`` / ``uniform``, or comma-separated non-negative weights (normalised).

    Raises:
        ConfigError: Not a keyword and not numbers, a negative or all-zero weight, or (with
            ``n_groups``) the wrong number of weights.
    """
    spec = str(spec).strip()
    if spec in REFERENCES:
        return spec
    try:
        weights = tuple(float(w) for w in spec.split(","))
    except ValueError:
        raise ConfigError(
            f"--reference must be train-mix, uniform or comma-separated weights such as "
            f"0.5,0.25,0.25; got {spec!r}"
        ) from None
    if not all(0 <= w < float("inf") for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"--reference weights must be >= 0 and not all 0, got {spec!r}")
    if n_groups is not None and len(weights) != n_groups:
        raise ConfigError(
            f"--reference has {len(weights)} weights but the run has {n_groups} groups; give "
            f"one weight per group, in the order droiz tasks show lists them"
        )
    total = sum(weights)
    return tuple(w / total for w in weights)
