"""The command-line flags of the settings schema (:mod:`droiz.runner.settings.config`): each
setting with a flag becomes an ``argparse`` option whose help ends with its default, and whose
value is ``None`` when it is not given (so a config file or a saved run fills it)."""

from __future__ import annotations

import argparse
import typing
from collections.abc import Mapping
from typing import Any

from droiz.runner.settings.config import settings_for
from droiz.runner.settings.schema import CONFIGURABLE, Setting


def add_setting_flags(
    parser: argparse.ArgumentParser, command: str, *, help: Mapping[str, str] | None = None
) -> None:
    """Add the flags of ``command``'s settings to ``parser``; ``help`` replaces the help text
    (with its default) of some (by setting name)."""
    for s in settings_for(command).values():
        if not s.flags:
            continue
        text = (help or {}).get(s.name, f"{s.help} ({_default(s)})")
        kwargs: dict[str, Any] = {"dest": s.name, "help": text}
        kind = _flag_type(s.type)
        if s.repeat:
            kwargs.update(action="append", default=None)
        elif kind is bool:
            kwargs.update(action="store_true", default=None)
        else:
            kwargs["type"] = kind
        if s.metavar is not None:
            kwargs["metavar"] = s.metavar
        if s.required and command not in CONFIGURABLE:
            kwargs["required"] = True
        parser.add_argument(*s.flags, **kwargs)


def given_settings(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The values of ``command``'s setting flags (``None``: not given)."""
    return {name: getattr(args, name) for name, s in settings_for(command).items() if s.flags}


def _default(s: Setting) -> str:
    return "required" if s.required else f"default: {s.default_text}"


def _flag_type(hint: object) -> type:
    """The type of a flag's value: the hint's, without ``None``; a list is given as one string."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    kind = args[0] if len(args) == 1 else hint
    return kind if kind in (int, float, bool) else str
