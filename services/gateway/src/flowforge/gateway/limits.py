"""Limits that keep one client from exhausting the gateway: body sizes counted as the body
arrives (413 before an oversized body is read, also without a Content-Length), per-caller rate
limits on expensive routes (429 with Retry-After), a time limit on every request (504), and a
time limit on reading a request's headers (a slow client is disconnected)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from flowforge.gateway import problems
from flowforge.gateway.access import RateLimited, authorize

log = logging.getLogger(__name__)

# Requests per minute per caller (per client address for sign-in), each with that burst.
DEFAULT_RATES = {"login": 10, "upload": 120, "jobs": 60, "lake": 300}


def parse_rates(text: str | None) -> dict[str, int]:
    """`upload=60,jobs=30` (per minute) over the defaults."""
    rates = dict(DEFAULT_RATES)
    for part in (text or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip() in rates and value.strip().isdigit():
            rates[name.strip()] = int(value)
    return rates


@dataclass
class RateLimiter:
    """Token buckets per (group, caller): `per_minute` tokens a minute, as many at once."""

    per_minute: dict[str, int]
    clock: Callable[[], float] = time.monotonic
    buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def check(self, group: str, caller: str) -> None:
        rate = self.per_minute.get(group)
        if not rate:
            return
        now = self.clock()
        tokens, last = self.buckets.get((group, caller), (float(rate), now))
        tokens = min(float(rate), tokens + (now - last) * rate / 60.0)
        if tokens < 1.0:
            wait = (1.0 - tokens) * 60.0 / rate
            self.buckets[(group, caller)] = (tokens, now)
            raise RateLimited(
                f"too many {group} requests: {rate} a minute are allowed; retry in {wait:.1f} s",
                wait,
            )
        self.buckets[(group, caller)] = (tokens - 1.0, now)
        if len(self.buckets) > 100_000:  # forget idle callers rather than grow without end
            self.buckets.clear()


def _problem(status: int, slug: str, title: str, detail: str, path: str) -> bytes:
    return json.dumps({"type": f"/problems/{slug}", "title": title, "status": status,
                       "detail": detail, "instance": path, "error": detail}).encode()  # fmt: skip


class BodyLimit:
    """Refuse a request body over its limit as it arrives: with a Content-Length at once, else
    as soon as the bytes received pass the limit (the rest is never read).

    A request refused for any other reason before its body was read (a bad key, the database
    down) has the rest of its body read and dropped, up to the limit, before the answer goes
    out: a client still sending would otherwise see its connection reset, not the answer."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], tuple[int, str]]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode()
        if length.isdigit() and int(length) > limit:
            await self._refuse(scope, send, int(length), limit, setting)
            return
        state = {"seen": 0, "over": False, "started": False, "done": False}

        async def guarded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                state["done"] = not message.get("more_body", False)
                if state["seen"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            elif message["type"] == "http.disconnect":
                state["done"] = True
            return message

        async def drain() -> None:
            while not (state["done"] or state["over"]):
                await guarded_receive()

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not state["started"]:
                await drain()
            if state["over"]:
                return  # the refusal below answers instead
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not state["over"]:
                await drain()  # the error handler outside answers once the body is in
                if not state["over"]:
                    raise
        if state["over"] and not state["started"]:
            await self._refuse(scope, send, state["seen"], limit, setting)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, size: int, limit: int, setting: str) -> None:
        detail = f"the request body is over {limit} bytes ({size} seen); the limit is {setting}"
        body = _problem(413, "payload-too-large", "Payload too large", detail, scope["path"])
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/problem+json"), (b"connection", b"close"),
            (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class AuthorizeBeforeBody:
    """The access check of a request with a body, made from its headers when the route first
    reads the body (FastAPI reads a form before it runs dependencies): an anonymous or
    unauthorised upload is refused before a byte of it is spooled to the gateway's disk."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with the request the route sees
        checked = False

        async def checked_receive() -> Message:
            nonlocal checked
            if not checked and "route" in scope:  # routed: the route's rule is known
                checked = True
                await check(Request(scope))
            return await receive()

        await self.app(scope, checked_receive, send)


async def check(request: Request) -> None:
    try:
        await authorize(request)
    except Exception as exc:  # noqa: BLE001 - answered as the route's own check would be
        found = problems.parts(request, exc)
        if found is None:
            log.exception("the access check of %s %s failed", request.method, request.url.path)
            raise HTTPException(500, "internal error in the access check") from exc
        # Raised as an HTTP error: FastAPI passes those through its body reading as they are,
        # and the HTTP error handler answers the same problem (its slug follows the status).
        slug, detail, headers = found
        raise HTTPException(problems.KINDS[slug][0], detail, headers) from exc


BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request headers take longer
    than `header_timeout` seconds to arrive (a slow-headers client holds nothing for long).
    The httptools parser (C), not h11 (Python): h11 cost the event loop ~0.6 CPU-s of a
    647 MB upload's 1.8 s."""

    header_timeout = 10.0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()  # still waiting for (the rest of) a request's headers

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._arm()
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete and self._header_timer:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)


class TimeLimit:
    """Pure ASGI: a request whose answer has not started within `seconds` gets a 504 problem
    (long work runs as a job); `exempt` (method or None for any, path) requests take as long
    as they last (an upload, a live stream). The limit ends when the answer starts, as with
    the `BaseHTTPMiddleware` it replaces (which wrapped every body chunk in a task group)."""

    def __init__(self, app: ASGIApp, seconds: float, exempt: list[tuple[str | None, str]]):
        self.app, self.seconds, self.exempt = app, seconds, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if any(path == p and method in (None, scope["method"]) for method, p in self.exempt):
            await self.app(scope, receive, send)
            return
        started = False
        try:
            async with asyncio.timeout(self.seconds) as limit:

                async def send_and_stop_the_clock(message: Message) -> None:
                    nonlocal started
                    if message["type"] == "http.response.start" and not started:
                        started = True
                        limit.reschedule(None)
                    await send(message)

                await self.app(scope, receive, send_and_stop_the_clock)
                return
        except TimeoutError:
            if started:  # an answer under way cannot be replaced
                raise
        answer = problems.problem(
            "gateway-timeout",
            f"the request took longer than {self.seconds:.0f} s "
            "(FLOWFORGE_REQUEST_TIMEOUT); long work runs as a job",
            request,
        )
        await answer(scope, receive, send)
