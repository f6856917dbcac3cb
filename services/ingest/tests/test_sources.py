"""Source databases, the pure parts: what a source query may be, how each engine's types
become Silver specs, and the SQL of an incremental window for every engine."""

from __future__ import annotations

import pytest

from flowforge.common.errors import BadInputError
from flowforge.ingest.sources.config import check_query, parse
from flowforge.ingest.sources.dialects import DIALECTS, mssql_spec, my_spec, oracle_spec, pg_spec


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM orders",
        "  with recent AS (SELECT * FROM orders) SELECT id FROM recent;",
        "SELECT 'DELETE FROM x; DROP TABLE y' AS note, \"update\" FROM t -- insert\n",
        "SELECT /* drop table */ id FROM t WHERE created > now() - interval '1 day'",
    ],
)
def test_read_only_queries_pass(query):
    assert check_query(query).lower().lstrip().startswith(("select", "with"))


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("DELETE FROM orders", "SELECT"),
        ("SELECT 1; DROP TABLE orders", "one statement"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "'DELETE'"),
        ("SELECT * INTO backup FROM orders", "'INTO'"),
        ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
        ("SELECT set_config('a', 'b', false)", None),  # a function call, not SET: allowed
        ("SELECT id, comment, replace(name, 'a', 'b') FROM t", None),  # common column names
        ("EXEC sp_who", "SELECT"),
        ("", "SELECT"),
    ],
)
def test_queries_that_write_are_refused_naming_why(query, reason):
    if reason is None:
        assert check_query(query)
        return
    with pytest.raises(BadInputError, match=reason):
        check_query(query)


def test_a_source_needs_exactly_one_of_table_and_query_and_a_cursor_when_incremental():
    base = {"dataset": "orders", "connection": "shop"}
    with pytest.raises(BadInputError, match="exactly one"):
        parse({**base, "table": "t", "query": "SELECT 1"})
    with pytest.raises(BadInputError, match="needs a `cursor`"):
        parse({**base, "table": "t", "mode": "incremental"})
    with pytest.raises(BadInputError, match="one column for now"):
        parse({**base, "table": "t", "mode": "incremental", "cursor": ["a", "b"]})
    got = parse({**base, "table": "t", "mode": "incremental", "cursor": ["at"], "lookback": 5})
    assert (got["cursor"], got["lookback"]) == ("at", 5.0)


@pytest.mark.parametrize(
    ("engine", "source", "spec"),
    [
        ("pg", ("bigint",), "integer"),
        ("pg", ("numeric(12,2)",), "decimal:2"),
        ("pg", ("numeric(40,2)",), "string"),
        ("pg", ("numeric",), "decimal"),
        ("pg", ("timestamp with time zone",), "timestamptz:us"),
        ("pg", ("timestamp(3) without time zone",), "timestamp:us"),
        ("pg", ("date",), "date:%Y-%m-%d"),
        ("pg", ("uuid",), "string"),
        ("pg", ("character varying(5)",), "string"),
        ("my", ("int", 10, 0, "int(11)"), "integer"),
        ("my", ("bigint", 20, 0, "bigint(20) unsigned"), "string"),
        ("my", ("decimal", 14, 4, "decimal(14,4)"), "decimal:4"),
        ("my", ("datetime", None, None, "datetime(6)"), "timestamp:us"),
        ("my", ("timestamp", None, None, "timestamp"), "timestamptz:us"),
        ("ms", ("decimal", 18, 2), "decimal:2"),
        ("ms", ("money",), "decimal:4"),
        ("ms", ("bit",), "boolean"),
        ("ms", ("datetime2",), "timestamp:us"),
        ("ms", ("datetimeoffset",), "timestamptz:us"),
        ("ms", ("uniqueidentifier",), "string"),
        ("ms", ("nvarchar",), "string"),
        ("ora", ("NUMBER", 10, 0), "integer"),
        ("ora", ("NUMBER", 12, 3), "decimal:3"),
        ("ora", ("NUMBER", None, None), "decimal"),
        ("ora", ("DATE",), "timestamp:us"),
        ("ora", ("TIMESTAMP(6) WITH TIME ZONE",), "timestamptz:us"),
        ("ora", ("VARCHAR2",), "string"),
        ("ora", ("BINARY_DOUBLE",), "double"),
    ],
)
def test_each_engine_s_types_map_to_silver_specs(engine, source, spec):
    mapper = {"pg": pg_spec, "my": my_spec, "ms": mssql_spec, "ora": oracle_spec}[engine]
    assert mapper(*source) == spec


