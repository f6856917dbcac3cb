"""OpenLineage run events made from the pipeline's events: what each stage emits, checked
against the published JSON schemas (tests/schemas/openlineage)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flowforge.catalog.openlineage import Emitter, lake_dataset, run_uuid
from flowforge.common.events import (
    BronzeReady,
    CheckResult,
    Column,
    FileLanded,
    GoldInput,
    GoldModelBuilt,
    GoldReady,
    ModelFailed,
    QualityChecked,
    RunCounts,
    SilverBatch,
    SilverReady,
    SourceExtract,
    StageTiming,
    TransformFailed,
)
from flowforge.common.testing import openlineage_errors

SCHEMAS = Path(__file__).parents[3] / "tests" / "schemas" / "openlineage"
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 6, 1, 2, 0, 5, tzinfo=UTC)
TIMING = StageTiming(started_at=T0, finished_at=T1)
LAKE = "s3://lake"
COLUMNS = [Column(name="id", type="integer"), Column(name="amount", type="decimal(38,2)")]


def pipeline() -> list:
    landed = FileLanded(
        run_id="r1", dataset="orders", landing_uri=f"{LAKE}/landing/orders.csv", landed_at=T0
    )
    bronze = BronzeReady.following(
        landed,
        bronze_uri=f"{LAKE}/bronze/orders/r1.parquet",
        columns=COLUMNS,
        schema_fingerprint="f",
        encoding="utf-8",
        delimiter=",",
        has_header=True,
        timing=TIMING,
        counts=RunCounts(parsed=3, rejected=0, bronze=3),
    )
    silver = SilverReady.following(
        bronze,
        silver_uri=f"{LAKE}/silver/orders/r1.parquet",
        columns=COLUMNS,
        schema_fingerprint="f",
        timing=TIMING,
        counts={"silver": 3},
    )
    checked = QualityChecked.following(
        silver,
        verdict="warned",
        silver_uri=silver.silver_uri,
        timing=TIMING,
        checks=[
            CheckResult(name="positive", status="warned", column="amount"),
            CheckResult(name="row_count", status="passed"),
        ],
    )
    gold = GoldReady.following(
        checked,
        timing=TIMING,
        models=[
            GoldModelBuilt(
                name="revenue",
                uri=f"{LAKE}/lakehouse/gold/revenue",
                rows=1,
                columns=[Column(name="total", type="double")],
                depends_on=["orders"],
                inputs=[
                    GoldInput(
                        dataset="orders",
                        batches=[SilverBatch(run_id="r1", silver_uri=silver.silver_uri)],
                    )
                ],
                column_lineage={"total": [["orders", "amount"]], "n": []},
            )
        ],
        failed=[ModelFailed(name="broken", error="Binder Error: no column x")],
    )
    return [landed, bronze, silver, checked, gold]


def test_every_stage_of_a_run_is_a_job_run_that_starts_and_completes_by_the_spec():
    emitter = Emitter("flowforge", None, None)
    events = [e for event in pipeline() for e in emitter.run_events(event)]
    for event in events:
        assert openlineage_errors(event, SCHEMAS) == [], event
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job == {
        "ingest.orders": ["START", "COMPLETE"],
        "silver.orders": ["START", "COMPLETE"],
        "quality.orders": ["START", "COMPLETE"],
        "gold.revenue": ["START", "COMPLETE"],
        "gold.broken": ["FAIL"],
    }
    # One run id per job run, the same for its START and COMPLETE, under the pipeline run.
    runs = {(e["job"]["name"], e["run"]["runId"]) for e in events}
    assert len(runs) == 5
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in events}
    assert parents == {run_uuid("r1", "pipeline")}
    gold = next(
        e for e in events if e["job"]["name"] == "gold.revenue" and e["eventType"] == "COMPLETE"
    )
    assert gold["inputs"] == [{"namespace": LAKE, "name": "silver/orders", "facets": {}}]
    (output,) = gold["outputs"]
    assert (output["namespace"], output["name"]) == (LAKE, "lakehouse/gold/revenue")
    assert output["facets"]["schema"]["fields"] == [
        {"name": "total", "type": "double", "ordinal_position": 1}
    ]
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 1
    assert output["facets"]["columnLineage"]["fields"] == {
        "total": {"inputFields": [{"namespace": LAKE, "name": "silver/orders", "field": "amount"}]},
        "n": {"inputFields": []},
    }
    quality = next(
        e for e in events if e["job"]["name"] == "quality.orders" and e["eventType"] == "COMPLETE"
    )
    assertions = quality["inputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert {"assertion": "positive", "success": True, "column": "amount"} in assertions
    broken = next(e for e in events if e["job"]["name"] == "gold.broken")
    assert "no column x" in broken["run"]["facets"]["errorMessage"]["message"]


def test_a_failed_stage_and_an_extraction_have_their_own_shapes():
    emitter = Emitter("team", None, None)
    landed = FileLanded(
        run_id="r2",
        dataset="accounts",
        landing_uri="source:crm",
        extract=SourceExtract(connection="crm", table="public.accounts"),
    )
    (start,) = emitter.run_events(landed)
    assert start["inputs"] == [
        {"namespace": "flowforge-connection://crm", "name": "public.accounts", "facets": {}}
    ]
    failed = TransformFailed(
        run_id="r2", dataset="accounts", stage="silver", error="boom", timing=TIMING
    )
    (fail,) = emitter.run_events(failed)
    assert fail["eventType"] == "FAIL" and fail["job"] == {
        "namespace": "team",
        "name": "silver.accounts",
        "facets": fail["job"]["facets"],
    }
    for event in (start, fail):
        assert openlineage_errors(event, SCHEMAS) == []


def test_a_spec_violation_is_caught_by_the_check():
    emitter = Emitter("flowforge", None, None)
    (start,) = emitter.run_events(pipeline()[0])
    start["eventType"] = "BEGIN"
    start["run"]["facets"]["parent"]["run"]["runId"] = "not-a-uuid"
    errors = openlineage_errors(start, SCHEMAS)
    assert any("BEGIN" in e for e in errors) and any("not-a-uuid" in e for e in errors), errors


def test_local_lake_datasets_are_named_by_their_folder():
    assert lake_dataset("file:///srv/lake/silver/orders/r1.parquet") == (
        "file",
        "/srv/lake/silver/orders",
    )
    assert lake_dataset("s3://b/gold/m/data.parquet") == ("s3://b", "gold/m")
