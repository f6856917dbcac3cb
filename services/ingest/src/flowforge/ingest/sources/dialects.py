"""What differs between source engines in the SQL an extraction sends and the types it reads:
identifier quoting, the relation read, the incremental window, and each engine's column types
as Silver type specs. Pure functions, unit-tested for every engine (SQL Server and Oracle
included, whose servers the test machine does not have)."""

from __future__ import annotations

import re
from dataclasses import dataclass

TIME_KINDS = {"timestamp", "timestamptz", "date"}


@dataclass(frozen=True)
class SqlDialect:
    kind: str
    quote_open: str
    quote_close: str
    param: str  # the driver's placeholder style: "$" (numbered), "%s" or ":" (named)

    def ident(self, name: str) -> str:
        if self.kind == "oracle":
            name = oracle_name(name)
        escaped = name.replace(self.quote_close, self.quote_close * 2)
        return f"{self.quote_open}{escaped}{self.quote_close}"

    def table(self, schema: str, name: str) -> str:
        return f"{self.ident(schema)}.{self.ident(name)}" if schema else self.ident(name)

    def placeholder(self, n: int) -> str:
        return {"$": f"${n}", "%s": "%s", ":": f":p{n}"}[self.param]

    def window(
        self, cursor: str, cursor_type: str, time_cursor: bool, low: str | None,
        high: str | None, lookback: float,
    ) -> tuple[list[str], list[object]]:  # fmt: skip
        """WHERE conditions and parameters for (low - lookback, high] of `cursor`, the bounds
        given as text and cast to the cursor's type by the server."""
        col, conditions, params = self.ident(cursor), [], []

        def bound(text: str) -> str:
            params.append(text)
            return self.cast(self.placeholder(len(params)), cursor_type)

        if low is not None:
            start = bound(low)
            if lookback:  # PostgreSQL's parameters here are text, cast by the server
                params.append(str(lookback) if self.kind == "postgresql" else lookback)
                start = self.minus(start, self.placeholder(len(params)), time_cursor)
            conditions.append(f"{col} > {start}")
        if high is not None:
            conditions.append(f"{col} <= {bound(high)}")
        return conditions, params

    def cast(self, expression: str, type_text: str) -> str:
        if not type_text:
            return expression  # compared as sent; the server converts
        if self.kind == "postgresql":
            return f"CAST({expression}::text AS {type_text})"
        if self.kind == "oracle":
            if "timestamp" in type_text.lower():
                return (f"TO_TIMESTAMP_TZ({expression}, "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM')")  # fmt: skip
            if type_text.lower() == "date":
                return f"TO_DATE({expression}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
            return f"TO_NUMBER({expression})" if _numeric(type_text) else expression
        return f"CAST({expression} AS {type_text})"

    def minus(self, start: str, amount: str, time_cursor: bool) -> str:
        if not time_cursor:
            return f"({start} - {amount})"
        return {
            "postgresql": f"({start} - CAST({amount}::text AS double precision) "
                          "* interval '1 second')",
            "mysql": f"({start} - INTERVAL {amount} SECOND)",
            "sqlserver": f"DATEADD(millisecond, -CAST({amount} * 1000 AS bigint), {start})",
            "oracle": f"({start} - NUMTODSINTERVAL({amount}, 'SECOND'))",
        }[self.kind]  # fmt: skip

    def limit(self, select: str, n: int) -> str:
        if self.kind == "sqlserver":
            return re.sub(r"^SELECT\b", f"SELECT TOP ({int(n)})", select, count=1)
        if self.kind == "oracle":
            return f"{select} FETCH FIRST {int(n)} ROWS ONLY"
        return f"{select} LIMIT {int(n)}"


DIALECTS = {
    "postgresql": SqlDialect("postgresql", '"', '"', "$"),
    "mysql": SqlDialect("mysql", "`", "`", "%s"),
    "sqlserver": SqlDialect("sqlserver", "[", "]", "%s"),
    "oracle": SqlDialect("oracle", '"', '"', ":"),
}


def oracle_name(name: str) -> str:
    """As Oracle stores a name: an unquoted one (lower case letters, digits, `_`, `$`, `#`)
    in upper case, as the database folds it; any other exactly as written."""
    return name.upper() if re.fullmatch(r"[a-z][a-z0-9_$#]*", name) else name


def _numeric(type_text: str) -> bool:
    return bool(re.match(r"(number|numeric|decimal|integer|int|float|binary_)", type_text.lower()))


def _decimal(precision: int | None, scale: int | None) -> str:
    if precision is None or scale is None:
        return "decimal"
    return f"decimal:{scale}" if precision <= 38 and 0 <= scale <= 18 else "string"


def pg_spec(type_text: str) -> str:
    """A PostgreSQL type (format_type's text) as a Silver type spec."""
    t = type_text.lower()
    if t in ("smallint", "integer", "bigint", "oid"):
        return "integer"
    if m := re.fullmatch(r"numeric\((\d+),(\d+)\)", t):
        return _decimal(int(m[1]), int(m[2]))
    if t == "numeric":
        return "decimal"  # no declared scale: the values' own, when they fit
    if t in ("real", "double precision"):
        return "double"
    if t == "boolean":
        return "boolean"
    if t == "date":
        return "date:%Y-%m-%d"
    if t.startswith("timestamp") and "with time zone" in t:
        return "timestamptz:us"
    if t.startswith("timestamp"):
        return "timestamp:us"
    return "string"  # text, varchar, char, uuid, json(b), bytea (\x hex), time, interval, ...


def my_spec(data_type: str, precision: int | None, scale: int | None, column_type: str) -> str:
    """A MySQL/MariaDB column type (information_schema.COLUMNS) as a Silver type spec."""
    t = data_type.lower()
    if t in ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"):
        return "string" if t == "bigint" and "unsigned" in column_type else "integer"
    if t in ("decimal", "numeric"):
        return "string" if precision is None or scale is None else _decimal(precision, scale)
    if t in ("float", "double", "real"):
        return "double"
    if t == "date":
        return "date:%Y-%m-%d"
    if t == "datetime":
        return "timestamp:us"
    if t == "timestamp":
        return "timestamptz:us"  # stored as UTC; read with the session in UTC
    return "string"


def mssql_spec(data_type: str, precision: int | None = None, scale: int | None = None) -> str:
    """A SQL Server column type (INFORMATION_SCHEMA.COLUMNS.DATA_TYPE) as a Silver spec."""
    t = data_type.lower()
    if t in ("tinyint", "smallint", "int", "bigint"):
        return "integer"
    if t in ("decimal", "numeric"):
        return _decimal(precision, scale)
    if t in ("money", "smallmoney"):
        return "decimal:4"
    if t in ("float", "real"):
        return "double"
    if t == "bit":
        return "boolean"
    if t == "date":
        return "date:%Y-%m-%d"
    if t in ("datetime", "datetime2", "smalldatetime"):
        return "timestamp:us"
    if t == "datetimeoffset":
        return "timestamptz:us"
    return "string"  # char/varchar/nchar/nvarchar/text, uniqueidentifier, xml, binary, time


def oracle_spec(data_type: str, precision: int | None = None, scale: int | None = None) -> str:
    """An Oracle column type (ALL_TAB_COLUMNS.DATA_TYPE) as a Silver spec. NUMBER without a
    precision is any number: its values' scale decides; Oracle's DATE holds a time too."""
    t = data_type.upper()
    if t == "NUMBER":
        if precision is None:
            return "decimal" if scale is None else "string"
        if scale == 0 and precision <= 18:
            return "integer"
        return _decimal(precision, scale)
    if t in ("BINARY_FLOAT", "BINARY_DOUBLE", "FLOAT"):
        return "double"
    if t == "DATE":
        return "timestamp:us"
    if t.startswith("TIMESTAMP") and "TIME ZONE" in t:
        return "timestamptz:us"
    if t.startswith("TIMESTAMP"):
        return "timestamp:us"
    return "string"  # VARCHAR2, NVARCHAR2, CHAR, CLOB, RAW, ROWID, INTERVAL, ...
