"""Dataset names and the one SQL definition of a dataset's valid rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flowforge.common.errors import BadInputError
from flowforge.common.lake import (
    ValidRows,
    bronze_key,
    check_name,
    normalise_name,
    schema_fingerprint,
    upload_key,
)

DAY_1 = datetime(2024, 5, 1, tzinfo=UTC)
DAY_2 = datetime(2024, 5, 2, tzinfo=UTC)


def silver(folder: Path, run_id: str, ingested_at: datetime, rows: list[tuple]) -> Path:
    """A Silver file of (order_id, amount, _source_line) rows of one run."""
    path = folder / f"silver-{run_id}.parquet"
    pl.DataFrame(
        rows,
        schema={"order_id": pl.String, "amount": pl.Int64, "_source_line": pl.Int64},
        orient="row",
    ).with_columns(_run_id=pl.lit(run_id), _ingested_at=pl.lit(ingested_at)).write_parquet(path)
    return path


def quarantine(folder: Path, run_id: str, lines: list[int]) -> Path:
    path = folder / f"quarantine-{run_id}.parquet"
    pl.DataFrame(
        {"_run_id": [run_id] * len(lines), "_source_line": lines, "reason": ["bad"] * len(lines)}
    ).write_parquet(path)
    return path


def valid(rows: ValidRows, columns: str = "order_id, amount, _run_id") -> pl.DataFrame:
    return duckdb.sql(f"SELECT {columns} FROM ({rows.sql()}) ORDER BY order_id").pl()


def orders(rows: list[tuple[str, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"order_id": pl.String, "amount": pl.Int64, "_run_id": pl.String}, orient="row"
    )


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Sales Orders", "sales_orders"),
        ("customerID", "customer_id"),
        ("OrderLines-2024.csv", "order_lines_2024_csv"),
        ("  --weird__name--  ", "weird_name"),
        ("2024 sales", "d_2024_sales"),
        ("café", "caf"),
        ("x" * 100, "x" * 63),
        ("!!!", ""),
    ],
)
def test_names_are_normalised_to_lower_snake_case(raw: str, name: str) -> None:
    assert normalise_name(raw) == name


@settings(max_examples=300, deadline=None)
@given(raw=st.text(max_size=80))
def test_a_non_empty_normalised_name_always_passes_the_check(raw: str) -> None:
    name = normalise_name(raw)

    if name:
        assert check_name(name) == name


@pytest.mark.parametrize("name", ["sales", "s", "order_lines_2024", "a" * 63])
def test_valid_names_pass_the_check(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "Sales", "2024", "_x", "a-b", "a b", "a" * 64, "../x"])
def test_invalid_names_are_bad_input_saying_what_is_allowed(name: str) -> None:
    with pytest.raises(BadInputError, match=r"invalid model name .*lower-case letters"):
        check_name(name, "model")


def test_keys_are_derived_from_the_run() -> None:
    assert upload_key("run-1", "/tmp/up/orders.csv") == "uploads/run-1/orders.csv"
    assert bronze_key("sales", "run-1") == "bronze/sales/run-1.parquet"


def test_a_schema_fingerprint_depends_on_names_types_and_order() -> None:
    fingerprint = schema_fingerprint([("a", "string"), ("b", "int")])

    assert fingerprint == schema_fingerprint([("a", "string"), ("b", "int")])
    assert (
        len(
            {
                fingerprint,
                schema_fingerprint([("b", "int"), ("a", "string")]),
                schema_fingerprint([("a", "string"), ("b", "string")]),
            }
        )
        == 3
    )


def test_no_silver_data_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="no Silver data"):
        ValidRows(silver=[], quarantine=[], key=["order_id"]).sql()


def test_valid_rows_exclude_quarantined_rows_of_the_same_run(tmp_path: Path) -> None:
    run_1 = silver(tmp_path, "run-1", DAY_1, [("a", 1, 2), ("b", 2, 3), ("c", 3, 4)])
    run_2 = silver(tmp_path, "run-2", DAY_2, [("d", 4, 3)])
    # Line 3 of run-1 is bad; line 3 of run-2 is a different row and stays.
    rows = ValidRows([run_1, run_2], [quarantine(tmp_path, "run-1", [3])], key=[])

    assert_frame_equal(
        valid(rows), orders([("a", 1, "run-1"), ("c", 3, "run-1"), ("d", 4, "run-2")])
    )


def test_the_latest_row_per_key_wins_across_files(tmp_path: Path) -> None:
    run_1 = silver(tmp_path, "run-1", DAY_1, [("a", 1, 2), ("b", 2, 3)])
    run_2 = silver(tmp_path, "run-2", DAY_2, [("b", 20, 2), ("c", 30, 3)])

    for files in ([run_1, run_2], [run_2, run_1]):
        rows = ValidRows(files, [], key=["order_id"])
        assert_frame_equal(
            valid(rows), orders([("a", 1, "run-1"), ("b", 20, "run-2"), ("c", 30, "run-2")])
        )


def test_ties_on_ingest_time_go_to_the_later_run_then_the_later_line(tmp_path: Path) -> None:
    run_a = silver(tmp_path, "run-a", DAY_1, [("x", 1, 2), ("x", 2, 3)])
    run_b = silver(tmp_path, "run-b", DAY_1, [("y", 3, 2)])
    run_c = silver(tmp_path, "run-c", DAY_1, [("y", 4, 2)])

    rows = ValidRows([run_a, run_b, run_c], [], key=["order_id"])

    assert_frame_equal(valid(rows), orders([("x", 2, "run-a"), ("y", 4, "run-c")]))


def test_a_quarantined_row_never_wins_its_key(tmp_path: Path) -> None:
    run_1 = silver(tmp_path, "run-1", DAY_1, [("a", 1, 2)])
    run_2 = silver(tmp_path, "run-2", DAY_2, [("a", 99, 2)])

    rows = ValidRows([run_1, run_2], [quarantine(tmp_path, "run-2", [2])], key=["order_id"])

    assert 99 not in valid(rows)["amount"].to_list()


def test_files_with_different_columns_are_united_by_name(tmp_path: Path) -> None:
    run_1 = silver(tmp_path, "run-1", DAY_1, [("a", 1, 2)])
    run_2 = tmp_path / "silver-run-2.parquet"
    pl.DataFrame(
        {
            "note": ["new"],
            "order_id": ["b"],
            "amount": [2],
            "_source_line": [2],
            "_run_id": ["run-2"],
            "_ingested_at": [DAY_2],
        }
    ).write_parquet(run_2)

    result = valid(ValidRows([run_1, run_2], [], key=["order_id"]), "order_id, note")

    assert result.rows() == [("a", None), ("b", "new")]


def test_paths_with_quotes_and_spaces_are_safe_in_the_sql(tmp_path: Path) -> None:
    folder = tmp_path / "o'brien's lake"
    folder.mkdir()
    run_1 = silver(folder, "run-1", DAY_1, [("a", 1, 2), ("b", 2, 3)])

    rows = ValidRows([run_1], [quarantine(folder, "run-1", [3])], key=["order_id"])

    assert_frame_equal(valid(rows), orders([("a", 1, "run-1")]))


def test_pending_rows_beside_the_table_keep_the_latest_per_key(tmp_path: Path) -> None:
    table = silver(tmp_path, "run-1", DAY_1, [("a", 1, 2), ("b", 2, 3), ("c", 3, 4)])
    late = silver(tmp_path, "run-0", DAY_1.replace(day=1, hour=0), [("c", 30, 2)])
    run_2 = silver(tmp_path, "run-2", DAY_2, [("b", 20, 2), ("d", 40, 3)])

    rows = ValidRows([run_2, late], [], key=["order_id"], base=[table])

    assert_frame_equal(
        valid(rows),
        orders([("a", 1, "run-1"), ("b", 20, "run-2"), ("c", 3, "run-1"), ("d", 40, "run-2")]),
    )


def test_the_table_is_scanned_where_used_never_copied_whole(tmp_path: Path) -> None:
    # A materialized copy of the table holds every column of every row: an aggregate over a
    # few columns then costs (and spills) as if it read them all, growing with history.
    table = silver(tmp_path, "run-1", DAY_1, [("a", 1, 2), ("b", 2, 3)])
    run_2 = silver(tmp_path, "run-2", DAY_2, [("b", 20, 2)])
    rows = ValidRows([run_2], [], key=["order_id"], base=[table])

    plan = "\n".join(
        r[1] for r in duckdb.sql(f"EXPLAIN SELECT sum(amount) FROM ({rows.sql()})").fetchall()
    )

    materialized = re.findall(r"CTE Name: *(\w+)", plan)
    # the pending rows, read three times, are kept once; so are the table's rows later than
    # their key's pending row (at most one per pending row, usually none)
    assert materialized == ["p", "o"]


KEYS = ["a", "b", "c", "d", "e", None]


@st.composite
def tables_and_batches(draw):
    """A table (each key once, rows of earlier runs) and 1-3 pending batches (each key once
    per batch), ingest times drawn so a pending row may be older than the table's."""
    times = st.integers(0, 3)
    base = {
        k: (draw(st.integers(-99, 99)), f"run-t{draw(st.integers(0, 2))}", draw(times), line)
        for line, k in enumerate(draw(st.lists(st.sampled_from(KEYS), unique=True)), start=2)
    }
    batches = []
    for number in range(draw(st.integers(1, 3))):
        keys = draw(st.lists(st.sampled_from(KEYS), unique=True, min_size=1))
        rows = [(k, draw(st.integers(-99, 99)), line) for line, k in enumerate(keys, start=2)]
        gone = draw(st.lists(st.sampled_from([r[2] for r in rows]), unique=True))
        batches.append((f"run-p{number}", draw(times), rows, gone))
    return base, batches


