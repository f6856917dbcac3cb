"""What the web UI shows of runs, on the real platform: a run's event log (from the catalog), the
dashboard (from the catalog, quality and the scheduler) and the live event stream (NATS,
through the gateway), for files uploaded while a stream client listens."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time

import httpx
import pytest

from flowforge.common.testing import unique, wait_for

pytestmark = pytest.mark.e2e

PIPELINE = ["file.landed", "bronze.ready", "silver.ready", "quality.checked", "gold.ready"]
SENDERS = ["gateway", "ingest", "transform", "quality", "transform"]


class Listener:
    """A client of `GET /api/v1/events/stream` reading in a thread: its messages (each a dict
    of the SSE fields) as they come."""

    def __init__(self, platform, params: dict | None = None, headers: dict | None = None):
        self.platform, self.params, self.headers = platform, params or {}, headers or {}
        self.messages: list[dict] = []
        self.status: int | None = None
        self.response: httpx.Response | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        wait_for(lambda: self.messages or self.status not in (None, 200), 30, "the stream")
        assert self.status == 200, self.status
        return self

    def __exit__(self, *exc) -> None:
        if self.response is not None:
            self.response.close()
        self.thread.join(10)

    def _read(self) -> None:
        timeout = httpx.Timeout(10, read=60)
        with self.platform.client() as client:
            try:
                with client.stream("GET", "/api/v1/events/stream", params=self.params,
                                   headers=self.headers, timeout=timeout) as response:  # fmt: skip
                    self.response, self.status = response, response.status_code
                    block: dict = {}
                    for line in response.iter_lines():
                        if not line:
                            if block:
                                self.messages.append(block)
                            block = {}
                        elif not line.startswith(":"):
                            name, _, value = line.partition(":")
                            block[name] = value.removeprefix(" ")
            except (httpx.HTTPError, RuntimeError, ValueError):
                pass  # closed by __exit__

    def events(self, run_id: str) -> list[dict]:
        found = [json.loads(m["data"]) for m in list(self.messages) if "data" in m]
        return [d for d in found if d.get("run_id") == run_id]

    def subjects(self, run_id: str) -> list[str]:
        return [e["subject"] for e in self.events(run_id) if e["subject"] in PIPELINE]


def orders(n: int, offset: int = 0) -> bytes:
    rows = "".join(f"{i},c{i % 5},{i * 1.5:.2f}\n" for i in range(offset, offset + n))
    return ("id,customer,amount\n" + rows).encode()


def test_a_run_is_logged_counted_and_streamed_live_as_it_happens(platform):
    dataset = unique("live")
    with platform.client() as c:
        before = c.get("/api/v1/dashboard").json()
    with Listener(platform, {"dataset": dataset}) as stream:
        start = stream.messages[0]["id"]  # where the stream began: a later client resumes here
        first = platform.land(orders(40), "a.csv", dataset=dataset, key="id")
        second = platform.land(orders(25, offset=100), "b.csv", dataset=dataset, key="id")
        assert (first["status"], second["status"]) == ("succeeded", "succeeded")
        for run in (first, second):
            wait_for(lambda run=run: stream.subjects(run["run_id"]) == PIPELINE, 30,
                     f"the live events of {run['run_id']}")  # fmt: skip
        live = stream.events(first["run_id"])
    assert {e["dataset"] for e in live} == {dataset}
    bronze = next(e for e in live if e["subject"] == "bronze.ready")
    assert bronze["summary"] == f"bronze: {first['counts']['bronze']} rows (0 rejected)"
    assert bronze["service"] == "ingest"

    # The event log of the first run, from the catalog: the same events, oldest first.
    with platform.client() as c:
        log = c.get(f"/api/v1/runs/{first['run_id']}/events").json()["events"]
        only_quality = c.get(f"/api/v1/runs/{first['run_id']}/events",
                             params={"subject": "quality"}).json()["events"]  # fmt: skip
        unknown = c.get("/api/v1/runs/no-such-run/events")
    assert [e["subject"] for e in log] == PIPELINE
    assert [e["service"] for e in log] == SENDERS
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)
    assert all(e["payload"]["data"]["run_id"] == first["run_id"] for e in log)
    assert log[1]["summary"] == bronze["summary"]  # the same line, live and logged
    assert [e["subject"] for e in only_quality] == ["quality.checked"]
    assert unknown.status_code == 404 and unknown.json()["type"] == "/problems/not-found"

    # A client that comes later, filtered to one run, resumes where the first one began.
    with Listener(platform, {"run_id": first["run_id"]}, {"last-event-id": start}) as later:
        wait_for(lambda: later.subjects(first["run_id"]) == PIPELINE, 30, "the replay")
        told = [json.loads(m["data"]) for m in list(later.messages) if "data" in m]
        assert {d["run_id"] for d in told} == {first["run_id"]}  # no overflow, no other run

    # The dashboard counts both runs and their rows.
    with platform.client() as c:
        after = c.get("/api/v1/dashboard").json()
    assert all(after[part]["available"] for part in ("runs", "failing_checks", "alerts"))
    landed = first["counts"]["bronze"] + second["counts"]["bronze"]
    assert after["runs"]["succeeded"] - before["runs"]["succeeded"] >= 2
    assert after["runs"]["rows_landed"] - before["runs"]["rows_landed"] >= landed
    assert dataset not in {d["dataset"] for d in after["stale_datasets"]["datasets"]}


def test_the_dashboard_names_failed_rules_stale_datasets_and_failed_runs(platform):
    failing, fresh = unique("failing"), unique("fresh")
    with platform.client() as c:
        rule = {"name": "id_present", "type": "not_null", "column": "id", "action": "fail"}
        assert c.put(f"/api/v1/datasets/{failing}/rules", json={"rules": [rule]}).is_success
        freshness = {"name": "recent", "type": "freshness", "column": "at", "max_age": "1s",
                     "action": "warn"}  # fmt: skip
        assert c.put(f"/api/v1/datasets/{fresh}/rules", json={"rules": [freshness]}).is_success
    bad = platform.land(b"id,v\n1,a\n,b\n", "bad.csv", dataset=failing)
    good = platform.land(b"id,at\n1,2026-01-01T00:00:00\n", "good.csv", dataset=fresh)
    assert (bad["status"], good["status"]) == ("failed", "succeeded")
    time.sleep(1.5)  # the freshness rule allows 1 s since the last success

    with platform.client() as c:
        board = c.get("/api/v1/dashboard").json()
    checks = {f["dataset"]: f for f in board["failing_checks"]["datasets"]}
    assert checks[failing]["rules"] == ["id_present"]
    assert checks[failing]["run_id"] == bad["run_id"]
    stale = {d["dataset"]: d for d in board["stale_datasets"]["datasets"]}
    assert stale[fresh]["rule"] == "freshness rule recent (max_age 1s)"
    assert (
        stale[fresh]["max_age_seconds"] == 1
        and stale[fresh]["last_success_run_id"] == (good["run_id"])
    )
    alerts = [a for a in board["alerts"]["alerts"] if a["kind"] == "run_failed"]
    assert any(a["run_id"] == bad["run_id"] and a["dataset"] == failing for a in alerts)


def test_closed_streams_free_their_places_and_the_limit_is_a_clear_problem(platform):
    """A user or key may hold 10 streams; one that goes away frees its place within seconds
    (the gateway notices a closed connection), so reloading a page never locks anyone out."""
    with platform.client() as c:
        key = c.post("/api/v1/keys", json={"name": unique("sse"), "role": "viewer"}).json()["key"]
    auth = {"authorization": f"Bearer {key}"}
    # Ten streams opened and all closed (in parallel: a reader may sit until the next
    # keep-alive before its thread ends)...
    close_all([Listener(platform, headers=auth).__enter__() for _ in range(10)])
    time.sleep(8)  # the gateway asks a quiet stream every 5 s whether its client is there
    # ...leave room for ten more, and the eleventh is refused.
    held = [Listener(platform, headers=auth).__enter__() for _ in range(10)]
    try:
        with httpx.Client(base_url=platform.url, headers=auth, timeout=30) as c:
            refused = c.get("/api/v1/events/stream")
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "10 live event streams open" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
    finally:
        close_all(held)


def close_all(listeners: list[Listener]) -> None:
    with concurrent.futures.ThreadPoolExecutor(len(listeners)) as pool:
        list(pool.map(lambda listener: listener.__exit__(), listeners))
