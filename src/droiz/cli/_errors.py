"""How the ``droiz`` command line reports problems: one line on stderr, nothing more.

* bad input (:class:`~droiz.exceptions.DroizError` other than a backend failure, an argparse
  usage error, an :class:`OSError` such as a path that is a file or cannot be written): exit 2;
* a backend failure after retries (:class:`~droiz.exceptions.BackendError`): exit 2, with the
  message that says how to continue;
* anything unexpected: exit 1, one line plus a hint to rerun with ``droiz --debug`` for the
  traceback (``--debug`` re-raises).

Every line goes through :func:`droiz.redact.redact`, so no message can carry an API key.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from droiz.redact import HTTP_PACKAGES, protect_logs, redact

USAGE_EXIT = 2
BUG_EXIT = 1


def help_without_action(parser: argparse.ArgumentParser) -> None:
    """A command group run without its action prints its help on stderr and exits 2."""

    def usage(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return USAGE_EXIT

    parser.set_defaults(func=usage)


class OneLineParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors are a single line (the sub-command
    parsers inherit it)."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see {self.prog} --help)"
        say(self.prog, " ".join(message.split()) + hint)
        self.exit(USAGE_EXIT)


def bounded_int(minimum: int, maximum: int, note: str = "") -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[minimum, maximum]`` (the bound is declared with
    its flag; argparse refuses another value in one line, before the command runs). ``note``
    says what the bound protects."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be an integer in [{minimum:,}, {maximum:,}]{note}, got {value}"
            )
        return value

    return parse


def path_arg(text: str) -> Path:
    """An argparse ``type`` for paths that refuses an empty string (``Path("")`` is ``.``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path is not allowed")
    return Path(text)


def say(prog: str, message: str) -> None:
    """Print ``prog: error: message`` as one redacted line on stderr."""
    line = " ".join(redact(str(message)).split()) or "(no message)"
    print(f"{prog}: error: {line}", file=sys.stderr)


def describe_os_error(exc: OSError) -> str:
    """An :class:`OSError` as one line naming the path(s) involved."""
    reason = exc.strerror or type(exc).__name__
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    if paths:
        return f"{' -> '.join(repr(str(p)) for p in paths)}: {reason}"
    return f"{reason} ({exc})" if str(exc) and str(exc) != reason else reason


def describe_bug(exc: BaseException) -> str:
    """The one line of an unexpected exception, with the ``--debug`` hint."""
    text = " ".join(str(exc).split())[:300]
    kind = type(exc).__name__
    return f"unexpected {kind}: {text} (run with `droiz --debug ...` for the traceback)"


class QuietHTTP(logging.Filter):
    """Drops the HTTP stack's records below WARNING, except ``httpx`` and ``openai`` INFO
    records at ``-vv`` (request lines, with URLs masked)."""

    def __init__(self, verbose: int) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        package = record.name.split(".", 1)[0]
        if package not in HTTP_PACKAGES or record.levelno >= logging.WARNING:
            return True
        chatty = package.startswith(("httpcore", "urllib3"))
        return self.verbose >= 2 and not chatty and record.levelno >= logging.INFO


def setup_logging(verbose: int) -> None:
    """Log to stderr at WARNING, INFO (``-v``) or DEBUG (``-vv``), every record redacted, the
    HTTP stack kept quiet (:class:`QuietHTTP`)."""
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(max(verbose, 0), 2)]
    root = logging.getLogger()
    fresh = not root.handlers
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if fresh and root.handlers:
        root.handlers[0].addFilter(QuietHTTP(verbose))
    protect_logs()
