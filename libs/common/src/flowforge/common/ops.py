"""The ops server of a worker: `GET /livez`, `/readyz` and `/metrics` on FLOWFORGE_METRICS_PORT.

Workers take no HTTP traffic, so this is a few lines on `asyncio.start_server` rather than a
web framework: probes and a scraper send one small GET each.
- `/livez`: 200 while the event loop answers.
- `/readyz`: 200 when every check passes (NATS connected, database answering, store open) and
  the service is running; otherwise 503. Both carry the checks as JSON.
- `/metrics`: the process's Prometheus registry.

Port 0 picks a free port and writes it to `$FLOWFORGE_HOME/run/<service>.ops-port`, so the
workers of an embedded platform, all on one host, do not collide.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST

from flowforge.common import metrics, vitals
from flowforge.common.settings import Settings

log = logging.getLogger(__name__)
Checks = Callable[[], Awaitable[dict[str, bool]]]
REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def port_file(settings: Settings, service: str) -> Path:
    """Where a process that picked a free port says which (one file per replica)."""
    name = service if settings.replica == 0 else f"{service}-{settings.replica}"
    return settings.home_dir / "run" / f"{name}.ops-port"


async def start_ops_server(service: str, settings: Settings, checks: Checks):
    """Serve the ops endpoints when FLOWFORGE_METRICS_PORT is set; returns the server (or None).
    A port in use is logged, not fatal: the service still works, unobserved."""
    if settings.metrics_port is None:
        return None
    try:
        server = await asyncio.start_server(
            lambda r, w: _serve(r, w, service, checks), settings.host, settings.metrics_port
        )
    except OSError as exc:
        log.error("ops server not started on %s:%s: %s", settings.host, settings.metrics_port, exc)
        return None
    port = server.sockets[0].getsockname()[1]
    if settings.metrics_port == 0:
        path = port_file(settings, service)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(port))
    log.info("ops endpoints on http://%s:%d (/livez /readyz /metrics)", settings.host, port)
    return server


async def readiness(service: str, checks: Checks) -> tuple[int, dict]:
    state = vitals.of(service).state
    try:
        results = await checks()
    except Exception as exc:  # noqa: BLE001 - a failing check is an answer, not a crash
        results = {"checks": False}
        log.warning("readiness checks failed: %s", exc)
    ready = state == "running" and all(results.values())
    body = {"service": service, "status": "ready" if ready else "unready", "state": state}
    return (200 if ready else 503), body | {"checks": results}


async def _respond(path: str, service: str, checks: Checks) -> tuple[int, str, bytes]:
    if path == "/livez":
        return 200, "application/json", b'{"status":"alive"}'
    if path == "/readyz":
        status, body = await readiness(service, checks)
        return status, "application/json", json.dumps(body).encode()
    if path == "/metrics":
        return 200, CONTENT_TYPE_LATEST, metrics.render().encode()
    return 404, "application/json", b'{"error":"no such endpoint: /livez, /readyz, /metrics"}'


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, service, checks):
    try:
        async with asyncio.timeout(10):
            request = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # headers: nothing here depends on them
            if len(request) < 2:
                return
            method, path = request[0], request[1].split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, kind, body = 405, "text/plain", b"only GET\n"
            else:
                status, kind, body = await _respond(path, service, checks)
            head = (
                f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + (b"" if method == "HEAD" else body))
            await writer.drain()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
