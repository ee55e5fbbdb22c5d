"""The API key never appears in logs, reprs, exceptions, cache keys or cache records."""

from __future__ import annotations

import logging

import pytest

from droiz.exceptions import BackendError
from droiz.llm import APIProposer, CachedExecutor, OpenAIExecutor, ResponseCache, RetryPolicy
from droiz.testing import FakeOpenAIServer

SECRET = "sk-TOPSECRET-0123456789abcdef"


def test_api_key_is_sent_but_never_leaked(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("DROIZ_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx's included
    retry = RetryPolicy(max_retries=2, base_delay=0.001)
    with FakeOpenAIServer() as server, ResponseCache(tmp_path / "c") as cache:
        server.add_fault("429", times=1)
        server.add_fault("500", times=1000, match="fail me")
        inner = OpenAIExecutor(
            "m", base_url=server.base_url, api_key_env="DROIZ_TEST_KEY", retry=retry
        )
        ex = CachedExecutor(inner, cache)
        assert ex.execute(["hello"]) == ["echo: hello"]
        with pytest.raises(BackendError) as info:
            ex.execute(["fail me"])
        proposer = APIProposer(executor=inner, cache=cache)
        proposer.generate([[0.1] * 10], [("a", "b")])
        assert server.auth_headers[0] == f"Bearer {SECRET}"  # the key was really used
    assert "Sending HTTP Request" in caplog.text  # the SDK's debug logs were captured
    texts = [caplog.text, repr(ex), repr(inner), repr(proposer), str(info.value)]
    texts += [ex.fingerprint, proposer.fingerprint, str(vars(inner)), str(vars(ex))]
    assert all(SECRET not in t for t in texts)
    assert "DROIZ_TEST_KEY" in repr(vars(inner))  # only the variable's name is kept
    cache.close()
    for path in (tmp_path / "c").iterdir():  # the database and its WAL files
        assert SECRET.encode() not in path.read_bytes()


def test_key_echoed_in_an_error_body_is_redacted(monkeypatch):
    monkeypatch.setenv("DROIZ_TEST_KEY", SECRET)
    with FakeOpenAIServer() as server:
        server.add_fault("401", times=1)
        ex = OpenAIExecutor("m", base_url=server.base_url, api_key_env="DROIZ_TEST_KEY")
        with pytest.raises(BackendError) as info:
            ex.execute(["x"])
    assert "HTTP 401: Incorrect API key provided: ***" in str(info.value)
    assert SECRET not in str(info.value)


def test_key_echoed_in_a_malformed_answer_is_redacted_in_logs_and_errors(monkeypatch, caplog):
    monkeypatch.setenv("DROIZ_TEST_KEY", SECRET)
    caplog.set_level(logging.WARNING, logger="droiz")
    retry = RetryPolicy(max_retries=1, base_delay=0.001)
    with FakeOpenAIServer() as server:
        server.add_fault("no_choices", times=10)
        ex = OpenAIExecutor(
            "m", base_url=server.base_url, api_key_env="DROIZ_TEST_KEY", retry=retry
        )
        with pytest.raises(BackendError) as info:
            ex.execute(["x"])
    assert "missing 'choices'" in caplog.text and "key ***" in caplog.text  # retried, logged
    assert "key ***" in str(info.value)
    assert SECRET not in caplog.text and SECRET not in str(info.value)


def test_urls_are_masked_and_their_credentials_become_secrets() -> None:
    from droiz.redact import redact, redact_url

    key = "sk-url-0123456789"
    url = f"https://bob:{key}@api.example.com:8443/v1?api_key={key}&api-version=2024-06-01"
    masked = redact_url(url)
    assert masked == "https://***@api.example.com:8443/v1?api_key=***&api-version=2024-06-01"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert redact(f"the key is {key}.") == "the key is ***."  # registered by redact_url
    text = redact("POST http://u:pw-secret@h/v1?token=abc123456 Authorization: Bearer zzzzzzzz1")
    assert "pw-secret" not in text and "abc123456" not in text and "zzzzzzzz1" not in text


def test_http_loggers_are_redacted_at_any_level(monkeypatch, caplog) -> None:
    monkeypatch.setenv("DROIZ_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    OpenAIExecutor("m", base_url="http://127.0.0.1:9/v1", api_key_env="DROIZ_TEST_KEY")
    for name in ("httpx", "httpx2", "httpcore2.http11", "openai._base_client"):
        logging.getLogger(name).info("GET http://x:%s@h/v1?api_key=%s", SECRET, SECRET)
        logging.getLogger(name).debug("headers %s", {"authorization": f"Bearer {SECRET}"})
    assert caplog.text.count("http://***@h/v1?api_key=***") == 4
    assert SECRET not in caplog.text
