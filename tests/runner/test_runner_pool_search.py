"""``droiz optimize`` with a pool searches the candidates themselves: their features (sentence
embeddings reduced by PCA, or a ``.jsonl`` pool's own) are saved in ``config.json``, every asked
point is a candidate, and no (instruction, group) pair is observed twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from runner_helpers import cli_args, cli_config, read_records

from droiz.cli import main
from droiz.optim.candidates import scale_candidates
from droiz.testing import FakeOpenAIServer, InstructionWorld


def _run(world_files: dict, tmp_path: Path, pool: Path, *extra: str, budget: int = 30) -> Path:
    out = tmp_path / "run"
    files = {**world_files, "pool": pool}
    with FakeOpenAIServer(answer=InstructionWorld("small").answer) as server:
        args = cli_args(files, server, out, cli_config(tmp_path / "s.toml", budget=budget))
        assert main([*args, "--cache-dir", str(tmp_path / "cache"), *extra]) == 0
    return out


def _evals(out: Path) -> list[dict]:
    return [r for r in read_records(out) if r["type"] == "eval"]


def _engine(out: Path) -> dict:
    return json.loads((out / "config.json").read_text())["resolved"]["engine"]


def test_a_pool_run_searches_its_candidates_and_observes_each_pair_once(
    world_files: dict, tmp_path: Path
) -> None:
    out = _run(world_files, tmp_path, world_files["pool"], "--pool-dim", "4")
    pool = world_files["pool"].read_text().split("\n")[:-1]
    engine = _engine(out)
    features = torch.tensor(engine["candidates"], dtype=torch.float64)
    assert features.shape == (16, 4) and engine["dim"] == 4
    scaled = scale_candidates(features)
    pairs = [(e["instruction"], g) for e in _evals(out) for g in e["groups"]]
    assert len(pairs) == 60 and len(set(pairs)) == 60
    for e in _evals(out):  # each asked point is its instruction's candidate
        assert e["z"] == scaled[pool.index(e["instruction"])].tolist()


def test_a_jsonl_pool_is_searched_on_its_own_features(world_files: dict, tmp_path: Path) -> None:
    texts = world_files["pool"].read_text().split("\n")[:-1]
    rows = [
        {"instruction": t, "features": [i % 4, i // 4, (i * 7) % 5]} for i, t in enumerate(texts)
    ]
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = _run(world_files, tmp_path, pool, "--pool-dim", "7")  # not used: the file's features
    assert _engine(out)["candidates"] == [[float(v) for v in r["features"]] for r in rows]
    assert {len(e["z"]) for e in _evals(out)} == {3}


def test_the_bo_rounds_learn_from_the_candidates_features(
    world_files: dict, tmp_path: Path
) -> None:
    """The same pool with its instructions' features (their family, one-hot, and their variant)
    given to other instructions: the initial design, which does not look at features, asks the
    same; the BO rounds, whose surrogate models the scores as a function of the features, ask
    other (instruction, group) pairs."""
    world = InstructionWorld("small")
    texts = world_files["pool"].read_text().split("\n")[:-1]
    families = sorted({world.family(t) for t in texts})

    def row(i: int) -> list[float]:
        family = world.family(texts[i])
        variant = sum(world.family(t) == family for t in texts[:i])
        return [*(float(family == f) for f in families), float(variant)]

    asks = []
    for name, shift in (("own", 0), ("moved", 5)):
        rows = [{"instruction": t, "features": row((i + shift) % len(texts))}
                for i, t in enumerate(texts)]  # fmt: skip
        (tmp_path / name).mkdir()
        pool = tmp_path / name / "pool.jsonl"
        pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
        evals = _evals(_run(world_files, tmp_path / name, pool, budget=30))
        by_index = sorted(evals, key=lambda e: e["index"])  # journaled as they complete
        asks.append([(e["instruction"], tuple(e["groups"])) for e in by_index])
    design = 20  # two rounds of 10: the 16 candidates, then 4 back for their other groups
    assert asks[0][:design] == asks[1][:design]
    assert asks[0][design:] != asks[1][design:]


def test_a_pool_smaller_than_the_budget_ends_once_every_pair_is_observed(
    world_files: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """16 instructions x 4 groups, 2 groups an evaluation: 32 evaluations see every pair; the
    run then verifies, tests and finishes, and says why it stopped before its budget of 60."""
    caplog.set_level("WARNING")
    out = _run(world_files, tmp_path, world_files["pool"], budget=60)
    said = "every (instruction, group) pair of the pool was observed after 32 of the 60"
    assert said in caplog.text
    evals = _evals(out)
    assert (
        len(evals) == 32 and len({(e["instruction"], g) for e in evals for g in e["groups"]}) == 64
    )
    records = read_records(out)
    assert records[-1]["type"] == "end" and any(r["type"] == "test" for r in records)
    assert (out / "best.json").is_file()


def test_a_bad_jsonl_pool_is_refused_before_any_request(
    world_files: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = tmp_path / "bad.jsonl"
    pool.write_text('{"instruction": "Reverse it.", "features": [1, 0]}\n{"instruction": 3}\n')
    files = {**world_files, "pool": pool}
    with FakeOpenAIServer(answer=InstructionWorld("small").answer) as server:
        args = cli_args(files, server, tmp_path / "run", cli_config(tmp_path / "s.toml"))
        assert main(args) == 2
        assert server.n_requests == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.jsonl' line 2: expected a JSON object" in err[0]
    assert not (tmp_path / "run" / "journal.jsonl").exists()
