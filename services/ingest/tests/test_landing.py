"""The drop zone's rules: which keys are drops, their datasets, run ids, MinIO records."""

from __future__ import annotations

import pytest

from flowforge.ingest.landing import Drop, dataset_for, is_drop, minio_drops, run_id_for


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("landing/sales/orders.csv", True),
        ("landing/orders.csv", True),
        ("landing/sales/2024/01/orders.csv", True),
        ("landing/sales/.orders.csv.swp", False),
        ("landing/sales/orders.csv.part", False),
        ("landing/sales/", False),
        ("uploads/run-1/orders.csv", False),
        ("bronze/sales/run-1.parquet", False),
    ],
)
def test_only_visible_finished_files_under_landing_are_drops(key: str, expected: bool) -> None:
    assert is_drop(key) is expected


@pytest.mark.parametrize(
    ("key", "dataset"),
    [
        ("landing/Sales Data/orders.csv", "sales_data"),
        ("landing/sales/2024/01/orders.csv", "sales"),
        ("landing/Customer-List.csv", "customer_list"),
        ("landing/2024.csv", "d_2024"),
    ],
)
def test_a_drop_lands_in_its_folder_dataset_or_one_named_after_the_file(
    key: str, dataset: str
) -> None:
    assert dataset_for(key) == dataset


def test_one_object_version_has_one_run_id_and_a_new_version_another() -> None:
    first = Drop("landing/sales/a.csv", "etag-1", 10)
    assert run_id_for("s3://lake/", first) == run_id_for("s3://lake/", Drop(*vars(first).values()))
    assert run_id_for("s3://lake/", first) != run_id_for(
        "s3://lake/", Drop(first.key, "etag-2", 10)
    )
    assert run_id_for("s3://lake/", first) != run_id_for("s3://other/", first)


def minio_event(key: str, bucket: str = "lake", name: str = "s3:ObjectCreated:Put") -> dict:
    """A bucket notification as MinIO documents it (keys URL-encoded in records)."""
    return {
        "EventName": name,
        "Key": f"{bucket}/{key}",
        "Records": [
            {
                "eventVersion": "2.0",
                "eventSource": "minio:s3",
                "awsRegion": "",
                "eventTime": "2026-11-26T01:00:00.000Z",
                "eventName": name,
                "userIdentity": {"principalId": "minioadmin"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "Config",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": key.replace("/", "%2F").replace(" ", "+"),
                        "size": 42,
                        "eTag": "0123456789abcdef",
                        "contentType": "text/csv",
                        "sequencer": "17A8F2C3D4E5F6A7",
                    },
                },
            }
        ],
    }


def test_a_minio_put_notification_becomes_a_drop() -> None:
    drops = minio_drops(minio_event("landing/sales data/a b.csv"), "lake")
    assert drops == [Drop("landing/sales data/a b.csv", "0123456789abcdef", 42)]


@pytest.mark.parametrize(
    "event",
    [
        minio_event("landing/sales/a.csv", bucket="other"),
        minio_event("landing/sales/a.csv", name="s3:ObjectRemoved:Delete"),
        minio_event("bronze/sales/a.parquet"),
        {"Records": None},
        {},
    ],
)
def test_other_buckets_deletions_and_keys_outside_landing_are_ignored(event: dict) -> None:
    assert minio_drops(event, "lake") == []
