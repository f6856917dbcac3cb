"""Prometheus metrics every service reports: messages handled, failures, durations, rows, bytes,
consumer lag; and the gateway's HTTP latency. FastStream's own message metrics (`faststream_*`)
are registered in the same registry by its Prometheus middleware (see `telemetry.py`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES = Counter(
    "flowforge_messages_total",
    "Messages handled, by service, subject and outcome (ok, retried, dead_lettered).",
    ["service", "subject", "outcome"],
    registry=REGISTRY,
)
HANDLER_SECONDS = Histogram(
    "flowforge_handler_seconds",
    "Wall time of one message's handling.",
    ["service", "subject"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "flowforge_stage_seconds",
    "Duration of a pipeline stage's work for one run.",
    ["service", "stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
    registry=REGISTRY,
)
ROWS = Counter(
    "flowforge_rows_total",
    "Rows handled by a stage, by kind (parsed, rejected, bronze, duplicates, silver, ...).",
    ["service", "stage", "kind"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "flowforge_http_requests_total",
    "Gateway HTTP requests by route and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)

HTTP_SECONDS = Histogram(
    "flowforge_http_request_seconds",
    "Gateway HTTP request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
BYTES = Counter(
    "flowforge_bytes_total",
    "Bytes read by a stage (ingest: the landed file's size).",
    ["service", "stage"],
    registry=REGISTRY,
)
# Consumer lag, refreshed every few seconds from JetStream's consumer info (see `vitals.py`):
# the autoscaler's and the alert rules' signal.
CONSUMER_PENDING = Gauge(
    "flowforge_consumer_pending",
    "Messages in the stream not yet delivered to this durable consumer.",
    ["service", "consumer"],
    registry=REGISTRY,
)
CONSUMER_ACK_PENDING = Gauge(
    "flowforge_consumer_ack_pending",
    "Messages delivered to this durable consumer and not acked yet (in flight).",
    ["service", "consumer"],
    registry=REGISTRY,
)
CONSUMER_REDELIVERED = Gauge(
    "flowforge_consumer_redelivered",
    "Messages of this durable consumer delivered more than once and still unacked.",
    ["service", "consumer"],
    registry=REGISTRY,
)


def count_bytes(service: str, stage: str, value: int | None) -> None:
    if value:
        BYTES.labels(service, stage).inc(value)


def count_rows(service: str, stage: str, **kinds: int | None) -> None:
    for kind, value in kinds.items():
        if value:
            ROWS.labels(service, stage, kind).inc(value)


def render() -> str:
    return generate_latest(REGISTRY).decode()
