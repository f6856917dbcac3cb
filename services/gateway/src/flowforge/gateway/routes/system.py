"""Health of every service, metrics, and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from flowforge.common import metrics, rpc
from flowforge.common.asyncapi import merge_documents, service_document
from flowforge.common.errors import FlowForgeError, NotFoundError, TransientError
from flowforge.common.events import HEALTH_SUBJECT, METRICS_SUBJECT
from flowforge.common.topology import SERVICES, WORKERS
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.schemas import HealthPublic

router = APIRouter(tags=["system"])
BACKENDS = list(WORKERS)


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
async def healthz(request: Request, gw: GatewayDep):
    """200 only when every service answers and reports itself healthy."""
    states = await asyncio.gather(*(_service_health(gw, s) for s in BACKENDS))
    services = dict(zip(BACKENDS, states, strict=True))
    checks = await request.app.state.checks()
    failing = [name for name, ok in checks.items() if not ok]
    services["gateway"] = "ok" if not failing else f"{', '.join(failing)} unreachable"
    ok = all(v == "ok" for v in services.values())
    body = HealthPublic(status="ok" if ok else "degraded", services=services)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def _service_status(gw: Gateway, service: str) -> dict:
    body = await _ask(gw, HEALTH_SUBJECT.format(service=service))
    if body is None:
        return {"service": service, "status": "unreachable"}
    try:
        return json.loads(body)
    except ValueError:
        return {"service": service, "status": "unknown"}


@router.get("/api/v1/status")
async def platform_status(request: Request, gw: GatewayDep) -> dict:
    """Every service's state as it reports it (health checks; workers also their consumers'
    lag and last error), and the gateway's own."""
    workers = await asyncio.gather(*(_service_status(gw, s) for s in BACKENDS))
    checks = await request.app.state.checks()
    gateway = {"service": "gateway", "status": "ok" if all(checks.values()) else "degraded",
               "checks": checks}  # fmt: skip
    return {"services": {s["service"]: s for s in [*workers, gateway]}}


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


async def _asyncapi_part(gw: Gateway, service: str) -> dict | None:
    try:
        return await rpc.ask(gw.broker, service, "asyncapi", timeout=5)
    except FlowForgeError:
        return None


@router.get("/asyncapi.json")
async def asyncapi(gw: GatewayDep) -> JSONResponse:
    """The AsyncAPI 3.0 document of every subject, generated from the event models."""
    parts = await asyncio.gather(*(_asyncapi_part(gw, s) for s in BACKENDS))
    own = service_document(gw.broker, "gateway")
    documents = {"gateway": own, **dict(zip(BACKENDS, parts, strict=True))}
    return JSONResponse(merge_documents(documents, _host_only(gw.settings.nats_url)))


def _host_only(url: str) -> str:
    """host:port of the first server, never credentials."""
    first = url.split(",")[0].strip()
    return urlsplit(first if "://" in first else f"nats://{first}").netloc.rsplit("@", 1)[-1]
