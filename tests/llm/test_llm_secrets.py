"""The API key never appears in logs, reprs, exceptions, cache keys or cache records."""

from __future__ import annotations

import base64
import logging

import pytest

from droiz.exceptions import BackendError, ConfigError
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


def test_a_base_url_is_taken_apart_once_its_path_kept_and_its_key_moved_out() -> None:
    key = "sk-in-the-url-0123456789"
    with FakeOpenAIServer() as server:
        query = f"api_key={key}&api-version=2024-06-01"
        in_query = OpenAIExecutor("m", base_url=f"{server.base_url}?{query}")
        assert in_query.execute(["x"]) == ["echo: x"]
        assert server.paths == [f"/v1/chat/completions?{query}"]  # the path is kept
        assert in_query.base_url == f"{server.base_url}?api_key=***&api-version=2024-06-01"
        in_userinfo = OpenAIExecutor("m", base_url=f"http://bob:{key}@127.0.0.1:{server.port}/v1")
        assert in_userinfo.execute(["y"]) == ["echo: y"]
        assert server.paths[1] == "/v1/chat/completions"
        assert server.auth_headers[1] == "Basic " + base64.b64encode(f"bob:{key}".encode()).decode()
        plain = OpenAIExecutor("m", base_url=server.base_url)
    assert in_query.namespace == in_userinfo.namespace == plain.namespace
    for ex in (in_query, in_userinfo):
        assert key not in repr(vars(ex)) and key not in repr(ex)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/v1 ",
        "http://127.0.0.1:9/v1\n",
        "http://127.0.0.1:9/v1\tx",
        " http://h/v1",
    ],
)
def test_a_base_url_with_a_space_or_control_character_is_one_line(tmp_path, capsys, url) -> None:
    from droiz.cli import main
    from droiz.testing import InstructionWorld

    world = InstructionWorld("small")
    task, pool = world.write_task(tmp_path / "t.jsonl"), world.write_pool(tmp_path / "p.txt")
    argv = ["optimize", "--task", str(task), "--generator", f"pool:{pool}"]
    argv += ["--executor", "openai:m", "--base-url", url, "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--base-url" in err[0] and "space or a control character" in err[0]
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="space or a control character"):
        OpenAIExecutor("m", base_url=url)


def test_echoed_authorization_headers_reach_no_cache_and_no_journal(tmp_path, monkeypatch) -> None:
    """A server that puts the request's ``Authorization`` header (``Basic base64(user:KEY)``
    from the URL, ``Bearer KEY`` from the environment) in every answer."""
    import droiz
    from droiz.testing import InstructionWorld

    world = InstructionWorld("small")
    task, pool = world.write_task(tmp_path / "t.jsonl"), world.write_pool(tmp_path / "p.txt")
    monkeypatch.setenv("DROIZ_TEST_KEY", SECRET)
    server: FakeOpenAIServer

    def answer(prompt: str, body: dict) -> str:
        return f"{world.answer(prompt, body)} ({server.auth_headers[-1]})"

    settings = {"task": str(task), "generator": f"pool:{pool}", "executor": "openai:world"}
    settings |= {"budget": 4, "n_init": 2, "batch_size": 2, "n_dev": 3, "n_test": 3}
    settings |= {"finalists": 1, "kernel": "matern", "api_key_env": "DROIZ_TEST_KEY"}
    with FakeOpenAIServer(answer=answer) as server:
        basic = f"http://droiz:{SECRET}@127.0.0.1:{server.port}/v1"
        droiz.optimize(
            out=tmp_path / "basic", base_url=basic, cache_dir=tmp_path / "c1", **settings
        )
        assert server.auth_headers[0].startswith("Basic ")
        droiz.optimize(
            out=tmp_path / "bearer", base_url=server.base_url, cache_dir=tmp_path / "c2", **settings
        )
        assert server.auth_headers[-1] == f"Bearer {SECRET}"
        echoed = set(server.auth_headers)
    needles = {h.split(" ", 1)[1].encode() for h in echoed} | {SECRET.encode()}
    assert len(needles) == 2  # the key itself and base64("droiz:KEY")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p not in (task, pool)]
    assert {p.name for p in written} >= {"journal.jsonl", "droiz-cache.sqlite3"}
    for path in written:
        data = path.read_bytes()
        assert not any(n in data for n in needles), path
    assert "(Basic ***)" in (tmp_path / "basic" / "journal.jsonl").read_text()


@pytest.mark.parametrize(
    ("table", "where"),
    [
        (f'[executor_options]\nextra_params = {{ api_key = "{SECRET}" }}', "extra_params.api_key"),
        (
            f'[executor_options.extra_params.extra_headers]\nAuthorization = "Bearer {SECRET}"',
            "extra_headers.Authorization",
        ),
        (f'[executor_options]\nstop = ["Bearer {SECRET}"]', "executor_options.stop[0]"),
        (f'[executor_options]\nextra_params = {{ clientSecret = "{SECRET}" }}', "clientSecret"),
        (
            f'[executor_options]\nbase_url = "http://u:{SECRET}@127.0.0.1:9/v1"',
            "executor_options.base_url holds a URL with credentials (http://***@127.0.0.1:9/v1)",
        ),
        (
            f'[executor_options.extra_params.metadata]\nuser = {{ access_token = "{SECRET}" }}',
            "executor_options.extra_params.metadata.user.access_token",
        ),
    ],
)
def test_secrets_nested_in_option_tables_are_refused(tmp_path, capsys, table, where) -> None:
    from droiz.cli import main
    from droiz.testing import InstructionWorld

    world = InstructionWorld("small")
    task, pool = world.write_task(tmp_path / "t.jsonl"), world.write_pool(tmp_path / "p.txt")
    config = tmp_path / "c.toml"
    config.write_text(table + "\n")
    argv = ["optimize", "--task", str(task), "--generator", f"pool:{pool}", "--config", str(config)]
    argv += ["--executor", "openai:m", "--base-url", "http://127.0.0.1:9/v1"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and where in err[0] and "--api-key-env" in err[0], err
    assert SECRET not in err[0] and not (tmp_path / "run").exists()


def test_names_that_only_look_like_keys_stay_allowed() -> None:
    from droiz.llm.backends import check_executor
    from droiz.redact import is_secret_name

    secret = ("api_key", "API-KEY", "apiKey", "key", "token", "access_token", "accessToken")
    assert all(is_secret_name(n) for n in secret)
    assert not any(is_secret_name(n) for n in ("max_tokens", "keyboard", "top_k", "monkey"))
    options = {"api_key_env": "MY_KEY", "max_tokens": 5, "prices": {"token-lm": [1.0, 2.0]}}
    check_executor("openai:m", options)  # a variable's name, a count, a model named token-lm
