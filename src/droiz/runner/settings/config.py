"""The resolved, frozen configuration of one ``droiz optimize`` run.

Precedence: explicit arguments (CLI flags, keyword arguments of :func:`droiz.optimize`) over a
config file (``--config FILE``, JSON or TOML) over the defaults of :class:`RunConfig`. The
resolved configuration is saved with the run (``config.json``) and is what ``--resume`` and
:func:`~droiz.runner.replay` read back.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from droiz.exceptions import ConfigError
from droiz.redact import redact_url
from droiz.registry import unknown_name_message
from droiz.runner.settings import checks
from droiz.runner.settings.checks import _check_choice, _check_positive, parse_reference

if TYPE_CHECKING:
    from droiz.llm.budget import Limits

GROUP_MODES = ("auto", "shift", "tasks", "both")
TRACKERS = ("none", "mlflow")
"""The values of ``--track`` (see :mod:`droiz.runner.tracking.hooks`)."""
RESUMABLE = ("base_url", "api_key_env", "cache_dir", "cache_namespace", "concurrency", "data_dir")
RESUMABLE += ("allow_large_budget",)
"""Settings a resumed run may change: where things are, not what is computed."""
RESUMABLE += ("max_requests", "max_tokens", "max_cost", "prices")  # caps: resume with higher ones
RESUMABLE += ("track",)  # where the run is logged

_RUNNER_OWNED = ("dim", "n_groups", "method", "ambiguity", "budget", "seed", "reference")
DEFAULT_KERNEL = "coupled-semantic"
DEFAULT_SURROGATE = "independent"  # measured against "shared" in docs/surrogate.md
_RUNNER_OWNED += ("groups_per_round", "kernel", "example_groups", "n_init", "batch_size")
_RUNNER_OWNED += ("surrogate",)
_SECRET_KEYS = ("api_key", "apikey", "key", "token", "password", "secret")


@dataclass(frozen=True)
class RunConfig:
    """Every setting of an optimisation run (see ``docs/runner.md`` for each one).

    Attributes:
        task: Task names or task files; several tasks make a multi-task run.
        generator: ``hf:PATH``, ``api:MODEL`` or ``pool:FILE``.
        executor: ``openai:MODEL`` or ``hf:PATH``.
        base_url: Endpoint of an ``openai`` executor (``None``: OpenAI itself).
        api_key_env: Name of the environment variable holding the API key (never the key).
        method: ``dro``, ``ei``, ``ucb``, ``hybrid``, ``random`` or ``dro-nobo``.
        budget: Instruction evaluations. seed: Run seed.
        ambiguity: Ambiguity-set spec (``kl:0.1``, ``chi2:R``, ``tv:R``, ``cvar:A``, ``w1:R``).
        reference: ``train-mix``, ``uniform`` or comma-separated weights, one per group.
        groups: ``auto`` (shift groups for one task, tasks for several), ``shift``, ``tasks``,
            ``both``, or a comma-separated list of shift-group names.
        groups_per_round: Groups each evaluation observes.
        kernel: ``matern``, ``coupled-scores``, ``coupled-scores-wstar`` or ``coupled-semantic``
            (``None``: the engine's default).
        surrogate: ``independent`` (groups independent a priori) or ``shared`` (a shared latent
            function plus per-group deviations, ``f_t = g + h_t``); ``None``: ``independent``.
        plugins: Modules imported before the settings are checked, so that the methods, kernels
            or selections they register can be named (``--plugin MODULE``); saved with the run,
            so a resumed run imports them again.
        n_dev: Dev examples per group and task. n_demos: Demonstrations shown to the generator.
        n_test: Test examples per task for the final evaluation (``None``: the whole split).
        batch_size: Instructions per round. n_init: Initial Sobol evaluations.
        finalists: Top instructions verified on every group before the final pick (0: the
            engine's own pick; see :mod:`droiz.runner.loop.finalize`). dim: ``d``.
        data_dir, cache_dir, cache_namespace, concurrency: Where data and caches live; requests
            in flight.
        embedder: Sentence-transformers model of the semantic kernel (``None``: all-MiniLM-L6-v2).
        answer_filter: Answer filters applied in order before the metric (``first-line``,
            ``chat-answer``, ``regex:PATTERN``, ...; see :mod:`droiz.tasks.filters`), as
            ``"NAME[,NAME...]"``; ``None``: the raw answer is scored.
        max_answer_tokens: The executor's answer length limit (``max_tokens`` of ``openai:``,
            ``max_new_tokens`` of ``hf:``); ``None``: the executor's default.
        generator_options, executor_options: Further constructor options of the backends.
        engine: Further :class:`~droiz.optim.EngineConfig` settings (``eta``, ``cma_starts``, ...).
        allow_large_budget: Allow a ``budget`` above 100,000 evaluations.
        max_requests, max_tokens, max_cost: Hard caps of the whole run (all sessions): HTTP
            requests (retries included), tokens, USD (see :mod:`droiz.llm.budget`); ``None``: none.
        prices: Prices per 1M tokens by model, ``{"model": [input, output]}``, extending the
            built-in table (:data:`droiz.llm.stats.DEFAULT_PRICES`) for executor and generator.
        track: Experiment tracker: ``none`` or ``mlflow`` (see :mod:`droiz.runner.tracking.hooks`).
    """

    task: tuple[str, ...] = ()
    generator: str | None = None
    executor: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    method: str = "dro"
    budget: int = 150
    seed: int = 0
    ambiguity: str = "kl:0.1"
    reference: str = "train-mix"
    groups: str = "auto"
    groups_per_round: int = 2
    kernel: str | None = None
    surrogate: str | None = None
    plugins: tuple[str, ...] = ()
    n_dev: int = 20
    n_demos: int = 5
    n_test: int | None = None
    batch_size: int = 25
    n_init: int = 25
    finalists: int = 3
    dim: int = 10
    data_dir: str | None = None
    cache_dir: str | None = None
    cache_namespace: str | None = None
    concurrency: int | None = None
    embedder: str | None = None
    answer_filter: str | None = None
    max_answer_tokens: int | None = None
    generator_options: dict[str, Any] = field(default_factory=dict)
    executor_options: dict[str, Any] = field(default_factory=dict)
    engine: dict[str, Any] = field(default_factory=dict)
    allow_large_budget: bool = False
    max_requests: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None
    prices: dict[str, Any] = field(default_factory=dict)
    track: str = "none"

    def __post_init__(self) -> None:
        task = self.task
        if isinstance(task, str):
            task = tuple(t.strip() for t in task.split(",") if t.strip())
        if not isinstance(task, list | tuple):
            raise ConfigError(f"task must be a name or a list of names, got {task!r}")
        object.__setattr__(self, "task", tuple(task))
        for name in ("data_dir", "cache_dir"):  # paths are kept as strings (JSON-ready)
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        if self.answer_filter is not None:  # a list (Python API) becomes its "a,b" spelling
            from droiz.tasks.filters import parse_filter

            checks.check_type("answer_filter", self.answer_filter, "str | list")
            for name in [] if isinstance(self.answer_filter, str) else self.answer_filter:
                checks.check_type("answer_filter", name, "str")
            spec = parse_filter(self.answer_filter).spec
            object.__setattr__(self, "answer_filter", spec)
        if self.kernel is None:  # measured best on the end-to-end benchmark (docs/runner.md)
            object.__setattr__(self, "kernel", DEFAULT_KERNEL)
        if self.surrogate is None:
            object.__setattr__(self, "surrogate", DEFAULT_SURROGATE)
        self._load_plugins()
        self._validate()

    def _load_plugins(self) -> None:
        """Import the ``plugins`` first: the names they register are checked below."""
        from droiz.registry import load_plugins

        plugins = self.plugins
        if isinstance(plugins, str):
            plugins = (plugins,)
        checks.check_type("plugins", plugins, "list")
        for name in plugins:
            checks.check_type("plugins", name, "str")
        object.__setattr__(self, "plugins", tuple(dict.fromkeys(plugins)))
        load_plugins(self.plugins)

    def _validate(self) -> None:
        from droiz.ambiguity import parse_ambiguity
        from droiz.llm import parse_spec
        from droiz.optim import METHODS
        from droiz.surrogate.build import KERNELS, SURROGATES

        checks.check_fields(self)
        if self.track not in TRACKERS:
            raise ConfigError(unknown_name_message("--track value", str(self.track), TRACKERS))
        for name in self.task:
            checks.check_type("task", name, "str")
        if not self.task:
            raise ConfigError("no task given: pass --task NAME (or several: --task a,b,c)")
        if len(set(self.task)) != len(self.task):
            raise ConfigError(f"--task lists a task twice: {','.join(self.task)}")
        for role in ("generator", "executor"):
            if getattr(self, role) is None:
                raise ConfigError(f"no {role} given: pass --{role} (see droiz optimize --help)")
            parse_spec(str(getattr(self, role)), role)
        _check_choice("method", self.method, METHODS)
        _check_choice("kernel", str(self.kernel), KERNELS)
        _check_choice("surrogate", str(self.surrogate), SURROGATES)
        parse_ambiguity(self.ambiguity)
        parse_reference(self.reference)
        for name in ("budget", "groups_per_round", "n_dev", "n_demos", "batch_size", "dim"):
            _check_positive(name, getattr(self, name))
        for name in ("n_init", "finalists"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        if self.n_test is not None:
            _check_positive("n_test", self.n_test)
        if self.concurrency is not None:
            _check_positive("concurrency", self.concurrency)
        self._check_ranges()
        self._check_options()
        self._check_caps()

    def _check_caps(self) -> None:
        from droiz.llm.stats import find_pricing

        self.limits()
        for model in self.prices:  # a table (checked with the other field types)
            find_pricing(str(model), self.prices)

    def limits(self) -> Limits:
        """The hard caps (validated: integers >= 1, USD > 0)."""
        from droiz.llm.budget import Limits

        return Limits(self.max_requests, self.max_tokens, self.max_cost)

    def _check_ranges(self) -> None:
        checks.check_seed(self.seed, "seed")
        checks.check_budget(self.budget, self.allow_large_budget)
        for name in ("groups_per_round", "n_dev", "n_demos", "n_test", "batch_size", "n_init"):
            if getattr(self, name) is not None:
                checks.check_count(name, getattr(self, name), 0 if name == "n_init" else 1)
        checks.check_count("finalists", self.finalists, 0, 1000)
        checks.check_count("dim", self.dim, 1, 100_000)
        if self.concurrency is not None:
            checks.check_count("concurrency", self.concurrency, 1, 4096)
        if self.max_answer_tokens is not None:
            checks.check_count("max_answer_tokens", self.max_answer_tokens, 1, 1_000_000)
        if not self.groups.strip():
            raise ConfigError(
                "--groups is empty; give auto, shift, tasks, both or comma-separated group names"
            )
        if self.shift_groups is not None:
            checks.check_names("--groups", [g.strip() for g in self.groups.split(",")])
        checks.check_env_name(self.api_key_env)
        checks.check_base_url(self.base_url)
        if self.cache_namespace is not None and not self.cache_namespace.strip():
            raise ConfigError("--cache-namespace is empty; give a name or leave it out")

    def _check_options(self) -> None:
        from droiz.optim import EngineConfig

        types = {f.name: f.type for f in dataclasses.fields(EngineConfig)}
        known = set(types) - set(_RUNNER_OWNED)
        for key, value in self.engine.items():
            if key not in known:
                raise ConfigError(unknown_name_message("engine setting", key, known))
            checks.check_type(f"engine.{key}", value, types[key])
        for section in ("generator_options", "executor_options"):
            for key in getattr(self, section):
                if key.lower().replace("-", "_") in _SECRET_KEYS:
                    raise ConfigError(
                        f"{section} must not hold secrets ({key!r}); put the key in an "
                        "environment variable and name it with --api-key-env"
                    )

    @property
    def group_mode(self) -> str:
        """``shift``, ``tasks`` or ``both`` (``auto`` and explicit group lists resolved)."""
        if self.groups == "auto":
            return "shift" if len(self.task) == 1 else "tasks"
        return self.groups if self.groups in GROUP_MODES else "shift"

    @property
    def shift_groups(self) -> tuple[str, ...] | None:
        """An explicit list of shift groups, or ``None`` for each task's default groups."""
        if self.groups in GROUP_MODES:
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
            f.name
            for f in dataclasses.fields(self)
            if f.name not in RESUMABLE and getattr(other, f.name) != getattr(self, f.name)
        ]
