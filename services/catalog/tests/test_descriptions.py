"""Descriptions in the catalog's exports: dbt-style schema.yml, OpenLineage dataset events
(checked against the published JSON schemas), and in the run events the emitter sends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from flowforge.catalog.descriptions import dbt_docs, source_of
from flowforge.catalog.openlineage import Emitter, dataset_docs
from flowforge.common.errors import BadInputError
from flowforge.common.testing import openlineage_errors

SCHEMAS = Path(__file__).parents[3] / "tests" / "schemas" / "openlineage"
AT = datetime(2026, 12, 4, tzinfo=UTC)


def entry(description: str, by: str = "ann", source: str = "person") -> dict:
    return {"description": description, "source": source, "updated_by": by, "updated_at": AT}


DOCUMENTED = [
    {
        "name": "orders",
        "layer": "silver",
        "location": "s3://lake/silver/orders/",
        "columns": [{"name": "id", "type": "BIGINT"}, {"name": "email", "type": "VARCHAR"}],
        "dataset": "orders",
        "description": entry("One row per order: what was bought, by whom, when."),
        "columns_described": {"email": entry("Buyer's e-mail address.", source="offline")},
    },
    {
        "name": "revenue",
        "layer": "gold",
        "location": "s3://lake/lakehouse/gold/revenue",
        "columns": [{"name": "total", "type": "DOUBLE"}],
        "dataset": "revenue",
        "description": None,
        "columns_described": {"total": entry("Revenue in EUR: «net», ünïcode kept.")},
    },
]


def test_dbt_docs_put_silver_datasets_in_a_source_and_gold_models_as_models():
    doc = yaml.safe_load(dbt_docs(DOCUMENTED))
    assert doc["version"] == 2
    (source,) = doc["sources"]
    assert source["name"] == "flowforge_silver"
    (orders,) = source["tables"]
    assert orders["description"].startswith("One row per order")
    assert orders["columns"] == [
        {"name": "id", "data_type": "BIGINT"},
        {"name": "email", "description": "Buyer's e-mail address.", "data_type": "VARCHAR"},
    ]
    (revenue,) = doc["models"]
    assert "description" not in revenue
    assert revenue["columns"][0]["description"] == "Revenue in EUR: «net», ünïcode kept."


def test_dbt_docs_of_an_empty_catalog_are_still_a_valid_file():
    assert yaml.safe_load(dbt_docs([])) == {"version": 2}


def test_openlineage_docs_are_dataset_events_named_as_the_run_events_name_them():
    events = dataset_docs(DOCUMENTED)
    for event in events:
        assert openlineage_errors(event, SCHEMAS, kind="DatasetEvent") == [], event
    orders, revenue = (e["dataset"] for e in events)
    assert (orders["namespace"], orders["name"]) == ("s3://lake", "silver/orders")
    assert (revenue["namespace"], revenue["name"]) == ("s3://lake", "lakehouse/gold/revenue")
    assert orders["facets"]["documentation"]["description"].startswith("One row per order")
    assert orders["facets"]["schema"]["fields"][1]["description"] == "Buyer's e-mail address."
    assert "description" not in orders["facets"]["schema"]["fields"][0]
    assert "documentation" not in revenue["facets"]


def test_the_emitter_describes_what_silver_and_gold_jobs_wrote_and_reads_again_when_told():
    asked: list[str] = []
    texts = {"orders": "first"}

    async def docs(name: str) -> dict:
        asked.append(name)
        if name == "broken":
            raise RuntimeError("catalog down")
        return {"description": entry(texts.get(name, "x")), "columns_described": {}}

    def complete(job: str) -> dict:
        facets = {"schema": {"fields": [{"name": "id", "type": "BIGINT"}]}}
        output = {"namespace": "f", "name": "n", "facets": facets}
        return {"job": {"name": job}, "outputs": [output]}

    async def scenario() -> list[dict]:
        emitter = Emitter("flowforge", None, None, docs=docs)
        events = [complete("silver.orders"), complete("gold.revenue"), complete("ingest.orders")]
        for event in events:
            await emitter._describe(event)
        again = complete("silver.orders")
        texts["orders"] = "second"
        await emitter._describe(again)  # cached: not asked again
        emitter.forget_docs("orders")
        newest = complete("silver.orders")
        await emitter._describe(newest)
        broken = complete("gold.broken")
        await emitter._describe(broken)  # a failed lookup: sent without docs
        return [*events, again, newest, broken]

    silver, gold, ingest, again, newest, broken = asyncio.run(scenario())
    assert asked == ["orders", "revenue", "orders", "broken"]
    assert silver["outputs"][0]["facets"]["documentation"]["description"] == "first"
    assert "documentation" in gold["outputs"][0]["facets"]
    assert "documentation" not in ingest["outputs"][0]["facets"]
    assert again["outputs"][0]["facets"]["documentation"]["description"] == "first"
    assert newest["outputs"][0]["facets"]["documentation"]["description"] == "second"
    assert "documentation" not in broken["outputs"][0]["facets"]


def test_a_description_source_is_a_person_offline_or_a_known_llm_provider():
    assert source_of(None) == "person"
    assert source_of("anthropic:claude-sonnet-4-5") == "anthropic:claude-sonnet-4-5"
    with pytest.raises(BadInputError, match="source must be one of"):
        source_of("someone-else")
