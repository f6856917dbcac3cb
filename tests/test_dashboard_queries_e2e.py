"""The owners' answers behind the dashboard and the event log, against real PostgreSQL with a
history of 12,000 runs (in a database of this test's own): the figures equal what the rows say,
counted here independently, and the event log is in the events' own order."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from flowforge.catalog.queries import Queries
from flowforge.common.db import create_pool, migrate
from flowforge.quality.reports import Reports
from flowforge.scheduler.store import Store

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC).replace(microsecond=0)
RUNS, DATASETS = 12_000, 300
STATUSES = ("queued", "running", "succeeded", "failed")


def migrations(service: str) -> Path:
    return ROOT / "services" / service / "src" / "flowforge" / service / "migrations"


def history(seed: int = 7) -> list[tuple]:
    """Runs over the last 30 days: (run_id, dataset, filename, status, error, parsed, rejected,
    bronze, created_at, updated_at)."""
    rnd = random.Random(seed)
    rows = []
    for i in range(RUNS):
        created = NOW - timedelta(seconds=rnd.randint(0, 30 * 86400))
        status = rnd.choices(STATUSES, weights=(1, 1, 12, 3))[0]
        parsed = rnd.randint(0, 5000)
        rejected = rnd.randint(0, 10) if parsed else 0
        rows.append((f"run{i:05d}", f"ds{rnd.randrange(DATASETS):03d}", f"f{i}.csv", status,
                     "boom" if status == "failed" else None, parsed, rejected,
                     parsed - rejected, created,
                     created + timedelta(seconds=rnd.randint(1, 600))))  # fmt: skip
    return rows


def expected_overview(rows: list[tuple]) -> dict:
    since = NOW - timedelta(hours=24)
    recent = [r for r in rows if r[8] >= since]
    failed = sorted((r for r in rows if r[3] == "failed"), key=lambda r: (r[9], r[0]), reverse=True)
    last_success: dict[str, tuple] = {}
    for r in rows:
        if r[3] == "succeeded" and (r[1] not in last_success or r[9] > last_success[r[1]][9]):
            last_success[r[1]] = r
    return {
        "runs": {s: sum(1 for r in recent if r[3] == s) for s in STATUSES},
        "rows": {
            "parsed": sum(r[5] for r in recent),
            "rejected": sum(r[6] for r in recent),
            "bronze": sum(r[7] for r in recent),
        },  # fmt: skip
        "failed": [r[0] for r in failed[:20]],
        "last_success": {d: r[0] for d, r in last_success.items()},
    }


async def _scenario(admin_dsn: str) -> dict:
    name = f"ff_dash_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    pool = await create_pool(admin_dsn.rsplit("/", 1)[0] + f"/{name}", max_size=2)
    try:
        for service in ("catalog", "quality", "scheduler"):
            await migrate(pool, service, migrations(service))
        rows = history()
        await pool.copy_records_to_table(
            "runs", schema_name="catalog", records=rows,
            columns=["run_id", "dataset", "filename", "status", "error", "parsed", "rejected",
                     "bronze", "created_at", "updated_at"],
        )  # fmt: skip
        await pool.executemany(
            "INSERT INTO catalog.assets (dataset, layer, location) VALUES ($1, 'bronze', 'x')",
            [(f"ds{d:03d}",) for d in range(DATASETS)],
        )
        got = await Queries(pool).overview(NOW, timedelta(hours=24), 20, 1000)
        events = await _event_log(pool)
        quality = await _quality(pool)
        alerts = await _alerts(pool)
        return {"rows": rows, "got": got, "events": events, "quality": quality, "alerts": alerts}
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def _event_log(pool: asyncpg.Pool) -> dict:
    """Events of one run recorded out of order (quality before silver, as two consumers may)."""
    t0 = NOW - timedelta(minutes=10)

    def env(subject: str, finished: datetime | None, **data) -> dict:
        body = {"run_id": "run00001", "dataset": "ds001", **data}
        if finished is not None:
            body["timing"] = {"started_at": t0.isoformat(), "finished_at": finished.isoformat()}
        return {"id": f"{subject}:run00001", "data": body}

    recorded = [
        ("file.landed", env("file.landed", None, landed_at=t0.isoformat(), filename="a.csv")),
        ("quality.checked", env("quality.checked", t0 + timedelta(seconds=3), verdict="passed",
                                counts={"valid": 5, "quarantined": 0}, checks=[])),
        ("silver.ready", env("silver.ready", t0 + timedelta(seconds=2),
                             counts={"silver": 5, "duplicates": 0})),
        ("dlq.gold.ready", env("dlq.gold.ready", None, consumer="quality--gold-ready",
                               deliveries=5, error="stuck")),
    ]  # fmt: skip
    for i, (subject, payload) in enumerate(recorded):
        await pool.execute(
            "INSERT INTO catalog.events (id, subject, run_id, dataset, received_at, payload)"
            " VALUES ($1, $2, 'run00001', 'ds001', $3, $4)",
            payload["id"], subject, NOW - timedelta(minutes=5) + timedelta(seconds=i), payload,
        )  # fmt: skip
    q = Queries(pool)
    every = await q.events("run00001", None, 1000)
    quality = await q.events("run00001", "quality", 1000)
    dead = await q.events("run00001", "dlq", 1000)
    none = await q.events("run00002", None, 1000)  # a run with no events recorded
    try:
        await q.events("nope", None, 1000)
        unknown = None
    except Exception as exc:  # noqa: BLE001 - the answer is the error
        unknown = type(exc).__name__
    return {"every": every, "quality": quality, "dead": dead, "none": none, "unknown": unknown}


async def _quality(pool: asyncpg.Pool) -> dict:
    """Three datasets: the latest evaluation of `a` failed, of `b` passed after a failure, and
    `c` failed a revision later (a replay); freshness rules on `a` (two) and `b`."""
    t = NOW - timedelta(hours=1)
    evaluations = [
        ("ra1", 0, "a", "failed", t), ("rb1", 0, "b", "failed", t),
        ("rb2", 0, "b", "passed", t + timedelta(minutes=5)),
        ("rc1", 0, "c", "passed", t), ("rc1", 1, "c", "failed", t),
    ]  # fmt: skip
    for run_id, revision, dataset, verdict, started in evaluations:
        await pool.execute(
            "INSERT INTO quality.evaluations (run_id, revision, dataset, trigger, verdict, rows,"
            " quarantined, silver_event, started_at, seconds) VALUES ($1, $2, $3, 'x', $4, 1,"
            " 0, '{}', $5, 2)",
            run_id, revision, dataset, verdict, started,
        )  # fmt: skip
        failed = ["id_present", "amount_range"] if verdict == "failed" else []
        for pos, rule in enumerate(["row_count", *failed]):
            await pool.execute(
                "INSERT INTO quality.check_results (run_id, revision, position, name, rule_type,"
                " status, failed_rows, detail) VALUES ($1, $2, $3, $4, 'x', $5, 0, '')",
                run_id, revision, pos, rule, "passed" if rule == "row_count" else "failed",
            )  # fmt: skip
    for dataset, rule, max_age in (("a", "daily", "1d"), ("a", "hourly", "1h"),
                                   ("b", "weekly", "1w")):  # fmt: skip
        spec = {"name": rule, "type": "freshness", "column": "at", "max_age": max_age}
        await pool.execute(
            "INSERT INTO quality.rules (dataset, name, position, spec) VALUES ($1, $2, 0, $3)",
            dataset, rule, spec,
        )  # fmt: skip
    reports = Reports(pool)
    return {"failing": await reports.failing(50), "freshness": await reports.freshness()}


async def _alerts(pool: asyncpg.Pool) -> list[dict]:
    """Workflow runs: two failed, one past its SLA (alerted by `late_runs`), one succeeded."""
    store = Store(pool)
    t = NOW - timedelta(hours=2)
    for run_id, status, finished in (("w1", "failed", t), ("w2", "succeeded", t),
                                     ("w3", "failed", t + timedelta(minutes=30)),
                                     ("w4", "running", None)):  # fmt: skip
        await pool.execute(
            "INSERT INTO scheduler.runs (id, workflow, trigger, status, reason, started_at,"
            " finished_at) VALUES ($1, 'nightly', 'schedule', $2, $3, $4, $5)",
            run_id, status, "step load failed" if status == "failed" else None, t, finished,
        )  # fmt: skip
    late = await store.late_runs({"nightly": 60.0}, NOW)
    assert [r["id"] for r in late] == ["w4"]
    return await store.alerts(20)


@pytest.fixture(scope="module")
def answers(platform) -> dict:
    return asyncio.run(_scenario(platform.endpoints["database_url"]))


def test_the_dashboards_figures_are_what_12000_runs_say(answers):
    expected, got = expected_overview(answers["rows"]), answers["got"]
    assert got["runs"] == expected["runs"]
    assert got["rows"] == expected["rows"]
    assert sum(got["runs"].values()) > 0 and got["rows"]["bronze"] > 0  # the window is not empty
    assert [r["run_id"] for r in got["failed_runs"]] == expected["failed"]
    last = {d["dataset"]: d["success_run_id"] for d in got["datasets"]}
    assert len(last) == DATASETS
    assert {d: r for d, r in last.items() if r} == expected["last_success"]
    order = [d["last_success_at"] for d in got["datasets"] if d["last_success_at"]]
    assert order == sorted(order)  # the stalest first


def test_a_runs_event_log_is_in_the_events_own_order_with_their_senders(answers):
    log = answers["events"]
    assert [e["subject"] for e in log["every"]] == [
        "file.landed", "silver.ready", "quality.checked", "dlq.gold.ready"
    ]  # fmt: skip
    assert [e["service"] for e in log["every"]] == ["gateway", "transform", "quality", "quality"]
    assert log["every"][2]["summary"] == "quality passed: 5 valid, 0 quarantined"
    assert log["every"][3]["at"] == log["every"][3]["received_at"]  # no time of its own
    assert [e["subject"] for e in log["quality"]] == ["quality.checked"]
    assert [e["subject"] for e in log["dead"]] == ["dlq.gold.ready"]
    assert log["none"] == [] and log["unknown"] == "NotFoundError"


def test_quality_names_datasets_whose_latest_evaluation_failed_and_their_freshness(answers):
    failing = {f["dataset"]: f for f in answers["quality"]["failing"]}
    assert set(failing) == {"a", "c"}  # b's latest evaluation passed
    assert failing["a"]["rules"] == ["id_present", "amount_range"]
    assert (failing["c"]["run_id"], failing["c"]["revision"]) == ("rc1", 1)
    freshness = answers["quality"]["freshness"]
    assert freshness["a"] == {"rule": "hourly", "max_age": "1h", "max_age_seconds": 3600.0}
    assert freshness["b"]["max_age_seconds"] == 7 * 86400 and "c" not in freshness


def test_the_scheduler_lists_failed_runs_and_sla_alerts_newest_first(answers):
    alerts = answers["alerts"]
    assert [(a["id"], a["alert"]) for a in alerts] == [
        ("w4", "sla"), ("w3", "failure"), ("w1", "failure")
    ]  # fmt: skip
    assert alerts[1]["reason"] == "step load failed"
