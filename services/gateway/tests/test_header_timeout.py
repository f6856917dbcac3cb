"""The gateway's HTTP protocol (`limits.HeaderTimeoutProtocol`, httptools): a connection whose
request headers are slower than the header timeout is closed; a request whose headers came in
time keeps its connection however slowly its body arrives, and keep-alive works."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from flowforge.common.testing import _free_port as free_port
from flowforge.gateway.limits import HeaderTimeoutProtocol


async def echo_length(scope, receive, send) -> None:
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def server(monkeypatch):
    import uvicorn

    monkeypatch.setattr(HeaderTimeoutProtocol, "header_timeout", 0.5)
    port = free_port()
    config = uvicorn.Config(echo_length, host="127.0.0.1", port=port, http=HeaderTimeoutProtocol,
                            log_level="warning", lifespan="off")  # fmt: skip
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.started
    yield port
    running.should_exit = True
    thread.join(5)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def answer(sock: socket.socket) -> bytes:
    data = b""
    while not (b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1]):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_headers_slower_than_the_timeout_close_the_connection(server):
    sock = connect(server)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
    started = time.monotonic()
    assert sock.recv(1024) == b""  # closed by the server
    assert 0.3 < time.monotonic() - started < 3
    sock.close()


def test_a_slow_body_after_timely_headers_is_read_whole_and_keep_alive_rearms(server):
    sock = connect(server)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
    time.sleep(1.0)  # twice the header timeout, mid-body
    sock.sendall(b"def")
    first = answer(sock)
    assert first.startswith(b"HTTP/1.1 200") and first.endswith(b"\r\n\r\n6"), first
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection, kept alive
    assert answer(sock).endswith(b"\r\n\r\n0")
    sock.sendall(b"GET / HTTP/1.1\r\n")  # the next request's headers never finish
    assert sock.recv(1024) == b""
    sock.close()
