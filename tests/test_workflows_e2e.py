"""Workflows through the real platform (issue 14): defined through the API and as YAML files,
refused field by field, run now (an extraction from PostgreSQL, then a Gold build, then a
webhook), followed to the pipeline runs they started, paused, resumed, backfilled, cancelled."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import asyncpg
import pytest

from flowforge.common.testing import unique, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hook():
    """A webhook receiver on localhost: what it was sent; `fail` answers 500 that many times."""
    seen: list[dict] = []
    state = {"fail": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            code = 500 if state["fail"] > 0 else 200
            state["fail"] -= 1
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/hook", "seen": seen, "state": state}
    server.shutdown()


def source_database(platform, prefix: str, ddl: str) -> str:
    """A new database on the platform's PostgreSQL holding `ddl`, and a connection to it
    (its name returned)."""
    url = platform.endpoints["database_url"]
    database = unique(prefix)

    async def make():
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f"CREATE DATABASE {database}")
        finally:
            await admin.close()
        db = await asyncpg.connect(url.rsplit("/", 1)[0] + f"/{database}")
        try:
            await db.execute(ddl)
        finally:
            await db.close()

    asyncio.run(make())
    parts = urlsplit(url)
    connection = unique(f"{prefix}conn")
    body = {
        "kind": "postgresql",
        "host": parts.hostname,
        "port": parts.port,
        "database": database,
        "user": parts.username or "",
        "password": parts.password or None,
        "options": {"sslmode": "disable"},
    }
    with platform.client() as c:
        assert c.put(f"/api/v1/connections/{connection}", json=body).status_code == 201
    return connection


@pytest.fixture(scope="module")
def source(platform):
    """A connection to a database with table orders, a dataset fed by it and a model."""
    connection = source_database(
        platform,
        "wfsrc",
        "CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2));"
        "INSERT INTO orders SELECT i, i FROM generate_series(1, 10) i",
    )
    dataset = unique("wforders")
    with platform.client() as c:
        put = c.put(
            f"/api/v1/datasets/{dataset}/source",
            json={"connection": connection, "table": "orders", "key": ["id"]},
        )
        assert put.status_code == 200, put.text
        model = unique("wftotal")
        sql = f"SELECT count(*) AS n, sum(amount) AS total FROM {dataset}"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
    return {"dataset": dataset, "model": model}


def wait_run(c, name: str, run_id: str, timeout: float = 120) -> dict:
    def done():
        run = c.get(f"/api/v1/workflows/{name}/runs/{run_id}").json()
        return run if run["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(done, timeout, f"workflow run {run_id}")


def test_a_workflow_extracts_builds_and_calls_its_webhook_following_each_pipeline_run(
    platform, source, hook
):
    name = unique("nightly")
    doc = {
        "schedule": {"cron": "0 2 * * *", "timezone": "Europe/Berlin"},
        "steps": [
            {"name": "extract", "extract": source["dataset"], "retries": 1, "timeout": "5m"},
            {"name": "models", "build": [source["model"]], "needs": ["extract"]},
            {"name": "tell", "webhook": hook["url"], "needs": ["models"]},
        ],
    }
    with platform.client() as c:
        created = c.put(f"/api/v1/workflows/{name}", json=doc)
        assert created.status_code == 201, created.text
        shown = created.json()
        assert shown["origin"] == "api" and shown["paused"] is False
        assert shown["next_tick"].endswith(("T01:00:00Z", "T00:00:00Z", "+00:00")), shown
        started = c.post(
            f"/api/v1/workflows/{name}/runs", json={"logical_date": "2026-06-02T03:00:00+02:00"}
        )
        assert started.status_code == 202, started.text
        run = wait_run(c, name, started.json()["id"])
        assert run["status"] == "succeeded", run
        assert run["trigger"] == "manual"
        # The schedule's interval ending at or before the date: 02:00 Berlin (UTC+2).
        assert run["logical_start"].startswith("2026-06-01T00:00:00")
        assert run["logical_end"].startswith("2026-06-02T00:00:00")
        steps = {s["name"]: s for s in run["steps"]}
        (pipeline,) = steps["extract"]["pipeline_runs"]
        extracted = c.get(f"/api/v1/runs/{pipeline}").json()
        assert extracted["status"] == "succeeded" and extracted["counts"]["silver"] == 10
        assert steps["models"]["output"]["built"][0]["name"] == source["model"]
        sent = [h for h in hook["seen"] if h["run_id"] == run["id"]]
        assert (
            sent and sent[0]["step"] == "tell" and sent[0]["logical_end"].startswith("2026-06-02")
        )
        page = c.get(f"/api/v1/workflows/{name}/runs", params={"limit": 1}).json()
        assert [r["id"] for r in page["runs"]] == [run["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schedule": {"cron": "61 * * * *"}}, "schedule.cron"),
        ({"schedule": {"cron": "0 2 * * *", "timezone": "Mars/Olympus"}}, "schedule.timezone"),
        ({"steps": [{"name": "a", "extract": "no_such_dataset_x"}]}, "steps[0].extract"),
        ({"steps": [{"name": "a", "build": ["no_such_model_x"]}]}, "steps[0].build"),
        ({"steps": [{"name": "a", "sing": "x"}]}, "steps[0].sing"),
        (
            {
                "steps": [
                    {"name": "a", "webhook": "http://x/y", "needs": ["b"]},
                    {"name": "b", "webhook": "http://x/y", "needs": ["a"]},
                ]
            },
            "cycle",
        ),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field_and_nothing_is_stored(
    platform, change, field
):
    name = unique("bad")
    doc = {"steps": [{"name": "a", "webhook": "http://x/y"}], **change}
    with platform.client() as c:
        refused = c.put(f"/api/v1/workflows/{name}", json=doc)
        assert refused.status_code == 400, refused.text
        assert field in refused.json()["detail"], refused.json()
        assert c.get(f"/api/v1/workflows/{name}").status_code == 404


def test_a_yaml_file_in_the_workflows_folder_is_loaded_and_a_broken_one_is_reported(platform, hook):
    name = unique("fromfile")
    folder = platform.home / "workflows"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\nschedule: {{every: 15m}}\ncatchup: none\n"
        f"steps:\n  - {{name: ping, webhook: '{hook['url']}'}}\n"
    )
    with platform.client() as c:
        loaded = wait_for(
            lambda: (r := c.get(f"/api/v1/workflows/{name}")).status_code == 200 and r.json(),
            30,
            "the file's workflow",
        )
        assert loaded["origin"] == f"file:{name}.yaml"
        refused = c.delete(f"/api/v1/workflows/{name}")
        assert refused.status_code == 400 and "delete the file" in refused.json()["detail"]
        (folder / "broken.yaml").write_text("name: broken_one\nsteps: [{name: a, sing: x}]\n")
        wait_for(
            lambda: (
                "workflow file" in platform.log("scheduler")
                and "broken.yaml refused" in platform.log("scheduler")
            ),
            30,
            "the report",
        )
        assert c.get("/api/v1/workflows/broken_one").status_code == 404
        (folder / f"{name}.yaml").unlink()
        (folder / "broken.yaml").unlink()
        wait_for(lambda: c.get(f"/api/v1/workflows/{name}").status_code == 404, 30, "removed")


def test_pause_resume_backfill_and_cancel(platform, hook):
    name = unique("daily")
    doc = {
        "schedule": {"cron": "0 2 * * *"},
        "max_active_runs": 2,
        "steps": [{"name": "ping", "webhook": hook["url"]}],
    }
    with platform.client() as c:
        assert c.put(f"/api/v1/workflows/{name}", json=doc).status_code == 201
        paused = c.post(f"/api/v1/workflows/{name}/pause").json()
        assert paused["paused"] is True and paused["next_tick"] is None
        resumed = c.post(f"/api/v1/workflows/{name}/resume").json()
        assert resumed["paused"] is False and resumed["next_tick"]
        filled = c.post(
            f"/api/v1/workflows/{name}/backfill",
            json={"start": "2026-05-01T00:00:00Z", "end": "2026-05-06T00:00:00Z"},
        )
        assert filled.status_code == 202, filled.text
        assert filled.json()["runs"] == 5
        ids = filled.json()["run_ids"]
        # Cancel the last one (queued behind max_active_runs, or already going).
        cancelled = c.post(f"/api/v1/workflows/{name}/runs/{ids[-1]}/cancel").json()
        assert cancelled["status"] in ("cancelled", "running", "succeeded")
        runs = [wait_run(c, name, i) for i in ids]
        assert [r["trigger"] for r in runs] == ["backfill"] * 5
        assert sum(r["status"] == "succeeded" for r in runs) >= 4
        ends = sorted(r["logical_end"][:10] for r in runs)
        assert ends == ["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05"]
        pages, cursor = [], None
        while True:
            page = c.get(
                f"/api/v1/workflows/{name}/runs",
                params={"limit": 2, **({"cursor": cursor} if cursor else {})},
            ).json()
            pages.append(page["runs"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(pages) == 3 and sum(len(p) for p in pages) == 5


def test_a_pickup_step_follows_the_files_dropped_in_its_folder(platform, hook):
    name, folder = unique("pickup"), unique("drops")
    landing = platform.home / "landing" / folder
    landing.mkdir(parents=True)
    (landing / "a.csv").write_text("id,v\n1,10\n2,20\n")
    (landing / "b.csv").write_text("id,v\n3,30\n")
    doc = {
        "steps": [
            {"name": "files", "pickup": folder},
            {"name": "tell", "webhook": hook["url"], "needs": ["files"]},
        ]
    }
    with platform.client() as c:
        # Dropped files are announced once they stopped growing (two sweeps, ~2 s).
        wait_for(
            lambda: len(c.get("/api/v1/runs", params={"dataset": folder}).json()["runs"]) == 2,
            60,
            "the drops announced",
        )
        assert c.put(f"/api/v1/workflows/{name}", json=doc).status_code == 201
        run = wait_run(c, name, c.post(f"/api/v1/workflows/{name}/runs").json()["id"])
        assert run["status"] == "succeeded", run
        files = next(s for s in run["steps"] if s["name"] == "files")
        assert files["output"]["files"] == 2 and len(files["pipeline_runs"]) == 2
        for pipeline in files["pipeline_runs"]:
            assert c.get(f"/api/v1/runs/{pipeline}").json()["status"] == "succeeded"


def test_a_gold_build_of_a_model_starts_the_workflow_waiting_for_it(platform, hook):
    dataset, model, name = unique("evsales"), unique("evtotal"), unique("ongold")
    with platform.client() as c:
        sql = f"SELECT count(*) AS n FROM {dataset}"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
        doc = {
            "on_event": {"subject": "gold.ready", "model": model},
            "steps": [{"name": "tell", "webhook": hook["url"]}],
        }
        assert c.put(f"/api/v1/workflows/{name}", json=doc).status_code == 201
        landed = platform.land(b"id,v\n1,2\n", "sales.csv", dataset=dataset)
        assert landed["status"] == "succeeded"
        runs = wait_for(
            lambda: c.get(f"/api/v1/workflows/{name}/runs").json()["runs"], 60, "the event's run"
        )
        (run,) = runs
        run = wait_run(c, name, run["id"])
        assert run["trigger"] == "event" and run["status"] == "succeeded"
        assert run["params"]["run_id"] == landed["run_id"]


def test_webhook_urls_are_never_shown_whole(platform, hook):
    """A Slack webhook's URL is its secret: answers cut it to scheme and host."""
    name, secret = unique("hooked"), "T0/B0/" + unique("tok")
    doc = {
        "steps": [{"name": "tell", "webhook": f"{hook['url']}/{secret}"}],
        "notify": [{"webhook": f"http://127.0.0.1:9/{secret}", "on": ["failure"]}],
    }
    with platform.client() as c:
        saved = c.put(f"/api/v1/workflows/{name}", json=doc)
        assert saved.status_code == 201 and secret not in saved.text
        assert saved.json()["definition"]["steps"][0]["webhook"].endswith("/…")
        run = wait_run(c, name, c.post(f"/api/v1/workflows/{name}/runs").json()["id"])
        assert secret not in str(run) and secret not in c.get("/api/v1/workflows").text
        again = c.put(f"/api/v1/workflows/{name}", json=saved.json()["definition"])
        assert again.status_code == 400 and "whole URL" in again.json()["detail"]
    assert secret not in platform.log("scheduler")


