"""The lakehouse's Delta tables on a local lake: versions, their data files, history, an
empty version's shape, types Delta lacks, and vacuum."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_a_one_column_key_is_written_without_a_dictionary_the_other_columns_with(lake):
    import pyarrow.parquet as pq

    lakehouse, files = lake
    table = pa.table({"id": list(range(5_000)), "country": ["DE", "FR"] * 2_500})

    def encodings(name: str, key: list[str] | None) -> dict[str, tuple]:
        version = lakehouse.overwrite("silver", name, reader(table), kind="fold", runs=[],
                                      key=key)  # fmt: skip
        (path,) = lakehouse.data_paths(files, "silver", name, version)
        group = pq.ParquetFile(path).metadata.row_group(0)
        return {group.column(i).path_in_schema: group.column(i).encodings for i in range(2)}

    keyed = encodings("keyed", ["id"])
    assert "RLE_DICTIONARY" not in keyed["id"] and "RLE_DICTIONARY" in keyed["country"]
    assert "RLE_DICTIONARY" in encodings("unkeyed", None)["id"]
    # a key of several columns: each may repeat, each keeps its dictionary
    assert "RLE_DICTIONARY" in encodings("composite", ["id", "country"])["id"]
    assert rows(lakehouse.data_paths(files, "silver", "keyed", 0))[:2] == [(0, "DE"), (1, "FR")]


def test_a_table_kept_open_between_commits_sees_another_writers_commits(lake):
    """The process keeps the tables it writes open; a commit by another process (a second
    transform replica) in between is read before the next commit, whose version follows it."""
    from deltalake import write_deltalake

    lakehouse, files = lake
    assert lakehouse.overwrite("gold", "m", reader(pa.table({"id": [1]})), kind="build",
                               runs=[]) == 0  # fmt: skip
    write_deltalake(lakehouse.location("gold", "m"), pa.table({"id": [7, 8]}), mode="overwrite")
    assert lakehouse.overwrite("gold", "m", reader(pa.table({"id": [9]})), kind="build",
                               runs=[]) == 2  # fmt: skip
    assert rows(lakehouse.data_paths(files, "gold", "m", 1)) == [(7,), (8,)]
    assert rows(lakehouse.data_paths(files, "gold", "m", 2)) == [(9,)]
    history = [v.version for v in lakehouse.history("gold", "m")]
    assert history == [2, 1, 0]


def test_a_written_versions_files_are_known_without_reading_the_log_again(lake, monkeypatch):
    """`overwrite` remembers the files of the version it wrote (the table object holds them):
    the same list a reader gets from the log, also after another writer's commit."""
    from deltalake import write_deltalake

    from flowforge.common import lakehouse as module

    lakehouse, files = lake
    lakehouse.overwrite("gold", "k", reader(pa.table({"id": [1]})), kind="build", runs=[])
    write_deltalake(lakehouse.location("gold", "k"), pa.table({"id": [5, 6]}), mode="overwrite")
    version = lakehouse.overwrite(
        "gold", "k", reader(pa.table({"id": [2, 3]})), kind="build", runs=[]
    )
    opened = []
    real_open = lakehouse.open
    monkeypatch.setattr(lakehouse, "open", lambda *a: opened.append(a) or real_open(*a))
    remembered = lakehouse.data_keys("gold", "k", version)
    assert not opened  # known from the write
    monkeypatch.setattr(module, "_DATA_KEYS", {})
    assert lakehouse.data_keys("gold", "k", version) == remembered  # read from the log now
    assert opened and rows(lakehouse.data_paths(files, "gold", "k", version)) == [(2,), (3,)]


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


_key_part = st.one_of(st.none(), st.integers(0, 5))


@settings(max_examples=60, deadline=None)
@given(
    base=st.lists(st.tuples(_key_part, _key_part), max_size=12),
    merges=st.lists(
        st.lists(st.tuples(_key_part, _key_part, st.booleans()), min_size=1, max_size=8),
        min_size=1,
        max_size=4,
    ),
)
def test_a_merges_row_delta_matches_a_count_of_all_rows(tmp_path_factory, base, merges):
    """The rows a model has after each merge, counted from the rows before it and what that
    merge changed, equal a count of all its rows (NULL and composite keys, keys repeated in
    the table or in a merge, tombstones of keys the table never had)."""
    from flowforge.common.lake import ModelRows

    folder = tmp_path_factory.mktemp("delta")
    con = duckdb.connect()

    def parquet(name: str, rows: list[tuple], merge: bool) -> Path:
        path = folder / f"{name}.parquet"
        cols = "a, b, v, _ff_merge_seq, _ff_merge_deleted" if merge else "a, b, v"
        values = ", ".join(
            "(" + ", ".join("NULL" if x is None else str(x).lower() for x in row) + ")"
            for row in rows
        )
        select = (
            f"SELECT * FROM (VALUES {values}) t({cols})"
            if rows
            else "SELECT 1::INT AS a, 1::INT AS b, 1 AS v LIMIT 0"
        )
        types = "a::INT AS a, b::INT AS b, v::INT AS v"
        extra = ", _ff_merge_seq::INT AS _ff_merge_seq, _ff_merge_deleted" if merge else ""
        con.execute(f"COPY (SELECT {types}{extra} FROM ({select})) TO '{path}'")
        return path

    table = parquet("base", [(a, b, i) for i, (a, b) in enumerate(base)], merge=False)
    pending: list[Path] = []
    rows = len(base)
    for seq, merge in enumerate(merges, start=1):
        written = [(a, b, i, seq, deleted) for i, (a, b, deleted) in enumerate(merge)]
        # a merge has one tombstone per key it no longer has, never beside a row of that key
        alive = {(a, b) for a, b, _, _, d in written if not d}
        written = [r for r in written if not r[4] or (r[0], r[1]) not in alive]
        tombstones = {(r[0], r[1]) for r in written if r[4]}
        written = [r for r in written if not r[4]] + [(*k, 0, seq, True) for k in tombstones]
        pending.append(parquet(f"m{seq}", written, merge=True))
        state = ModelRows([table], list(pending), ["a", "b"])
        rows += con.execute(state.last_merge_delta_sql()).fetchone()[0]
        assert rows == con.execute(f"SELECT count(*) FROM ({state.sql()})").fetchone()[0]
