"""The quick start of docs/dspy.md runs as written, against the loopback server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from droiz.testing import FakeOpenAIServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "dspy.md"


def quick_start() -> str:
    section = DOC.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/dspy.md has no python block under Quick start"
    return match[1]


@pytest.mark.slow
def test_the_quick_start_is_short_and_runs_then_resumes_without_requests(tmp_path: Path) -> None:
    code = quick_start()
    assert len(code.strip().splitlines()) <= 30
    script = tmp_path / "quick_start.py"
    script.write_text(code, encoding="utf-8")
    answer = "[[ ## answer ## ]]\nmoo\n\n[[ ## completed ## ]]"
    with FakeOpenAIServer(answer=lambda prompt, body: answer) as server:
        env = {**os.environ, "BASE_URL": server.base_url, "MODEL": "fake", "OPENAI_API_KEY": "k"}
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, str(script)],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            assert "chosen: " in done.stdout
        result = json.loads((tmp_path / "runs" / "quickstart" / "result.json").read_text())
        assert result["requests"] == 0 and result["total_requests"] == server.n_requests > 0
