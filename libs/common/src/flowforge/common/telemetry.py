"""Tracing: OpenTelemetry for one service process, and the spans FlowForge adds itself.

Off by default: only the OpenTelemetry API is used, whose tracer is a no-op that still passes
an incoming `traceparent` on. `setup_tracing` turns the SDK on when an exporter is configured:
- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`): OTLP over HTTP; the exporter reads
  the other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression);
- `FLOWFORGE_TRACE_FILE`: every span appended to that file as one JSON line (each process of an
  embedded platform appends to the same file); meant for tests and for looking at one run.
`OTEL_SDK_DISABLED=true` turns both off; `OTEL_TRACES_SAMPLER` replaces FlowForge's sampler.

Each process is resource `service.name=flowforge-<service>`. The hops: the gateway's HTTP
requests (FastAPI instrumentation, `gateway/observability.py`), every NATS publish and consume
(FastStream's telemetry middleware, W3C `traceparent` in the message headers), database calls
(asyncpg instrumentation) and object-store calls (`traced_store` below).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from flowforge.common.events import HEALTH_SUBJECT, METRICS_SUBJECT, PROGRESS_SUBJECT

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

    from flowforge.common.settings import Settings

log = logging.getLogger(__name__)
TRACER = trace.get_tracer("flowforge")
# Messages that never start a trace of their own: monitoring's requests every few seconds,
# replies (to `_INBOX.`; a reply of a traced request is in its trace already), and live
# progress figures sent from a parsing thread.
NOT_ENTRY_PREFIXES = (
    HEALTH_SUBJECT.split("{")[0],
    METRICS_SUBJECT.split("{")[0],
    PROGRESS_SUBJECT.split("{")[0],
    "_INBOX.",
)
_installed: list[TracerProvider] = []


def tracing_enabled() -> bool:
    return bool(_installed)


def setup_tracing(service: str, settings: Settings) -> bool:
    """Install the SDK for this process when an exporter is configured; True if it did."""
    if _installed:
        return True
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    processors = _span_processors(settings)
    if not processors:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create(
        {"service.name": f"flowforge-{service}", "service.namespace": "flowforge"}
    )
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else entry_point_sampler()
    provider = TracerProvider(resource=resource, sampler=sampler)
    for _, processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _installed.append(provider)
    _instrument_asyncpg()
    log.info("tracing on (%s)", ", ".join(name for name, _ in processors))
    return True


def _span_processors(settings: Settings) -> list[tuple[str, Any]]:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    processors = []
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processors.append(("OTLP over HTTP", BatchSpanProcessor(OTLPSpanExporter())))
    if settings.trace_file:
        # Flushed every second rather than every 5 s: whoever reads the file is waiting.
        exporter = JsonLinesSpanExporter(Path(settings.trace_file))
        processor = BatchSpanProcessor(exporter, schedule_delay_millis=1000)
        processors.append((f"JSON lines to {settings.trace_file}", processor))
    return processors


def _instrument_asyncpg() -> None:
    try:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument()
    except Exception:  # noqa: BLE001 - tracing must never stop a service from starting
        log.warning("asyncpg instrumentation unavailable; database calls are not traced")


def entry_point_sampler():
    """Start a trace only where work enters: an HTTP request, a message published or
    consumed. A query or store call outside any of them (the landing sweep's listing, a
    readiness `SELECT 1`) would otherwise be a one-span trace every second; inside a trace
    every span is kept (the parent decides)."""
    from opentelemetry.sdk.trace.sampling import (
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
    )

    entry_kinds = (SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER)

    class EntryPoints(Sampler):
        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                          links=None, trace_state=None) -> SamplingResult:  # fmt: skip
            if kind in entry_kinds and not name.startswith(NOT_ENTRY_PREFIXES):
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, trace_state)
            return SamplingResult(Decision.DROP, None, trace_state)

        def get_description(self) -> str:
            return "FlowForgeEntryPoints"

    return ParentBased(root=EntryPoints())


class JsonLinesSpanExporter:
    """Appends each finished span as one JSON line. Several processes append to one file:
    each batch is one `write` on an O_APPEND descriptor, so lines never interleave."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]):
        from opentelemetry.sdk.trace.export import SpanExportResult

        data = "".join(json.dumps(span_record(s), default=str) + "\n" for s in spans).encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def span_record(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    start, end = span.start_time or 0, span.end_time or 0
    return {
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "start_ns": start,
        "duration_ms": round((end - start) / 1e6, 3),
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


def broker_middlewares(service: str, tracer_provider: TracerProvider | None = None) -> tuple:
    """FastStream's middlewares for every broker: spans with `traceparent` propagation for
    each publish and consume, and Prometheus message metrics in FlowForge's registry."""
    from faststream.nats.opentelemetry import NatsTelemetryMiddleware
    from faststream.nats.prometheus import NatsPrometheusMiddleware

    from flowforge.common.metrics import REGISTRY

    return (
        NatsTelemetryMiddleware(tracer_provider=tracer_provider),
        NatsPrometheusMiddleware(registry=REGISTRY, app_name=service),
    )


def annotate_message(run_id: str, dataset: str, delivery: int) -> None:
    """Mark the consumed message's span with the run it belongs to, to find a run's trace."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("flowforge.run_id", run_id)
        span.set_attribute("flowforge.dataset", dataset)
        span.set_attribute("messaging.nats.delivery", delivery)


STORE_OPERATIONS = (
    "put_file", "move_file", "get_file", "put_bytes", "get_bytes", "exists", "list", "delete"
)  # fmt: skip
StoreClass = TypeVar("StoreClass", bound=type)


def traced_store(kind: str) -> Callable[[StoreClass], StoreClass]:
    """Class decorator: a CLIENT span around each object-store operation the class defines."""

    def decorate(cls: StoreClass) -> StoreClass:
        for name in STORE_OPERATIONS:
            if name in cls.__dict__:
                setattr(cls, name, _traced(cls.__dict__[name], f"store {name}", kind))
        return cls

    return decorate


def _traced(method: Callable, span_name: str, kind: str) -> Callable:
    @functools.wraps(method)
    def wrapper(self, key: str, *args: Any, **kwargs: Any) -> Any:
        attributes = {"flowforge.store": kind, "flowforge.store.key": key}
        with TRACER.start_as_current_span(span_name, kind=SpanKind.CLIENT, attributes=attributes):
            return method(self, key, *args, **kwargs)

    return wrapper
