"""The gateway's share of tracing and metrics: a server span per HTTP request (its trace goes
on through the NATS messages the request publishes) and a latency histogram per route."""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowforge.common import metrics

# Probes and scrapes arrive every few seconds; a trace each would bury the uploads.
UNTRACED_URLS = r"/livez$,/readyz$,/healthz$,/metrics(/all)?$,/api/v1/services/[^/]+/metrics$"


def observe_http(app: FastAPI) -> None:
    """Time every request into `flowforge_http_request_seconds` and trace it (a no-op span
    unless tracing is on; an incoming `traceparent` is continued either way)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app.add_middleware(RequestTimer)
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=UNTRACED_URLS, exclude_spans=["receive", "send"]
    )


class RequestTimer:
    """Pure ASGI (no response buffering): the time until the response is complete, and the
    request counted, labelled with the route template so that `/runs/{run_id}` is one series,
    not one per run. (Counting in a `BaseHTTPMiddleware` had wrapped every chunk of a request
    body in a task group of its own.)"""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            labels = (route, scope["method"], str(status))
            metrics.HTTP_SECONDS.labels(*labels).observe(time.perf_counter() - started)
            metrics.HTTP_REQUESTS.labels(*labels).inc()
