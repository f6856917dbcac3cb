"""Structural checks of one Silver batch: row count, null key parts, repeated keys."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from polars.testing import assert_frame_equal

from flowforge.quality.structural import QUARANTINE_SCHEMA, Verdict, check_batch


def silver(columns: dict[str, list]) -> pl.DataFrame:
    """A typed Silver batch with the lineage columns transform keeps."""
    n = len(next(iter(columns.values())))
    return pl.DataFrame(
        {
            **columns,
            "_source_file": pl.Series(["orders.csv"] * n, dtype=pl.String),
            "_source_line": pl.Series(range(2, n + 2), dtype=pl.Int64),
            "_ingested_at": pl.Series(
                [datetime(2024, 5, 1, tzinfo=UTC)] * n, dtype=pl.Datetime("us", "UTC")
            ),
            "_run_id": pl.Series(["run-1"] * n, dtype=pl.String),
        }
    )


def statuses(verdict: Verdict) -> dict[str, str]:
    return {check.name: check.status for check in verdict.checks}


def test_an_empty_batch_fails():
    empty = silver({"id": pl.Series([], dtype=pl.Int64)})
    verdict = check_batch(empty, ["id"])
    assert verdict.verdict == "failed"
    assert statuses(verdict)["row_count > 0"] == "failed"
    assert verdict.quarantined == 0


def test_a_batch_without_a_key_passes():
    verdict = check_batch(silver({"id": [1, 1], "name": ["a", None]}), [])
    assert verdict.verdict == "passed"
    assert statuses(verdict) == {"row_count > 0": "passed"}
    assert verdict.quarantine.height == 0 and verdict.quarantined == 0


def test_a_batch_with_a_unique_non_null_key_passes():
    verdict = check_batch(silver({"id": [1, 2, 3]}), ["id"])
    assert verdict.verdict == "passed"
    assert set(statuses(verdict).values()) == {"passed"}


def test_rows_with_a_null_key_part_are_quarantined_and_the_batch_warned():
    batch = silver({"region": ["eu", None, "us", None], "id": [1, 2, None, None]})
    verdict = check_batch(batch, ["region", "id"])

    expected = pl.DataFrame(
        {
            "_run_id": ["run-1"] * 3,
            "_source_file": ["orders.csv"] * 3,
            "_source_line": [3, 4, 5],
            "rule": ["key_not_null"] * 3,
            "column": ["region", "id", "region"],
            "value": [None] * 3,
            "reason": [
                "key column region is null",
                "key column id is null",
                "key column region is null",
            ],
        },
        schema=QUARANTINE_SCHEMA,
    )
    assert_frame_equal(verdict.quarantine, expected)
    assert verdict.verdict == "warned"
    assert verdict.quarantined == 3
    check = next(c for c in verdict.checks if c.name.startswith("key not null"))
    assert (check.status, check.failed_rows) == ("warned", 3)


def test_a_repeated_key_fails_the_batch():
    verdict = check_batch(silver({"id": [1, 2, 1, 2, 3]}), ["id"])
    assert verdict.verdict == "failed"
    check = next(c for c in verdict.checks if c.name.startswith("key unique"))
    assert (check.status, check.failed_rows) == ("failed", 2)


def test_rows_sharing_a_null_key_are_quarantined_not_counted_as_repeats():
    verdict = check_batch(silver({"id": [None, None, 1]}), ["id"])
    assert verdict.verdict == "warned"
    assert statuses(verdict)["key unique (id)"] == "passed"


def test_a_key_column_missing_from_the_batch_fails_it():
    verdict = check_batch(silver({"id": [1]}), ["order_id"])
    assert verdict.verdict == "failed"
    assert statuses(verdict)["key present"] == "failed"


def test_quarantined_counts_each_source_line_once():
    rows = pl.DataFrame(
        {
            "_run_id": ["run-1"] * 3,
            "_source_file": ["orders.csv"] * 3,
            "_source_line": [7, 7, 9],
            "rule": ["key_not_null", "amount_positive", "key_not_null"],
            "column": ["id", "amount", "id"],
            "value": [None, "-1", None],
            "reason": ["", "", ""],
        },
        schema=QUARANTINE_SCHEMA,
    )
    assert Verdict(verdict="warned", checks=[], quarantine=rows).quarantined == 2
