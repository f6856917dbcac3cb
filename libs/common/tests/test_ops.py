"""A worker's ops server (/livez, /readyz, /metrics) on a real socket, and the merge of every
service's metrics into one exposition for the gateway's `/metrics/all`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flowforge.common import metrics, vitals
from flowforge.common.exposition import merge_expositions
from flowforge.common.ops import port_file, start_ops_server
from flowforge.common.settings import Settings
from flowforge.common.testing import unique


class Checks:
    def __init__(self, **results: bool):
        self.results = results

    async def __call__(self) -> dict[str, bool]:
        return dict(self.results)


@pytest.fixture
async def ops(tmp_path: Path):
    """An ops server on a free port (FLOWFORGE_METRICS_PORT=0), and how to reach it."""
    service = unique("svc")
    settings = Settings(home=tmp_path, metrics_port=0)
    checks = Checks(nats=True, database=True, store=True)
    server = await start_ops_server(service, settings, checks)
    port = int(port_file(settings, service).read_text())
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        yield client, service, checks
    server.close()


async def test_port_zero_picks_a_free_port_and_writes_it_where_tools_find_it(ops):
    client, service, _ = ops
    assert (await client.get("/livez")).status_code == 200


async def test_livez_answers_while_the_service_is_still_starting(ops):
    client, service, _ = ops
    vitals.of(service).state = "starting"
    response = await client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "alive"}


async def test_readyz_is_ready_once_running_with_every_check_passing(ops):
    client, service, _ = ops
    vitals.of(service).state = "running"
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"nats": True, "database": True, "store": True}


@pytest.mark.parametrize("state", ["starting", "stopping"])
async def test_readyz_is_unready_while_starting_or_stopping(ops, state):
    client, service, _ = ops
    vitals.of(service).state = state
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["state"] == state


async def test_readyz_names_the_failing_check(ops):
    client, service, checks = ops
    vitals.of(service).state = "running"
    checks.results["database"] = False
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unready"
    assert response.json()["checks"]["database"] is False


async def test_metrics_serves_the_process_registry_as_prometheus_text(ops):
    client, service, _ = ops
    metrics.count_bytes(service, "ingest", 1234)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert f'flowforge_bytes_total{{service="{service}",stage="ingest"}} 1234.0' in response.text


async def test_other_paths_and_methods_are_refused(ops):
    client, _, _ = ops
    assert (await client.get("/nope")).status_code == 404
    assert (await client.post("/livez")).status_code == 405


async def test_a_port_in_use_is_logged_and_the_service_runs_on(ops, tmp_path: Path, caplog):
    client, _, _ = ops
    taken = client.base_url.port
    server = await start_ops_server("other", Settings(home=tmp_path, metrics_port=taken), Checks())
    assert server is None
    assert "ops server not started" in caplog.text


async def test_no_port_means_no_server(tmp_path: Path):
    assert await start_ops_server("svc", Settings(home=tmp_path), Checks()) is None


def exposition(service_label: bool, value: float) -> str:
    registry = CollectorRegistry()
    labels = ["service", "subject"] if service_label else ["handler"]
    counter = Counter("demo_messages_total", "Messages.", labels, registry=registry)
    counter.labels(*(["w", "a.b"] if service_label else ["a.b"])).inc(value)
    Histogram("demo_seconds", "Latency.", registry=registry).observe(0.3)
    return generate_latest(registry).decode()


def test_merged_metrics_have_one_help_and_type_per_family_and_a_service_on_every_sample():
    merged = merge_expositions(
        {"ingest": exposition(False, 2), "transform": exposition(False, 5), "down": None}
    )
    help_lines = [line for line in merged.splitlines() if line.startswith("# HELP")]
    assert len(help_lines) == len(set(help_lines))
    families = {f.name: f for f in text_string_to_metric_families(merged)}
    samples = families["demo_messages"].samples
    totals = {s.labels["service"]: s.value for s in samples if s.name.endswith("_total")}
    assert totals == {"ingest": 2, "transform": 5}
    assert all("service" in s.labels for f in families.values() for s in f.samples)
    assert len([s for s in families["demo_seconds"].samples if s.name.endswith("_count")]) == 2
    up = {s.labels["service"]: s.value for s in families["flowforge_service_up"].samples}
    assert up == {"ingest": 1, "transform": 1, "down": 0}


def test_a_service_label_already_present_is_kept():
    merged = merge_expositions({"gateway": exposition(True, 3)})
    families = {f.name: f for f in text_string_to_metric_families(merged)}
    [total] = [s for s in families["demo_messages"].samples if s.name.endswith("_total")]
    assert total.labels == {"service": "w", "subject": "a.b"}


def test_unparseable_metrics_are_skipped_not_fatal():
    merged = merge_expositions({"ingest": "this is { not prometheus", "ai": exposition(False, 1)})
    assert 'demo_messages_total{handler="a.b",service="ai"} 1.0' in merged
