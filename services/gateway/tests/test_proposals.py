"""Accepting a whole-pipeline proposal, with fake owners: parts checked on the sample first and
applied in dependency order through their owners; an unusable part refused with the reason
and never sent to its owner; the decisions recorded and the accept audited."""

from __future__ import annotations

from flowforge.common.errors import BadInputError

PID = "a" * 32
PROPOSAL = {
    "id": PID,
    "dataset": "orders",
    "status": "ready",
    "error": None,
    "pii": ["e_mail"],
    "sample": {"columns": ["id", "updated_at"], "source_types": {}},
    "parts": {
        "key": ["id"],
        "source": {
            "connection": "shop",
            "table": "s.orders",
            "mode": "incremental",
            "cursor": "updated_at",
            "lookback": 3600.0,
        },  # fmt: skip
        "silver": {"renames": {}, "types": {}},
        "rules": [{"name": "not_null_id", "type": "not_null", "column": "id"}],
        "model": {"name": "orders_by_month", "sql": "SELECT 1 AS x FROM orders"},
        "schedule": {
            "name": "orders_hourly",
            "schedule": {"cron": "0 * * * *"},
            "steps": [{"name": "extract", "extract": "orders"}],
        },  # fmt: skip
    },
}


def fake_owners(harness, model_error: str = ""):
    owners = harness.owners
    owners.answer("ai", "proposal.get", lambda r: PROPOSAL)
    owners.answer("ai", "proposal.claim", lambda r: {"claimed": r["parts"]})
    owners.answer("ai", "proposal.decide", lambda r: {"status": "partly_accepted",
                                                      "decisions": r["results"]})  # fmt: skip
    owners.answer("transform", "sample.silver", lambda r: {
        "silver_key": "proposals/x/silver.parquet", "key": r["key"], "errors": {}})  # fmt: skip
    owners.answer("quality", "sample.rules", lambda r: {"quarantine_key": None, "errors": {}})
    owners.answer("transform", "sample.model",
                  lambda r: {"errors": {"model": model_error} if model_error else {}})  # fmt: skip
    for service, verb in (("ingest", "dataset.put"), ("ingest", "source.put"),
                          ("transform", "spec.put"), ("transform", "models.put"),
                          ("quality", "rules.put"), ("scheduler", "workflow.put")):  # fmt: skip
        owners.answer(service, verb, lambda r: {})
    owners.answer("quality", "rules.get", lambda r: {"rules": []})


async def test_an_accept_applies_every_part_through_its_owner_in_dependency_order(harness):
    fake_owners(harness)
    response = await harness.client.post(f"/api/v1/proposals/{PID}/accept")
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == ["key", "source", "silver", "rules", "model",
                                           "schedule"]  # fmt: skip
    applied = [(s, v) for s, v, _ in harness.owners.asked
               if v in ("dataset.put", "source.put", "spec.put", "rules.put", "models.put",
                        "workflow.put")]  # fmt: skip
    assert applied == [("ingest", "dataset.put"), ("ingest", "source.put"),
                       ("transform", "spec.put"), ("quality", "rules.put"),
                       ("transform", "models.put"), ("scheduler", "workflow.put")]  # fmt: skip
    (source,) = harness.owners.asked_for("ingest", "source.put")
    assert source["cursor"] == "updated_at" and source["lookback"] == 3600.0
    entry = harness.audit.entries[-1]
    assert entry["action"] == "accept_proposal" and entry["target"] == f"proposal/{PID}"


async def test_a_part_the_dry_run_finds_unusable_is_refused_and_never_sent_to_its_owner(harness):
    fake_owners(harness, model_error="gold model 'orders_by_month' failed: no column x")
    response = await harness.client.post(
        f"/api/v1/proposals/{PID}/accept", json={"parts": ["model", "rules"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["refused"] == {"model": "gold model 'orders_by_month' failed: no "
                                                   "column x"}  # fmt: skip
    assert not harness.owners.asked_for("transform", "models.put")
    (decided,) = harness.owners.asked_for("ai", "proposal.decide")
    assert decided["results"]["model"]["status"] == "refused"
    assert decided["results"]["rules"]["status"] == "accepted"
    assert "no column x" in harness.audit.entries[-1]["detail"]["refused"]["model"]


async def test_an_owner_refusing_a_part_at_saving_refuses_only_that_part(harness):
    fake_owners(harness)

    def refuse(request):
        raise BadInputError("steps[0].extract: dataset 'orders' has no source")

    harness.owners.answer("scheduler", "workflow.put", refuse)
    response = await harness.client.post(
        f"/api/v1/proposals/{PID}/accept", json={"parts": ["schedule", "key"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == ["key"]
    assert "has no source" in response.json()["refused"]["schedule"]
