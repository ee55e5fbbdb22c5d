"""Every setting of ``droiz optimize`` and ``droiz evaluate``, each declared once.

A setting is a field of :class:`RunConfig` (an optimisation run's settings, saved with the run
as ``config.json`` and read back by ``--resume`` and :func:`~droiz.runner.replay`) or of
:class:`EvaluateSettings` (what only ``droiz evaluate`` takes), declared with
:func:`~droiz.runner.settings.schema.setting`: its type and default, help, checks, flags, the
commands that take it, and whether a resume may change it. :data:`SCHEMA` lists them all; the
CLI's flags, the validation of :func:`droiz.optimize` and :func:`droiz.evaluate`,
:data:`RESUMABLE` and the tables of ``docs/runner.md`` come from it.

Precedence: explicit arguments (CLI flags, keyword arguments of :func:`droiz.optimize`) over a
config file (``--config FILE``, JSON or TOML) over the defaults (:mod:`.files`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from droiz.axes import DEFAULT_GROUP_RULE, GROUP_RULE_CHOICES
from droiz.redact import redact_url
from droiz.runner.settings import checks as c
from droiz.runner.settings.schema import (
    EVALUATE,
    OPTIMIZE,
    RESUME,
    RUN,
    Choice,
    Count,
    Limit,
    Setting,
    check_settings,
    parse_settings,
    schema_of,
    setting,
)

if TYPE_CHECKING:
    from droiz.llm.budget import Limits

ALL = RUN | {EVALUATE}
SESSION = frozenset({OPTIMIZE, RESUME})
"""Settings of ``droiz optimize`` and ``droiz resume`` that ``droiz bench grid`` sets itself."""


def _methods() -> Any:
    from droiz.optim import METHODS

    return METHODS


def _kernels() -> Any:
    from droiz.surrogate.build import KERNELS

    return KERNELS


def _surrogates() -> Any:
    from droiz.surrogate.build import SURROGATES

    return SURROGATES


@dataclass(frozen=True)
class RunConfig:
    """The settings of an optimisation run, resolved and checked (each field's declaration holds
    its help; ``droiz optimize --help`` and ``docs/runner.md`` show them)."""

    task: tuple[str, ...] = setting(
        help="task name or .jsonl/.csv file; several (a,b,c) make a multi-task run",
        parse=c.task_names,
        checks=(c.check_tasks,),
        missing="no task given: pass --task NAME (or several: --task a,b,c)",
        commands={OPTIMIZE, RESUME},
    )
    generator: str = setting(
        help="hf:PATH (soft prompt to a local model), api:MODEL (APE-style proposer on an "
        "OpenAI-compatible endpoint) or pool:FILE (your own candidates)",
        checks=(c.check_spec,),
        missing="no generator given: pass --generator (see droiz optimize --help)",
    )
    executor: str = setting(
        help="the black-box LLM: openai:MODEL (any OpenAI-compatible endpoint) or hf:PATH",
        checks=(c.check_spec,),
        missing="no executor given: pass --executor (see droiz optimize --help)",
        commands=ALL,
    )
    base_url: str | None = setting(
        None,
        help="endpoint of an openai: executor, e.g. http://127.0.0.1:8000/v1 (an api: "
        "generator uses it too)",
        shown="OpenAI",
        resumable=True,
        checks=(c.check_url_setting,),
        commands=ALL,
    )
    api_key_env: str = setting(
        "OPENAI_API_KEY",
        help="NAME of the environment variable holding the API key (never the key)",
        resumable=True,
        checks=(c.check_env_setting,),
        commands=ALL,
    )
    method: str = setting(
        "dro",
        help="dro, ei, ucb, hybrid, random, dro-nobo, or a method registered by a --plugin "
        "module or a droiz.methods entry point",
        checks=(Choice(_methods),),
        commands=SESSION,
    )
    budget: int = setting(
        150,
        help="instruction evaluations",
        checks=(
            Count(1, 2**62),
            Limit(c.LARGE_BUDGET, "allow_large_budget", "instruction evaluations"),
        ),
    )
    seed: int = setting(
        0,
        help="seed of the dev subset and the perturbations, and of a run's Sobol points, "
        "CMA-ES, group sampling, demos and the hf:/pool: projections",
        checks=(c.check_seed_value,),
        commands={OPTIMIZE, RESUME, EVALUATE},
    )
    ambiguity: str = setting(
        "kl:0.1",
        help="ambiguity set: kl:EPS, chi2:EPS, tv:DELTA, cvar:ALPHA or w1:EPS",
        checks=(c.check_ambiguity,),
    )
    reference: str = setting(
        "train-mix",
        help="centre of the ambiguity set: train-mix (0.5 on clean, 0.5 spread over the "
        "shifts), uniform, or weights w1,w2,... (one per group, normalised)",
        checks=(c.check_reference,),
    )
    groups: str = setting(
        "auto",
        help="auto (shift for one task, tasks for several), shift, tasks, both, a "
        "comma-separated list of shift groups, or clusters:K (K k-means clusters of the "
        "inputs' sentence embeddings, for data without group labels)",
        checks=(c.check_groups,),
    )
    groups_per_round: int = setting(2, help="groups each evaluation observes", checks=(Count(1),))
    group_rule: str = setting(
        DEFAULT_GROUP_RULE,
        help="which groups a BO round's instruction is evaluated on, one rule for every "
        "model-based method: reference (drawn by the reference weights) or adversarial (the "
        "groups with the lowest lower confidence bound); model-free methods and the initial "
        "design draw by the reference weights",
        checks=(Choice(GROUP_RULE_CHOICES, "--group-rule value"),),
        metavar="{" + ",".join(GROUP_RULE_CHOICES) + "}",
    )
    kernel: str = setting(
        "coupled-semantic",
        help="coupled-semantic (sentence embeddings of the instructions), matern, "
        "coupled-scores (per-example score vectors) or coupled-scores-wstar",
        parse=c.default_if_none("coupled-semantic"),
        checks=(Choice(_kernels),),
    )
    surrogate: str = setting(
        "independent",
        help="independent (the groups are independent GPs a priori) or shared (a shared "
        "latent function plus per-group deviations, f_t = g + h_t)",
        parse=c.default_if_none("independent"),
        checks=(Choice(_surrogates),),
    )
    plugins: tuple[str, ...] = setting(
        (),
        help="import MODULE first, so that the methods, kernels or selections it registers "
        "can be named (repeatable; saved with the run, so a resume imports it again)",
        parse=c.plugin_names,
        flags=("--plugin",),
        metavar="MODULE",
        repeat=True,
        commands=SESSION,
    )
    n_dev: int = setting(20, help="dev examples per group and task", checks=(Count(1),))
    n_demos: int = setting(5, help="demonstrations shown to the generator", checks=(Count(1),))
    n_test: int | None = setting(
        None,
        help="test examples per task for the final evaluation",
        shown="all",
        checks=(Count(1),),
    )
    batch_size: int = setting(25, help="instructions per round", checks=(Count(1),))
    n_init: int = setting(
        25, help="initial Sobol evaluations (at most --budget)", checks=(Count(0), c.check_n_init)
    )
    finalists: int = setting(
        3,
        help="top instructions verified on every group before the final pick (0: the "
        "engine's own pick)",
        checks=(Count(0, 1000),),
    )
    dim: int = setting(
        10, help="dimension d of the soft prompts", checks=(Count(1, 100_000),), flags=()
    )
    pool_dim: int | None = setting(
        None,
        help="features of a pool:FILE's candidates, which the search runs over: the "
        "instructions' sentence embeddings reduced to this many dimensions by a seeded PCA (a "
        ".jsonl pool's own features are used as they are)",
        shown="dim (10)",
        checks=(Count(1, 100_000),),
        metavar="D",
    )
    data_dir: str | None = setting(
        None,
        help="task data directory",
        shown="DROIZ_DATA_DIR, else the droiz data download folder",
        resumable=True,
        parse=c.path_text,
        commands=ALL,
    )
    cache_dir: str | None = setting(
        None,
        help="response cache directory",
        shown="DROIZ_CACHE_DIR, else the user cache",
        resumable=True,
        parse=c.path_text,
        commands=ALL,
    )
    cache_namespace: str | None = setting(
        None,
        help="response cache namespace of an openai: executor",
        shown="a hash of the endpoint's host and port",
        resumable=True,
        checks=(c.check_not_blank,),
        commands=ALL,
    )
    concurrency: int | None = setting(
        None,
        help="executor requests in flight",
        shown="16",
        resumable=True,
        checks=(Count(1, 4096),),
        commands=ALL,
    )
    embedder: str | None = setting(
        None,
        help="sentence-transformers model of the coupled-semantic kernel and of --groups "
        "clusters:K",
        shown="all-MiniLM-L6-v2",
    )
    metric: str | None = setting(
        None,
        help="metric of the scores: em, f1, es, contains or mc (a built-in task: its scoring "
        "only), or python:NAME, a callable passed to droiz.optimize(metric=...)",
        shown="the task's: em for a task file",
        checks=(c.check_metric_name,),
        metavar="NAME",
    )
    answer_filter: str | None = setting(
        None,
        help="answer filters applied in order to each answer before the metric: first-line, "
        "last-quoted, after-is, strip, regex:PATTERN, chat-answer",
        shown="none: the raw answer is scored",
        parse=c.filter_spec,
        metavar="NAME[,NAME...]",
        commands=ALL,
    )
    max_answer_tokens: int | None = setting(
        None,
        help="answer length limit of the executor (max_tokens of openai:, max_new_tokens of hf:)",
        shown="the executor's: 256 for openai:, 64 for hf:",
        checks=(Count(1, 1_000_000),),
        metavar="N",
        commands=ALL,
    )
    generator_options: dict[str, Any] = setting(
        help="constructor options of the generator (max_new_tokens, device, temperature, "
        "retry, ...)",
        checks=(c.check_no_secrets,),
        flags=(),
        factory=dict,
    )
    executor_options: dict[str, Any] = setting(
        help="constructor options of the executor (temperature, timeout, flavour, prices, "
        "retry, ...)",
        checks=(c.check_no_secrets,),
        flags=(),
        commands=ALL,
        factory=dict,
    )
    engine: dict[str, Any] = setting(
        help="further engine settings (eta, delta, cma_starts, cma_popsize, hybrid_start, "
        "reference_update, ...; group_selection is the older spelling of group_rule)",
        checks=(c.check_engine,),
        flags=(),
        factory=dict,
    )
    allow_large_budget: bool = setting(
        False,
        help="allow a --budget above 100,000 evaluations",
        resumable=True,
        commands=SESSION,
    )
    max_requests: int | None = setting(
        None,
        help="hard cap: HTTP requests of the whole run, retries included",
        resumable=True,
        checks=(c.check_cap,),
    )
    max_tokens: int | None = setting(
        None,
        help="hard cap: prompt and completion tokens of the whole run (not --max-answer-tokens)",
        resumable=True,
        checks=(c.check_cap,),
    )
    max_cost: float | None = setting(
        None,
        help="hard cap: USD of the whole run (every model sent requests needs a price)",
        resumable=True,
        checks=(c.check_cap,),
    )
    prices: dict[str, Any] = setting(
        help='prices per 1M tokens by model in USD, {"model" = [input, output]}, extending '
        "the built-in table (executor and api: generator alike)",
        resumable=True,
        checks=(c.check_prices,),
        flags=(),
        factory=dict,
    )
    track: str = setting(
        "none",
        help="log the run to an experiment tracker: none or mlflow (pip install "
        "'droiz[track]'; MLFLOW_TRACKING_URI sets the store, else MLflow's local default)",
        resumable=True,
        checks=(Choice(c.TRACKERS, "--track value"),),
        metavar="{none,mlflow}",
        commands=SESSION,
    )

    def __post_init__(self) -> None:
        parse_settings(self, RUN_SCHEMA)
        from droiz.registry import load_plugins

        load_plugins(self.plugins or ())  # first: the names they register are checked next
        check_settings(self, RUN_SCHEMA)

    def limits(self) -> Limits:
        """The hard caps."""
        from droiz.llm.budget import Limits

        return Limits(self.max_requests, self.max_tokens, self.max_cost)

    @property
    def group_mode(self) -> str:
        """``shift``, ``tasks`` or ``both`` (``auto`` and explicit group lists resolved)."""
        if self.groups == "auto":
            return "shift" if len(self.task) == 1 else "tasks"
        return self.groups if self.groups in c.GROUP_MODES else "shift"

    @property
    def clusters(self) -> int | None:
        """``K`` of ``--groups clusters:K``, else ``None``."""
        match = c.GROUP_FORMS["clusters"].fullmatch(self.groups)
        return int(match.group(1)) if match else None

    @property
    def shift_groups(self) -> tuple[str, ...] | None:
        """An explicit list of shift groups, or ``None`` for each task's default groups (and
        for clusters, which become the task's groups)."""
        if self.groups in c.GROUP_MODES or self.clusters is not None:
            return None
        return tuple(g.strip() for g in self.groups.split(",") if g.strip())

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """JSON-ready settings; credentials inside ``base_url`` are masked when ``redact``."""
        out = dataclasses.asdict(self)
        out["task"] = list(self.task)
        out["plugins"] = list(self.plugins)
        if redact:
            out["base_url"] = redact_url(self.base_url)
        return out

    def explicit_diff(self, explicit: Mapping[str, Any]) -> list[str]:
        """Names of explicitly given settings that differ from this config and may not change
        on resume."""
        other = dataclasses.replace(self, **{k: v for k, v in explicit.items() if v is not None})
        return [
            s.name
            for s in RUN_SCHEMA
            if not s.resumable and getattr(other, s.name) != getattr(self, s.name)
        ]


