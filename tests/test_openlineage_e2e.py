"""OpenLineage from a real platform: one upload with a Gold model, received by a local HTTP
endpoint (as Marquez would), every event valid by the published JSON schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowforge.common.testing import openlineage_errors, unique, wait_for

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).parent / "schemas" / "openlineage"


def test_a_run_reaches_an_openlineage_endpoint_stage_by_stage(tuned_platform):
    p = tuned_platform  # its OpenLineage endpoint, namespace "acme" (conftest)
    endpoint = p.extra["lineage"]
    dataset, model = unique("olorders"), unique("oltotal")
    with p.client() as c:
        sql = f"SELECT count(*) AS n, sum(amount) AS total FROM {dataset}"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
    run = p.land(b"id,amount\n1,10\n2,20\n", "orders.csv", dataset=dataset)
    assert run["status"] == "succeeded"
    with p.client() as c:  # the column lineage the catalog keeps, from the model's SQL
        lineage = c.get(f"/api/v1/datasets/{dataset}/lineage").json()
    assert {
        "node": f"gold:{model}",
        "column": "total",
        "sources": [{"node": f"silver:{dataset}", "column": "amount"}],
    } in lineage["columns"]

    def seen() -> dict[str, list[str]]:
        jobs: dict[str, list[str]] = {}
        for e in list(endpoint.events):
            jobs.setdefault(e["job"]["name"], []).append(e["eventType"])
        return jobs

    wanted = {f"ingest.{dataset}", f"silver.{dataset}", f"quality.{dataset}", f"gold.{model}"}
    wait_for(
        lambda: all(sorted(seen().get(j, [])) == ["COMPLETE", "START"] for j in wanted),
        60,
        "every stage's START and COMPLETE",
    )
    paths, received = set(endpoint.paths), list(endpoint.events)
    assert paths == {"/api/v1/lineage"}
    mine = [e for e in received if e["job"]["name"] in wanted]
    for event in mine:
        assert openlineage_errors(event, SCHEMAS) == [], event
        assert event["job"]["namespace"] == "acme"
    gold = next(
        e for e in mine if e["job"]["name"] == f"gold.{model}" and e["eventType"] == "COMPLETE"
    )
    assert gold["inputs"][0]["name"].endswith(f"silver/{dataset}")
    assert gold["outputs"][0]["facets"]["schema"]["fields"][0]["name"] == "n"
    fields = gold["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert fields["n"] == {"inputFields": []}
    (source,) = fields["total"]["inputFields"]
    assert source["field"] == "amount" and source["name"].endswith(f"silver/{dataset}")
