"""One upload is one trace, from the gateway's POST to the Gold build, across six processes;
and the operability endpoints of a running platform (ops ports, probes, merged metrics)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from flowforge.common.testing import unique, wait_for

pytestmark = pytest.mark.e2e

WORKERS = ("ingest", "transform", "quality", "catalog", "ai", "scheduler")
# Each subject of the path of one file, and the services that consume it.
CONSUMERS = {
    "file.landed": {"ingest"},
    "bronze.ready": {"transform", "catalog", "ai"},
    "silver.ready": {"quality", "catalog"},
    "quality.checked": {"transform", "catalog"},
    "gold.ready": {"catalog", "quality"},
}


def read_spans(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def upload_trace(path: Path, run_id: str) -> list[dict] | None:
    """The spans of the trace holding the run's upload, once every consumer's span is in."""
    spans = read_spans(path)
    trace_ids = {s["trace_id"] for s in spans if s["attributes"].get("flowforge.run_id") == run_id}
    if len(trace_ids) != 1:
        return None
    mine = [s for s in spans if s["trace_id"] in trace_ids]
    served = {(s["name"], s["service"]) for s in mine}
    complete = all(
        (f"{subject} process", f"flowforge-{service}") in served
        for subject, services in CONSUMERS.items()
        for service in services
    )
    return mine if complete else None


def span_tree(spans: list[dict]) -> str:
    """The trace as an indented tree: name, service, duration (for docs/operations.md)."""
    children: dict[str | None, list[dict]] = {}
    for span in sorted(spans, key=lambda s: s["start_ns"]):
        children.setdefault(span["parent_id"], []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            service = span["service"].removeprefix("flowforge-")
            lines.append(f"{'  ' * depth}{span['name']}  [{service}] {span['duration_ms']:.1f} ms")
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def test_one_upload_is_one_trace_from_the_gateway_to_gold(tuned_platform, tmp_path: Path):
    p = tuned_platform  # it writes every span to its trace file (conftest)
    trace_file = p.extra["trace_file"]
    dataset, model = unique("orders"), unique("revenue")
    with p.client() as c:
        sql = f"SELECT state, sum(amount) AS revenue FROM {dataset} GROUP BY state"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
    csv = b"order_id,state,amount\n1,CA,10.5\n2,NY,20\n3,CA,7.25\n"
    run = p.land(csv, "orders.csv", dataset=dataset, key="order_id")
    assert run["status"] == "succeeded", run

    spans = wait_for(lambda: upload_trace(trace_file, run["run_id"]), 60, "the upload's trace")
    (tmp_path / "trace.txt").write_text(span_tree(spans))
    ids = {s["span_id"] for s in spans}
    [root] = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "POST /api/v1/files" and root["service"] == "flowforge-gateway"
    assert all(s["parent_id"] in ids for s in spans if s is not root), "a parent is missing"
    by_id = {s["span_id"]: s for s in spans}
    for subject in CONSUMERS:
        assert any(s["name"] == f"{subject} publish" for s in spans), subject
        for consumed in (s for s in spans if s["name"] == f"{subject} process"):
            assert by_id[consumed["parent_id"]]["name"] == f"{subject} create"
    assert any(s["attributes"].get("db.system") == "postgresql" for s in spans)
    assert any(s["name"].startswith("store put_file") for s in spans)
    # The scheduler hears the run's events too (workflows may start on them).
    assert {s["service"] for s in spans} == {f"flowforge-{s}" for s in (*WORKERS, "gateway")}


def test_every_worker_serves_probes_on_its_own_port_and_the_gateway_merges_metrics(
    tuned_platform,
):
    p = tuned_platform  # each worker has an ops port (conftest)
    for service in WORKERS:
        port = int((p.home / "run" / f"{service}.ops-port").read_text())
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/livez", timeout=5).status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"nats": True, "database": True, "store": True}
    with p.client() as c:
        assert c.get("/livez").status_code == 200
        assert c.get("/readyz").json()["checks"] == {"database": True, "nats": True, "store": True}
    with p.client() as c:  # the platform is shared: what it ingested before this test
        before = ingested_bytes(c.get("/metrics/all").text)
    p.land(b"a,b\n1,2\n", "small.csv", dataset=unique("small"))

    def merged() -> str | None:
        with p.client() as c:
            text = c.get("/metrics/all").text
        return text if 'flowforge_consumer_pending{consumer="ingest--file-landed"' in text else None

    text = wait_for(merged, 30, "consumer lag in /metrics/all")
    for service in (*WORKERS, "gateway"):
        assert f'flowforge_service_up{{service="{service}"}} 1.0' in text
    assert ingested_bytes(text) == before + 8  # "a,b\n1,2\n"
    assert 'faststream_received_messages_total{app_name="transform"' in text
    assert 'flowforge_http_request_seconds_count{method="POST",route="/api/v1/files"' in text


def ingested_bytes(metrics: str) -> float:
    """flowforge_bytes_total of ingest's ingest stage (0 before its first file)."""
    found = re.findall(r'^flowforge_bytes_total\{service="ingest",stage="ingest"\} (\S+)$',
                       metrics, flags=re.M)  # fmt: skip
    assert len(found) <= 1, found
    return float(found[0]) if found else 0.0
