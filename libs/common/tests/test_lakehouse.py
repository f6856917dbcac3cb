"""The lakehouse's Delta tables on a local lake: versions, their data files, history, an
empty version's shape, types Delta lacks, and vacuum."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from flowforge.common.errors import NotFoundError
from flowforge.common.lake import sql_list
from flowforge.common.lakehouse import Lakehouse
from flowforge.common.storage import LakeFiles, LocalObjectStore


def reader(table: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


@pytest.fixture
def lake(tmp_path):
    store = LocalObjectStore(tmp_path / "lake")
    return Lakehouse(store), LakeFiles(store, tmp_path / "cache")


def rows(paths) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet({sql_list(paths)}) ORDER BY 1").fetchall()


def test_each_overwrite_is_a_version_whose_files_are_exactly_its_rows(lake):
    lakehouse, files = lake
    assert lakehouse.open("silver", "orders") is None
    first = lakehouse.overwrite(
        "silver", "orders", reader(pa.table({"id": [1, 2]})), kind="fold", runs=["r1"]
    )
    second = lakehouse.overwrite(
        "silver", "orders", reader(pa.table({"id": [2, 3, 4]})), kind="fold", runs=["r2", "r3"]
    )
    assert (first, second) == (0, 1)
    assert rows(lakehouse.data_paths(files, "silver", "orders", 0)) == [(1,), (2,)]
    assert rows(lakehouse.data_paths(files, "silver", "orders", 1)) == [(2,), (3,), (4,)]
    # Any Delta reader sees the latest version.
    location = lakehouse.location("silver", "orders")
    assert sorted(DeltaTable(location).to_pyarrow_table()["id"].to_pylist()) == [2, 3, 4]
    history = {v.version: v for v in lakehouse.history("silver", "orders")}
    assert history[1].runs == ["r2", "r3"] and history[1].kind == "fold"
    with pytest.raises(NotFoundError):
        lakehouse.data_keys("silver", "orders", 7)


def test_a_version_without_rows_is_read_as_an_empty_relation_of_its_shape(lake):
    lakehouse, files = lake
    empty = pa.table({"id": pa.array([], pa.int64()), "name": pa.array([], pa.string())})
    version = lakehouse.overwrite("gold", "none", reader(empty), kind="build", runs=[])
    paths = lakehouse.data_paths(files, "gold", "none", version)
    relation = duckdb.sql(f"SELECT * FROM read_parquet({sql_list(paths)})")
    assert relation.columns == ["id", "name"] and relation.fetchall() == []


def test_a_time_of_day_column_is_kept_as_iso_text(lake):
    lakehouse, files = lake
    data = pa.table({"at": pa.array([dt.time(10, 30)], pa.time64("us"))})
    version = lakehouse.overwrite("gold", "times", reader(data), kind="build", runs=[])
    assert rows(lakehouse.data_paths(files, "gold", "times", version)) == [("10:30:00.000000",)]


def test_vacuum_removes_what_no_kept_version_reads(lake):
    lakehouse, files = lake
    for n in range(3):
        lakehouse.overwrite("silver", "v", reader(pa.table({"id": [n]})), kind="fold", runs=[])
    old = lakehouse.data_paths(files, "silver", "v", 0)
    kept = lakehouse.data_paths(files, "silver", "v", 1)
    removed = lakehouse.vacuum("silver", "v", timedelta(0), keep=[1])
    assert removed and not any(p.exists() for p in old)
    assert all(p.exists() for p in kept)
    assert rows(lakehouse.data_paths(files, "silver", "v", 2)) == [(2,)]


def test_a_models_pending_merges_win_over_its_table_key_by_key(tmp_path):
    from flowforge.common.lake import ModelRows

    con = duckdb.connect()

    def parquet(name: str, sql: str):
        path = tmp_path / f"{name}.parquet"
        con.execute(f"COPY ({sql}) TO '{path}'")
        return path

    base = parquet("base", "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) t(id, v)")
    first = parquet("m1", "SELECT * FROM (VALUES (2, 'b1', 1, false), (3, NULL, 1, true),"
                    " (4, 'd', 1, false)) t(id, v, _ff_merge_seq, _ff_merge_deleted)")  # fmt: skip
    second = parquet("m2", "SELECT * FROM (VALUES (2, 'b2', 2, false), (3, 'c2', 2, false))"
                     " t(id, v, _ff_merge_seq, _ff_merge_deleted)")  # fmt: skip
    one = ModelRows([base], [first], ["id"])
    assert con.execute(f"{one.sql()} ORDER BY id").fetchall() == [(1, "a"), (2, "b1"), (4, "d")]
    both = ModelRows([base], [first, second], ["id"])
    assert con.execute(f"SELECT * FROM ({both.sql()}) ORDER BY id").fetchall() == [
        (1, "a"), (2, "b2"), (3, "c2"), (4, "d")]  # fmt: skip
    assert ModelRows([base]).sql().startswith("SELECT * FROM read_parquet(")
