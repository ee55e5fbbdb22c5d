"""The fake OpenAI-compatible server of ``droiz.testing``: what it records."""

from __future__ import annotations

import socket

from droiz.testing import FakeOpenAIServer


def test_a_request_cut_off_before_its_body_is_not_recorded() -> None:
    """A client killed after sending the headers: the server saw no request to answer (the
    kill tests count the bodies the server recorded as requests sent)."""
    with FakeOpenAIServer(answer=lambda prompt, body: "x") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
            head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n"
            conn.sendall(head.encode())  # the headers only: killed before the body
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1024)  # the server closes the connection without an answer
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
            body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
            head = f"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: {len(body)}\r\n"
            conn.sendall(head.encode() + b"Host: x\r\nConnection: close\r\n\r\n" + body)
            reply = b""
            while chunk := conn.recv(4096):
                reply += chunk
        assert reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n")[0]
        assert server.n_requests == 1 and len(server.bodies) == 1
        assert server.bodies[0]["messages"][0]["content"] == "hi"
