"""Gold models: dependencies, build order, building over valid Silver rows, analytics views."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flowforge.common.errors import BadInputError
from flowforge.common.lake import ValidRows
from flowforge.common.models import model_references, sandboxed
from flowforge.transform.gold import Model, build_model, build_order, refresh_analytics

TOTALS_SQL = (
    "SELECT customer, CAST(sum(amount) AS BIGINT) AS total FROM orders"
    " GROUP BY customer ORDER BY customer"
)


def model(name: str, *depends_on: str, sql: str = "SELECT 1") -> Model:
    return Model(name=name, sql=sql, depends_on=depends_on)


def write_silver(path: Path, run_id: str, rows: list[tuple[int, str, int]], day: int = 1) -> Path:
    """A Silver batch of orders (order_id, customer, amount) with its lineage columns."""
    pl.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "customer": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "_source_file": ["orders.csv"] * len(rows),
            "_source_line": list(range(2, len(rows) + 2)),
            "_ingested_at": [datetime(2024, 5, day, tzinfo=UTC)] * len(rows),
            "_run_id": [run_id] * len(rows),
        }
    ).write_parquet(path)
    return path


def write_quarantine(path: Path, run_id: str, lines: list[int]) -> Path:
    pl.DataFrame(
        {"_run_id": [run_id] * len(lines), "_source_line": lines},
        schema={"_run_id": pl.String, "_source_line": pl.Int64},
    ).write_parquet(path)
    return path


@pytest.fixture
def orders(tmp_path: Path) -> ValidRows:
    """Three orders; the one on line 3 (bob, 500) is quarantined."""
    silver = write_silver(
        tmp_path / "silver.parquet", "run-1", [(1, "ann", 10), (2, "bob", 500), (3, "bob", 7)]
    )
    quarantine = write_quarantine(tmp_path / "quarantine.parquet", "run-1", [3])
    return ValidRows(silver=[silver], quarantine=[quarantine], key=["order_id"])


def test_references_lists_every_table_a_query_reads_lower_cased():
    sql = (
        "SELECT o.id FROM Orders o JOIN customers c ON o.customer = c.id"
        " WHERE o.id IN (SELECT order_id FROM refunds)"
    )
    assert model_references(sql) == ["customers", "orders", "refunds"]


def test_references_of_sql_that_does_not_parse_raise_bad_input():
    with pytest.raises(BadInputError, match="does not parse"):
        model_references("SELEC nonsense")


def test_build_order_returns_only_models_affected_by_the_dataset_in_dependency_order():
    models = {
        "daily": model("daily", "totals"),
        "totals": model("totals", "orders"),
        "by_region": model("by_region", "customers"),
        "report": model("report", "daily", "customers"),
    }
    assert build_order(models, "orders") == ["totals", "daily", "report"]
    assert build_order(models, "customers") in (
        ["by_region", "report"],
        ["report", "by_region"],
    )
    assert build_order(models, "shipments") == []


def test_build_order_raises_bad_input_on_a_cycle():
    models = {"a": model("a", "b", "orders"), "b": model("b", "a")}
    with pytest.raises(BadInputError, match="cycle"):
        build_order(models, "orders")


def test_build_model_aggregates_valid_rows_and_excludes_quarantined_ones(orders, tmp_path):
    out = tmp_path / "totals.parquet"
    built = build_model(model("totals", "orders", sql=TOTALS_SQL), {"orders": orders}, {}, out)
    expected = pl.DataFrame({"customer": ["ann", "bob"], "total": [10, 7]})
    assert_frame_equal(pl.read_parquet(out), expected)
    assert (built.name, built.path, built.rows) == ("totals", out, 2)
    assert built.columns == [("customer", "varchar"), ("total", "bigint")]


def test_build_model_keeps_the_latest_row_per_key_across_batches(tmp_path):
    first = write_silver(tmp_path / "r1.parquet", "run-1", [(1, "ann", 10), (2, "bob", 5)])
    second = write_silver(tmp_path / "r2.parquet", "run-0", [(1, "ann", 99)], day=2)
    rows = ValidRows(silver=[first, second], quarantine=[], key=["order_id"])
    out = tmp_path / "totals.parquet"
    build_model(model("totals", "orders", sql=TOTALS_SQL), {"orders": rows}, {}, out)
    expected = pl.DataFrame({"customer": ["ann", "bob"], "total": [99, 5]})
    assert_frame_equal(pl.read_parquet(out), expected)


def test_build_model_reads_a_model_built_before_it(orders, tmp_path):
    totals = tmp_path / "totals.parquet"
    build_model(model("totals", "orders", sql=TOTALS_SQL), {"orders": orders}, {}, totals)
    top = model("top", "totals", sql="SELECT customer FROM totals ORDER BY total DESC LIMIT 1")
    out = tmp_path / "top.parquet"
    built = build_model(top, {}, {"totals": totals}, out)
    assert_frame_equal(pl.read_parquet(out), pl.DataFrame({"customer": ["ann"]}))
    assert built.rows == 1


def test_build_model_raises_bad_input_naming_the_model_when_its_sql_fails(orders, tmp_path):
    broken = model("revenue", "orders", sql="SELECT no_such_column FROM orders")
    with pytest.raises(BadInputError, match="'revenue'"):
        build_model(broken, {"orders": orders}, {}, tmp_path / "revenue.parquet")


def test_refresh_analytics_creates_a_queryable_view_per_layer(orders, tmp_path):
    bronze = tmp_path / "bronze.parquet"
    pl.DataFrame({"order_id": ["1", "2", "3"], "_run_id": ["run-1"] * 3}).write_parquet(bronze)
    gold = tmp_path / "totals.parquet"
    build_model(model("totals", "orders", sql=TOTALS_SQL), {"orders": orders}, {}, gold)
    db = tmp_path / "analytics.duckdb"

    refresh_analytics(db, {"orders": [bronze]}, {"orders": orders}, {"totals": gold})
    refresh_analytics(db, {"orders": [bronze]}, {"orders": orders}, {"totals": gold})

    con = duckdb.connect(str(db), read_only=True)
    try:
        count = lambda view: con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]  # noqa: E731
        assert count("bronze_orders") == 3
        assert count("silver_orders") == 2  # the quarantined row is not a valid row
        assert con.execute("SELECT sum(total) FROM gold_totals").fetchone()[0] == 17
    finally:
        con.close()


def test_a_failed_refresh_leaves_the_file_and_the_next_refresh_works(orders, tmp_path):
    """A view model over the other views; a refresh whose view cannot be bound fails alone
    (the file keeps the last good views) and the one after it writes the file again."""
    db = tmp_path / "analytics.duckdb"
    over = {"n": "SELECT count(*) AS n FROM silver_orders"}
    refresh_analytics(db, {}, {"orders": orders}, {}, over)
    with pytest.raises(duckdb.Error):
        refresh_analytics(db, {}, {"orders": orders}, {}, {"n": "SELECT nope FROM silver_orders"})
    refresh_analytics(
        db, {}, {"orders": orders}, {}, {**over, "m": "SELECT n + 1 AS m FROM gold_n"}
    )
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT n FROM gold_n").fetchone()[0] == 2
        assert con.execute("SELECT m FROM gold_m").fetchone()[0] == 3
    finally:
        con.close()


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT 1; COPY (SELECT 1) TO '/tmp/x.csv'", "2 statements"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY statement"),
        ("CREATE TABLE t AS SELECT 1", "CREATE statement"),
    ],
)
def test_a_model_is_exactly_one_select(sql: str, problem: str) -> None:
    with pytest.raises(BadInputError, match=problem):
        model_references(sql)


def test_a_model_cannot_read_files_outside_its_inputs(tmp_path: Path) -> None:
    secret = tmp_path.parent / "secret.txt"
    secret.write_text("password=hunter2")
    model = Model("leak", f"SELECT content FROM read_text('{secret}')", ())
    out = tmp_path / "out" / "leak.parquet"
    out.parent.mkdir()
    with pytest.raises(BadInputError, match="table function read_text is not allowed"):
        build_model(model, {}, {}, out)
    # and were the check passed, the sandbox it runs in refuses the file all the same
    con = sandboxed([out.parent])
    with pytest.raises(duckdb.Error, match="[Pp]ermission|not allowed|disabled"):
        con.execute(f"SELECT content FROM read_text('{secret}')").fetchall()


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv is not allowed"),
        ("SELECT * FROM orders, read_parquet('s3://b/k.parquet')", "read_parquet is not allowed"),
        ("SELECT * FROM '/etc/passwd'", "'/etc/passwd' is not a dataset or model name"),
        ("SELECT * FROM 'https://example.com/x.parquet'", "is not a dataset or model name"),
        ("SELECT * FROM (SELECT * FROM glob('/root/*'))", "glob is not allowed"),
    ],
)
def test_a_model_check_refuses_file_readers_without_opening_anything(sql: str, problem: str):
    with pytest.raises(BadInputError, match=problem):
        model_references(sql)


def test_a_model_may_make_rows_and_name_its_own_ctes():
    sql = (
        "WITH days AS (SELECT * FROM range(DATE '2026-01-01', DATE '2026-02-01', INTERVAL 1 DAY)"
        " t(day)) SELECT day, count(o.id) FROM days LEFT JOIN orders o ON o.day = days.day"
        " CROSS JOIN unnest([1, 2]) u(x) GROUP BY day"
    )
    assert model_references(sql) == ["orders"]


def test_a_model_past_its_time_limit_is_interrupted_with_the_reason(tmp_path: Path) -> None:
    import time

    from flowforge.transform.limits import Deadline

    model = Model(
        "forever",
        "SELECT sum(a.range * b.range) AS s FROM range(100000000) a, range(100000000) b",
        (),
    )
    out = tmp_path / "out" / "forever.parquet"
    out.parent.mkdir()
    began = time.monotonic()
    with pytest.raises(BadInputError, match=r"forever.*stopped after 1 s.*FLOWFORGE_MODEL"):
        build_model(model, {}, {}, out, "b1", Deadline(1.0, "the build", "FLOWFORGE_MODEL_TIMEOUT"))
    assert time.monotonic() - began < 10


def test_a_bronze_view_reads_files_of_different_columns_by_name(tmp_path):
    # Files of one set of columns are read as they are; a file with other columns (a source
    # that gained one) makes the view match columns by name.
    first, second, third = (tmp_path / f"b{i}.parquet" for i in range(3))
    pl.DataFrame({"id": ["1"], "name": ["a"]}).write_parquet(first)
    pl.DataFrame({"id": ["2"], "name": ["b"]}).write_parquet(second)
    pl.DataFrame({"name": ["c"], "id": ["3"], "extra": ["x"]}).write_parquet(third)
    db = tmp_path / "analytics.duckdb"
    two = [("1", "a"), ("2", "b")]
    for files, want in (([first, second], two), ([first, second, third], [("3", "c", "x")])):
        refresh_analytics(db, {"orders": files}, {}, {})
        con = duckdb.connect(str(db), read_only=True)
        try:
            rows = con.execute("SELECT * FROM bronze_orders ORDER BY id").fetchall()
        finally:
            con.close()
        assert rows == want if len(files) == 2 else rows == [(*r, None) for r in two] + want


def test_refresh_analytics_is_not_blocked_by_another_process_reading_the_file(orders, tmp_path):
    db = tmp_path / "analytics.duckdb"
    first = tmp_path / "first.parquet"
    pl.DataFrame({"n": [1]}).write_parquet(first)
    refresh_analytics(db, {}, {}, {"totals": first})
    # Another process (a BI tool, a notebook) keeps the file open for reading.
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(con.execute('SELECT count(*) FROM gold_totals').fetchone()[0], flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        with pytest.raises(duckdb.IOException):  # what a refresh in place would meet
            duckdb.connect(str(db)).close()
        second = tmp_path / "second.parquet"
        pl.DataFrame({"n": [1, 2, 3]}).write_parquet(second)
        refresh_analytics(db, {}, {}, {"totals": second})
    finally:
        reader.communicate("")
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM gold_totals").fetchone()[0] == 3
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir() if "analytics" in p.name) == [
        "analytics.duckdb",
        "analytics.duckdb.lock",
    ]


def test_a_built_model_knows_which_input_columns_each_output_column_comes_from(orders, tmp_path):
    sql = (
        "WITH big AS (SELECT * FROM orders WHERE amount > 1) "
        "SELECT order_id AS id, amount * 2 AS doubled, count(*) OVER () AS n, 'x' AS tag FROM big"
    )
    built = build_model(
        model("lineage", "orders", sql=sql), {"orders": orders}, {}, tmp_path / "l.parquet"
    )
    assert built.column_lineage == {
        "id": [["orders", "order_id"]],
        "doubled": [["orders", "amount"]],
        "n": [],
        "tag": [],
    }


def test_sql_sqlglot_cannot_follow_gives_no_lineage_and_still_builds(orders, tmp_path):
    from flowforge.transform.lineage import column_lineage

    assert column_lineage("SELECT * FROM orders QUALIFY ??? broken", {"orders": {"a": "INT"}}) == {}
    sql = "SELECT order_id, list_transform([1, 2], lambda x: x + 1) AS l FROM orders"
    built = build_model(
        model("odd", "orders", sql=sql), {"orders": orders}, {}, tmp_path / "o.parquet"
    )
    assert built.rows == 2 and built.column_lineage["order_id"] == [["orders", "order_id"]]


def test_column_lineage_is_remembered_per_sql_and_schema_and_never_shared():
    from flowforge.transform.lineage import _lineage, column_lineage

    sql = "SELECT a * 2 AS x, b FROM t"
    first = column_lineage(sql, {"t": {"a": "INTEGER", "b": "VARCHAR"}})
    assert first == {"x": [["t", "a"]], "b": [["t", "b"]]}
    hits = _lineage.cache_info().hits
    first["x"].append(["t", "changed by a caller"])
    assert column_lineage(sql, {"t": {"a": "INTEGER", "b": "VARCHAR"}}) == {
        "x": [["t", "a"]],
        "b": [["t", "b"]],
    }
    assert _lineage.cache_info().hits == hits + 1
    # another schema is another answer: a star expands to its columns, in their order
    star = column_lineage("SELECT * FROM t", {"t": {"b": "VARCHAR", "c": "INTEGER"}})
    assert list(star) == ["b", "c"]
