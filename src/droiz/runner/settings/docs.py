"""The settings tables of ``docs/runner.md``, generated from the schema.

Each table sits between ``<!-- settings: COMMAND -->`` and ``<!-- /settings -->``; regenerate
them after changing a setting with::

    python -m droiz.runner.settings.docs docs/runner.md

(``tests/runner/test_runner_settings.py`` fails while the docs and the schema differ).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from droiz.runner.settings.config import settings_for
from droiz.runner.settings.schema import CONFIGURABLE, Setting

_BLOCK = re.compile(r"(<!-- settings: (\w+) -->\n)(.*?)(<!-- /settings -->)", re.S)


def settings_table(command: str) -> str:
    """The Markdown table of ``command``'s settings, in declaration order."""
    resume = command in CONFIGURABLE
    head = "| setting | flag | default |" + (" a resume may change it |" if resume else "")
    rows = [head + " meaning |", "|---" * (4 + resume) + "|"]
    for s in settings_for(command).values():
        alone = "config file only" if resume else "Python only"
        flag = ", ".join(f"`{f}`" for f in s.flags) or alone
        cells = [f"`{s.name}`", flag, _default(s)]
        if resume:
            cells.append("yes" if s.resumable else "no")
        rows.append("| " + " | ".join([*cells, s.help.replace("|", "\\|")]) + " |")
    return "\n".join(rows) + "\n"


def _default(s: Setting) -> str:
    if s.required or s.shown is not None or s.default in (None, (), {}):
        return s.default_text
    return f"`{s.default_text}`"


def update(text: str) -> str:
    """``text`` with every settings table regenerated."""
    return _BLOCK.sub(lambda m: m.group(1) + settings_table(m.group(2)) + m.group(4), text)


def tables(text: str) -> dict[str, str]:
    """The settings tables of ``text`` by command, as written."""
    return {m.group(2): m.group(3) for m in _BLOCK.finditer(text)}


def main(argv: list[str]) -> int:
    """Rewrite the settings tables of the given Markdown files."""
    for name in argv:
        path = Path(name)
        path.write_text(update(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
