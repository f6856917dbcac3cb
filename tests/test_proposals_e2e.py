"""Whole-pipeline proposals end to end (issue 18 part 2): for a new file or database table, one
proposal (key, a table's cursor and lookback, Silver spec, rules, a starter Gold model, a
schedule) with its dry run on a sample, accepted as a whole or in parts through the owners,
each acceptance audited; offline with no key, and with a local fake of both LLM APIs whose
unusable proposals are refused with the reason and nothing of them saved."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from flowforge.common.testing import FakeLLM, default_answer, unique
from tests.test_sources_e2e import run_coroutine

pytestmark = pytest.mark.e2e

STATES = ("CA", "NY", "TX", "WA")
ORDERS = "Order ID,State,Order Date,Amount,E-mail\n" + "".join(
    f"{1001 + i},{STATES[i % 4]},2024-{1 + i % 3:02d}-{1 + i % 28:02d},{10 + i}.50,"
    + ("not-an-email" if i == 7 else f"user{i}@example.com")  # fails the e-mail format
    + "\n"
    for i in range(40)
)


def propose_file(client, content: str, dataset: str) -> dict:
    response = client.post(
        "/api/v1/proposals",
        files={"file": ("orders.csv", content.encode())},
        data={"dataset": dataset},
        headers={"prefer": "wait=50"},
    )
    assert response.status_code in (200, 202), response.text
    job = response.json()
    while job["status"] not in ("succeeded", "failed"):
        job = client.get(f"/api/v1/jobs/{job['id']}", headers={"prefer": "wait=30"}).json()
    assert job["status"] == "succeeded", job
    found = client.get(job["result"]["location"])
    assert found.status_code == 200, found.text
    return found.json()


def audit_of(client, proposal_id: str) -> list[dict]:
    found = client.get("/api/v1/audit", params={"target": f"proposal/{proposal_id}"})
    assert found.status_code == 200, found.text
    return found.json()["entries"]


def test_offline_a_file_gets_a_whole_pipeline_shown_on_its_sample_and_accepted_in_parts(
    platform,
):
    dataset = unique("orders")
    with platform.client() as c:
        p = propose_file(c, ORDERS, dataset)
        assert p["status"] == "ready", p
        assert p["source"] == "offline" and p["llm"] is None
        parts = p["parts"]
        assert parts["key"] == ["order_id"]
        assert "source" not in parts
        model = parts["model"]
        assert model["name"] == f"{dataset}_by_state_month"
        assert parts["schedule"]["on_event"] == {"subject": "file.landed", "dataset": dataset}
        email_rule = next(r for r in parts["rules"] if r.get("format") == "email")
        assert email_rule["action"] == "quarantine"

        # The dry run: what Silver and quarantine would hold, and the model on the valid rows.
        tried = p["dry_run"]
        assert tried["errors"] == {}
        assert tried["silver"]["bronze"] == 40 and tried["silver"]["duplicates"] == 0
        assert tried["silver"]["types"]["order_date"] == "date"
        assert tried["quality"]["quarantined"] == 1 and tried["quality"]["valid"] == 39
        check = next(x for x in tried["quality"]["checks"] if x["name"] == email_rule["name"])
        assert check["failed_rows"] == 1
        assert tried["model"]["rows"] >= 3
        assert sum(r["row_count"] for r in tried["model"]["preview"]) == 39
        # Viewers see values of PII columns as shapes (analysts and up as they are).
        assert any("@example.com" in str(r) for r in tried["silver"]["preview"])
        viewer = c.post("/api/v1/keys", json={"name": unique("v"), "role": "viewer"}).json()
        with platform.client(viewer["key"]) as v:
            seen = v.get(f"/api/v1/proposals/{p['id']}").json()
            assert "@example.com" not in str(seen["dry_run"]["silver"]["preview"])
            refused = v.post(f"/api/v1/proposals/{p['id']}/accept")
            assert refused.status_code == 403
        # Nothing is configured before an admin accepts.
        assert c.get(f"/api/v1/datasets/{dataset}/rules").json()["rules"] == []
        assert c.get(f"/api/v1/models/{model['name']}").status_code == 404

        # An edited key naming a column the file does not have is refused with the reason;
        # nothing of it is saved, and the other parts are accepted.
        done = c.post(
            f"/api/v1/proposals/{p['id']}/accept", json={"edits": {"key": ["no_such_column"]}}
        )
        assert done.status_code == 200, done.text
        result = done.json()
        assert "no_such_column" in result["refused"]["key"]
        assert set(result["accepted"]) == {"silver", "rules", "model", "schedule"}
        assert result["status"] == "partly_accepted"
        assert c.get(f"/api/v1/datasets/{dataset}").status_code == 404  # no contract, no key
        rules = c.get(f"/api/v1/datasets/{dataset}/rules").json()["rules"]
        assert {r["name"] for r in rules} == {r["name"] for r in parts["rules"]}
        assert c.get(f"/api/v1/models/{model['name']}").status_code == 200
        workflow = c.get(f"/api/v1/workflows/{parts['schedule']['name']}")
        assert workflow.status_code == 200, workflow.text

        # The key alone, as proposed; a part accepted already is not applied twice.
        again = c.post(f"/api/v1/proposals/{p['id']}/accept", json={"parts": ["key", "rules"]})
        assert again.status_code == 200, again.text
        assert again.json()["accepted"] == ["key"]
        assert again.json()["already_accepted"] == ["rules"]
        assert again.json()["status"] == "accepted"
        assert c.get(f"/api/v1/datasets/{dataset}").json()["key"] == ["order_id"]

        entries = audit_of(c, p["id"])
        accepts = [e for e in entries if e["action"] == "accept_proposal"]
        assert len(accepts) == 2 and all(e["actor"].startswith("key:") for e in accepts)
        first = next(e for e in accepts if "key" in e["detail"]["refused"])
        assert "no_such_column" in first["detail"]["refused"]["key"]

    # The file lands under the accepted configuration (the bad e-mail quarantined), and the
    # starter model is built from its valid rows.
    run = platform.land(ORDERS.encode(), "orders.csv", dataset=dataset)
    assert run["status"] == "succeeded", run
    assert run["counts"]["quarantined"] == 1 and run["counts"]["valid"] == 39


def llm_answer(columns: list[dict]) -> dict:
    """A valid analysis that also proposes a rule on a column the file does not have."""
    answer = default_answer(columns)
    answer["rules"].append({"type": "not_null", "column": "Customer Tier", "action": "warn"})
    return answer


def test_with_keys_the_llm_names_columns_and_its_unusable_proposals_are_refused(fresh_platform):
    fake = FakeLLM(answer_for=llm_answer).start()
    try:
        p = fresh_platform(
            ANTHROPIC_API_KEY="test-anthropic",
            ANTHROPIC_BASE_URL=fake.anthropic_url,
            FLOWFORGE_AI_MODEL="claude-test",
        )
        dataset = unique("orders")
        with p.client() as c:
            found = propose_file(c, ORDERS, dataset)
            assert found["status"] == "ready", found
            assert found["source"] == "anthropic:claude-test"
            assert [a["outcome"] for a in found["llm"]["attempts"]] == ["ok"]
            calls = c.get("/api/v1/ai/usage").json()["calls"]
            assert [x["purpose"] for x in calls if x["dataset"] == dataset] == ["proposal"]
            sent = fake.requests["anthropic"][0]["messages"][0]["content"]
            assert "user1@example.com" not in sent  # PII masked in what is sent
            # The rule on a column the file does not have is refused, with the reason.
            (refused,) = found["refused"]
            assert "Customer Tier" in refused["reason"] and refused["part"] == "rules"
            assert all(r.get("column") != "customer_tier" for r in found["parts"]["rules"])

            # Invalid model SQL, edited in: refused with DuckDB's reason, no model saved.
            name = found["parts"]["model"]["name"]
            bad = {"name": name, "sql": f"SELECT no_such_column FROM {dataset}"}
            tried = c.post(f"/api/v1/proposals/{found['id']}/dry-run", json={"model": bad})
            assert tried.status_code == 200, tried.text
            assert "no_such_column" in tried.json()["errors"]["model"]
            done = c.post(f"/api/v1/proposals/{found['id']}/accept",
                          json={"parts": ["model", "rules"], "edits": {"model": bad}})  # fmt: skip
            assert done.status_code == 200, done.text
            assert "no_such_column" in done.json()["refused"]["model"]
            assert done.json()["accepted"] == ["rules"]
            assert c.get(f"/api/v1/models/{name}").status_code == 404
            rules = c.get(f"/api/v1/datasets/{dataset}/rules").json()["rules"]
            assert rules and all(r.get("column") != "customer_tier" for r in rules)
            entry = next(e for e in audit_of(c, found["id"]) if e["action"] == "accept_proposal")
            assert "no_such_column" in entry["detail"]["refused"]["model"]
        for service in ("ai", "gateway"):
            assert "test-anthropic" not in p.log(service)
    finally:
        fake.stop()


PASSWORD = "Prop-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def shop(platform):
    """A source database holding shop.orders (updated_at never empty), and its connection."""
    url = platform.endpoints["database_url"]
    database, role = unique("propsrc"), unique("propreader")

    async def make() -> None:
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
            await admin.execute(f"CREATE DATABASE {database} OWNER {role}")
        finally:
            await admin.close()
        db = await asyncpg.connect(f"{url.rsplit('/', 1)[0]}/{database}", user=role,
                                   password=PASSWORD)  # fmt: skip
        try:
            await db.execute("""
                CREATE SCHEMA shop;
                CREATE TABLE shop.orders (id bigint PRIMARY KEY, state text NOT NULL,
                    amount numeric(12, 2), updated_at timestamptz NOT NULL);
                INSERT INTO shop.orders
                SELECT i, (ARRAY['CA', 'NY', 'TX'])[1 + i % 3], i * 1.5,
                       '2026-01-01'::timestamptz + i * interval '1 day'
                FROM generate_series(1, 50) i;
            """)
        finally:
            await db.close()

    run_coroutine(make())
    host, port = url.split("@", 1)[1].split("/", 1)[0].split(":")
    name = unique("shop")
    with platform.client() as c:
        created = c.post("/api/v1/connections", json={
            "name": name, "kind": "postgresql", "host": host, "port": int(port),
            "database": database, "user": role, "password": PASSWORD,
            "options": {"sslmode": "disable"},
        })  # fmt: skip
        assert created.status_code == 201, created.text
    return name


def test_offline_a_table_gets_a_cursor_a_lookback_and_an_hourly_extract(platform, shop):
    dataset = unique("shop_orders")
    with platform.client() as c:
        started = c.post(
            f"/api/v1/connections/{shop}/proposals",
            json={"table": "shop.orders", "dataset": dataset, "rows": 20},
        )
        job = platform.finish(started)
        found = c.get(job["location"])
        assert found.status_code == 200
        p = found.json()
        assert p["status"] == "ready", p
        assert PASSWORD not in found.text
        assert p["sample"]["rows"] == 20
        source = p["parts"]["source"]
        assert (source["mode"], source["cursor"], source["lookback"]) == (
            "incremental", "updated_at", 3600.0)  # fmt: skip
        assert p["parts"]["key"] == ["id"]
        assert p["parts"]["schedule"]["schedule"] == {"cron": "0 * * * *"}
        assert p["dry_run"]["silver"]["silver"] == 20

        done = c.post(f"/api/v1/proposals/{p['id']}/accept")
        assert done.status_code == 200, done.text
        assert done.json()["refused"] == {}
        assert done.json()["status"] == "accepted"
        saved = c.get(f"/api/v1/datasets/{dataset}/source").json()
        assert (saved["mode"], saved["cursor"], saved["lookback"]) == (
            "incremental", "updated_at", 3600.0)  # fmt: skip
        assert saved["key"] == ["id"]
        workflow = c.get(f"/api/v1/workflows/{p['parts']['schedule']['name']}").json()
        assert workflow["definition"]["steps"][0]["extract"] == dataset
        assert workflow["next_tick"] is not None
        for entry in audit_of(c, p["id"]):
            assert PASSWORD not in str(entry)

        # The accepted source extracts: the first run reads every row.
        extract = c.post(f"/api/v1/datasets/{dataset}/extract")
        assert extract.status_code == 202, extract.text
    run = platform.wait_run(extract.json()["run_id"])
    assert run["status"] == "succeeded", run
    assert run["counts"]["bronze"] == 50
    for service in ("ingest", "ai", "gateway", "transform"):
        assert PASSWORD not in platform.log(service)
