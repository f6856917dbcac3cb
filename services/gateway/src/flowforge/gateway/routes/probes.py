"""Probes of the gateway itself, and every service's metrics through one scrape target.

`/healthz` (routes/system.py) reports the whole platform; these report the gateway alone, as
an orchestrator's probes must: a worker being down must not take the front door out of a load
balancer. `/metrics/all` lets one Prometheus job scrape an embedded platform.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from flowforge.common import metrics
from flowforge.common.events import METRICS_SUBJECT
from flowforge.common.exposition import merge_expositions
from flowforge.common.topology import WORKERS
from flowforge.gateway.deps import Gateway, GatewayDep

router = APIRouter(tags=["system"])


@router.get("/livez")
async def livez() -> dict:
    """200 while the gateway process answers."""
    return {"status": "alive"}


@router.get("/readyz", responses={503: {"description": "a dependency of the gateway is down"}})
async def readyz(request: Request) -> JSONResponse:
    """200 when the gateway's own dependencies answer: its database, NATS and the store."""
    checks = await request.app.state.checks()
    ready = all(checks.values())
    body = {"service": "gateway", "status": "ready" if ready else "unready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics/all", response_class=Response)
async def all_metrics(gw: GatewayDep) -> Response:
    """Every service's metrics in one Prometheus exposition, each sample labelled `service`;
    `flowforge_service_up` is 0 for a service that did not answer."""
    texts = await asyncio.gather(*(_worker_metrics(gw, s) for s in WORKERS))
    merged = merge_expositions(
        {"gateway": metrics.render(), **dict(zip(WORKERS, texts, strict=True))}
    )
    return Response(merged, media_type=CONTENT_TYPE_LATEST)


async def _worker_metrics(gw: Gateway, service: str) -> str | None:
    try:
        reply = await gw.broker.request(b"", METRICS_SUBJECT.format(service=service), timeout=2)
    except Exception:  # noqa: BLE001 - no reply (down, or NATS unreachable) is the answer
        return None
    text = reply.body.decode()
    return json.loads(text) if text.startswith('"') else text
