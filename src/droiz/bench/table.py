"""Answer tables: one executor run once over every (pool instruction, group, example) of a task's
fixed dev pool and fixed test set, kept as per-example scores.

A table lets methods that choose among the pool's instructions be compared over many seeds
without a model: every score they could ask for is in it. It holds scores and ids only, never a
task input or an answer (the raw answers stay in the response cache, so re-scoring with another
answer filter is a rebuild that sends no request).

The build goes through the shared response cache: every answer is stored the moment it arrives,
so an interrupted build resumes where it stopped and nothing is paid for twice. It scores the
dev pool first and prints the headroom check (:mod:`droiz.bench.headroom`) before the test set;
``headroom_only`` stops there, which makes screening a task cheap (and the answers it paid for
are reused by the full build: the dev subset for a larger ``n_dev`` contains the smaller one).

The dev pool is ``task.dataset("dev", groups, n=n_dev, seed)`` and the test set
``task.dataset("test", groups, n=n_test, seed)``: the task loaded with the table's seed, so the
examples and their perturbations are fixed by it, as in ``droiz optimize --seed``.

Table layout (JSON, ``format`` = :data:`TABLE_FORMAT`, ``version`` = :data:`TABLE_VERSION`)::

    task, metric, seed, groups, answer_filter, command, droiz_version
    executor: {spec, model, fingerprint, max_answer_tokens, server_model}
    pool: {file, sha256, n, instructions, features}
    splits: {dev|test: {example_ids: {group: [id, ...]},
                        scores: {group: [[score per example id] per instruction]}}}
    headroom: the check's result on the dev pool
    usage: requests of the build that wrote the file (sent, cache hits, tokens)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from droiz.exceptions import ConfigError

if TYPE_CHECKING:
    from droiz.llm import Executor
    from droiz.tasks import Dataset, Instance, Task
    from droiz.tasks.filters import AnswerFilter

TABLE_FORMAT = "droiz-answer-table"
TABLE_VERSION = 1


@dataclass(frozen=True)
class Pool:
    """An instruction pool file: its instructions, optional features and content hash."""

    file: str
    sha256: str
    instructions: tuple[str, ...]
    features: tuple[tuple[float, ...], ...] | None


@dataclass(frozen=True)
class TableSpec:
    """What ``droiz bench table build`` runs (the CLI's flags, by name)."""

    task: str
    pool: str
    groups: tuple[str, ...]
    n_dev: int
    n_test: int
    executor: str
    base_url: str | None = None
    answer_filter: str | None = None
    max_answer_tokens: int | None = None
    concurrency: int | None = None
    seed: int = 0
    cache_dir: str | None = None
    cache_namespace: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    data_dir: str | None = None

    def command(self, out: str | os.PathLike[str]) -> str:
        """The command that builds this table (``--base-url`` with credentials masked; paths as
        :func:`portable_path` writes them; the cache and data folders are left out: they do not
        change the table)."""
        from droiz.redact import redact_url

        flags: list[tuple[str, Any]] = [
            ("--task", portable_path(self.task)),
            ("--pool", portable_path(self.pool)),
            ("--groups", ",".join(self.groups)),
            ("--n-dev", self.n_dev),
            ("--n-test", self.n_test),
            ("--executor", self.executor),
            ("--base-url", redact_url(self.base_url)),
            ("--answer-filter", self.answer_filter),
            ("--max-answer-tokens", self.max_answer_tokens),
            ("--seed", self.seed),
            ("--out", portable_path(out)),
        ]
        parts = ["droiz", "bench", "table", "build"]
        for flag, value in flags:
            if value is not None:
                parts += [flag, str(value)]
        return shlex.join(parts)


def portable_path(path: str | os.PathLike[str]) -> str:
    """A path as a committed table may hold it: unchanged when relative and inside the working
    folder, relative to the working folder when it lies inside it, else its file name only (an
    absolute path names one machine's folders; the pool's sha256 identifies the file anyway)."""
    p = Path(path)
    if not p.is_absolute() and ".." not in p.parts:
        return os.fspath(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return p.name


def table_pool(path: str | os.PathLike[str]) -> Pool:
    """A pool file as :func:`droiz.llm.pool.read_pool` reads it (text, a JSON list, or ``.jsonl``
    with features), with the hash of its content."""
    from droiz.llm.pool import read_pool

    pool = read_pool(path)
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    features = None if pool.features is None else tuple(tuple(f) for f in pool.features)
    return Pool(portable_path(path), sha, tuple(pool.instructions), features)


# ------------------------------------------------------------------ checks
def check_spec(
    spec: TableSpec, out: str | os.PathLike[str], *, headroom_only: bool = False
) -> tuple[Task, Pool, AnswerFilter]:
    """Every local check, before any model is loaded or request sent; returns the task (loaded
    with the table's seed), the pool and the answer filter. Last, the endpoint must accept a
    connection, unless the cache already holds every answer the build needs (the dev pool, and
    the test set unless ``headroom_only``): a rebuild from the cache, e.g. to re-score with
    another answer filter, needs no server."""
    from droiz.llm.backends import check_endpoint, check_executor, executor_options
    from droiz.runner.settings.checks import check_base_url, check_env_name, check_names
    from droiz.tasks import load_task
    from droiz.tasks.filters import parse_filter
    from droiz.validate import check_count, check_dir_path, check_file_path, check_seed

    check_seed(spec.seed)
    check_count("--n-dev", spec.n_dev, 2)
    check_count("--n-test", spec.n_test, 1)
    if spec.concurrency is not None:
        check_count("--concurrency", spec.concurrency, 1, 4096)
    if spec.max_answer_tokens is not None:
        check_count("--max-answer-tokens", spec.max_answer_tokens, 1, 1_000_000)
    check_env_name(spec.api_key_env)
    check_base_url(spec.base_url)
    check_names("--groups", list(spec.groups))
    if spec.cache_dir is not None:
        check_dir_path(spec.cache_dir, "--cache-dir")
    path = check_file_path(out, "--out")
    if path.suffix.lower() != ".json":
        raise ConfigError(f"--out must name a .json file, got {str(out)!r}")
    chain = parse_filter(spec.answer_filter)
    pool = table_pool(spec.pool)
    if len(pool.instructions) < 2:
        raise ConfigError(f"the pool {spec.pool!r} needs at least 2 instructions")
    if len(set(pool.instructions)) != len(pool.instructions):
        raise ConfigError(f"the pool {spec.pool!r} repeats an instruction; keep each once")
    check_executor(spec.executor, {})
    executor_options(  # the endpoint flags against the executor's kind; probes nothing
        spec.executor,
        base_url=spec.base_url,
        api_key_env=spec.api_key_env,
        cache_namespace=spec.cache_namespace,
        concurrency=spec.concurrency,
        max_answer_tokens=spec.max_answer_tokens,
    )
    task = load_task(spec.task, spec.data_dir, seed=spec.seed).with_groups(spec.groups)
    for split, n in (("dev", spec.n_dev), ("test", spec.n_test)):
        have = len(task.split(split))
        if have < n:
            flag = "--n-dev" if split == "dev" else "--n-test"
            raise ConfigError(
                f"task {task.name!r} has {have} {split} examples; {flag} {n} asks for more"
            )
    splits = ("dev",) if headroom_only else ("dev", "test")
    if spec.base_url and uncached(spec, task, pool, splits):  # after every local check
        check_endpoint(spec.base_url)  # a connection, no request
    return task, pool, chain


def uncached(spec: TableSpec, task: Task, pool: Pool, splits: tuple[str, ...]) -> int:
    """How many distinct requests of the build on ``splits`` the response cache does not answer
    (all of them when the executor's answers are not cached). Builds nothing, sends nothing."""
    from droiz.llm import ResponseCache
    from droiz.llm.backends import executor_fingerprint
    from droiz.llm.cache import response_key
    from droiz.runner.loop.scoring import exec_request

    prompts = {
        exec_request(instruction, inst).prompt
        for split in splits
        for inst in _dataset(task, spec, split).instances
        for instruction in pool.instructions
    }
    fingerprint = executor_fingerprint(spec.executor, **_endpoint(spec))
    if fingerprint is None:
        return len(prompts)
    cache = ResponseCache(spec.cache_dir)
    try:
        return len(prompts) - len(cache.get_many(response_key(fingerprint, p) for p in prompts))
    finally:
        cache.close()


def _endpoint(spec: TableSpec) -> dict[str, Any]:
    """The executor settings of the table's flags."""
    return {
        "base_url": spec.base_url,
        "api_key_env": spec.api_key_env,
        "cache_namespace": spec.cache_namespace,
        "concurrency": spec.concurrency,
        "max_answer_tokens": spec.max_answer_tokens,
    }


def _dataset(task: Task, spec: TableSpec, split: str) -> Dataset:
    """The table's fixed dev pool or test set."""
    n = spec.n_dev if split == "dev" else spec.n_test
    return task.dataset(split, spec.groups, n=n, seed=spec.seed)


# ------------------------------------------------------------------ build
Progress = Callable[[str], None]


def build_table(
    spec: TableSpec,
    out: str | os.PathLike[str],
    *,
    headroom_only: bool = False,
    progress: Progress | None = None,
    on_headroom: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Build (or rebuild from the cache) the table of ``spec`` and write it to ``out``.

    Args:
        spec: The table's settings.
        out: The ``.json`` file to write (atomically; not written with ``headroom_only``).
        headroom_only: Score the dev pool, run the headroom check and stop.
        progress: Called with a line naming the build once the inputs are checked, then one
            line per instruction and split (default: nothing).
        on_headroom: Called with the headroom check once the dev pool is scored, before the
            test set.

    Returns:
        The table (with ``headroom_only``: without the test split).
    """
    import droiz
    from droiz.bench.headroom import headroom_check
    from droiz.llm import ResponseCache
    from droiz.llm.backends import build_executor

    task, pool, chain = check_spec(spec, out, headroom_only=headroom_only)
    if progress is not None:
        what = "the dev pool only" if headroom_only else "dev pool, then test set"
        progress(
            f"{spec.task}: {len(pool.instructions)} instructions, groups "
            f"{','.join(spec.groups)}, {spec.n_dev} dev + {spec.n_test} test examples, "
            f"executor {spec.executor}; {what} ..."
        )
    datasets = {split: _dataset(task, spec, split) for split in ("dev", "test")}
    cache = ResponseCache(spec.cache_dir)
    try:
        # the endpoint was probed by check_spec, unless the cache holds every answer
        executor = build_executor(spec.executor, cache=cache, probe=False, **_endpoint(spec))
        before = executor.stats.snapshot()
        dev = _score_split(task, datasets["dev"], pool, executor, chain, progress)
        splits: dict[str, Any] = {"dev": dev}
        headroom = headroom_check(dev["scores"], dev["example_ids"], spec.seed)
        if on_headroom is not None:
            on_headroom(headroom)
        if not headroom_only:
            splits["test"] = _score_split(task, datasets["test"], pool, executor, chain, progress)
        usage = (executor.stats.snapshot() - before).as_dict()
        fingerprint = executor.fingerprint
        model = str(executor.model)
    finally:
        cache.close()
    table = {
        "format": TABLE_FORMAT,
        "version": TABLE_VERSION,
        "droiz_version": droiz.__version__,
        "command": spec.command(out),
        "task": task.name,
        "metric": task.metric,
        "seed": spec.seed,
        "groups": list(spec.groups),
        "answer_filter": chain.spec,
        "executor": {
            "spec": spec.executor,
            "model": model,
            "fingerprint": fingerprint,
            "max_answer_tokens": spec.max_answer_tokens,
            "server_model": server_model(spec, model),
        },
        "pool": {
            "file": pool.file,
            "sha256": pool.sha256,
            "n": len(pool.instructions),
            "instructions": list(pool.instructions),
            "features": None if pool.features is None else [list(f) for f in pool.features],
        },
        "splits": splits,
        "headroom": headroom,
        "usage": usage,
    }
    if not headroom_only:
        write_table(table, out)
    return table


def _score_split(
    task: Task,
    dataset: Dataset,
    pool: Pool,
    executor: Executor,
    chain: AnswerFilter,
    progress: Progress | None,
) -> dict[str, Any]:
    """Every instruction of the pool on every instance of ``dataset``: ``{example_ids, scores}``
    by group, scores in the example-id order."""
    from droiz.runner.loop.scoring import answer_score, score_instances

    def score_fn(inst: Instance, prediction: str) -> float:
        return answer_score(task.metric, chain, inst, prediction)

    ids: dict[str, list[str]] = {g: [] for g in dataset.groups}
    for inst in dataset.instances:
        ids[inst.group].append(str(inst.example_id))
    scores: dict[str, list[list[float]]] = {g: [] for g in dataset.groups}
    start, n_inst = time.monotonic(), len(pool.instructions)
    sent = 0
    for number, instruction in enumerate(pool.instructions, 1):
        stats = executor.stats.snapshot()
        _, values = score_instances(score_fn, executor, instruction, dataset.instances)
        row: dict[str, list[float]] = {g: [] for g in dataset.groups}
        for inst, value in zip(dataset.instances, values, strict=True):
            row[inst.group].append(_compact(value))
        for g in dataset.groups:
            scores[g].append(row[g])
        new = (executor.stats.snapshot() - stats).as_dict()
        sent += int(new.get("cache_misses", 0))
        if progress is not None:
            progress(_progress_line(dataset.split, number, n_inst, len(values), new, sent, start))
    return {"example_ids": ids, "scores": scores}


def _compact(value: float) -> float | int:
    """0 and 1 as integers (most scores), others rounded to 6 digits: a smaller file."""
    return int(value) if value in (0.0, 1.0) else round(float(value), 6)


def _progress_line(
    split: str, number: int, total: int, n: int, new: dict[str, float], sent: int, start: float
) -> str:
    elapsed = time.monotonic() - start
    rate = sent / elapsed if elapsed > 0 else 0.0
    misses = int(new.get("cache_misses", 0))
    left = ""
    if rate > 0 and misses and number < total:
        # the next instructions are assumed to miss the cache as often as this one
        left = f", about {math.ceil((total - number) * misses / rate / 60)} min left for {split}"
    return (
        f"  {split} {number}/{total}: {n} answers ({misses} sent, {n - misses} cached); "
        f"{sent} sent in {elapsed:.0f} s ({rate:.2f}/s){left}"
    )


def server_model(spec: TableSpec, model: str) -> dict[str, Any] | None:
    """What an OpenAI-compatible server's ``GET /models`` says about ``model`` (llama.cpp adds
    ``meta``: parameters, file size, quantisation), or ``None`` when it says nothing."""
    if not spec.base_url:
        return None
    url = spec.base_url.rstrip("/") + "/models"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            data = json.loads(response.read().decode("utf-8")).get("data") or []
    except (OSError, ValueError, AttributeError):
        return None
    entries = [d for d in data if isinstance(d, dict)]
    match = [d for d in entries if d.get("id") == model] or (entries if len(entries) == 1 else [])
    if not match:
        return None
    keep = ("id", "owned_by", "meta")
    return {k: match[0][k] for k in keep if k in match[0]}


def write_table(table: dict[str, Any], out: str | os.PathLike[str]) -> Path:
    """Write ``table`` as JSON, atomically (a temporary file renamed into place)."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(table, separators=(",", ":"), ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def table_summary(table: dict[str, Any]) -> list[str]:
    """Per-split lines: the best instruction by mean and by worst group, as a check."""
    out = []
    for split, data in table["splits"].items():
        groups = list(data["scores"])
        n = len(table["pool"]["instructions"])
        acc = [
            [sum(data["scores"][g][i]) / max(1, len(data["scores"][g][i])) for g in groups]
            for i in range(n)
        ]
        mean = [sum(a) / len(a) for a in acc]
        worst = [min(a) for a in acc]
        counts = "/".join(str(len(data["example_ids"][g])) for g in groups)
        out.append(
            f"{split}: {n} instructions x {len(groups)} groups x {counts} examples; best mean "
            f"{100 * max(mean):.1f} (#{mean.index(max(mean))}), best worst group "
            f"{100 * max(worst):.1f} (#{worst.index(max(worst))}), pool average "
            f"{100 * sum(mean) / n:.1f}"
        )
    return out