def test_identifiers_are_quoted_with_their_quote_doubled():
    assert DIALECTS["postgresql"].table("sales", 'we"ird') == '"sales"."we""ird"'
    assert DIALECTS["mysql"].ident("a`b") == "`a``b`"
    assert DIALECTS["sqlserver"].table("dbo", "x]y") == "[dbo].[x]]y]"
    assert DIALECTS["oracle"].ident("ORDERS") == '"ORDERS"'
    # Oracle folds unquoted names to upper case: a plain lower-case name means that one.
    assert DIALECTS["oracle"].table("hr", "employees") == '"HR"."EMPLOYEES"'
    assert DIALECTS["oracle"].ident("Mixed Case") == '"Mixed Case"'


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "postgresql",
            [
                '"at" > (CAST($1::text AS timestamptz) - CAST($2::text AS double '
                "precision) * interval '1 second')",
                '"at" <= CAST($3::text AS timestamptz)',
            ],
        ),
        (
            "mysql",
            [
                "`at` > (CAST(%s AS timestamptz) - INTERVAL %s SECOND)",
                "`at` <= CAST(%s AS timestamptz)",
            ],
        ),
        (
            "sqlserver",
            [
                "[at] > DATEADD(millisecond, -CAST(%s * 1000 AS bigint), CAST(%s AS timestamptz))",
                "[at] <= CAST(%s AS timestamptz)",
            ],
        ),
        (
            "oracle",
            [
                '"AT" > (TO_TIMESTAMP_TZ(:p1, \'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM\') - '
                "NUMTODSINTERVAL(:p2, 'SECOND'))",
                '"AT" <= TO_TIMESTAMP_TZ(:p3, \'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM\')',
            ],
        ),
    ],
)
def test_an_incremental_window_for_every_engine(kind, expected):
    conditions, params = DIALECTS[kind].window(
        "at", "timestamptz", True, "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00", 60
    )
    lookback = "60" if kind == "postgresql" else 60
    assert params == ["2026-01-01T00:00:00+00:00", lookback, "2026-02-01T00:00:00+00:00"]
    if kind == "sqlserver":  # DATEADD takes the amount first in its text
        assert conditions[1] == expected[1]
        assert conditions[0].startswith("[at] > DATEADD(millisecond")
        return
    assert conditions == expected


def test_a_window_without_a_lower_bound_reads_up_to_the_top_only():
    conditions, params = DIALECTS["postgresql"].window("id", "bigint", False, None, "42", 0)
    assert conditions == ['"id" <= CAST($1::text AS bigint)'] and params == ["42"]


def test_first_rows_for_every_engine():
    assert DIALECTS["sqlserver"].limit("SELECT * FROM t", 5) == "SELECT TOP (5) * FROM t"
    assert (
        DIALECTS["oracle"].limit("SELECT * FROM t", 5) == "SELECT * FROM t FETCH FIRST 5 ROWS ONLY"
    )
    assert DIALECTS["mysql"].limit("SELECT * FROM t", 5) == "SELECT * FROM t LIMIT 5"


def test_dbapi_values_become_the_text_their_database_prints():
    import datetime as dt
    import decimal
    import uuid

    from flowforge.ingest.sources.dbapi import _text

    utc = dt.UTC
    assert _text(decimal.Decimal("0.000000010")) == "0.000000010"  # never 1E-8
    assert _text(decimal.Decimal("12345678901234567890.12")) == "12345678901234567890.12"
    assert (
        _text(dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=utc)) == "2026-01-02 03:04:05.000006+00:00"
    )
    assert _text(dt.date(2026, 1, 2)) == "2026-01-02" and _text(True) == "true"
    assert _text(0.1) == "0.1" and _text(b"\x00\xff") == "0x00FF" and _text("00123") == "00123"
    assert _text(uuid.UUID("a8098c1a-f86e-11da-bd1a-00112444be1e")) == (
        "A8098C1A-F86E-11DA-BD1A-00112444BE1E"
    )
    assert _text(None) is None


