"""The CloudEvents envelope, deterministic ids and run fields carried from stage to stage."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowforge.common.errors import PermanentError
from flowforge.common.events import (
    BronzeReady,
    CatalogUpdated,
    Column,
    DeadLettered,
    FileLanded,
    IngestFailed,
    RunCounts,
    StageTiming,
    subject_of,
)

LANDED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TIMING = StageTiming(started_at=LANDED_AT, finished_at=datetime(2024, 5, 1, 12, 0, 3, tzinfo=UTC))


def landed(run_id: str = "run-1", **fields: object) -> FileLanded:
    values = {
        "run_id": run_id,
        "dataset": "sales",
        "content_hash": "abc",
        "filename": "s.csv",
        "key": ["order_id"],
        "landing_uri": "file:///lake/landing/run-1/s.csv",
        "size_bytes": 42,
        "landed_at": LANDED_AT,
        "counts": RunCounts(parsed=3),
    }
    return FileLanded(**(values | fields))


def bronze_ready(previous: FileLanded) -> BronzeReady:
    return BronzeReady.following(
        previous,
        bronze_uri="file:///lake/bronze/sales/run-1.parquet",
        columns=[Column(name="order_id", type="string")],
        schema_fingerprint="f00d",
        encoding="utf-8",
        delimiter=",",
        has_header=True,
        timing=TIMING,
        counts={"rejected": 1, "bronze": 2},
    )


@pytest.mark.parametrize("event", [landed(), bronze_ready(landed())], ids=["landed", "bronze"])
def test_an_event_survives_the_envelope_round_trip(event: FileLanded | BronzeReady) -> None:
    assert type(event).from_bytes(event.to_bytes()) == event


def test_the_envelope_is_structured_mode_cloudevents() -> None:
    event = bronze_ready(landed())

    envelope = json.loads(event.to_bytes())

    assert {k: v for k, v in envelope.items() if k not in ("time", "data")} == {
        "specversion": "1.0",
        "id": "bronze.ready:run-1",
        "source": "/flowforge/ingest",
        "type": "io.flowforge.bronze.ready.v1",
        "subject": "sales",
        "datacontenttype": "application/json",
    }
    assert datetime.fromisoformat(envelope["time"]).tzinfo is not None
    assert envelope["data"]["counts"] == {
        "parsed": 3,
        "rejected": 1,
        "bronze": 2,
        "duplicates": None,
        "silver": None,
        "quarantined": None,
        "valid": None,
        "deleted": None,
    }


def test_an_explicit_time_makes_the_envelope_reproducible() -> None:
    first = landed().to_cloudevent(time=LANDED_AT)
    again = landed().to_cloudevent(time=LANDED_AT)

    assert first == again
    assert first["time"] == "2024-05-01T12:00:00+00:00"


def test_event_ids_depend_only_on_subject_and_run() -> None:
    assert landed().event_id == landed(filename="other.csv", size_bytes=7).event_id
    assert landed().event_id == "file.landed:run-1"
    assert landed("run-2").event_id != landed("run-1").event_id
    assert bronze_ready(landed()).event_id != landed().event_id


def test_dead_letter_and_catalog_ids_name_their_subject_consumer_dataset_and_layer() -> None:
    dead = DeadLettered(
        run_id="run-1",
        dataset="sales",
        original_subject="file.landed",
        error="boom",
        deliveries=5,
        consumer="ingest--file-landed",
    )
    catalog = CatalogUpdated(run_id="run-1", dataset="sales", layer="silver", version=3)

    assert (dead.event_id, subject_of(dead)) == (
        "dlq.file.landed:ingest--file-landed:run-1",
        "dlq.file.landed",
    )
    assert catalog.event_id == "catalog.updated:run-1:sales:silver"
    assert subject_of(catalog) == "catalog.updated"


def test_fields_unknown_to_this_version_are_ignored() -> None:
    envelope = json.loads(landed().to_bytes())
    envelope["data"]["added_later"] = {"nested": True}

    assert FileLanded.from_bytes(json.dumps(envelope).encode()) == landed()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"null",
        b"[]",
        b'"text"',
        b"1",
        b"{}",
        b'{"data": []}',
        b'{"data": null}',
        b'{"data": {"run_id": "r"}}',
        b'{"data": {"run_id": "r", "dataset": "d", "landing_uri": "u", "size_bytes": "many"}}',
    ],
)
def test_a_malformed_payload_is_a_permanent_error(body: bytes) -> None:
    with pytest.raises(PermanentError, match="malformed file.landed event"):
        FileLanded.from_bytes(body)


def test_a_deeply_nested_payload_is_a_permanent_error_too() -> None:
    with pytest.raises(PermanentError, match="malformed file.landed event"):
        FileLanded.from_bytes(b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_arbitrary_bytes_never_raise_anything_but_a_permanent_error(body: bytes) -> None:
    with pytest.raises(PermanentError):
        FileLanded.from_bytes(body)


def test_the_following_event_carries_the_run_fields() -> None:
    previous = landed()

    following = bronze_ready(previous)

    assert (
        following.run_id,
        following.dataset,
        following.content_hash,
        following.filename,
        following.key,
    ) == ("run-1", "sales", "abc", "s.csv", ["order_id"])


def test_the_following_event_merges_counts_without_touching_the_previous_one() -> None:
    previous = landed(counts=RunCounts(parsed=10, rejected=1))

    following = IngestFailed.following(
        previous, stage="ingest", error="bad", counts={"bronze": 9, "rejected": 2}
    )

    assert following.counts == RunCounts(parsed=10, rejected=2, bronze=9)
    assert previous.counts == RunCounts(parsed=10, rejected=1)


def test_the_following_event_does_not_share_the_key_list() -> None:
    previous = landed()

    following = IngestFailed.following(previous, stage="ingest", error="bad")
    following.key.append("line")

    assert previous.key == ["order_id"]


def test_explicit_fields_override_the_carried_ones() -> None:
    following = IngestFailed.following(landed(), stage="ingest", error="bad", filename="x.csv")

    assert (following.filename, following.run_id) == ("x.csv", "run-1")
