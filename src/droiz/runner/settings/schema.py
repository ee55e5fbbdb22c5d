"""The settings schema: how one setting is declared, and the checks a declaration names.

A setting is declared once, as a field of a settings dataclass
(:class:`~droiz.runner.settings.config.RunConfig`,
:class:`~droiz.runner.settings.config.EvaluateSettings`) whose default is :func:`setting`: the
field gives its name, type and default; :func:`setting` the rest (help text, whether a resume
may change it, how its value is parsed and checked, its command-line flags and which commands
take it). Everything else is derived from those declarations: the dataclasses' validation, the
flags of ``droiz optimize``, ``droiz resume``, ``droiz evaluate`` and ``droiz bench grid``, the
checks of :func:`droiz.evaluate`, the settings a resume may change, and the settings tables of
``docs/runner.md`` (:mod:`droiz.runner.settings.docs`).

A check is a callable ``check(setting, value, values)`` that raises a one-line
:class:`~droiz.exceptions.ConfigError`; ``values`` holds the other settings (a bound may depend
on one). :class:`Count`, :class:`Limit` and :class:`Choice` are the common ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from droiz.exceptions import ConfigError
from droiz.registry import unknown_name_message
from droiz.validate import MAX_COUNT, check_type, type_hints

OPTIMIZE, RESUME, EVALUATE, GRID = "optimize", "resume", "evaluate", "grid"
COMMANDS = (OPTIMIZE, RESUME, EVALUATE, GRID)
"""The commands that take settings (``grid``: ``droiz bench grid``, for each cell)."""
RUN = frozenset({OPTIMIZE, RESUME, GRID})
"""The commands of a setting of an optimisation run (the default)."""
CONFIGURABLE = frozenset({OPTIMIZE, RESUME, GRID})
"""The commands that read a config file, so a required setting need not be a flag."""
REQUIRED = dataclasses.MISSING
"""The default of a setting that has none (it must be given)."""

_KEY = "droiz.setting"


class Check(Protocol):
    """A check of one setting's value (not ``None``); ``values`` holds every setting."""

    def __call__(self, setting: Setting, value: Any, values: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Setting:
    """One setting.

    Attributes:
        name: Its name (the keyword argument and the config-file key; ``-`` spells ``_``).
        type: Its type hint (what a config file or keyword argument gives, once parsed).
        default: Its default (:data:`REQUIRED`: none).
        help: One line of help (the CLI's and the docs').
        shown: The default as the help and the docs show it (``None``: the default itself).
        resumable: Whether a resumed run may change it (where things are, the caps, the
            tracker), or must keep the saved value.
        parse: Turns a given value into the setting's type before it is checked (``"a,b"`` into
            ``("a", "b")``, a path into a string, ``None`` into a default, ...).
        checks: Checks of the parsed value, in order (see :class:`Check`).
        missing: The message when a required setting is not given.
        flags: Its command-line flags (empty: config file only).
        metavar: The flag's value in the usage line.
        repeat: The flag may be given several times, each time one item of a list.
        commands: The commands that take it (:data:`COMMANDS`).
    """

    name: str
    type: Any
    default: Any
    help: str
    shown: str | None = None
    resumable: bool = False
    parse: Callable[[Any], Any] | None = None
    checks: tuple[Check, ...] = ()
    missing: str | None = None
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    repeat: bool = False
    commands: frozenset[str] = RUN

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def flag(self) -> str | None:
        """Its first flag (``None``: config file only)."""
        return self.flags[0] if self.flags else None

    @property
    def default_text(self) -> str:
        """The default as the help and the docs show it."""
        if self.required:
            return "required"
        if self.shown is not None:
            return self.shown
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if self.default in (None, (), {}):
            return "none"
        return str(self.default)

    def value_of(self, value: Any) -> Any:
        """``value`` parsed (see :attr:`parse`; parsers take ``None`` too)."""
        return value if self.parse is None else self.parse(value)

    def check(self, value: Any, values: Mapping[str, Any]) -> None:
        """Check a parsed ``value``: given if required, its type, then :attr:`checks`."""
        if value is None and self.missing is not None:
            raise ConfigError(self.missing)
        check_type(self.name, value, self.type)
        if value is None:
            return
        for check in self.checks:
            check(self, value, values)


def setting(
    default: Any = REQUIRED,
    *,
    help: str,
    shown: str | None = None,
    resumable: bool = False,
    parse: Callable[[Any], Any] | None = None,
    checks: tuple[Check, ...] = (),
    missing: str | None = None,
    flags: tuple[str, ...] | None = None,
    metavar: str | None = None,
    repeat: bool = False,
    commands: Collection[str] = RUN,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """The declaration of a setting, as the default of a dataclass field (which gives its name
    and type). ``flags=None`` is the flag of its name (``--n-dev`` for ``n_dev``); ``flags=()``
    none. ``factory`` builds a mutable default (a table)."""
    unknown = set(commands) - set(COMMANDS)
    if unknown:
        raise ValueError(f"unknown commands {sorted(unknown)} (known: {', '.join(COMMANDS)})")
    if (default is REQUIRED and factory is None) != (missing is not None):
        raise ValueError("a setting without a default needs the message of its absence, only it")
    info = Setting(
        name="",
        type=Any,
        default=REQUIRED,
        help=help,
        shown=shown,
        resumable=resumable,
        parse=parse,
        checks=checks,
        missing=missing,
        flags=() if flags is None else flags,
        metavar=metavar,
        repeat=repeat,
        commands=frozenset(commands),
    )
    metadata = {_KEY: (info, flags is None)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    if default is REQUIRED:
        return dataclasses.field(default=None, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def schema_of(cls: type) -> tuple[Setting, ...]:
    """The settings declared as the fields of the dataclass ``cls`` (see :func:`setting`), in
    field order."""
    hints = type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if _KEY not in f.metadata:
            continue
        info, flag_of_name = f.metadata[_KEY]
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        elif info.missing is not None:
            default = REQUIRED
        else:
            default = f.default
        flags = ("--" + f.name.replace("_", "-"),) if flag_of_name else info.flags
        out.append(
            dataclasses.replace(info, name=f.name, type=hints[f.name], default=default, flags=flags)
        )
    return tuple(out)


def parse_settings(obj: object, schema: tuple[Setting, ...]) -> None:
    """Parse every setting of the (frozen) dataclass instance ``obj`` in place (see
    :attr:`Setting.parse`)."""
    for s in schema:
        object.__setattr__(obj, s.name, s.value_of(getattr(obj, s.name)))


def check_settings(obj: object, schema: tuple[Setting, ...]) -> None:
    """Check every (parsed) setting of the dataclass instance ``obj``, in declaration order."""
    values = {s.name: getattr(obj, s.name) for s in schema}
    for s in schema:
        s.check(values[s.name], values)


def check_values(values: Mapping[str, Any], schema: Mapping[str, Setting]) -> dict[str, Any]:
    """Parse and check given settings (``None``: not given, left out) against ``schema`` (by
    name); returns the parsed ones."""
    given = {k: schema[k].value_of(v) for k, v in values.items() if v is not None}
    for name, value in given.items():
        schema[name].check(value, given)
    return given


# ------------------------------------------------------------------ checks
@dataclass(frozen=True)
class Count:
    """An integer in ``[minimum, maximum]``."""

    minimum: int = 1
    maximum: int = MAX_COUNT

    def __call__(self, setting: Setting, value: int, values: Mapping[str, Any]) -> None:
        if value < self.minimum:
            kind = "a positive integer" if self.minimum == 1 else f"an integer >= {self.minimum}"
            raise ConfigError(f"{setting.name} must be {kind}, got {value!r}")
        if value > self.maximum:
            kind = f"an integer in [{self.minimum}, {self.maximum}]"
            raise ConfigError(f"{setting.name} must be {kind}, got {value!r}")


@dataclass(frozen=True)
class Limit:
    """A bound that only an explicit opt-in setting (a flag such as ``--allow-large-budget``)
    lifts: the message names the bound and the opt-in.

    Attributes:
        maximum: The bound. unless: The boolean setting that lifts it. what: What the value
            counts (``instruction evaluations``).
    """

    maximum: int
    unless: str
    what: str

    def __call__(self, setting: Setting, value: int, values: Mapping[str, Any]) -> None:
        if value <= self.maximum or values.get(self.unless):
            return
        flag = "--" + self.unless.replace("_", "-")
        raise ConfigError(
            f"{setting.flag or setting.name} {value} is more than {self.maximum:,} {self.what}; "
            f"pass {flag} if you really mean it"
        )


@dataclass(frozen=True)
class Choice:
    """One of a set of names (``choices``: the names, or a function returning them, such as a
    registry's names once the plugins are imported), with a "did you mean" when not.

    Attributes:
        what: How the message names the setting (default: its name).
    """

    choices: Collection[str] | Callable[[], Collection[str]]
    what: str | None = None

    def names(self) -> Collection[str]:
        return self.choices() if callable(self.choices) else self.choices

    def __call__(self, setting: Setting, value: str, values: Mapping[str, Any]) -> None:
        names = self.names()
        if value not in names:
            raise ConfigError(unknown_name_message(self.what or setting.name, value, names))
