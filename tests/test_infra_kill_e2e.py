"""kill -9 of the embedded NATS or PostgreSQL mid-run: `up` starts it again on the same port
and data folder, says so on the console, and the run finishes exactly once.

The tests share one platform of this module (`module_platform`): each recovers it before it
ends, and each reads only the console lines that came after its own kill."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from datetime import datetime

import httpx
import polars as pl
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.e2e

ROWS = 1_000_000
PLATFORM_ENV: dict[str, str] = {}  # module_platform's settings: the defaults


def big_csv(rows: int) -> bytes:
    frame = pl.DataFrame({"id": pl.int_range(rows, eager=True)}).with_columns(
        zip=(pl.col("id") * 7919 % 99_999).cast(pl.String).str.zfill(5),
        amount=(pl.col("id") * 31 % 100_000) / 100,
        flag=pl.when(pl.col("id") % 3 == 0).then(pl.lit("yes")).otherwise(pl.lit("no")),
    )
    return frame.write_csv().encode()


def upload_and_wait_until_ingesting(p) -> str:
    """A run whose ingest is under way (its progress shows): the moment to pull the plug."""
    dataset = f"infra_{uuid.uuid4().hex[:6]}"
    run_id = p.upload(big_csv(ROWS), "big.csv", dataset=dataset, key="id")["run_id"]
    deadline = time.monotonic() + 90
    with p.client() as c:
        while not (run := c.get(f"/api/v1/runs/{run_id}").json()).get("progress"):
            assert run.get("status") not in ("succeeded", "failed"), run
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
    return run_id


def console(p) -> str:
    return (p.home / "up.log").read_text(errors="replace")


def console_says(p, text: str | re.Pattern, since: int, timeout: float = 60) -> None:
    """The console said `text` (a string or a pattern) after its first `since` characters."""
    pattern = text if isinstance(text, re.Pattern) else re.compile(re.escape(text))
    deadline = time.monotonic() + timeout
    while not pattern.search(out := console(p)[since:]):
        assert time.monotonic() < deadline, f"console never said {text!r}:\n{out[-3000:]}"
        time.sleep(0.2)


def console_says_restarted(p, server: str, since: int, *, exited: bool = True) -> None:
    """`up` said it restarted `server` after it was killed (SIGKILL), and that it runs again,
    with the restart's number: one more than the restarts it said before (`since`)."""
    n = console(p)[:since].count(f"! {server} exited") + 1
    if exited:
        # Restart #1 is at once; a later one soon after the last may wait (its backoff).
        delay = "" if n == 1 else r"(?: in \d+s)?"
        console_says(
            p,
            re.compile(rf"! {server} exited \(signal 9\); restarting{delay} \(restart #{n}\)"),
            since,
        )
    console_says(p, f"{server} is running again (restart #{n})", since)


def assert_finished_once(p, run_id: str, killed_at: datetime) -> None:
    run = p.wait_run(run_id, timeout=240)
    assert run["status"] == "succeeded", run
    ingest = {s["name"]: s for s in run["stages"]}["ingest"]
    assert datetime.fromisoformat(ingest["finished_at"]) > killed_at, (
        "ingest finished before the kill: the test did not interrupt the run"
    )
    counts = run["counts"]
    assert counts["bronze"] == counts["silver"] == ROWS and counts["duplicates"] == 0, counts
    dataset = run["dataset"]
    bronze = list((p.home / "bronze" / dataset).glob("*.parquet"))
    assert [b.name for b in bronze] == [f"{run_id}.parquet"]
    assert pq.ParquetFile(bronze[0]).metadata.num_rows == ROWS
    [silver] = (p.home / "silver" / dataset).glob("*.parquet")
    ids = pl.read_parquet(silver, columns=["id"])["id"]
    assert ids.len() == ROWS and ids.n_unique() == ROWS
    with p.client() as c:
        assert len(c.get("/api/v1/runs", params={"dataset": dataset}).json()["runs"]) == 1


def endpoints(p) -> dict:
    return json.loads((p.home / "run" / "endpoints.json").read_text())


