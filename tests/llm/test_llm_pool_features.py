"""Pool files with features (``.jsonl``), the candidates' features of a pool, and the pool
generator of a candidate search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from droiz.exceptions import ConfigError
from droiz.llm import PoolGenerator
from droiz.llm.pool import PoolFile, pool_features, read_pool

TEXTS = ["Reverse the word.", "Write the word backwards.", "Spell it in reverse.", "Echo it."]


def _jsonl(path: Path, rows: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_jsonl_pool_gives_its_instructions_and_features(tmp_path: Path) -> None:
    rows = [{"instruction": f" {t} ", "features": [i, 1 - i % 2, 0.5]} for i, t in enumerate(TEXTS)]
    path = _jsonl(tmp_path / "pool.jsonl", [rows[0], "", *rows[1:]])
    pool = read_pool(path)
    assert pool.instructions == TEXTS  # stripped; the blank line skipped
    assert pool.features == [[0.0, 1.0, 0.5], [1.0, 0.0, 0.5], [2.0, 1.0, 0.5], [3.0, 0.0, 0.5]]
    assert read_pool(_jsonl(tmp_path / "plain.jsonl", [{"instruction": "a"}])).features is None
    text = tmp_path / "pool.txt"
    text.write_text("\n".join(TEXTS))
    assert read_pool(text) == PoolFile(TEXTS, None)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (['{"instruction": "a", "features": [1]', '{"instruction": "b"}'], "line 1 is not JSON"),
        ([{"instruction": "a"}, ["b"]], "line 2: expected a JSON object with a non-empty"),
        ([{"instruction": ""}], 'line 1: expected a JSON object with a non-empty "instr'),
        ([{"instruction": "a", "feature": [1]}], "line 1: unknown key 'feature'"),
        ([{"instruction": "a", "features": [1, "x"]}], 'line 1: "features" must be a list of'),
        ([{"instruction": "a", "features": [True]}], 'line 1: "features" must be a list of'),
        ([{"instruction": "a", "features": 3}], 'line 1: "features" must be a list of'),
        ([{"instruction": "a", "features": [1]}, {"instruction": "b"}], "line 2 differs"),
        (
            [{"instruction": "a", "features": [1]}, {"instruction": "b", "features": [1, 2]}],
            "features of one non-zero length, got lengths [1, 2]",
        ),
        ([{"instruction": "a", "features": []}], "features of one non-zero length"),
    ],
)
def test_a_bad_jsonl_line_is_refused_in_one_line(tmp_path: Path, rows: list, message: str) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(ConfigError) as info:
        read_pool(path)
    assert message in str(info.value) and "bad.jsonl" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError):  # the generator's check of --generator reads it the same
        PoolGenerator.check_value(str(path), "--generator")


def test_a_pools_features_are_its_own_or_its_embeddings_reduced_by_a_seeded_pca() -> None:
    own = PoolFile(TEXTS, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    assert pool_features(own, dim=10, seed=0) == own.features  # as given, whatever dim
    a = pool_features(PoolFile(TEXTS, None), dim=3, seed=0)
    assert len(a) == 4 and {len(r) for r in a} == {3}
    assert a == pool_features(PoolFile(list(TEXTS), None), dim=3, seed=0)  # deterministic
    full = pool_features(PoolFile(TEXTS, None), dim=10, seed=0)
    assert {len(r) for r in full} == {4}  # at most N components
    # PCA: centred components, ordered by variance
    f = torch.tensor(full, dtype=torch.float64)
    assert f.mean(0).abs().max() < 1e-9 and (f.var(0)[:-1] >= f.var(0)[1:] - 1e-12).all()
    assert pool_features(PoolFile(TEXTS[:1], None), dim=3, seed=0) == [[0.0]]  # no PCA of one
    with pytest.raises(ConfigError, match="repeats instruction 0 as 2"):
        pool_features(PoolFile([TEXTS[0], TEXTS[1], TEXTS[0]], None), dim=3, seed=0)


def test_the_candidate_search_generator_maps_each_candidate_to_its_instruction() -> None:
    features = torch.tensor([[-1.0, 0.0], [1.0, 0.5], [0.0, -1.0], [0.5, 1.0]])
    pool = PoolGenerator(TEXTS, features=features, dim=10, seed=4)
    assert pool.dim == 2 and pool.candidate_search
    assert pool.generate(features[[3, 0, 2]]) == [TEXTS[3], TEXTS[0], TEXTS[2]]
    anchors = PoolGenerator(TEXTS, dim=2, proj_dim=2, seed=4)
    assert not anchors.candidate_search and anchors.fingerprint != pool.fingerprint
    moved = PoolGenerator(TEXTS, features=features.flip(0), seed=4)
    assert moved.fingerprint != pool.fingerprint  # the features are part of the mapping
    with pytest.raises(ConfigError, match="features must be 4 rows, one per instruction"):
        PoolGenerator(TEXTS, features=features[:3])


def test_loading_the_embedder_prints_no_progress_bar(capfd: pytest.CaptureFixture[str]) -> None:
    """transformers' ``Loading weights`` bar would interleave with droiz's own lines on stderr
    (even with ``--no-progress``); its setting is restored after the load."""
    import transformers

    from droiz.llm.embed import SentenceEmbedder

    assert SentenceEmbedder().embed(TEXTS[:2]).shape[0] == 2
    assert "Loading weights" not in capfd.readouterr().err
    assert transformers.utils.logging.is_progress_bar_enabled()
