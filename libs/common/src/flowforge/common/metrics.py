"""Prometheus metrics every service reports: messages handled, failures, durations, rows."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

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


def count_rows(service: str, stage: str, **kinds: int | None) -> None:
    for kind, value in kinds.items():
        if value:
            ROWS.labels(service, stage, kind).inc(value)


def render() -> str:
    return generate_latest(REGISTRY).decode()
