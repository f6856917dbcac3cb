"""The gateway's pure-ASGI middlewares: the request time limit (504 before the answer starts,
never cutting an answer under way, exempt paths untimed) and the request timer and counter."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.responses import StreamingResponse

from flowforge.common import metrics
from flowforge.gateway.limits import TimeLimit
from flowforge.gateway.observability import RequestTimer


async def slow_app(scope, receive, send) -> None:
    """Waits `?wait` seconds before answering, then streams `?stream` seconds of body."""
    query = dict(p.split("=") for p in scope["query_string"].decode().split("&") if p)
    await asyncio.sleep(float(query.get("wait", 0)))

    async def body():
        for _ in range(3):
            await asyncio.sleep(float(query.get("stream", 0)) / 3)
            yield b"x"

    await StreamingResponse(body())(scope, receive, send)


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.asyncio
async def test_an_answer_not_started_in_time_is_a_504_problem_and_one_under_way_is_not_cut():
    app = TimeLimit(slow_app, seconds=0.3, exempt=[("POST", "/upload"), (None, "/stream")])
    async with client(app) as c:
        late = await c.get("/work", params={"wait": 1})
        assert late.status_code == 504
        assert late.json()["type"] == "/problems/gateway-timeout"
        assert "FLOWFORGE_REQUEST_TIMEOUT" in late.json()["detail"]
        streamed = await c.get("/work", params={"wait": 0.1, "stream": 0.6})
        assert (streamed.status_code, streamed.content) == (200, b"xxx")
        for method, path in (("POST", "/upload"), ("GET", "/stream")):
            exempt = await c.request(method, path, params={"wait": 0.5})
            assert exempt.status_code == 200, (method, path)
        timed = await c.get("/upload", params={"wait": 0.5})  # exempt for POST only
        assert timed.status_code == 504


@pytest.mark.asyncio
async def test_requests_are_counted_and_timed_by_status():
    def count(status: str) -> float:
        return metrics.HTTP_REQUESTS.labels("unmatched", "GET", status)._value.get()

    async def teapot(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def timed(status: str) -> float:
        return metrics.HTTP_SECONDS.labels("unmatched", "GET", status)._sum.get()

    before, time_before = count("418"), timed("418")
    async with client(RequestTimer(teapot)) as c:
        assert (await c.get("/x")).status_code == 418
        assert (await c.get("/y")).status_code == 418
    assert count("418") == before + 2 and timed("418") > time_before