@dataclass(frozen=True)
class EvaluateSettings:
    """The settings only ``droiz evaluate`` takes (it shares the executor's, the paths and the
    seed with :class:`RunConfig`)."""

    task: str = setting(
        help="task name or .jsonl/.csv task file",
        missing="no task given: pass --task NAME",
        commands={EVALUATE},
    )
    instruction: str = setting(
        help="the instruction to evaluate",
        checks=(c.check_instruction,),
        missing="no instruction given: pass --instruction TEXT",
        commands={EVALUATE},
    )
    split: str = setting(
        "test",
        help="test: the whole test split; dev: the fixed dev subset",
        checks=(Choice(("dev", "test"), "--split value"),),
        commands={EVALUATE},
    )
    groups: tuple[str, ...] | None = setting(
        None,
        help="comma-separated groups (shift groups such as clean,case, or natural groups)",
        shown="the task's groups",
        parse=c.group_names,
        checks=(c.check_group_list,),
        commands={EVALUATE},
    )
    n: int | None = setting(
        None,
        help="base examples",
        shown="all of test, 20 of dev",
        checks=(Count(1),),
        flags=("-n",),
        metavar="N",
        commands={EVALUATE},
    )


RUN_SCHEMA: tuple[Setting, ...] = schema_of(RunConfig)
"""The settings of an optimisation run, in :class:`RunConfig`'s order."""
SCHEMA: tuple[Setting, ...] = schema_of(EvaluateSettings) + RUN_SCHEMA
"""Every setting."""
RESUMABLE: tuple[str, ...] = tuple(s.name for s in RUN_SCHEMA if s.resumable)
"""Settings a resumed run may change: where things are, the caps and the tracker (not what is
computed)."""


def settings_for(command: str) -> dict[str, Setting]:
    """The settings ``command`` takes, by name, in declaration order."""
    return {s.name: s for s in SCHEMA if command in s.commands}
