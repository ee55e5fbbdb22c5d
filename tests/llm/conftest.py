"""Fixtures for the LLM-layer tests: tiny random models, loopback servers, temporary caches.

Puts this folder on the path, so that the plugin example module is importable (as
``--import-mode=importlib`` does not).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from droiz.llm import ResponseCache, RetryPolicy
from droiz.testing import FakeOpenAIServer, build_tiny_llama

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
"""A minimal Jinja chat template for the tiny model that has one."""


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real cache directory."""
    monkeypatch.setenv("DROIZ_CACHE_DIR", str(tmp_path / "user-cache"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random Llama without a chat template (the Vicuna fallback applies)."""
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny-llama")))


@pytest.fixture(scope="session")
def tiny_chat_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same tiny Llama with a chat template."""
    path = tmp_path_factory.mktemp("tiny-llama-chat")
    return str(build_tiny_llama(path, chat_template=CHAT_TEMPLATE))


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    """A loopback OpenAI-compatible server answering ``echo: <input>``."""
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[ResponseCache]:
    """A fresh response cache in a temporary directory."""
    with ResponseCache(tmp_path / "cache") as c:
        yield c


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Retries with millisecond waits, so fault tests stay fast."""
    return RetryPolicy(max_retries=5, base_delay=0.001, max_delay=0.01, seed=0)
