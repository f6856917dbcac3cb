"""Materializations: their definitions checked, and the SQL of an incremental merge and of an
SCD type 2 snapshot step, run in DuckDB over small tables."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from flowforge.common.errors import BadInputError
from flowforge.transform.materialize import (
    Materialization,
    incremental_sql,
    parse,
    snapshot_sql,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"materialized": "ephemeral"}, "use one of"),
        ({"materialized": "incremental"}, "needs a unique_key"),
        ({"materialized": "snapshot", "unique_key": "id"}, "needs strategy"),
        ({"materialized": "snapshot", "unique_key": "id", "strategy": "timestamp"}, "updated_at"),
        ({"materialized": "snapshot", "unique_key": "id", "strategy": "check"}, "check_cols"),
        ({"materialized": "table", "strategy": "check"}, "for snapshots"),
    ],
)
def test_a_definition_that_cannot_be_built_is_refused_with_the_reason(body, message):
    with pytest.raises(BadInputError, match=message):
        parse(body)


def test_definitions_round_trip_through_their_stored_form():
    mat = parse({"materialized": "snapshot", "unique_key": ["a", "b"], "strategy": "check",
                 "check_cols": "all", "hard_deletes": "invalidate"})  # fmt: skip
    assert Materialization.stored("snapshot", ["a", "b"], mat.config()) == mat
    assert parse({"materialized": "incremental", "unique_key": "id"}).unique_key == ("id",)


def write(con, path, sql: str):
    con.execute(f"COPY ({sql}) TO '{path}'")
    return path


def test_an_incremental_merge_replaces_touched_keys_and_drops_rows_now_filtered_out(tmp_path):
    con = duckdb.connect()
    previous = write(con, tmp_path / "prev.parquet",
                     "SELECT * FROM (VALUES (1, 10), (2, 20), (3, 30)) t(id, v)")  # fmt: skip
    # The changed input rows: id 2 updated, id 3 now filtered out by the model, id 4 new.
    con.execute("CREATE VIEW orders AS SELECT * FROM (VALUES (2, 21, true), (3, 31, false),"
                " (4, 40, true)) t(id, v, keep)")  # fmt: skip
    con.execute("CREATE VIEW __model AS SELECT id, v FROM orders WHERE keep")
    mat = Materialization("incremental", ("id",))
    merged = con.execute(f"{incremental_sql(mat, [previous], 'orders')} ORDER BY id").fetchall()
    assert merged == [(1, 10), (2, 21), (4, 40)]


def test_a_check_snapshot_closes_changed_rows_and_opens_new_ones(tmp_path):
    con = duckdb.connect()
    mat = Materialization("snapshot", ("id",), "check", check_cols=("tier",),
                          hard_deletes="invalidate")  # fmt: skip
    con.execute("CREATE VIEW __model AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, tier)")
    first = write(con, tmp_path / "v0.parquet", snapshot_sql(mat, [], ["id", "tier"], NOW))
    later = datetime(2026, 12, 5, tzinfo=UTC)
    con.execute("CREATE OR REPLACE VIEW __model AS SELECT * FROM (VALUES (1, 'a'), (3, 'c'))"
                " t(id, tier)")  # fmt: skip
    rows = con.execute(
        f"SELECT id, tier, valid_from = TIMESTAMPTZ '{NOW.isoformat()}', valid_to IS NULL,"
        f" is_current FROM ({snapshot_sql(mat, [first], ['id', 'tier'], later)})"
        " ORDER BY id, valid_from"
    ).fetchall()
    assert rows == [
        (1, "a", True, True, True),  # unchanged: still the first version
        (2, "b", True, False, False),  # gone from the result, invalidated: closed
        (3, "c", False, True, True),  # new
    ]


def test_model_tests_in_the_rule_vocabulary_fail_the_build_or_warn():
    from flowforge.transform.modeltests import parse_tests, run_tests

    con = duckdb.connect()
    con.execute("CREATE VIEW countries AS SELECT * FROM (VALUES ('DE'), ('FR')) t(code)")
    con.execute("CREATE VIEW result AS SELECT * FROM (VALUES (1, 'DE', 5), (2, 'XX', -1),"
                " (2, NULL, 3)) t(id, country, amount)")  # fmt: skip
    specs = parse_tests([
        {"type": "unique", "column": "id", "action": "warn"},
        {"type": "not_null", "column": "country", "action": "warn"},
        {"type": "referential", "column": "country", "to": "countries.code", "action": "warn"},
        {"type": "range", "column": "amount", "min": 0, "action": "warn"},
        {"type": "row_count", "min": 1},
        {"type": "sql", "expression": "amount < 100"},
    ], reads=["countries"])  # fmt: skip
    results = {r["type"]: r for r in run_tests(con, "m", specs, "result")}
    assert {t: r["failing"] for t, r in results.items()} == {
        "unique": 2, "not_null": 1, "referential": 1, "range": 1, "row_count": 0,
        "sql": 0}  # fmt: skip
    assert results["unique"]["status"] == "warned" and results["sql"]["status"] == "passed"
    failing = parse_tests([{"type": "accepted_values", "column": "country",
                            "values": ["DE", "FR"]}], reads=[])  # fmt: skip
    with pytest.raises(BadInputError, match="failed its tests .*1 row"):
        run_tests(con, "m", failing, "result")
    with pytest.raises(BadInputError, match="not read by the model"):
        parse_tests([{"type": "referential", "column": "c", "to": "x.y"}], reads=["a"])
    with pytest.raises(BadInputError, match="does not apply to a model"):
        parse_tests([{"type": "freshness", "column": "c", "max_age": "1d"}], reads=[])