def test_a_cursor_column_is_found_as_given_or_by_its_folded_case():
    from flowforge.ingest.sources.dbapi import _resolve

    assert _resolve(["ID", "UPDATED_AT"], "updated_at", "t") == "UPDATED_AT"
    assert _resolve(["at", "At"], "At", "t") == "At"
    with pytest.raises(BadInputError, match="not a column of t"):
        _resolve(["at", "AT"], "aT", "t")


@pytest.mark.parametrize(
    ("engine", "column", "expected"),
    [
        ("sqlserver", ("datetimeoffset", None, None), "CONVERT(varchar(40), MAX([c]), 127)"),
        ("sqlserver", ("datetime2", None, None), "CONVERT(varchar(40), MAX([c]), 126)"),
        ("sqlserver", ("decimal", 12, 2), "CAST(MAX([c]) AS nvarchar(200))"),
        (
            "oracle",
            "TIMESTAMP(6)",
            'TO_CHAR(CAST(MAX("C") AS TIMESTAMP WITH TIME ZONE), '
            "'YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM')",
        ),
        ("oracle", "DATE", 'TO_CHAR(MAX("C"), \'YYYY-MM-DD"T"HH24:MI:SS\')'),
        ("oracle", "NUMBER", "TO_CHAR(MAX(\"C\"), 'TM9')"),
    ],
)
def test_the_window_top_is_read_in_the_text_its_bounds_are_cast_from(engine, column, expected):
    """The maximum read when an extraction is planned is the text the next window's bound is
    cast back from (dialects.cast), for each engine without a server here."""
    from flowforge.ingest.sources import dbapi

    if engine == "sqlserver":
        col = dbapi.Column("x", dbapi.mssql_cast(*column))
        assert dbapi.mssql_max_text("[c]", col) == expected
        assert dbapi.mssql_cast("decimal", 12, 2) == "decimal(12,2)"
        assert DIALECTS["sqlserver"].cast("%s", "datetime2(7)") == "CAST(%s AS datetime2(7))"
    else:
        assert dbapi.oracle_max_text('"C"', dbapi.Column("x", column)) == expected
        kind = "timestamptz" if column.startswith("TIMESTAMP") else column.lower()
        cast = DIALECTS["oracle"].cast(":p1", column)
        if kind == "timestamptz":
            assert "FF6TZH:TZM" in cast  # the format the maximum was printed in
        elif kind == "date":
            assert "HH24:MI:SS" in cast
        else:
            assert cast == "TO_NUMBER(:p1)"


def test_a_mysql_window_casts_its_bounds_to_the_cursor_type():
    from flowforge.ingest.sources.dbapi import _my_cast

    assert _my_cast("datetime", "timestamp:us", "datetime(6)") == "DATETIME(6)"
    assert _my_cast("bigint", "integer", "bigint(20)") == "SIGNED"
    assert _my_cast("decimal", "decimal:2", "decimal(12,2) unsigned") == "DECIMAL(12,2)"
    assert _my_cast("varchar", "string", "varchar(20)") == ""
    conditions, params = DIALECTS["mysql"].window("id", "SIGNED", False, "10", "20", 5)
    assert conditions == ["`id` > (CAST(%s AS SIGNED) - %s)", "`id` <= CAST(%s AS SIGNED)"]
    assert params == ["10", 5, "20"]
    conditions, _ = DIALECTS["mysql"].window("name", "", False, "b", None, 0)
    assert conditions == ["`name` > %s"]


def test_a_backfill_window_is_the_logical_interval_in_utc_and_keeps_the_watermark():
    from flowforge.common.events import SourceExtract
    from flowforge.ingest.sources.verbs import _logical_window

    spec = SourceExtract(
        connection="c",
        table="t",
        mode="incremental",
        cursor="at",
        low="2026-05-03 08:00:00",
        lookback=60,
    )
    window = _logical_window(
        spec, {"logical_start": "2026-05-02T02:00:00+02:00", "logical_end": "2026-05-03T00:00:00Z"}
    )
    assert (window.low, window.high) == ("2026-05-02 00:00:00.000000", "2026-05-03 00:00:00.000000")
    assert window.advance is False and window.lookback == 0
    with pytest.raises(BadInputError, match="incremental source"):
        _logical_window(spec.model_copy(update={"mode": "full"}), {})
    with pytest.raises(BadInputError, match="logical_start"):
        _logical_window(spec, {"logical_start": "soon", "logical_end": "2026-05-03"})
