"""What people read about an event (the catalog's event log, the gateway's live stream): who
sent it, when it happened, and one line, for every subject and whatever the payload holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowforge.common.eventlog import LINES, occurred_at, publisher, summarize
from flowforge.common.events import (
    EVENT_TYPES,
    PROGRESS_SUBJECT,
    BronzeReady,
    CheckResult,
    Column,
    DeadLettered,
    FileLanded,
    GoldModelBuilt,
    GoldReady,
    IngestFailed,
    QualityChecked,
    RunCounts,
    SchemaChanged,
    SchemaDiff,
    StageTiming,
    subject_of,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TIMING = StageTiming(started_at=T0, finished_at=T0 + timedelta(seconds=3))


def data(event) -> dict:
    return event.model_dump(mode="json")


def bronze(**counts) -> BronzeReady:
    return BronzeReady(
        run_id="r1", dataset="orders", bronze_uri="file:///b", columns=[Column(name="a",
        type="string")], schema_fingerprint="f", encoding="utf-8", delimiter=",",
        has_header=True, timing=TIMING, counts=RunCounts(**counts),
    )  # fmt: skip


def test_every_subject_of_the_stream_has_a_line_of_its_own():
    assert set(EVENT_TYPES) <= set(LINES), set(EVENT_TYPES) - set(LINES)


def test_a_batchs_counts_are_told_with_thousands_separators():
    event = bronze(parsed=1003, rejected=3, bronze=1000)
    assert summarize(event.SUBJECT, data(event)) == "bronze: 1,000 rows (3 rejected)"


def test_a_failed_evaluation_names_the_rules_that_failed_it():
    checks = [
        CheckResult(name="id_not_null", status="failed", failed_rows=2),
        CheckResult(name="row_count", status="passed"),
        CheckResult(name="amount_range", status="failed", failed_rows=1),
    ]
    event = QualityChecked(run_id="r1", dataset="orders", verdict="failed", checks=checks,
                           silver_uri="file:///s", timing=TIMING,
                           counts=RunCounts(valid=7, quarantined=3))  # fmt: skip
    assert summarize(event.SUBJECT, data(event)) == (
        "quality failed: 7 valid, 3 quarantined; failed: id_not_null, amount_range"
    )


def test_gold_names_the_models_built_and_those_that_failed():
    event = GoldReady(
        run_id="r1", dataset="orders", timing=TIMING,
        models=[GoldModelBuilt(name="spend", uri="u", rows=4, columns=[], depends_on=["orders"])],
        failed=[{"name": "broken", "error": "no such column"}],
    )  # fmt: skip
    assert summarize(event.SUBJECT, data(event)) == "gold: built spend (4 rows); failed: broken"


def test_a_failure_says_its_stage_and_the_first_line_of_its_error():
    event = IngestFailed(run_id="r1", dataset="orders", stage="ingest",
                         error="the file is not text\nTraceback: never shown")  # fmt: skip
    assert summarize(event.SUBJECT, data(event)) == "ingest failed: the file is not text"


def test_a_schema_change_says_what_changed():
    event = SchemaChanged(run_id="r1", dataset="orders", layer="silver", version=2,
                          diff=SchemaDiff(added=["note"], removed=["gift"]))  # fmt: skip
    assert summarize(event.SUBJECT, data(event)) == (
        "silver schema version 2: added note; missing gift"
    )


def test_a_landed_file_says_its_name_and_size():
    event = FileLanded(run_id="r1", dataset="orders", filename="o.csv", landing_uri="u",
                       size_bytes=12_345)  # fmt: skip
    assert summarize(event.SUBJECT, data(event)) == "landed o.csv (12.3 kB)"


def test_progress_says_how_far_a_run_is():
    subject = PROGRESS_SUBJECT.format(run_id="r1")
    figure = {"run_id": "r1", "stage": "ingest", "done": 5_000_000, "total": 20_000_000,
              "unit": "bytes"}  # fmt: skip
    assert summarize(subject, figure) == "ingest: 25% (5.0 MB of 20.0 MB)"
    rows = {"run_id": "r1", "stage": "ingest", "done": 12_000, "total": None, "unit": "rows"}
    assert summarize(subject, rows) == "ingest: 12,000 rows so far"


def test_a_claim_checked_envelope_or_an_unknown_subject_gets_a_plain_line():
    routing = {"run_id": "r1", "dataset": "orders", "content_hash": "h", "filename": "o.csv"}
    assert summarize("bronze.ready", routing, partial=True) == "bronze.ready (orders)"
    assert summarize("other.thing", {"dataset": "d", "status": "odd"}) == "other.thing (d): odd"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["counts", "checks", "models", "timing", "diff",
                                        "error", "done", "total", "extract", "failed"]),
                       st.one_of(st.none(), st.integers(), st.text(max_size=5),
                                 st.lists(st.integers(), max_size=3),
                                 st.dictionaries(st.text(max_size=3), st.integers(),
                                                 max_size=2))))  # fmt: skip
def test_no_payload_makes_a_summary_fail_or_run_long(payload):
    for subject in [*EVENT_TYPES, "dlq.bronze.ready", PROGRESS_SUBJECT.format(run_id="x")]:
        line = summarize(subject, payload)
        assert isinstance(line, str) and 0 < len(line) <= 200


def test_the_publisher_is_the_event_types_source_or_the_consumer_that_gave_up():
    assert publisher("file.landed") == "gateway"
    assert publisher("bronze.ready") == "ingest"
    assert publisher("silver.ready") == "transform"
    assert publisher("quality.checked") == "quality"
    assert publisher("workflow.alert") == "scheduler"
    letter = DeadLettered(run_id="r1", dataset="d", original_subject="bronze.ready",
                          error="x", deliveries=5, consumer="transform--bronze-ready")  # fmt: skip
    assert publisher(subject_of(letter), data(letter)) == "transform"
    assert publisher(PROGRESS_SUBJECT.format(run_id="r1")) == "ingest"  # the permission table
    assert publisher("nobody.sends.this") == "unknown"


def test_an_events_own_time_is_the_end_of_its_stage_or_when_its_file_landed():
    assert occurred_at(data(bronze())) == TIMING.finished_at
    landed = FileLanded(run_id="r1", dataset="d", landing_uri="u", landed_at=T0)
    assert occurred_at(data(landed)) == T0
    assert occurred_at({"finished_at": "2026-05-01T12:00:00"}) == T0  # naive: UTC
    assert occurred_at({"run_id": "r1"}) is None
