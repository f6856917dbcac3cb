"""A run's event log, the dashboard and the live event stream, against fake owners on the
in-memory broker: what the gateway asks, how a silent owner costs only its part, and what a
stream client receives (filters, resumption, overflow, limits)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

from flowforge.gateway.live import Hub

NOW = datetime.now(UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


# --- the event log -------------------------------------------------------------------------


def logged(subject: str, data: dict, at: str) -> dict:
    envelope = {"id": f"{subject}:r1", "subject": "orders", "data": data}
    return {"id": f"{subject}:r1", "subject": subject, "service": "ingest", "at": at,
            "received_at": at, "summary": "s", "payload": envelope}  # fmt: skip


async def test_a_runs_event_log_is_the_catalogs_with_anything_secret_hidden(harness):
    events = [
        logged("file.landed", {"run_id": "r1", "content_hash": "abc"}, ago(minutes=2)),
        logged("bronze.ready", {"run_id": "r1", "extract": {"password": "pw"},
                                "note": "ffk_abc_secret"}, ago(minutes=1)),
    ]  # fmt: skip
    harness.owners.answer("catalog", "runs.events", lambda r: {"run_id": "r1", "events": events})
    response = await harness.client.get("/api/v1/runs/r1/events", params={"subject": "bronze"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [e["subject"] for e in body["events"]] == ["file.landed", "bronze.ready"]
    assert body["events"][0]["payload"]["data"]["content_hash"] == "abc"  # a digest, no secret
    assert body["events"][1]["payload"]["data"]["extract"] == {"password": "***"}
    assert body["events"][1]["payload"]["data"]["note"] == "***"
    assert harness.owners.asked_for("catalog", "runs.events") == [
        {"run_id": "r1", "subject": "bronze"}
    ]


async def test_an_upload_not_recorded_yet_has_an_empty_log_and_an_unknown_run_is_404(harness):
    from flowforge.common.errors import NotFoundError

    def missing(request):
        raise NotFoundError(f"no run with id {request['run_id']!r}")

    harness.owners.answer("catalog", "runs.events", missing)
    await harness.uploads.record(run_id="up1", dataset="orders", filename="o.csv", size_bytes=3,
                                 content_hash="h", landing_uri="file:///x")  # fmt: skip
    queued = await harness.client.get("/api/v1/runs/up1/events")
    unknown = await harness.client.get("/api/v1/runs/nope/events")
    assert queued.status_code == 200 and queued.json() == {"run_id": "up1", "events": []}
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["detail"] == "no run with id 'nope'"


async def test_a_subject_filter_that_is_no_subject_is_refused_before_asking(harness):
    response = await harness.client.get("/api/v1/runs/r1/events", params={"subject": "a b"})
    assert response.status_code == 422
    assert not harness.owners.asked_for("catalog", "runs.events")


# --- the dashboard -------------------------------------------------------------------------


def catalog_overview(request: dict) -> dict:
    return {
        "since": ago(hours=24), "until": NOW.isoformat(),
        "runs": {"queued": 1, "running": 2, "succeeded": 30, "failed": 4},
        "rows": {"parsed": 1003, "rejected": 3, "bronze": 1000},
        "failed_runs": [{"run_id": "f1", "dataset": "orders", "filename": "o.csv",
                         "error": "ingest: not text", "updated_at": ago(minutes=5)}],
        "datasets": [
            {"dataset": "never", "success_run_id": None, "last_success_at": None,
             "last_run_id": "n1", "last_run_at": ago(hours=1)},
            {"dataset": "old", "success_run_id": "o1", "last_success_at": ago(hours=30),
             "last_run_id": "o1", "last_run_at": ago(hours=30)},
            {"dataset": "hourly", "success_run_id": "h1", "last_success_at": ago(hours=2),
             "last_run_id": "h1", "last_run_at": ago(hours=2)},
            {"dataset": "daily", "success_run_id": "d1", "last_success_at": ago(hours=2),
             "last_run_id": "d1", "last_run_at": ago(hours=2)},
        ],
    }  # fmt: skip


def quality_overview(request: dict) -> dict:
    return {
        "failing": [{"dataset": "orders", "run_id": "r9", "revision": 0,
                     "evaluated_at": ago(minutes=1), "rules": ["id_not_null", "amount_range"]}],
        "freshness": {"hourly": {"rule": "fresh", "max_age": "1h", "max_age_seconds": 3600.0}},
    }  # fmt: skip


def scheduler_alerts(request: dict) -> dict:
    alert = {"run_id": "w1", "workflow": "nightly", "alert": "failure", "at": ago(minutes=1),
             "text": "workflow nightly failed: step x"}  # fmt: skip
    return {"alerts": [alert]}


async def test_the_dashboard_puts_every_owners_part_together(harness):
    harness.owners.answer("catalog", "overview", catalog_overview)
    harness.owners.answer("quality", "overview", quality_overview)
    harness.owners.answer("scheduler", "alerts.recent", scheduler_alerts)
    response = await harness.client.get("/api/v1/dashboard", headers=harness.as_role("viewer"))
    assert response.status_code == 200, response.text
    body = response.json()
    runs = body["runs"]
    assert runs["available"] and (runs["queued"], runs["running"], runs["succeeded"],
                                  runs["failed"]) == (1, 2, 30, 4)  # fmt: skip
    assert (runs["rows_landed"], runs["rows_parsed"], runs["rows_rejected"]) == (1000, 1003, 3)
    failing = body["failing_checks"]["datasets"]
    assert [(f["dataset"], f["rules"]) for f in failing] == [
        ("orders", ["id_not_null", "amount_range"])
    ]
    stale = body["stale_datasets"]
    assert {d["dataset"]: d["rule"] for d in stale["datasets"]} == {
        "never": "default: 24 h",  # never succeeded
        "old": "default: 24 h",  # 30 h ago
        "hourly": "freshness rule fresh (max_age 1h)",  # 2 h ago, allowed 1 h
    }  # "daily": 2 h ago with the default 24 h is fresh
    assert [d["dataset"] for d in stale["datasets"]] == ["hourly", "old", "never"]
    assert stale["count"] == 3 and stale["default_max_age_seconds"] == 24 * 3600
    alerts = body["alerts"]["alerts"]
    assert [(a["kind"], a["run_id"]) for a in alerts] == [("workflow_failed", "w1"),
                                                          ("run_failed", "f1")]  # fmt: skip
    assert alerts[1]["dataset"] == "orders" and alerts[0]["workflow"] == "nightly"
    assert harness.owners.asked_for("catalog", "overview") == [{"hours": 24, "failures": 20}]


async def test_an_owner_that_does_not_answer_costs_only_its_part(harness):
    harness.owners.answer("catalog", "overview", catalog_overview)
    harness.owners.answer("quality", "overview", lambda r: asyncio.sleep(60))
    harness.gateway.owners.quality.quick = 0.2
    # the scheduler has no answer at all (the fake answers 404)
    response = await harness.client.get("/api/v1/dashboard")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["runs"]["available"] and body["runs"]["succeeded"] == 30
    assert body["failing_checks"]["available"] is False
    assert "the quality service did not answer" in body["failing_checks"]["detail"]
    stale = body["stale_datasets"]
    assert stale["available"] and "freshness rules unknown" in stale["detail"]
    assert "hourly" not in {d["dataset"] for d in stale["datasets"]}  # 2 h < the default
    assert body["alerts"]["available"] and body["alerts"]["unavailable"] == ["scheduler"]
    assert [a["run_id"] for a in body["alerts"]["alerts"]] == ["f1"]


async def test_without_the_catalog_the_dashboard_still_answers(harness):
    harness.owners.answer("quality", "overview", quality_overview)
    harness.owners.answer("scheduler", "alerts.recent", scheduler_alerts)
    body = (await harness.client.get("/api/v1/dashboard")).json()
    assert body["runs"] == {**body["runs"], "available": False, "succeeded": None}
    assert body["stale_datasets"]["available"] is False
    assert body["failing_checks"]["available"] is True
    assert [a["run_id"] for a in body["alerts"]["alerts"]] == ["w1"]
    assert body["alerts"]["unavailable"] == ["catalog"]


# --- the live stream -----------------------------------------------------------------------


def envelope(subject: str, run_id: str, dataset: str, event_id: str = "", **data) -> bytes:
    body = {"run_id": run_id, "dataset": dataset, **data}
    event_id = event_id or f"{subject}:{run_id}:{uuid.uuid4().hex}"
    return json.dumps({"id": event_id, "time": NOW.isoformat(), "data": body}).encode()


async def clients(hub: Hub, count: int) -> None:
    """Wait (at most 5 s) until `count` streams are connected."""
    for _ in range(500):
        if len(hub.clients) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(hub.clients)} streams connected, not {count}")


def parse(text: str) -> list[dict]:
    """The messages of an event stream: each block's fields (comments dropped)."""
    messages = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if fields:
            messages.append(fields)
    return messages


