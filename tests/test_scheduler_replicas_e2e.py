"""Two scheduler replicas on real NATS and PostgreSQL, a one-minute cron over two ticks,
one replica killed with SIGKILL after the first tick: every tick runs exactly once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flowforge.common.testing import unique, wait_for

pytestmark = pytest.mark.e2e


def test_two_scheduler_replicas_fire_each_minute_once_when_one_is_killed(replicas_platform):
    calls: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            calls.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    p = replicas_platform  # two of each, the scheduler polling every 0.5 s (conftest)
    assert len(p.endpoints["pids"]["scheduler"]) == 2
    # Each replica's pid now (the platform is shared: not necessarily those it started with).
    pids = [p.pid("scheduler"), int((p.home / "run" / "scheduler-1.pid").read_text())]
    assert len(set(pids)) == 2
    name = unique("minutely")
    doc = {
        "schedule": {"cron": "* * * * *"},
        "catchup": "all",
        "max_active_runs": 3,
        "steps": [{"name": "ping", "webhook": f"http://127.0.0.1:{server.server_port}/"}],
    }
    try:
        with p.client() as c:
            assert c.put(f"/api/v1/workflows/{name}", json=doc).status_code == 201
            created = datetime.now(UTC)

            def succeeded() -> list[dict]:
                answer = c.get(f"/api/v1/workflows/{name}/runs")
                if answer.status_code != 200:  # a question to the killed replica: asked again
                    return []
                return [r for r in answer.json()["runs"] if r["status"] == "succeeded"]

            wait_for(lambda: len(succeeded()) >= 1, 90, "the first tick's run")
            os.kill(pids[0], signal.SIGKILL)  # one replica dies; the other goes on ticking
            # The survivor's next tick (two in all: the suite's time is dear; the engine tests
            # cover longer runs on a hand-moved clock).
            wait_for(lambda: len(succeeded()) >= 2, 140, "the next tick's run")
            time.sleep(3)  # a doubled tick would show up by now
            runs = c.get(f"/api/v1/workflows/{name}/runs").json()["runs"]
            # The platform is shared: this workflow ticks no more after the test.
            assert c.delete(f"/api/v1/workflows/{name}").status_code == 204
    finally:
        server.shutdown()
    ends = [r["logical_end"] for r in runs]
    assert len(ends) == len(set(ends)), ends  # no tick twice
    assert all(
        r["trigger"] == "schedule" and r["status"] in ("succeeded", "running", "queued")
        for r in runs
    ), runs
    ticks = sorted(datetime.fromisoformat(e) for e in ends)
    assert ticks[0] > created and all(t.second == 0 for t in ticks)
    assert [(b - a).total_seconds() for a, b in zip(ticks, ticks[1:], strict=False)] == [60.0] * (
        len(ticks) - 1
    )  # consecutive minutes: none missed
    mine = [x for x in calls if x["workflow"] == name]
    done = [r["id"] for r in runs if r["status"] == "succeeded"]
    assert sorted(x["run_id"] for x in mine if x["run_id"] in done) == sorted(done)
