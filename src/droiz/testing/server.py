"""A loopback OpenAI-compatible server with scripted answers and injected faults (stdlib only).

Example:
    >>> with FakeOpenAIServer(answer=lambda prompt, body: prompt.upper()) as server:
    ...     server.add_fault("429", times=2, retry_after=0.01)
    ...     ...  # point an executor at server.base_url; server.n_requests counts requests
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

AnswerFn = Callable[[str, Mapping[str, Any]], str]
"""``answer(prompt, body) -> text``: the prompt is the last user message (chat) or ``prompt``."""

TRANSIENT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502",
    "503",
    "slow",
    "bad_json",
    "no_choices",
    "null_content",
    "reset",
)
"""The kinds a client should retry (``reset`` closes the connection without an answer)."""
FAULT_KINDS: tuple[str, ...] = (*TRANSIENT_KINDS, "400", "401", "403", "404", "context")
"""Every kind of fault the server can inject: the transient ones, then the permanent ones."""
_STATUS = {"429": 429, "500": 500, "502": 502, "503": 503, "400": 400, "401": 401, "403": 403}
_STATUS |= {"404": 404, "context": 400}


def echo_answer(prompt: str, body: Mapping[str, Any]) -> str:
    """The default answer: ``"echo: "`` and the example input (the text after the last ``Input:``
    up to the next blank line), or the whole prompt when it has no ``Input:``."""
    _, sep, rest = prompt.rpartition("Input:")
    return "echo: " + (rest.split("\n\n", 1)[0].strip() if sep else prompt)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default backlog of 5 drops connections under concurrency

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """Quiet about clients that hung up (a killed or interrupted run); loud otherwise."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@dataclass
class Fault:
    """A scripted fault, applied to the next ``times`` matching requests.

    Attributes:
        kind: One of :data:`FAULT_KINDS`. ``slow`` sleeps ``delay`` seconds and then answers
            normally (past the client's timeout, the client has gone by then).
        times: How many requests it affects (per distinct prompt when ``per_prompt``).
        match: A substring the prompt must contain; ``None`` matches every request.
        per_prompt: Count ``times`` separately for each distinct prompt.
        retry_after: Seconds sent in a ``Retry-After`` header (HTTP status faults).
        delay: Seconds to sleep for ``slow``.
        rate: When given, the fault fires on each matching request with this probability (a
            seeded draw; ``times`` is then ignored) instead of on the first ``times``.
        seed: Seed of the ``rate`` draws.
    """

    kind: str
    times: int = 1
    match: str | None = None
    per_prompt: bool = False
    retry_after: float | None = None
    delay: float = 1.0
    rate: float | None = None
    seed: int = 0
    used: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def take(self, prompt: str) -> bool:
        """Whether this fault fires for ``prompt`` (and consume one use if so)."""
        if self.match is not None and self.match not in prompt:
            return False
        if self.rate is not None:
            return self.rng.random() < self.rate
        slot = prompt if self.per_prompt else ""
        if self.used[slot] >= self.times:
            return False
        self.used[slot] += 1
        return True