def test_a_backfill_re_extracts_its_interval_and_leaves_the_watermark(platform):
    connection = source_database(
        platform,
        "wfinc",
        "CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL);"
        "INSERT INTO events VALUES (1, '2026-05-01 10:00+00'), (2, '2026-05-01 11:00+00'),"
        " (3, '2026-05-02 09:00+00'), (4, '2026-05-02 23:59+00'), (5, '2026-05-03 08:00+00')",
    )
    dataset, name = unique("incevents"), unique("incflow")
    with platform.client() as c:
        source = {
            "connection": connection,
            "table": "events",
            "mode": "incremental",
            "cursor": "at",
            "key": ["id"],
        }
        assert c.put(f"/api/v1/datasets/{dataset}/source", json=source).status_code == 200
        first = platform.wait_run(c.post(f"/api/v1/datasets/{dataset}/extract").json()["run_id"])
        assert first["counts"]["bronze"] == 5
        mark = c.get(f"/api/v1/datasets/{dataset}/source").json()["watermark"]
        doc = {"schedule": {"cron": "0 0 * * *"}, "steps": [{"name": "load", "extract": dataset}]}
        assert c.put(f"/api/v1/workflows/{name}", json=doc).status_code == 201
        filled = c.post(
            f"/api/v1/workflows/{name}/backfill",
            json={"start": "2026-05-02T00:00:00Z", "end": "2026-05-03T00:00:00Z"},
        )
        (run_id,) = filled.json()["run_ids"]
        run = wait_run(c, name, run_id)
        assert run["status"] == "succeeded", run
        (pipeline,) = run["steps"][0]["pipeline_runs"]
        # Only 2026-05-02's rows, and the watermark where the last extract left it.
        assert c.get(f"/api/v1/runs/{pipeline}").json()["counts"]["bronze"] == 2
        assert c.get(f"/api/v1/datasets/{dataset}/source").json()["watermark"] == mark
