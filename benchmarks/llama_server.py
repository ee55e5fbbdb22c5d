"""Start ``droiz serve`` (or the source-built ``scripts/llama-server.sh``) for a benchmark, wait
until it serves, read its timings.

Used by ``bench_server.py`` and ``bench_agreement.py``; not part of the droiz package (droiz
talks to any OpenAI-compatible server through ``openai:MODEL --base-url``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "llama-server.sh"

# llama.cpp prints, per finished request (after a "slot print_timing: id 0 | task 3 |" prefix):
#   prompt eval time =      10.62 ms /    22 tokens (    0.48 ms per token,  2071.37 tokens ...)
#          eval time =     123.45 ms /    32 tokens (    3.86 ms per token,   259.21 tokens ...)
_TIMING = re.compile(r"(?:^|\|)\s*(prompt eval|eval) time\s*=\s*([\d.]+) ms /\s*(\d+) tokens", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_binary() -> str | None:
    """The built binary's path, or ``None`` when ``llama-server.sh build`` has not run."""
    done = subprocess.run([str(SCRIPT), "path"], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def missing_server(source_build: bool) -> str | None:
    """Why the server cannot start (the command that fixes it), or ``None`` when it can."""
    if source_build:
        return None if server_binary() else "not built: scripts/llama-server.sh build"
    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp missing: pip install 'droiz[serve]'"
    return None


class LlamaServer:
    """``droiz serve`` (default) or ``llama-server.sh start`` (``source_build``) in a subprocess on
    a free port; stopped on exit.

    Args:
        log: File receiving the server's output (its timing lines are parsed from it).
        parallel: Server slots. threads: CPU threads. model: GGUF file (default: SmolLM2).
        timeout: Seconds to wait for ``/health``. source_build: Use the source-built binary.
    """

    def __init__(
        self,
        log: Path,
        *,
        parallel: int = 1,
        threads: int = 1,
        model: str | None = None,
        timeout: float = 180.0,
        source_build: bool = False,
    ) -> None:
        self.log, self.parallel, self.threads = Path(log), parallel, threads
        self.model, self.timeout, self.source_build = model, timeout, source_build
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_s = 0.0  # seconds from start to the first healthy answer

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LlamaServer:
        sizes = ["--port", str(self.port), "--parallel", str(self.parallel)]
        sizes += ["--threads", str(self.threads)]
        if self.source_build:
            cmd = [str(SCRIPT), "start", *sizes] + (["--model", self.model] if self.model else [])
        else:
            cmd = [sys.executable, "-m", "droiz", "serve", self.model or "smollm2-135m", *sizes]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            env = {**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)}
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        started = time.monotonic()
        deadline = started + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"llama-server exited with {self.proc.returncode}; see {self.log}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    self.ready_s = time.monotonic() - started
                    return self
            except (urllib.error.URLError, OSError):  # refused, or 503 while the model loads
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"llama-server not ready after {self.timeout:.0f} s; see {self.log}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def timings(self) -> dict[str, float]:
        """llama.cpp's own figures from the log: requests timed, tokens and milliseconds of
        prompt processing and generation, and the per-request generation speed (tokens/s)."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        out = {"requests": 0.0, "prompt_tokens": 0.0, "prompt_ms": 0.0, "eval_tokens": 0.0}
        out["eval_ms"] = 0.0
        for kind, ms, tokens in _TIMING.findall(text):
            key = "prompt" if kind == "prompt eval" else "eval"
            out[f"{key}_tokens"] += int(tokens)
            out[f"{key}_ms"] += float(ms)
            out["requests"] += key == "eval"
        out["eval_tok_s"] = 1000 * out["eval_tokens"] / out["eval_ms"] if out["eval_ms"] else 0.0
        pt, pms = out["prompt_tokens"], out["prompt_ms"]
        out["prompt_tok_s"] = 1000 * pt / pms if pms else 0.0
        return out