@settings(max_examples=150, deadline=None)
@given(case=tables_and_batches())
def test_the_table_and_pending_batches_give_each_key_its_latest_valid_row(tmp_path_factory, case):
    base, batches = case
    folder = tmp_path_factory.mktemp("rows")
    when = [DAY_1.replace(hour=h) for h in range(4)]
    table = folder / "table.parquet"
    pl.DataFrame(
        [(k, a, line, run, when[t]) for k, (a, run, t, line) in base.items()],
        schema={"order_id": pl.String, "amount": pl.Int64, "_source_line": pl.Int64,
                "_run_id": pl.String, "_ingested_at": pl.Datetime("us", "UTC")},
        orient="row",
    ).write_parquet(table)  # fmt: skip
    files, quarantines = [], []
    best = {k: ((when[t], run, line), a, run) for k, (a, run, t, line) in base.items()}
    for run, t, rows, gone in batches:
        files.append(silver(folder, run, when[t], rows))
        quarantines.append(quarantine(folder, run, gone))
        for k, amount, line in rows:
            if line not in gone and (k not in best or (when[t], run, line) > best[k][0]):
                best[k] = ((when[t], run, line), amount, run)
    rows = ValidRows(files, quarantines, key=["order_id"], base=[table] if base else [])

    got = sorted(duckdb.sql(f"SELECT order_id, amount, _run_id FROM ({rows.sql()})").fetchall(),
                 key=repr)  # fmt: skip
    assert got == sorted([(k, a, run) for k, (_, a, run) in best.items()], key=repr)
