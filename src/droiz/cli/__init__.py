"""The ``droiz`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers) -> None``, which adds an ``argparse`` sub-parser whose ``func`` default is
called with the parsed arguments and returns the exit code. Modules are discovered automatically,
so adding a command means adding one file. Modules must import heavy dependencies lazily.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from droiz import __version__
from droiz._signals import SigtermAsInterrupt, Terminated
from droiz.cli._errors import (
    BUG_EXIT,
    USAGE_EXIT,
    OneLineParser,
    describe_bug,
    describe_os_error,
    say,
    setup_logging,
)
from droiz.exceptions import DroizError


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="droiz",
        description="Distributionally robust instruction optimisation for black-box LLMs.",
    )
    parser.add_argument("--version", action="version", version=f"droiz {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``droiz`` console script; returns the process exit code. SIGTERM is
    handled as Ctrl-C from here on (:class:`~droiz._signals.SigtermAsInterrupt`): exit 143."""
    with SigtermAsInterrupt():
        try:
            return _main(argv)
        except Terminated:  # before a command took over its own reporting
            print("droiz: terminated (SIGTERM)", file=sys.stderr)
            return 143


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else USAGE_EXIT
    setup_logging(args.verbose)
    if not hasattr(args, "func"):
        parser.print_help()
        return USAGE_EXIT
    prog = f"droiz {args.command}"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):
            print(f"{prog}: terminated (SIGTERM)", file=sys.stderr)
            return 143
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`droiz ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (DroizError, OSError) as exc:
        if args.debug:
            raise
        say(prog, describe_os_error(exc) if isinstance(exc, OSError) else str(exc))
        return USAGE_EXIT
    except Exception as exc:
        if args.debug:
            raise
        say(prog, describe_bug(exc))
        return BUG_EXIT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
