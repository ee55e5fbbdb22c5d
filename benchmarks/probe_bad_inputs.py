"""Bad input to every ``droiz`` command, each case in its own process against its own loopback
server: what a new user or an attacker may type, and run directories damaged between sessions.

For every case the probe records the exit code, stderr, the requests its loopback server saw and
whether a model library (``transformers``, ``sentence_transformers``, ``llama_cpp``,
``xllamacpp``) was imported, without which no model can be loaded. It counts:

- tracebacks: ``Traceback`` on stderr, or exit code 1 (droiz's "unexpected" errors);
- wrong accepts: a case that exits 0, or with another code than it expects (2: refused);
- hangs: a case still running after ``--timeout`` seconds (60), then killed;
- work before a refusal: requests the server saw, model libraries imported.

    OMP_NUM_THREADS=1 python benchmarks/probe_bad_inputs.py [--jobs 2] [--only TEXT]
        [--timeout 60] [--json PATH] [-v]

Not part of the test suite (about 330 processes; 25 minutes on 2 busy cores). Needs the task
data for the built-in tasks (``DROIZ_DATA_DIR``, else ``../shared/data`` beside the clone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DROIZ_DATA_DIR", ROOT.parent / "shared" / "data"))
MODEL_LIBRARIES = ("transformers", "sentence_transformers", "llama_cpp", "xllamacpp")
RUNNER = f"""
import sys
from droiz.cli import main
try:
    code = main(sys.argv[1:])