class FakeOpenAIServer:
    """An OpenAI-compatible HTTP server on 127.0.0.1 with scripted answers and injected faults.

    Serves ``POST /v1/chat/completions`` and ``POST /v1/completions`` from a background thread.
    Usage is reported as whitespace token counts of the prompt and the answer.

    Args:
        answer: ``answer(prompt, body) -> text``; defaults to :func:`echo_answer`. Make it depend on
            the instruction inside the prompt to simulate a task (see the end-to-end tests).
        delay: Seconds every answer waits before it is sent (simulated latency).
        port: TCP port; 0 picks a free one.
        models: Model ids served at ``GET /v1/models``; when given, a request for another model
            gets a 404 ("model not found"), as vLLM and OpenAI answer. ``None``: any model, and
            no ``/v1/models`` endpoint.
    """

    def __init__(
        self,
        answer: AnswerFn | None = None,
        *,
        delay: float = 0.0,
        port: int = 0,
        models: list[str] | None = None,
    ) -> None:
        self.answer = answer or echo_answer
        self.delay = delay
        self.models = models
        self.faults: list[Fault] = []
        self.bodies: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.paths: list[str] = []
        self.n_requests = 0
        self.n_answered = 0
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = _Server(("127.0.0.1", port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The base URL to give an OpenAI client, ending in ``/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def add_transient_faults(self, rate: float, seed: int = 0) -> list[Fault]:
        """Make every request fail with probability ``rate``, spread evenly over the transient
        kinds of :data:`TRANSIENT_KINDS` except ``slow`` (each kind draws with its own seed)."""
        kinds = [k for k in TRANSIENT_KINDS if k != "slow"]
        out = []
        remaining = 1.0
        for i, kind in enumerate(kinds):  # P(kind i fires | earlier kinds did not) keeps `rate`
            share = rate / len(kinds)
            out.append(self.add_fault(kind, rate=share / remaining, seed=seed * 100 + i))
            remaining -= share
        return out

    def add_fault(self, kind: str, **options: Any) -> Fault:
        """Script a fault (see :class:`Fault` for the options) and return it."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        fault = Fault(kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every scripted fault."""
        with self._lock:
            self.faults.clear()

    def reset_counts(self) -> None:
        """Zero the request counters and forget the recorded bodies."""
        with self._lock:
            self.n_requests = self.n_answered = 0
            self.bodies.clear()
            self.auth_headers.clear()
            self.paths.clear()

    def start(self) -> FakeOpenAIServer:
        """Start serving in a daemon thread; returns ``self``."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, body: dict[str, Any], auth: str, path: str) -> Fault | None:
        prompt = prompt_of(body)
        with self._lock:
            self.n_requests += 1
            self.bodies.append(body)
            self.auth_headers.append(auth)
            self.paths.append(path)
            return next((f for f in self.faults if f.take(prompt)), None)

    def _respond(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = prompt_of(body)
        text = self.answer(prompt, body)
        with self._lock:
            self.n_answered += 1
        return completion_body(body, text, prompt)


_DEFAULT_PROMPT = re.compile(
    r"\AInstruction: (?P<v>.*)\n\nInput: (?P<x>.*)\n\nOutput:\Z", re.DOTALL
)


def parse_default_prompt(prompt: str) -> tuple[str, str] | None:
    """``(instruction, input)`` of a prompt in the default evaluation template, else ``None``.

    Handy in answer functions that grade the instruction, e.g.::

        def answer(prompt, body):
            instruction, x = parse_default_prompt(prompt)
            return ANTONYMS[x] if "antonym" in instruction.lower() else x
    """
    match = _DEFAULT_PROMPT.match(prompt)
    return (match["v"], match["x"]) if match else None


def prompt_of(body: Mapping[str, Any]) -> str:
    """The prompt of a request body: the last user message (chat) or the ``prompt`` field."""
    if "messages" in body:
        users = [m.get("content") or "" for m in body["messages"] if m.get("role") == "user"]
        return str(users[-1]) if users else ""
    prompt = body.get("prompt", "")
    return str(prompt[0] if isinstance(prompt, list) else prompt)


def completion_body(body: Mapping[str, Any], text: str, prompt: str) -> dict[str, Any]:
    """A well-formed chat or completions response carrying ``text``."""
    chat = "messages" in body
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    if chat:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {
        "id": "cmpl-fake",
        "object": "chat.completion" if chat else "text_completion",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": [choice],
        "usage": usage,
    }


class _Handler(BaseHTTPRequestHandler):
    """Request handler; subclasses set ``owner`` to their :class:`FakeOpenAIServer`."""

    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (~40 ms)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        models = self.owner.models
        if models is None or not self.path.split("?", 1)[0].rstrip("/").endswith("/models"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
        self._send(200, json.dumps({"object": "list", "data": data}).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if len(raw) < length:  # the client went away mid-request (a kill): nothing to answer,
            return  # and nothing is recorded, as a real server never sees such a request
        route = self.path.split("?", 1)[0].rstrip("/")
        if not route.endswith(("/chat/completions", "/completions")):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        body = json.loads(raw or b"{}")
        fault = self.owner._record(body, self.headers.get("Authorization", ""), self.path)
        models = self.owner.models
        if models is not None and body.get("model") not in models:
            message = f"The model `{body.get('model')}` does not exist."
            err = {"error": {"message": message, "type": "NotFoundError", "code": 404}}
            self._send(404, json.dumps(err).encode())
            return
        if self.owner.delay:
            time.sleep(self.owner.delay)
        if fault is not None and self._fault(fault, body):
            return
        try:
            payload = self.owner._respond(body)
        except Exception as exc:  # a bug in the answer function: say so instead of hanging up
            logger.exception("FakeOpenAIServer: the answer function raised")
            err = {"error": {"message": f"answer function raised {exc!r}", "type": "fake"}}
            self._send(500, json.dumps(err).encode())
            return
        self._send(200, json.dumps(payload).encode())

    def _fault(self, fault: Fault, body: dict[str, Any]) -> bool:
        """Apply ``fault``; True when the response has been sent."""
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "reset":  # a torn connection: RST without any response
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            self.connection.close()
            return True
        if fault.kind in _STATUS:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            message = f"injected {fault.kind}"
            if fault.kind in ("401", "403"):  # like real servers, echo the rejected key
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                message = f"Incorrect API key provided: {key}"
            elif fault.kind == "context":  # vLLM's wording
                message = (
                    "This model's maximum context length is 2048 tokens. However, you requested "
                    "4096 tokens. Please reduce the length of the messages or completion."
                )
            err = {"error": {"message": message, "type": "fake"}}
            self._send(_STATUS[fault.kind], json.dumps(err).encode(), headers)
            return True
        payload = completion_body(body, "", prompt_of(body))
        if fault.kind == "bad_json":
            self._send(200, b'{"choices": [ {"message": ')
        elif fault.kind == "no_choices":  # like some proxies: 200, an error naming the key
            payload.pop("choices")
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            payload["error"] = {"message": f"upstream refused the request for key {key}"}
            self._send(200, json.dumps(payload).encode())
        else:  # null_content
            payload["choices"][0].update(message={"role": "assistant", "content": None})
            payload["choices"][0].update(text=None)
            self._send(200, json.dumps(payload).encode())
        return True

    def _send(self, status: int, data: bytes, headers: Mapping[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass
