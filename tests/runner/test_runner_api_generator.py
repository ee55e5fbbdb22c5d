"""DRO without BO, APE-style: an ``api:`` proposer on the same endpoint as the executor."""

from __future__ import annotations

from pathlib import Path

from runner_helpers import PROPOSALS, proposer_answer, read_records, run_settings

import droiz
from droiz.testing import FakeOpenAIServer, InstructionWorld


def test_api_proposer_and_dro_nobo(
    world: InstructionWorld, world_files: dict, tmp_path: Path
) -> None:
    with FakeOpenAIServer(answer=proposer_answer(world)) as server:
        settings = run_settings(world_files, server, method="dro-nobo", budget=12, n_init=12)
        settings["generator"] = "api:proposer"
        result = droiz.optimize(out=tmp_path / "run", **settings)
        proposals = [b for b in server.bodies if "I gave a friend" in str(b)]
    assert proposals and all(b["model"] == "proposer" for b in proposals)
    asked = {
        t for r in read_records(tmp_path / "run") if r["type"] == "ask" for t in r["instructions"]
    }
    assert asked <= set(PROPOSALS) and result.instruction in PROPOSALS
    assert result.stats["generated"] >= 1 and result.stats["generator_requests"] >= 1