def test_killing_the_embedded_nats_mid_run_restarts_it_and_the_run_finishes_once(
    module_platform,
):
    p = module_platform
    run_id = upload_and_wait_until_ingesting(p)
    old = endpoints(p)["pids"]["nats"][0]
    since = len(console(p))
    os.kill(old, signal.SIGKILL)
    killed_at = datetime.now().astimezone()

    console_says_restarted(p, "nats", since)
    assert_finished_once(p, run_id, killed_at)
    now = endpoints(p)
    assert now["nats_url"] == p.endpoints["nats_url"]  # the same port: clients reconnect
    assert now["pids"]["nats"] != [old]
    assert httpx.get(f"{p.url}/healthz", timeout=10).status_code == 200
    # Consumers that sat idle through the outage take new work too.
    assert p.land(b"a,b\n1,2\n", "after_nats.csv")["status"] == "succeeded"


def test_killing_the_embedded_postgresql_mid_run_restarts_it_and_the_run_finishes_once(
    module_platform,
):
    p = module_platform
    run_id = upload_and_wait_until_ingesting(p)
    lock = p.home / "postgres" / "postmaster.pid"
    old = int(lock.read_text().split()[0])
    since = len(console(p))
    os.kill(old, signal.SIGKILL)
    killed_at = datetime.now().astimezone()

    console_says_restarted(p, "postgresql", since)
    assert_finished_once(p, run_id, killed_at)
    assert int(lock.read_text().split()[0]) != old  # the stale lock file was replaced
    assert endpoints(p)["database_url"] == p.endpoints["database_url"]
    assert httpx.get(f"{p.url}/healthz", timeout=10).status_code == 200
    assert p.land(b"a,b\n1,2\n", "after_pg.csv")["status"] == "succeeded"


def test_a_killed_workers_scratch_files_are_removed_before_it_starts_again(module_platform):
    p = module_platform
    run_id = upload_and_wait_until_ingesting(p)
    scratch = p.home / "scratch" / "ingest-0"
    deadline = time.monotonic() + 30
    while not (left := [f for f in scratch.rglob("*") if f.is_file()]):
        assert time.monotonic() < deadline, "ingest wrote nothing to its scratch folder"
        time.sleep(0.05)
    since = len(console(p))
    os.kill(p.pid("ingest"), signal.SIGKILL)
    killed_at = datetime.now().astimezone()

    console_says(p, "leftover scratch file(s) of ingest", since)
    assert not any(f.exists() for f in left), left
    assert_finished_once(p, run_id, killed_at)
    assert not [f for f in (p.home / "scratch").iterdir() if f.is_file()]  # all per process


def test_while_postgresql_is_down_the_api_answers_503_problems_and_refuses_uploads_cleanly(
    module_platform,
):
    """`up` is paused so PostgreSQL stays down: every request that needs the database gets a
    503 problem (never a 500 or a reset connection), then `up` resumes and all is well."""
    p = module_platform
    lock = p.home / "postgres" / "postmaster.pid"
    postgres = int(lock.read_text().split()[0])
    since = len(console(p))
    os.kill(p.process.pid, signal.SIGSTOP)
    try:
        os.kill(postgres, signal.SIGKILL)
        time.sleep(0.5)
        with p.client() as c:
            for path in ("/api/v1/runs", "/api/v1/datasets", "/api/v1/users"):
                r = c.get(path)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["content-type"] == "application/problem+json", r.headers
                assert r.headers["retry-after"], r.headers
                assert "database" in r.json()["detail"], r.json()
                assert "Traceback" not in r.text and "asyncpg" not in r.text
            body = b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * 3) for i in range(400_000))
            r = c.post(
                "/api/v1/files", files={"file": ("while_down.csv", body)}, data={"dataset": "down"}
            )
            assert r.status_code == 503, r.text
            assert r.json()["type"] == "/problems/service-unavailable", r.json()
        assert httpx.get(f"{p.url}/healthz", timeout=10).status_code == 503
    finally:
        os.kill(p.process.pid, signal.SIGCONT)
    console_says_restarted(p, "postgresql", since, exited=False)
    assert p.land(b"a,b\n1,2\n", "after_outage.csv")["status"] == "succeeded"
    with p.client() as c:  # the refused upload left no run behind
        assert c.get("/api/v1/runs", params={"dataset": "down"}).json()["runs"] == []
