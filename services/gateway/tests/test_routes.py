"""The gateway's routes against fake owners on the in-memory broker: what it asks whom, how it
pages, how the owners' errors reach the client (problem+json), jobs, uploads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from flowforge.common.errors import ConflictError, NotFoundError

NOW = datetime(2026, 12, 1, tzinfo=UTC).isoformat()


def run(run_id: str, status: str = "succeeded", dataset: str = "orders") -> dict:
    return {
        "run_id": run_id, "dataset": dataset, "filename": "o.csv", "status": status,
        "verdict": None, "error": None, "created_at": NOW, "updated_at": NOW, "stages": [],
        "counts": {}, "checks": [],
    }  # fmt: skip


async def test_runs_are_paged_with_the_catalogs_cursor_and_a_next_link(harness):
    harness.owners.answer(
        "catalog", "runs.list", lambda r: {"runs": [run("a"), run("b")], "next_cursor": "CUR"}
    )
    response = await harness.client.get("/api/v1/runs", params={"dataset": "orders", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [r["run_id"] for r in body["runs"]] == ["a", "b"]
    assert body["next_cursor"] == "CUR"
    assert body["next"] == "/api/v1/runs?dataset=orders&limit=2&cursor=CUR"
    assert response.headers["link"] == f'<{body["next"]}>; rel="next"'
    asked = harness.owners.asked_for("catalog", "runs.list")[0]
    assert asked == {"dataset": "orders", "status": None, "limit": 2, "cursor": None}


async def test_an_upload_the_catalog_has_not_recorded_yet_shows_as_queued(harness):
    def missing(request):
        raise NotFoundError(f"no run with id {request['run_id']!r}")

    harness.owners.answer("catalog", "runs.get", missing)
    await harness.uploads.record(run_id="r1", dataset="orders", filename="o.csv", size_bytes=3,
                                 content_hash="h", landing_uri="file:///x")  # fmt: skip
    queued = await harness.client.get("/api/v1/runs/r1")
    unknown = await harness.client.get("/api/v1/runs/nope")
    assert queued.status_code == 200 and queued.json()["status"] == "queued"
    assert [s["status"] for s in queued.json()["stages"]] == ["pending"] * 4
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["detail"] == "no run with id 'nope'"  # the owner's own message
    assert unknown.json()["type"] == "/problems/not-found"


async def test_an_extraction_the_catalog_has_not_recorded_yet_shows_as_queued(harness):
    def missing(request):
        raise NotFoundError(f"no run with id {request['run_id']!r}")

    harness.owners.answer("catalog", "runs.get", missing)
    run_id = "a" * 32
    harness.owners.answer(
        "ingest", "extract",
        lambda r: {"run_id": run_id, "dataset": r["dataset"], "window": "all",
                   "filename": "db.public.orders", "landing_uri": "source:db"},
    )  # fmt: skip
    started = await harness.client.post("/api/v1/datasets/orders/extract")
    assert started.status_code == 202, started.text
    assert started.json() == {"run_id": run_id, "dataset": "orders", "window": "all"}
    queued = await harness.client.get(f"/api/v1/runs/{run_id}")
    assert queued.status_code == 200, queued.text
    assert queued.json()["status"] == "queued"
    assert queued.json()["filename"] == "db.public.orders"


async def test_an_owner_that_does_not_answer_is_a_503_naming_it(harness):
    response = await harness.client.get("/api/v1/datasets/orders/quality")
    assert response.status_code == 404  # the fake has no answer: its 404 comes through
    harness.owners.answer("quality", "results", lambda r: asyncio.sleep(60))
    harness.gateway.owners.quality.quick = 0.2
    slow = await harness.client.get("/api/v1/datasets/orders/quality")
    assert slow.status_code == 503
    assert slow.json()["type"] == "/problems/service-unavailable"
    assert "the quality service did not answer" in slow.json()["detail"]


async def test_an_upload_asks_ingest_for_the_contract_and_publishes_file_landed(harness):
    harness.owners.answer(
        "ingest", "dataset.put",
        lambda r: {"name": r["name"], "key": r["key"] or ["id"], "schema_policy": "freeze",
                   "array_policy": "json", "configured": True},
    )  # fmt: skip
    response = await harness.client.post(
        "/api/v1/files", files={"file": ("My Orders.csv", b"id,v\n1,2\n")}, data={"key": "id"}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["dataset"] == "my_orders" and accepted["key"] == ["id"]
    assert harness.owners.asked_for("ingest", "dataset.put") == [
        {"name": "my_orders", "key": ["id"], "schema_policy": None}
    ]
    event = harness.published[0]["data"]
    assert event["run_id"] == accepted["run_id"] and event["schema_policy"] == "freeze"
    assert event["landing_uri"].endswith(f"uploads/{accepted['run_id']}/My%20Orders.csv")
    assert (await harness.uploads.get(accepted["run_id"]))["content_hash"] == (
        accepted["content_hash"]
    )


async def test_the_same_content_is_answered_with_the_earlier_run_unless_it_failed(harness):
    harness.owners.answer("ingest", "dataset.put", lambda r: {"key": [], "schema_policy": "evolve",
                                                             "array_policy": "json"})  # fmt: skip
    harness.owners.answer("ingest", "dataset.get", lambda r: {"key": []})
    statuses = {}
    harness.owners.answer("catalog", "runs.get", lambda r: run(r["run_id"], statuses[r["run_id"]]))
    files = {"file": ("a.csv", b"id\n1\n")}
    first = (await harness.client.post("/api/v1/files", files=files, data={"dataset": "d"})).json()
    statuses[first["run_id"]] = "succeeded"
    again = await harness.client.post("/api/v1/files", files=files, data={"dataset": "d"})
    assert again.status_code == 200
    assert again.json()["duplicate_of"] == first["run_id"] == again.json()["run_id"]
    assert len(harness.published) == 1  # no second run
    statuses[first["run_id"]] = "failed"
    retried = await harness.client.post("/api/v1/files", files=files, data={"dataset": "d"})
    assert retried.status_code == 202 and retried.json()["run_id"] != first["run_id"]


async def test_rules_are_checked_here_and_stored_by_quality(harness):
    def store(request):
        return {"dataset": request["dataset"], "rules": request["rules"]["rules"]}

    harness.owners.answer("quality", "rules.put", store)
    bad = await harness.client.put(
        "/api/v1/datasets/orders/rules", json={"rules": [{"type": "nope", "column": "x"}]}
    )
    assert bad.status_code == 400 and "rules[0]: type: Input should be" in bad.json()["detail"]
    assert not harness.owners.asked_for("quality", "rules.put")  # refused before asking
    good = await harness.client.put(
        "/api/v1/datasets/orders/rules.yaml",
        content=b"columns:\n  id: [not_null]\n",
        headers={"content-type": "application/yaml"},
    )
    assert good.status_code == 200, good.text
    sent = harness.owners.asked_for("quality", "rules.put")[0]
    assert sent["dataset"] == "orders"
    assert [r["type"] for r in sent["rules"]["rules"]] == ["not_null"]


async def test_a_replay_is_a_job_followed_to_its_result(harness):
    release = asyncio.Event()

    async def replay(request):
        await release.wait()
        return {"runs": [{"run_id": "a", "verdict": "passed"}]}

    harness.owners.answer("quality", "replay", replay)
    accepted = await harness.client.post("/api/v1/datasets/orders/quality/replay",
                                         json={"all": True})  # fmt: skip
    assert accepted.status_code == 202
    job = accepted.json()
    assert accepted.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running") and job["kind"] == "replay"
    release.set()
    done = await harness.client.get(accepted.headers["location"], headers={"prefer": "wait=5"})
    assert done.json()["status"] == "succeeded"
    assert done.json()["result"] == {"runs": [{"run_id": "a", "verdict": "passed"}]}
    assert harness.owners.asked_for("quality", "replay")[0]["run_ids"] is None


async def test_a_client_can_wait_for_a_short_job_in_the_same_request(harness):
    harness.owners.answer("quality", "release", lambda r: {"released_rows": 2})
    response = await harness.client.post(
        "/api/v1/datasets/orders/quarantine/release",
        json={"rule": "positive", "reason": "refunds"},
        headers={"prefer": "wait=5"},
    )
    assert response.status_code == 200
    assert response.json()["result"] == {"released_rows": 2}


async def test_a_failed_job_carries_the_owners_reason(harness):
    def refuse(request):
        raise NotFoundError("run r9 has no evaluated batch in dataset 'orders'")

    harness.owners.answer("quality", "replay", refuse)
    response = await harness.client.post(
        "/api/v1/datasets/orders/quality/replay", json={"run_ids": ["r9"]},
        headers={"prefer": "wait=5"},
    )  # fmt: skip
    assert response.json()["status"] == "failed"
    assert response.json()["error"] == "run r9 has no evaluated batch in dataset 'orders'"


async def test_accepting_a_rule_dry_runs_it_then_adds_it_only_if_new(harness):
    suggestion = {"id": 7, "kind": "rule", "payload": {"type": "not_null", "column": "id"}}
    harness.owners.answer("ai", "suggestion.get", lambda r: suggestion)
    harness.owners.answer("ai", "suggestion.claim", lambda r: {"claimed": True})
    harness.owners.answer("ai", "suggestion.decide", lambda r: {"decided": True})
    harness.owners.answer("quality", "dryrun", lambda r: {"would_quarantine": 3})
    harness.owners.answer("quality", "rules.add", lambda r: {"rules": [r["rule"]]})
    response = await harness.client.post("/api/v1/datasets/orders/suggestions/7/accept")
    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] == {"would_quarantine": 3}
    added = harness.owners.asked_for("quality", "rules.add")[0]
    assert added["only_new"] is True and added["rule"]["action"] == "warn"
    assert harness.owners.asked_for("ai", "suggestion.decide")[0]["decision"] == "accepted"


async def test_a_failed_accept_gives_the_decision_back(harness):
    suggestion = {"id": 8, "kind": "rule", "payload": {"type": "not_null", "column": "id"}}
    harness.owners.answer("ai", "suggestion.get", lambda r: suggestion)
    harness.owners.answer("ai", "suggestion.claim", lambda r: {"claimed": True})
    harness.owners.answer("ai", "suggestion.unclaim", lambda r: {"unclaimed": True})
    harness.owners.answer("quality", "dryrun", lambda r: {})

    def conflict(request):
        raise ConflictError("dataset 'orders' already has a different rule named 'x'")

    harness.owners.answer("quality", "rules.add", conflict)
    response = await harness.client.post("/api/v1/datasets/orders/suggestions/8/accept")
    assert response.status_code == 409 and "different rule" in response.json()["detail"]
    assert harness.owners.asked_for("ai", "suggestion.unclaim") == [{"id": 8}]
    assert not harness.owners.asked_for("ai", "suggestion.decide")


async def test_datasets_merge_what_the_catalog_recorded_with_configured_ones_by_name(harness):
    recorded = [{"name": n, "layers": {}, "runs": 1, "last_run": None} for n in ("a", "c", "e")]
    configured = [{"name": n, "key": [n], "configured": True} for n in ("b", "c")]

    def page(items):
        return lambda r: {"datasets": [d for d in items if not r.get("after") or d["name"] >
                                       r["after"]][: r.get("limit", 100)]}  # fmt: skip

    harness.owners.answer("catalog", "datasets.list", page(recorded))

    def ingest_list(r):
        if r.get("names") is not None:
            return {"datasets": [{"name": n, "key": []} for n in r["names"]]}
        return page(configured)(r)

    harness.owners.answer("ingest", "datasets.list", ingest_list)
    first = (await harness.client.get("/api/v1/datasets", params={"limit": 3})).json()
    assert [d["name"] for d in first["datasets"]] == ["a", "b", "c"]
    assert [d["key"] for d in first["datasets"]] == [[], ["b"], ["c"]]
    rest = (await harness.client.get(first["next"])).json()
    assert [d["name"] for d in rest["datasets"]] == ["e"] and rest["next"] is None


async def test_invalid_requests_are_problems_listing_each_error(harness):
    bad_name = await harness.client.get("/api/v1/datasets/Bad%20Name/schema")
    bad_body = await harness.client.post("/api/v1/datasets/orders/quality/replay", json={})
    wrong_method = await harness.client.delete("/api/v1/runs")
    assert bad_name.status_code == 422 and bad_name.json()["errors"][0]["where"] == "path.name"
    assert bad_body.status_code == 422
    assert "give `run_ids` or `all: true`" in bad_body.json()["detail"]
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET"


async def test_accepting_descriptions_writes_them_to_the_catalog_skipping_renamed_columns(harness):
    payload = {"description": "Orders.", "columns": {"id": "Order id.", "gone": "Renamed since."}}
    suggestion = {"id": 9, "kind": "descriptions", "source": "anthropic:m", "payload": payload}
    harness.owners.answer("ai", "suggestion.get", lambda r: suggestion)
    harness.owners.answer("ai", "suggestion.claim", lambda r: {"claimed": True})
    harness.owners.answer("ai", "suggestion.decide", lambda r: {"decided": True})
    harness.owners.answer(
        "catalog", "asset.get", lambda r: {"columns": [{"name": "id", "type": "BIGINT"}]}
    )
    harness.owners.answer("catalog", "descriptions.put", lambda r: {"dataset": r["dataset"]})
    response = await harness.client.post("/api/v1/datasets/orders/suggestions/9/accept")
    assert response.status_code == 200, response.text
    assert response.json()["skipped_columns"] == ["gone"]
    (written,) = harness.owners.asked_for("catalog", "descriptions.put")
    assert written["columns"] == {"id": "Order id."} and written["description"] == "Orders."
    assert written["source"] == "anthropic:m" and written["by"]


async def test_a_person_cannot_describe_a_column_the_schema_does_not_have(harness):
    harness.owners.answer("catalog", "datasets.list", lambda r: {"datasets": []})
    harness.owners.answer("ingest", "dataset.get", lambda r: {"configured": True})
    harness.owners.answer(
        "catalog", "asset.get", lambda r: {"columns": [{"name": "id", "type": "BIGINT"}]}
    )
    harness.owners.answer(
        "catalog", "descriptions.get",
        lambda r: {"dataset": "orders", "description": None, "columns_described": {}},
    )  # fmt: skip
    response = await harness.client.put(
        "/api/v1/datasets/orders/descriptions", json={"columns": {"idd": "typo"}}
    )
    assert response.status_code == 400
    assert "no column(s) 'idd'" in response.json()["detail"]
    assert "columns: id" in response.json()["detail"]
    assert harness.owners.asked_for("catalog", "descriptions.put") == []


async def test_descriptions_of_a_dataset_nothing_knows_are_a_404(harness):
    harness.owners.answer("catalog", "datasets.list", lambda r: {"datasets": []})
    harness.owners.answer("ingest", "dataset.get", lambda r: {"configured": False})
    for response in (
        await harness.client.get("/api/v1/datasets/nosuch/descriptions"),
        await harness.client.put("/api/v1/datasets/nosuch/descriptions", json={"description": "x"}),
    ):
        assert response.status_code == 404, response.text
    assert harness.owners.asked_for("catalog", "descriptions.put") == []


async def test_what_the_ai_has_not_analysed_yet_is_masked_for_a_viewer(harness):
    from flowforge.gateway.pii import EVERY_COLUMN, mask_row, pii_columns

    analysed: dict = {"columns": []}
    harness.owners.answer("ai", "suggestions", lambda r: {"dataset": r["dataset"], **analysed})
    row = {"email": "ann.lee@example.com", "city": "Berlin", "_source_line": 2}
    # Its first batch still being profiled: no column is known not to be PII.
    assert await pii_columns(harness.gateway, "orders") is EVERY_COLUMN
    assert mask_row(row, EVERY_COLUMN) == {
        "email": "aaa.aaa@aaaaaaa.aaa", "city": "Aaaaaa", "_source_line": 2,
    }  # fmt: skip
    analysed["columns"] = [
        {"name": "email", "silver_name": "email", "offline": {"pii": True}},
        {"name": "city", "silver_name": "city", "offline": {"pii": False}},
    ]
    pii = await pii_columns(harness.gateway, "orders")
    assert pii == {"email"}
    assert mask_row(row, pii)["city"] == "Berlin"
    # A column a later batch added, not analysed yet, is masked until it is.
    assert mask_row({**row, "phone": "+49 30 1234"}, pii)["phone"] == "+99 99 9999"