finally:
    loaded = [m for m in {MODEL_LIBRARIES!r} if m in sys.modules]
    print("PROBE-LOADED:" + ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""
NON_UTF8 = b"\xff\xfe\xfa not utf-8\n"
SMALL = ["--kernel", "matern", "--budget", "4", "--n-init", "2", "--batch-size", "2"]
DEEP_TOML = "a = " + "[" * 5000 + "]" * 5000
LONG = "x" * 10_001


@dataclass
class Case:
    """One bad input.

    Attributes:
        name: What is wrong. argv: The command line; tokens expand (see :meth:`Probe.expand`).
        expect: Exit codes that are a right answer (2: refused; 3: a resume stopped at its cap
            before any request). prepare: Changes the case's copy of a run directory first.
    """

    name: str
    argv: list[str]
    expect: tuple[int, ...] = (2,)
    prepare: Callable[[Path], None] | None = None


@dataclass
class Outcome:
    name: str
    argv: list[str]
    code: int | None
    seconds: float
    requests: int
    loaded: list[str]
    stderr: str
    problems: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ cases
def _optimize(*extra: str) -> list[str]:
    base = ["optimize", "--task", "{task}", "--generator", "pool:{pool}", "--executor"]
    base += ["openai:m", "--base-url", "{url}", "--out", "{out}", "--no-progress", *SMALL]
    return [*base, *extra]


def _evaluate(*extra: str) -> list[str]:
    base = ["evaluate", "--task", "{task}", "--instruction", "Reverse the word.", "--executor"]
    return [*base, "openai:m", "--base-url", "{url}", "--cache-dir", "{case}/cache", *extra]


def _grid(*extra: str) -> list[str]:
    base = ["bench", "grid", "--tasks", "{task}", "--methods", "random", "--seeds", "1"]
    base += ["--generator", "pool:{pool}", "--executor", "openai:m", "--base-url", "{url}"]
    return [*base, "--out", "{out}", "--budget", "4", "--n-init", "2", "--kernel", "matern", *extra]


def _table(*extra: str) -> list[str]:
    base = ["bench", "table", "build", "--task", "{task}", "--pool", "{pool}", "--groups"]
    base += ["clean,case", "--n-dev", "4", "--n-test", "2", "--executor", "openai:m"]
    base += ["--base-url", "{url}", "--out", "{case}/t.json", "--cache-dir", "{case}/c"]
    return [*base, *extra]


def _replay(*extra: str) -> list[str]:
    base = ["bench", "table", "replay", "{table}", "--seeds", "2", "--budget", "12"]
    return [*base, "--n-dev", "4", "--out", "{case}/replay", *extra]


def _resume(*extra: str) -> list[str]:
    return ["resume", "{run}", "--base-url", "{url}", "--no-progress", *extra]


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda run: (run / name).write_bytes(data)


def _edit_journal(
    edit: Callable[[list[dict[str, Any]]], None], reseal: bool = False
) -> Callable[[Path], None]:
    """Rewrite the journal's records: their checksums left as they were (now wrong: accidental
    damage), or with ``reseal`` recomputed (a deliberate edit, caught by the values' checks)."""
    from droiz.checksum import FIELD, seal

    def line(record: dict[str, Any]) -> str:
        if not reseal:
            return json.dumps(record)
        return seal(json.dumps({k: v for k, v in record.items() if k != FIELD}))

    def prepare(run: Path) -> None:
        path = run / "journal.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()]
        edit(records)
        path.write_text("".join(line(r) + "\n" for r in records))

    return prepare


def _first_eval(records: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in records if r["type"] == "eval")


def _flip(records: list[dict[str, Any]]) -> None:
    scores = _first_eval(records)["scores"]
    group = sorted(scores)[0]
    scores[group][0] = 1.0 - scores[group][0]


def _two(records: list[dict[str, Any]]) -> None:
    ev = _first_eval(records)
    ev["group_scores"][sorted(ev["group_scores"])[0]] = 2.0


def _truncate_half(name: str) -> Callable[[Path], None]:
    def prepare(run: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: len(data) // 2])

    return prepare


def _unlink(name: str) -> Callable[[Path], None]:
    return lambda run: (run / name).unlink()


def cases() -> list[Case]:
    out: list[Case] = []

    def add(name: str, argv: list[str], *expect: int, prepare: Any = None) -> None:
        out.append(Case(name, argv, expect or (2,), prepare))

    # optimize: flags
    for flag, value in [
        ("--seed", "-1"), ("--seed", "1.5"), ("--seed", str(2**63)), ("--budget", "0"),
        ("--budget", "100001"), ("--budget", "ten"), ("--n-init", "5"), ("--n-init", "-1"),
        ("--batch-size", "0"), ("--n-dev", "0"), ("--n-demos", "0"), ("--n-test", "0"),
        ("--finalists", "-1"), ("--groups", ""), ("--groups", "clean,,case"),
        ("--groups", "clean,clean"), ("--groups", "nope"), ("--groups-per-round", "99"),
        ("--groups-per-round", "0"), ("--method", "droo"), ("--kernel", "rbf"),
        ("--surrogate", "deep"), ("--ambiguity", "kll:0.1"), ("--ambiguity", "kl:-1"),
        ("--ambiguity", "kl:nan"), ("--reference", "0.5,0.5"), ("--reference", "nan,1,1,1"),
        ("--reference", "heavy"), ("--concurrency", "0"), ("--concurrency", "100000"),
        ("--max-answer-tokens", "0"), ("--max-answer-tokens", "1000001"),
        ("--max-requests", "-1"), ("--max-requests", "2.5"), ("--max-tokens", "0"),
        ("--max-cost", "0"), ("--max-cost", "nan"), ("--max-cost", "1"),
        ("--answer-filter", "nosuch"), ("--answer-filter", "regex:("),
        ("--answer-filter", "regex:"), ("--answer-filter", "first-line,,strip"),
        ("--cache-namespace", ""), ("--api-key-env", "sk-live-abc123"), ("--track", "wandb"),
        ("--plugin", "no.such.module"), ("--budgt", "3"),
    ]:  # fmt: skip
        add(f"optimize {flag} {value!r}", _optimize(flag, value))
    for flag, value in [
        ("--task", "antonymz"), ("--task", "/nonexistent/t.jsonl"), ("--task", "{file}"),
        ("--task", "{dir}"), ("--task", "@jsonl:"), ("--task", "@bytes:.jsonl"),
        ("--task", "@jsonl:{bad\n"), ("--task", "@csv:input,answer\na,b\n"),
        ("--task", "@csv:"), ("--task", '@jsonl:{"input": "a", "output": ""}\n'),
        ("--task", '@jsonl:{"input": "' + LONG + '", "output": "b"}\n'),
        ("--task", "@jsonl:" + "[" * 5000 + "]" * 5000 + "\n"),
        ("--task", "@csv:input,output,group\na,b,x\nc,d,\n"), ("--task", "{fifo}"),
        ("--generator", "pool:/nonexistent/p.txt"), ("--generator", "pool:@txt:\n"),
        ("--generator", "pool:@bytes:.txt"), ("--generator", "pool:{dir}"),
        ("--generator", "pool:@txt:ok\n" + LONG + "\n"), ("--generator", "pool:@json:[1, 2]"),
        ("--generator", "pool:@json:" + "[" * 5000 + "]" * 5000), ("--generator", "gpt:x"),
        ("--generator", "hf:/nonexistent/model"), ("--generator", "pool:{fifo}"),
        ("--executor", "openai:"), ("--executor", "foo:bar"), ("--executor", "hf:/nonexistent"),
        ("--executor", "hf:/nonexistent/m.gguf"), ("--base-url", "ftp://x"),
        ("--base-url", ""), ("--base-url", "http://127.0.0.1:99999/v1"),
        ("--base-url", "http://u:sk-live-abc123@[::1"), ("--out", ""), ("--out", "{file}"),
        ("--out", "{file}/x"), ("--out", "/proc/droiz-run"), ("--out", "/sys/droiz-run"),
        ("--cache-dir", "{file}"), ("--cache-dir", "/proc/droiz-cache"),
        ("--data-dir", "{file}"), ("--config", ""), ("--config", "/nonexistent/c.toml"),
        ("--config", "{dir}"), ("--config", "@bytes:.toml"), ("--config", "{fifo}"),
    ]:  # fmt: skip
        add(f"optimize {flag} {value[:40]!r}", _optimize(flag, value))
    for toml in [
        "seed = 1.5", "n_init = true", 'budget = "lots"', "task = [1, 2]", "task = 3",
        'generator = "pool:/nonexistent/p.txt"', DEEP_TOML, "budgett = 3",
        '[engine]\neta = "big"', "[engine]\nettta = 0.1", 'executor_options = "x"',
        "generator_options = [1]", '[executor_options]\ntemperature = "hot"',
        "[executor_options]\ntempreature = 0", '[executor_options.retry]\nmax_retries = "x"',
        "[executor_options]\napi_key = 'sk-x'", 'max_cost = "1"', "max_requests = true",
        "prices = 3", '[prices]\nm = ["a", 1]', "allow_large_budget = 1", "answer_filter = 3",
        "budget = [\n", "n_init = 9",
    ]:  # fmt: skip
        add(f"optimize --config {toml[:40]!r}", _optimize("--config", "@toml:" + toml))
    add("optimize --config JSON [1, 2]", _optimize("--config", "@json:[1, 2]"))
    add("optimize --config bad JSON", _optimize("--config", "@json:{bad"))
    add("optimize --config deep JSON", _optimize("--config", "@json:" + '{"a": ' * 5000 + "1"))
    add("optimize unreachable endpoint", _optimize("--base-url", "{closed}"))
    add("optimize empty pool, unreachable", _optimize("--generator", "pool:@txt:\n", "--base-url", "{closed}"))  # fmt: skip  # noqa: E501
    add("optimize --out holds files", _optimize("--out", "{dir}"))
    add("optimize --resume nothing", _optimize("--resume"))
    add("optimize --dry-run --max-cost 2", _optimize("--dry-run", "--max-cost", "2"))
    add("optimize --dry-run bad filter", _optimize("--dry-run", "--answer-filter", "nosuch"))
    add("optimize no task", ["optimize", "--out", "{out}", "--generator", "pool:{pool}"])
    add("optimize no --out", ["optimize", "--task", "{task}"])

    # resume: run directories damaged between sessions (copies of a capped run)
    add("resume: another setting", _resume("--budget", "99"), prepare=lambda run: None)
    add("resume: nothing there", ["resume", "{out}"])
    add("resume: a file", ["resume", "{file}"])
    add("resume: garbled config.json", _resume(), prepare=_write("config.json", b"{garbage"))
    add("resume: binary config.json", _resume(), prepare=_write("config.json", NON_UTF8))
    add("resume: empty journal", _resume(), prepare=_write("journal.jsonl", b""))
    add("resume: binary journal", _resume(), prepare=_write("journal.jsonl", NON_UTF8 * 3))
    add("resume: flipped score", _resume(), prepare=_edit_journal(_flip))
    add("resume: group score 2.0", _resume(), prepare=_edit_journal(_two))
    add("resume: flipped score, resealed", _resume(), prepare=_edit_journal(_flip, reseal=True))
    add("resume: group score 2.0, resealed", _resume(), prepare=_edit_journal(_two, reseal=True))
    add("resume: journal cut in half", _resume(), 2, 3, prepare=_truncate_half("journal.jsonl"))
    add("resume: no journal", _resume(), prepare=_unlink("journal.jsonl"))
    add("resume: ledger deleted", _resume("--max-requests", "40"), 2, 3, prepare=_unlink("budget.jsonl"))  # fmt: skip  # noqa: E501
    add("resume: ledger garbled", _resume("--max-requests", "40"), 2, 3, prepare=_write("budget.jsonl", bytes(range(256)) * 8))  # fmt: skip  # noqa: E501
    add("resume: ledger cut", _resume("--max-requests", "40"), 2, 3, prepare=_truncate_half("budget.jsonl"))  # fmt: skip  # noqa: E501
    add("resume: ledger empty", _resume("--max-requests", "40"), 2, 3, prepare=_write("budget.jsonl", b""))  # fmt: skip  # noqa: E501
    add("resume: --max-requests 0", _resume("--max-requests", "0"), prepare=lambda run: None)
    add("resume: config with a bad value", _resume("--config", "@toml:n_init = true"), prepare=lambda run: None)  # fmt: skip  # noqa: E501

    # evaluate
    for flag, value in [
        ("--json", "{dir}"), ("--json", "{file}/x"), ("--json", ""), ("--json", "/proc/x.json"),
        ("--json", "/proc/self/comm"), ("--json", "{fifo}"), ("--seed", "-1"),
        ("--groups", ""), ("--groups", "clean,nope"), ("-n", "0"), ("--split", "train"),
        ("--cache-dir", "{file}"), ("--task", "antonymz"), ("--task", "@jsonl:"),
        ("--executor", "hf:/nonexistent"), ("--concurrency", "0"), ("--concurrency", "5000"),
        ("--api-key-env", "has space"), ("--base-url", "{closed}"), ("--answer-filter", "x"),
        ("--answer-filter", "regex:"), ("--max-answer-tokens", "0"), ("--instruction", ""),
        ("--instruction", "   "), ("--data-dir", "{file}"),
    ]:  # fmt: skip
        add(f"evaluate {flag} {value[:30]!r}", _evaluate(flag, value))
    add("evaluate empty instruction, unreachable", _evaluate("--instruction", "", "--base-url", "{closed}"))  # fmt: skip  # noqa: E501
    add("evaluate /proc json, unreachable", _evaluate("--json", "/proc/x.json", "--base-url", "{closed}"))  # fmt: skip  # noqa: E501

    # demo, bench sim, bench drbo
    for command in (["demo"], ["bench", "sim"]):
        name = " ".join(command)
        for flag, value in [
            ("--seeds", "0"), ("--seeds", "1000000000"), ("--budget", "10"),
            ("--budget", "1000000000"), ("--workers", "0"), ("--workers", "100000"),
            ("--ambiguity", "kll:1"), ("--scenario", "easy"), ("--group-rule", "auto"),
            ("--json", ""), ("--out", ""), ("--json", "{dir}"), ("--out", "{file}"),
            ("--json", "/proc/x.json"), ("--out", "/proc/x"), ("--json", "{file}/x"),
        ]:  # fmt: skip
            add(f"{name} {flag} {value!r}", [*command, "--seeds", "1", flag, value])
    add("bench sim --ablation --group-rule", ["bench", "sim", "--ablation", "--group-rule", "reference"])  # fmt: skip  # noqa: E501
    for flag, value in [
        ("--seeds", "0"), ("--seeds", "1000000000"), ("--steps", "0"),
        ("--steps", "1000000000"), ("--sets", "kl,foo"), ("--sets", "kl,kl"), ("--sets", ""),
        ("--json", ""), ("--out", ""), ("--json", "/proc/self/comm"), ("--out", "/proc/x"),
        ("--json", "{dir}"), ("--out", "{file}"),
    ]:  # fmt: skip
        add(f"bench drbo {flag} {value!r}", ["bench", "drbo", "--seeds", "1", flag, value])

    # bench grid
    for flag, value in [
        ("--tasks", ""), ("--tasks", "antonymz"), ("--tasks", "/nonexistent.jsonl"),
        ("--methods", "droo"), ("--methods", "dro,dro"), ("--seeds", "0"),
        ("--seeds", "1000000000"), ("--workers", "0"), ("--workers", "100000"),
        ("--backend", "spark"), ("--track", "wandb"), ("--tie-margin", "-1"),
        ("--tie-margin", "500"), ("--out", ""), ("--out", "{file}"), ("--out", "/proc/grid"),
        ("--out", "{dir}"), ("--budget", "0"), ("--n-init", "9"), ("--config", "{dir}"),
        ("--config", "@toml:method = 'ei'"), ("--config", "@toml:seed = 5"),
        ("--config", "@toml:[per_task.nope]\nbudget = 3"),
        ("--config", "@toml:[per_task.PROBE]\nbudget = 'x'"),
        ("--config", "@toml:[per_task.PROBE]\ngenerator = 'pool:/nonexistent/p.txt'"),
        ("--config", "@toml:[per_task.PROBE]\nseed = 3"), ("--config", "@toml:" + DEEP_TOML),
        ("--generator", "pool:/nonexistent/p.txt"), ("--base-url", "ftp://x"),
    ]:  # fmt: skip
        add(f"bench grid {flag} {value[:40]!r}", _grid(flag, value))

    # bench table build
    for flag, value in [
        ("--n-dev", "1"), ("--n-dev", "1000000000"), ("--n-test", "0"), ("--seed", "-1"),
        ("--groups", ""), ("--groups", "clean,nope"), ("--groups", "clean,clean"),
        ("--pool", "/nonexistent/p.txt"), ("--pool", "{fifo}"), ("--pool", "{dir}"),
        ("--pool", "@bytes:.jsonl"), ("--pool", "@txt:one\n"),
        ("--pool", "@jsonl:" + "[" * 5000 + "]" * 5000 + "\n"),
        ("--pool", '@jsonl:{"instruction": "' + LONG + '"}\n'),
        ("--pool", '@jsonl:{"instruction": "a", "features": [1]}\n{"instruction": "b"}\n'),
        ("--out", ""), ("--out", "{dir}"), ("--out", "/proc/t.json"), ("--out", "{case}/t.csv"),
        ("--out", "{file}/t.json"), ("--executor", "nope:m"), ("--answer-filter", "bogus"),
        ("--concurrency", "0"), ("--concurrency", "100000"), ("--max-answer-tokens", "0"),
        ("--api-key-env", "sk-live-abc123"), ("--cache-dir", "{file}"), ("--task", "antonymz"),
        ("--base-url", "ftp://x"), ("--base-url", "{closed}"),
    ]:  # fmt: skip
        add(f"bench table build {flag} {value[:30]!r}", _table(flag, value))
    add("bench table build: too few examples, unreachable", _table("--n-test", "1000", "--base-url", "{closed}"))  # fmt: skip  # noqa: E501
    add("bench table: no action", ["bench", "table"])

    # bench table replay
    for flag, value in [
        ("--seeds", "0"), ("--seeds", "1000000000"), ("--budget", "1000000000"),
        ("--budget", "11"), ("--workers", "0"), ("--workers", "100000"), ("--n-dev", "1000"),
        ("--methods", "droo"), ("--methods", "dro,dro"), ("--ambiguity", "kl:-1"),
        ("--group-rule", "auto"), ("--pool-dim", "0"), ("--finalists", "-1"),
        ("--out", "/proc/replay"), ("--out", "{file}"), ("--json", "/proc/r.json"),
        ("--json", "{dir}"), ("--json", "{file}/r.json"),
    ]:  # fmt: skip
        add(f"bench table replay {flag} {value!r}", _replay(flag, value))
    add("bench table replay --ablation --methods", _replay("--ablation", "--methods", "dro"))
    for name, table in [("a file", "{file}"), ("missing", "/nonexistent/t.json"),
                        ("a directory", "{dir}"), ("a pipe", "{fifo}"), ("bad JSON", "@json:{"),
                        ("nested JSON", "@json:" + "[" * 5000 + "]" * 5000)]:  # fmt: skip
        add(f"bench table replay: table {name}", ["bench", "table", "replay", table, "--out", "{case}/r"])  # fmt: skip  # noqa: E501
    add("bench table replay: one table twice", ["bench", "table", "replay", "{table}", "{table}", "--n-dev", "4", "--out", "{case}/r"])  # fmt: skip  # noqa: E501

    # serve (every case is refused before the model loads: the server never starts)
    for argv in [
        ["serve", "/nonexistent/m.gguf"], ["serve", "{file}"], ["serve", "{dir}"],
        ["serve", "{fifo}"], ["serve", "@txt:x"], ["serve", "nosuch-model"],
        ["serve", "smollm2-135m", "--port", "0"], ["serve", "smollm2-135m", "--port", "70000"],
        ["serve", "smollm2-135m", "--parallel", "0"], ["serve", "smollm2-135m", "--threads", "0"],
        ["serve", "smollm2-135m", "--parallel", "100000"], ["serve", "smollm2-135m", "--ctx", "16"],
        ["serve", "smollm2-135m", "--ctx", "1000000"],
        ["serve", "smollm2-135m", "--ctx", "100000", "--parallel", "64"],
    ]:  # fmt: skip
        add(" ".join(a[:30] for a in argv), argv)

    # clusters
    add("optimize --groups clusters:0", _optimize("--groups", "clusters:0"))
    add("optimize --groups clusters:10**12, unreachable", _optimize("--groups", "clusters:1000000000000", "--base-url", "{closed}"))  # fmt: skip  # noqa: E501
    add("optimize --groups clusters:3 --groups-per-round 9", _optimize("--groups", "clusters:3", "--groups-per-round", "9"))  # fmt: skip  # noqa: E501
    add("optimize --groups clusters:2 --reference 1,1,1", _optimize("--groups", "clusters:2", "--reference", "1,1,1"))  # fmt: skip  # noqa: E501
    add("optimize --groups clusters:2 --embedder nosuch/model", _optimize("--groups", "clusters:2", "--embedder", "nosuch/model"))  # fmt: skip  # noqa: E501
    add("tasks show --groups clusters:1000000", ["tasks", "show", "{task}", "--groups", "clusters:1000000"])  # fmt: skip  # noqa: E501
    add("tasks show --groups clusters:x", ["tasks", "show", "{task}", "--groups", "clusters:x"])  # fmt: skip  # noqa: E501

    # tasks, runs, report, data
    for argv in [
        ["tasks", "show", "antonymz"], ["tasks", "show", "/nonexistent.csv"],
        ["tasks", "show", "@csv:input,output\na,b\n", "--seed", "-1"],
        ["tasks", "show", "@csv:input,output\na,b\n", "--metric", "nosuch"],
        ["tasks", "show", "@csv:input,output,group\na,b,\n"], ["tasks", "show", "{fifo}"],
        ["tasks", "show", "antonyms", "-n", "x"], ["tasks", "show", "antonyms", "-n", "-1"],
        ["tasks", "show", "antonyms", "--split", "train"], ["tasks", "show", "@jsonl:"],
        ["tasks", "list", "--data-dir", "{file}"], ["tasks", "bogus"],
        ["runs", "list", "/nonexistent"], ["runs", "list", "{file}"],
        ["runs", "list", "--bogus"], ["report", "/nonexistent"], ["report", "{file}"],
        ["report", "{dir}"], ["data", "verify", "--data-dir", "{file}"],
        ["data", "download", "--timeout", "-1"], ["data", "download", "--timeout", "nan"],
        ["data", "download", "--dest", "{file}"], ["data", "download", "--dest", ""],
        ["data", "download", "--dest", "/proc/droiz-data"], ["nosuchcommand"], ["--bogus"],
    ]:  # fmt: skip
        add(" ".join(a[:30] for a in argv), argv)
    add("report: unfinished run", ["report", "{run}"], prepare=lambda run: None)
    add("report: empty journal", ["report", "{run}"], prepare=_write("journal.jsonl", b""))
    return out


# ------------------------------------------------------------------ running
def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class Probe:
    """Runs the cases: fixtures under ``root``, each case in its own folder and process."""

    def __init__(self, root: Path, timeout: float) -> None:
        from droiz.testing import InstructionWorld

        self.root, self.timeout = root, timeout
        self.world = InstructionWorld("small")
        self.task = self.world.write_task(root / "reverse.jsonl")
        self.pool = self.world.write_pool(root / "pool.txt")
        (root / "afile").write_text("x\n")
        (root / "adir").mkdir()
        (root / "adir" / "notes.txt").write_text("mine")
        os.mkfifo(root / "afifo")
        self.run = root / "capped"
        self._capped_run()
        from droiz.testing.tables import write_synthetic_table

        self.table = write_synthetic_table(root / "t.json", levels=(2, 2, 1), n_dev=4, n_test=4)

    def _capped_run(self) -> None:
        """A run stopped at its --max-requests cap of 40, to damage and resume."""
        import droiz
        from droiz.runner import CapReached
        from droiz.testing import FakeOpenAIServer

        stopped = contextlib.suppress(CapReached)
        with FakeOpenAIServer(answer=self.world.answer) as server, stopped:
            droiz.optimize(
                task=str(self.task), generator=f"pool:{self.pool}", executor="openai:m",
                base_url=server.base_url, out=self.run, budget=8, n_init=4, batch_size=2,
                n_dev=3, kernel="matern", max_requests=40,
                cache_dir=str(self.root / "capped-cache"),
            )  # fmt: skip

    def expand(self, token: str, case_dir: Path, url: str, run: Path | None) -> str:
        """``{url}``, ``{closed}``, ``{task}``, ``{pool}``, ``{out}``, ``{case}``, ``{file}``,
        ``{dir}``, ``{fifo}``, ``{run}`` (the case's copy of the capped run), ``PROBE`` (the
        task's name), and ``@kind:text`` (a new file with ``text``; ``@bytes:`` non-UTF-8)."""
        prefix, sep, rest = token.partition("@")
        if sep and rest.split(":", 1)[0] in ("toml", "json", "jsonl", "csv", "txt", "bytes"):
            kind, _, text = rest.partition(":")
            text = text.replace("PROBE", self.task.stem)
            path = case_dir / f"in-{len(list(case_dir.iterdir()))}"
            if kind == "bytes":
                path = path.with_suffix(text or ".txt")
                path.write_bytes(NON_UTF8)
            else:
                path = path.with_suffix("." + kind)
                path.write_text(text, encoding="utf-8")
            return prefix + str(path)
        values = {
            "{url}": url, "{closed}": _closed_url(), "{task}": str(self.task),
            "{pool}": str(self.pool), "{out}": str(case_dir / "out"), "{case}": str(case_dir),
            "{file}": str(self.root / "afile"), "{dir}": str(self.root / "adir"),
            "{fifo}": str(self.root / "afifo"), "{run}": str(run), "PROBE": self.task.stem,
            "{table}": str(self.table),
        }  # fmt: skip
        for key, value in values.items():
            token = token.replace(key, value)
        return token

    def __call__(self, number: int, case: Case) -> Outcome:
        from droiz.testing import FakeOpenAIServer

        case_dir = self.root / f"case-{number:03d}"
        case_dir.mkdir()
        run = None
        if case.prepare is not None or any("{run}" in a for a in case.argv):
            run = case_dir / "run"
            shutil.copytree(self.run, run)
            if case.prepare is not None:
                case.prepare(run)
        env = {
            **os.environ, "HF_HUB_OFFLINE": "1", "DROIZ_DATA_DIR": str(DATA),
            "DROIZ_CACHE_DIR": str(case_dir / "user-cache"), "OPENAI_API_KEY": "sk-probe-key",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path]),
        }  # fmt: skip
        with FakeOpenAIServer(answer=self.world.answer) as server:
            argv = [self.expand(a, case_dir, server.base_url, run) for a in case.argv]
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", RUNNER, *argv], cwd=case_dir, env=env, text=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            try:
                _, err = proc.communicate(timeout=self.timeout)
                code: int | None = proc.returncode
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
                code = None
            seconds = time.perf_counter() - start
            requests = server.n_requests
        lines = err.strip().splitlines()
        loaded = []
        if lines and lines[-1].startswith("PROBE-LOADED:"):
            loaded = [m for m in lines.pop()[len("PROBE-LOADED:") :].split(",") if m]
        outcome = Outcome(case.name, argv, code, seconds, requests, loaded, "\n".join(lines))
        refused = code in case.expect and code != 0
        if code is None:
            outcome.problems.append(f"hang (> {self.timeout:g} s)")
        elif "Traceback" in err or code == 1:
            outcome.problems.append("traceback")
        elif not refused:
            outcome.problems.append(f"wrong accept (exit {code})")
        if requests:
            outcome.problems.append(f"{requests} requests")
        if loaded:
            outcome.problems.append(f"loaded {','.join(loaded)}")
        shutil.rmtree(case_dir, ignore_errors=True)
        return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--only", default="", help="run the cases whose name holds this text")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a case may take")
    parser.add_argument("--json", type=Path, help="write every outcome as JSON here")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per case")
    args = parser.parse_args()
    todo = [c for c in cases() if args.only in c.name]
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="droiz-probe-") as tmp:
        probe = Probe(Path(tmp), args.timeout)
        with ThreadPoolExecutor(args.jobs) as pool:
            for o in pool.map(probe, range(len(todo)), todo):
                outcomes.append(o)
                if o.problems:  # as they come: a long probe shows its findings early
                    last = o.stderr.splitlines()[-1] if o.stderr else ""
                    print(f"{o.name}: {'; '.join(o.problems)}: {last[:200]}", flush=True)
                if args.verbose:
                    print(f"[{len(outcomes)}/{len(todo)}] {o.name}: exit {o.code}", flush=True)
    elapsed = time.perf_counter() - start

    def count(word: str) -> int:
        return sum(any(word in p for p in o.problems) for o in outcomes)

    requests = sum(o.requests for o in outcomes)
    loads = sum(bool(o.loaded) for o in outcomes)
    multi = sum(o.code == 2 and len(o.stderr.splitlines()) > 1 for o in outcomes)
    print(
        f"probe_bad_inputs: {len(outcomes)} cases in {elapsed:.0f} s: "
        f"{count('traceback')} tracebacks, {count('wrong accept')} wrong accepts, "
        f"{count('hang')} hangs (> {args.timeout:g} s), {requests} requests and {loads} model "
        f"loads before a refusal; {multi} refusals took more than one line on stderr"
    )
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n")
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
