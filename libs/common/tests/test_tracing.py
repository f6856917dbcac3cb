"""Tracing as a service process sets it up (`setup_tracing` with FLOWFORGE_TRACE_FILE), on
FastStream's in-memory broker: `traceparent` travels from a publish through the `consume`
wrapper to the events the handler returns, and store calls are spans of the same trace."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from faststream.nats import NatsMessage, TestNatsBroker
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from flowforge.common.bus import consume, make_broker, publish
from flowforge.common.events import FileLanded
from flowforge.common.settings import Settings
from flowforge.common.storage import LocalObjectStore
from flowforge.common.telemetry import setup_tracing, tracing_enabled
from flowforge.common.testing import unique

from .test_bus import SETTINGS, Handler, landed, spy

TRACER = trace.get_tracer("test")


@pytest.fixture(scope="module")
def spans(tmp_path_factory: pytest.TempPathFactory):
    """The process's tracer provider, installed as a service installs it, plus a memory copy
    of every span for the asserts. (A process installs one provider, once.)"""
    trace_file = tmp_path_factory.mktemp("traces") / "spans.jsonl"
    assert not tracing_enabled(), "another test installed tracing first"
    assert setup_tracing("unit", Settings(trace_file=trace_file))
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory, trace_file, provider


def by_name(finished, name: str):
    [span] = [s for s in finished if s.name == name]
    return span


async def test_one_trace_runs_from_a_publish_through_the_consumer_to_the_events_it_returns(spans):
    memory, _, _ = spans
    memory.clear()
    service = unique("svc")
    broker = make_broker(SETTINGS, service)
    handler = Handler()

    async def traced_handler(event: FileLanded):
        with TRACER.start_as_current_span("handler work"):
            return await handler(event)

    consume(broker, FileLanded, traced_handler, service=service, settings=SETTINGS)
    out = spy(broker, "bronze.ready")
    async with TestNatsBroker(broker):
        with TRACER.start_as_current_span("POST /upload", kind=SpanKind.SERVER) as root:
            await publish(broker, landed(), SETTINGS)
    trace_id = root.get_span_context().trace_id
    finished = memory.get_finished_spans()
    assert {s.context.trace_id for s in finished} == {trace_id}

    consumed = by_name(finished, "file.landed process")
    assert consumed.attributes["flowforge.run_id"] == "run-1"
    assert by_name(finished, "handler work").parent.span_id == consumed.context.span_id
    assert by_name(finished, "bronze.ready create").parent.span_id == consumed.context.span_id
    # The published event's consumer continues the same trace, from its headers.
    assert f"-{trace_id:032x}-" in out[0].headers["traceparent"]
    bronze = by_name(finished, "bronze.ready process")
    assert bronze.parent.span_id == by_name(finished, "bronze.ready create").context.span_id


async def test_a_request_and_its_reply_are_one_trace(spans):
    memory, _, _ = spans
    memory.clear()
    broker = make_broker(SETTINGS, unique("svc"))
    seen: list[str] = []

    @broker.subscriber("flowforge.svc.unit.echo")
    async def echo(body: dict, msg: NatsMessage) -> dict:
        seen.append(msg.headers.get("traceparent", ""))
        return body

    async with TestNatsBroker(broker):
        with TRACER.start_as_current_span("GET /api", kind=SpanKind.SERVER) as root:
            reply = await broker.request({"a": 1}, "flowforge.svc.unit.echo", timeout=2)
    assert await reply.decode() == {"a": 1}
    trace_id = f"{root.get_span_context().trace_id:032x}"
    assert trace_id in seen[0]
    finished = memory.get_finished_spans()
    # The reply is processed on the asking side too; the served request is the child of the
    # request's producer span, as its consumer in another process would be.
    sent = next(s for s in finished if s.name.endswith("create") and s.kind == SpanKind.PRODUCER)
    served = next(s for s in finished if s.parent and s.parent.span_id == sent.context.span_id
                  and s.name == "flowforge.svc.unit.echo process")  # fmt: skip
    assert f"{served.context.trace_id:032x}" == trace_id


async def test_object_store_calls_are_spans_of_the_trace_they_run_in(spans, tmp_path: Path):
    memory, _, _ = spans
    memory.clear()
    store = LocalObjectStore(tmp_path)
    with TRACER.start_as_current_span("file.landed process", kind=SpanKind.CONSUMER) as parent:
        await asyncio.to_thread(store.put_bytes, "bronze/orders/r1.parquet", b"PAR1")
        assert store.get_bytes("bronze/orders/r1.parquet") == b"PAR1"
    put = by_name(memory.get_finished_spans(), "store put_bytes")
    assert put.parent.span_id == parent.get_span_context().span_id
    assert put.kind == SpanKind.CLIENT
    assert put.attributes["flowforge.store.key"] == "bronze/orders/r1.parquet"
    assert put.attributes["flowforge.store"] == "local"


def test_work_outside_any_request_or_message_starts_no_trace(spans, tmp_path: Path):
    memory, _, _ = spans
    memory.clear()
    LocalObjectStore(tmp_path).list("landing/")  # what the landing sweep does every second
    for probe in ("flowforge.svc.health.ingest create", "_INBOX.x7.y8 create"):
        with TRACER.start_as_current_span(probe, kind=SpanKind.PRODUCER):
            pass
    assert memory.get_finished_spans() == ()


async def test_spans_are_appended_to_the_trace_file_as_json_lines(spans, tmp_path: Path):
    _, trace_file, provider = spans
    with TRACER.start_as_current_span("outer", kind=SpanKind.SERVER) as outer:
        LocalObjectStore(tmp_path).exists("landing/x")
    provider.force_flush()
    records = [json.loads(line) for line in trace_file.read_text().splitlines()]
    mine = [r for r in records if r["trace_id"] == f"{outer.get_span_context().trace_id:032x}"]
    exists = next(r for r in mine if r["name"] == "store exists")
    root = next(r for r in mine if r["name"] == "outer")
    assert exists["parent_id"] == root["span_id"] and root["parent_id"] is None
    assert root["service"] == "flowforge-unit" and root["kind"] == "SERVER"
    assert exists["duration_ms"] >= 0 and exists["attributes"]["flowforge.store.key"] == "landing/x"
