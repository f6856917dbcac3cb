"""Health of every service, metrics, and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from flowforge.common import metrics
from flowforge.common.asyncapi import asyncapi_document
from flowforge.common.errors import NotFoundError, TransientError
from flowforge.common.events import HEALTH_SUBJECT, METRICS_SUBJECT, SERVICES
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.schemas import HealthPublic

router = APIRouter(tags=["system"])
BACKENDS = [s for s in SERVICES if s != "gateway"]


async def _ask(gw: Gateway, subject: str, wait: float = 2.0) -> bytes | None:
    try:
        reply = await gw.broker.request(b"", subject, timeout=wait)
        return reply.body
    except Exception:  # noqa: BLE001 - no reply (down, or NATS unreachable) is the answer
        return None


async def _service_health(gw: Gateway, service: str) -> str:
    body = await _ask(gw, HEALTH_SUBJECT.format(service=service))
    if body is None:
        return "unreachable"
    try:
        return json.loads(body).get("status", "unknown")
    except ValueError:
        return "unknown"


@router.get("/healthz", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
async def healthz(gw: GatewayDep):
    """200 only when every service answers and reports itself healthy."""
    states = await asyncio.gather(*(_service_health(gw, s) for s in BACKENDS))
    services = dict(zip(BACKENDS, states, strict=True))
    try:
        await gw.state.pool.fetchval("SELECT 1")
        services["gateway"] = "ok"
    except Exception:  # noqa: BLE001
        services["gateway"] = "database unreachable"
    ok = all(v == "ok" for v in services.values())
    body = HealthPublic(status="ok" if ok else "degraded", services=services)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def gateway_metrics() -> str:
    """The gateway's own metrics in Prometheus text format."""
    return metrics.render()


@router.get("/api/v1/services/{service}/metrics", response_class=PlainTextResponse)
async def service_metrics(service: str, gw: GatewayDep) -> str:
    """A service's metrics in Prometheus text format, fetched over NATS."""
    if service == "gateway":
        return metrics.render()
    if service not in BACKENDS:
        raise NotFoundError(f"no service {service!r}; services are {', '.join(SERVICES)}")
    body = await _ask(gw, METRICS_SUBJECT.format(service=service))
    if body is None:
        raise TransientError(f"service {service!r} did not answer; is it running?")
    text = body.decode()
    return json.loads(text) if text.startswith('"') else text


@router.get("/asyncapi.json")
async def asyncapi(gw: GatewayDep) -> JSONResponse:
    """The AsyncAPI 3.0 document of every subject, generated from the event models."""
    return JSONResponse(asyncapi_document(gw.settings.nats_url))