async def listen(harness, feed, *, role: str = "viewer", **params) -> list[dict]:
    """Open a stream (it ends after the harness's one-second lifetime) and, once it is
    connected, run `feed()`; the stream's messages."""
    hub = harness.gateway.live

    async def feeder():
        await clients(hub, 1)
        await feed()

    response, _ = await asyncio.gather(
        harness.client.get("/api/v1/events/stream", params=params, headers=harness.as_role(role)),
        feeder(),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse(response.text)


async def test_a_stream_client_gets_events_from_nats_as_they_come_filtered_by_run(harness):
    broker = harness.gateway.broker

    async def feed():
        await broker.publish(envelope("file.landed", "r1", "orders", filename="o.csv",
                                      size_bytes=10), "file.landed")  # fmt: skip
        await broker.publish(envelope("file.landed", "r2", "orders"), "file.landed")
        bronze = envelope("bronze.ready", "r1", "orders", "bronze.ready:r1",
                          counts={"bronze": 1000, "rejected": 3})  # fmt: skip
        await broker.publish(bronze, "bronze.ready")
        await broker.publish(bronze, "bronze.ready")  # a retried publish: told once
        await broker.publish(envelope("dlq.silver.ready", "r1", "orders", deliveries=5,
                                      error="boom", consumer="quality--silver-ready"),
                             "dlq.silver.ready")  # fmt: skip
        harness.gateway.live.progress({"run_id": "r1", "stage": "ingest", "done": 5,
                                       "total": 10, "unit": "rows"})  # fmt: skip

    messages = await listen(harness, feed, run_id="r1")
    start, *events = messages
    assert start["retry"] == "3000" and start["id"] == f"{harness.gateway.live.epoch}-0"
    assert [m["event"] for m in events] == [
        "file.landed", "bronze.ready", "dlq.silver.ready", "flowforge.progress.r1"
    ]  # fmt: skip
    data = [json.loads(m["data"]) for m in events]
    assert data[1] == {"subject": "bronze.ready", "run_id": "r1", "dataset": "orders",
                       "at": NOW.isoformat(), "summary": "bronze: 1,000 rows (3 rejected)",
                       "service": "ingest"}  # fmt: skip
    assert data[2]["service"] == "quality" and "boom" in data[2]["summary"]
    assert data[3]["dataset"] == "orders"  # a progress figure has none: the hub remembers
    ids = [int(m["id"].rsplit("-", 1)[1]) for m in events]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_only_admins_hear_the_audit_log_live(harness):
    broker = harness.gateway.broker

    async def feed():
        await broker.publish(envelope("audit.recorded", "audit-1", "x", actor="user:ada",
                                      method="PUT", path="/api/v1/x", status=200),
                             "audit.recorded")  # fmt: skip
        await broker.publish(envelope("gold.ready", "r1", "orders", models=[]), "gold.ready")

    viewer = [m.get("event") for m in await listen(harness, feed, role="viewer")]
    admin = [m.get("event") for m in await listen(harness, feed, role="admin")]
    assert viewer == [None, "gold.ready"]
    assert admin == [None, "audit.recorded", "gold.ready"]


async def test_a_reconnecting_client_gets_what_it_missed_or_is_told_it_lost_some(harness):
    hub = harness.gateway.live
    for i in range(3):
        hub.offer("silver.ready", envelope("silver.ready", f"r{i}", "orders"))
    first = f"{hub.epoch}-1"
    resumed = await harness.client.get("/api/v1/events/stream", headers={"last-event-id": first})
    messages = parse(resumed.text)
    assert [m.get("id") for m in messages] == [None, f"{hub.epoch}-2", f"{hub.epoch}-3"]
    stranger = parse((await harness.client.get(
        "/api/v1/events/stream", headers={"last-event-id": "another-7"})).text)  # fmt: skip
    assert [m.get("event") for m in stranger] == [None, "overflow"]
    assert json.loads(stranger[1]["data"])["subject"] == "overflow"
    assert stranger[1]["id"] == f"{hub.epoch}-3"  # resume from here next time


async def test_a_slow_client_loses_its_oldest_messages_and_is_told():
    hub = Hub(queue_size=2, lifetime=5)
    stream = hub.stream("key:k")
    assert "FlowForge" in (await anext(stream)).comment
    for i in range(5):  # the client reads nothing meanwhile
        hub.offer("bronze.ready", envelope("bronze.ready", f"r{i}", "orders"))
    told = [await anext(stream) for _ in range(3)]
    assert told[0].event == "overflow" and told[0].data["summary"].startswith("3 live events")
    assert [m.data["run_id"] for m in told[1:]] == ["r3", "r4"]
    hub.close()
    assert [m async for m in stream] == []
    assert not hub.clients  # the client left with its stream


async def test_the_number_of_streams_is_capped_per_caller_and_in_all(harness):
    hub = harness.gateway.live
    hub.per_owner, hub.max_streams = 1, 2

    async def second_viewer_stream():
        await clients(hub, 1)
        return await harness.client.get("/api/v1/events/stream",
                                        headers=harness.as_role("viewer"))  # fmt: skip

    first, again = await asyncio.gather(
        harness.client.get("/api/v1/events/stream", headers=harness.as_role("viewer")),
        second_viewer_stream(),
    )
    assert first.status_code == 200
    assert again.status_code == 429 and again.headers["retry-after"] == "5"
    assert again.headers["content-type"] == "application/problem+json"
    assert "1 live event streams open" in again.json()["detail"]

    async def third_stream():
        await clients(hub, 2)
        return await harness.client.get("/api/v1/events/stream",
                                        headers=harness.as_role("operator"))  # fmt: skip

    *_, refused = await asyncio.gather(
        harness.client.get("/api/v1/events/stream", headers=harness.as_role("viewer")),
        harness.client.get("/api/v1/events/stream", headers=harness.as_role("analyst")),
        third_stream(),
    )
    assert refused.status_code == 503 and refused.headers["retry-after"] == "15"
    assert refused.json()["type"] == "/problems/service-unavailable"


async def test_resuming_from_before_the_history_kept_says_how_many_were_lost():
    hub = Hub(history=2, lifetime=5)
    for i in range(5):
        hub.offer("silver.ready", envelope("silver.ready", f"r{i + 1}", "orders"))
    stream = hub.stream("key:k", last_event_id=f"{hub.epoch}-1")
    start = await anext(stream)
    assert start.id is None  # resuming: the client keeps its own position
    lost, *kept = [await anext(stream) for _ in range(3)]
    assert lost.event == "overflow" and lost.data["summary"].startswith("2 live events were")
    assert [m.data["run_id"] for m in kept] == ["r4", "r5"]
    assert [m.id for m in kept] == [f"{hub.epoch}-4", f"{hub.epoch}-5"]
    hub.close()
    assert [m async for m in stream] == []
