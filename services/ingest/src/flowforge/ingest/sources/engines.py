"""Talking to a source database: test a connection (server version and round trip, or a
classified error), list its tables and views with columns, types, primary keys and row
estimates, and preview a table's first rows, always in a read-only transaction.

PostgreSQL through asyncpg (already the platform's driver, natively async); MySQL and MariaDB
through PyMySQL (pure Python, no client library to install) in a worker thread; SQL Server
(pymssql) and Oracle (python-oracledb, thin mode) through `dbapi`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import functools
import json
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from flowforge.common.errors import BadInputError, FlowForgeError, NotFoundError
from flowforge.ingest.sources.connections import Connection
from flowforge.ingest.sources.dialects import DIALECTS

PREVIEW_MAX = 200


class SourceError(FlowForgeError):
    """A source database refused or could not be reached; `kind` classifies why."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True)
class TableName:
    schema: str
    name: str

    @classmethod
    def parse(cls, text: str, default_schema: str) -> TableName:
        """`schema.table` or `table` (in the default schema); quotes are not needed."""
        if not isinstance(text, str) or not text.strip() or len(text) > 300:
            raise BadInputError("`table` must name a table: `schema.table` or `table`")
        schema, _, name = text.strip().rpartition(".")
        return cls(schema or default_schema, name)


# --- PostgreSQL ---------------------------------------------------------------------------

PG_TABLES = """
SELECT n.nspname AS schema, c.relname AS name,
       CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                      WHEN 'f' THEN 'foreign table' ELSE 'table' END AS type,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS row_estimate,
       a.attname AS column, format_type(a.atttypid, a.atttypmod) AS column_type,
       NOT a.attnotnull AS nullable,
       array_position(i.indkey::int2[], a.attnum) AS key_position
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT c.relispartition
  AND has_table_privilege(c.oid, 'SELECT')
  AND ($1::text IS NULL OR n.nspname = $1)
ORDER BY 1, 2, a.attnum
"""


READ_ONLY_SESSION = {"application_name": "flowforge", "default_transaction_read_only": "on"}


def _pg_ssl(conn: Connection) -> Any:
    mode = conn.options.get("sslmode", "prefer")
    if mode == "disable":
        return False
    if mode in ("verify-ca", "verify-full"):
        context = ssl.create_default_context()
        context.check_hostname = mode == "verify-full"
        return context
    return mode  # prefer, require: asyncpg's own handling


async def _pg_connect(conn: Connection, password: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=conn.host, port=conn.port, user=conn.user or None, password=password or None,
            database=conn.database or None, ssl=_pg_ssl(conn), timeout=conn.timeout,
            server_settings=READ_ONLY_SESSION,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - every way of failing is classified
        raise _pg_error(exc, conn) from None


def _pg_error(exc: BaseException, conn: Connection) -> SourceError:
    where = f"{conn.host}:{conn.port}"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return SourceError("timeout", f"{where} did not answer within {conn.timeout:.0f} s")
    if isinstance(exc, socket.gaierror):
        return SourceError("host_unreachable", f"host {conn.host!r} is not known: {exc}")
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        text = str(exc)
        if "no encryption" in text or "SSL off" in text or "SSL" in text and "hostssl" in text:
            return SourceError("tls_required", f"{where} requires TLS: set sslmode=require")
        return SourceError("auth_failed", f"authentication failed for user {conn.user!r}")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return SourceError("database_not_found", f"database {conn.database!r} does not exist")
    if isinstance(exc, ConnectionError) and "SSL" in str(exc):
        return SourceError("tls_unavailable", f"{where} does not offer TLS: {exc}")
    if isinstance(exc, OSError):
        return SourceError("host_unreachable", f"cannot reach {where}: {exc.strerror or exc}")
    return SourceError("error", f"{where}: {type(exc).__name__}: {exc}")


async def _pg_test(conn: Connection, password: str) -> dict[str, Any]:
    started = time.perf_counter()
    db = await _pg_connect(conn, password)
    try:
        version = await db.fetchval("SELECT version()")
        trip = time.perf_counter()
        await db.fetchval("SELECT 1")
        rtt = time.perf_counter() - trip
    finally:
        await db.close()
    return {"server_version": version, "round_trip_ms": round(rtt * 1000, 2),
            "connect_ms": round((trip - started) * 1000, 1)}  # fmt: skip


async def _pg_tables(conn: Connection, password: str, schema: str | None) -> list[dict]:
    db = await _pg_connect(conn, password)
    try:
        rows = await db.fetch(PG_TABLES, schema)
    finally:
        await db.close()
    return _group(
        (r["schema"], r["name"], r["type"], r["row_estimate"], r["column"], r["column_type"],
         r["nullable"], r["key_position"])
        for r in rows
    )  # fmt: skip


async def _pg_preview(conn: Connection, password: str, table: TableName, limit: int) -> dict:
    db = await _pg_connect(conn, password)
    try:
        async with db.transaction(readonly=True):
            try:
                relation = DIALECTS["postgresql"].table(table.schema, table.name)
                stmt = await db.prepare(f"SELECT * FROM {relation} LIMIT {int(limit)}")
            except asyncpg.UndefinedTableError:
                raise NotFoundError(
                    f"no table {table.schema}.{table.name} (or no access)"
                ) from None
            records = await stmt.fetch()
            columns = [{"name": a.name, "type": a.type.name} for a in stmt.get_attributes()]
    finally:
        await db.close()
    return {"columns": columns, "rows": [[_json_value(v) for v in r.values()] for r in records]}


# --- MySQL / MariaDB ------------------------------------------------------------------------

MY_TABLES = """
SELECT c.TABLE_SCHEMA, c.TABLE_NAME,
       CASE t.TABLE_TYPE WHEN 'VIEW' THEN 'view' ELSE 'table' END,
       t.TABLE_ROWS, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE = 'YES', s.SEQ_IN_INDEX
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
LEFT JOIN information_schema.STATISTICS s
  ON s.TABLE_SCHEMA = c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME
 AND s.COLUMN_NAME = c.COLUMN_NAME AND s.INDEX_NAME = 'PRIMARY'
WHERE c.TABLE_SCHEMA = %s
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
"""


def _my_connect(conn: Connection, password: str):
    """TLS by `ssl`: `preferred` (the default) encrypts without verifying when the server
    offers it, else connects in clear; `required` refuses a server without TLS;
    `verify_identity` also checks the certificate and host name; `disabled` never."""

    try:
        return _my_connect_as(conn, password, conn.options.get("ssl", "preferred"))
    except SourceError as exc:
        if conn.options.get("ssl", "preferred") == "preferred" and exc.kind == "tls_unavailable":
            return _my_connect_as(conn, password, "disabled")
        raise


def _my_connect_as(conn: Connection, password: str, mode: str):
    import pymysql

    context = None
    if mode != "disabled":
        context = ssl.create_default_context()
        if mode != "verify_identity":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        db = pymysql.connect(
            host=conn.host, port=conn.port, user=conn.user or None, password=password,
            database=conn.database or None, connect_timeout=conn.timeout,
            read_timeout=max(conn.timeout, 60), charset="utf8mb4", autocommit=True,
            ssl=context,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - every way of failing is classified
        raise _my_error(exc, conn) from None
    if mode in ("required", "verify_identity") and not isinstance(db._sock, ssl.SSLSocket):
        db.close()
        raise SourceError("tls_unavailable", f"{conn.host}:{conn.port} does not offer TLS")
    return db


def _my_error(exc: BaseException, conn: Connection) -> SourceError:
    import pymysql

    where = f"{conn.host}:{conn.port}"
    code = exc.args[0] if isinstance(exc, pymysql.err.MySQLError) and exc.args else None
    text = (
        str(exc.args[1])
        if isinstance(exc, pymysql.err.MySQLError) and len(exc.args) > 1
        else str(exc)
    )
    if code == 1045:
        return SourceError("auth_failed", f"authentication failed for user {conn.user!r}")
    if code in (1044, 1049):
        return SourceError("database_not_found", f"database {conn.database!r} does not exist "
                           "or the user may not use it")  # fmt: skip
    if code == 2026 and "doesn't support" in text:
        return SourceError("tls_unavailable", f"{where} does not offer TLS")
    if code == 3159 or "secure transport" in text.lower():
        return SourceError("tls_required", f"{where} requires TLS: set ssl=required")
    if code == 2003 and "timed out" in text:
        return SourceError("timeout", f"{where} did not answer within {conn.timeout:.0f} s")
    if code in (2003, 2005, 2006, 2013):
        return SourceError("host_unreachable", f"cannot reach {where}: {text}")
    if isinstance(exc, TimeoutError):
        return SourceError("timeout", f"{where} did not answer within {conn.timeout:.0f} s")
    return SourceError("error", f"{where}: {type(exc).__name__}: {text}")


def _my_call(conn: Connection, password: str, work):
    db = _my_connect(conn, password)
    try:
        with db.cursor() as cursor:
            cursor.execute("START TRANSACTION READ ONLY")
            try:
                return work(cursor)
            finally:
                cursor.execute("ROLLBACK")
    except SourceError:
        raise
    except FlowForgeError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _my_error(exc, conn) from None
    finally:
        db.close()


def _my_test(conn: Connection, password: str) -> dict[str, Any]:
    started = time.perf_counter()

    def work(cursor) -> dict[str, Any]:
        connected = time.perf_counter()
        cursor.execute("SELECT VERSION()")
        version = cursor.fetchone()[0]
        trip = time.perf_counter()
        cursor.execute("SELECT 1")
        cursor.fetchone()
        return {"server_version": version,
                "round_trip_ms": round((time.perf_counter() - trip) * 1000, 2),
                "connect_ms": round((connected - started) * 1000, 1)}  # fmt: skip

    return _my_call(conn, password, work)


def _my_tables(conn: Connection, password: str, schema: str | None) -> list[dict]:
    def work(cursor) -> list[dict]:
        cursor.execute(MY_TABLES, (schema or conn.database,))
        return _group(cursor.fetchall())

    if not (schema or conn.database):
        raise BadInputError("name a `schema` (a MySQL database) or set the connection's database")
    return _my_call(conn, password, work)


def _my_preview(conn: Connection, password: str, table: TableName, limit: int) -> dict:
    import pymysql

    def work(cursor) -> dict:
        try:
            relation = DIALECTS["mysql"].table(table.schema, table.name)
            cursor.execute(f"SELECT * FROM {relation} LIMIT {int(limit)}")
        except pymysql.err.ProgrammingError as exc:
            if exc.args and exc.args[0] == 1146:
                raise NotFoundError(
                    f"no table {table.schema}.{table.name} (or no access)"
                ) from None
            raise
        columns = [
            {"name": d[0], "type": _my_type_names().get(d[1], str(d[1]))}
            for d in cursor.description
        ]
        return {
            "columns": columns,
            "rows": [[_json_value(v) for v in r] for r in cursor.fetchall()],
        }

    return _my_call(conn, password, work)


@functools.cache
def _my_type_names() -> dict[int, str]:
    from pymysql.constants import FIELD_TYPE

    return {v: k.lower() for k, v in vars(FIELD_TYPE).items() if k.isupper()}


# --- shared ----------------------------------------------------------------------------------


def _group(rows) -> list[dict]:
    """One entry per table from rows of (schema, table, type, estimate, column, column type,
    nullable, position in the primary key or None)."""
    tables: dict[tuple[str, str], dict] = {}
    keys: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for schema, name, kind, estimate, column, column_type, nullable, key_position in rows:
        entry = tables.setdefault((schema, name), {
            "schema": schema, "name": name, "type": kind,
            "row_estimate": int(estimate) if estimate is not None else None, "columns": [],
        })  # fmt: skip
        entry["columns"].append({"name": column, "type": column_type, "nullable": bool(nullable)})
        if key_position is not None:
            keys.setdefault((schema, name), []).append((int(key_position), column))
    for ident, entry in tables.items():
        entry["primary_key"] = [c for _, c in sorted(keys.get(ident, []))]
    return list(tables.values())


def _json_value(value: Any) -> Any:
    """A preview value as JSON shows it: numbers and text as they are, decimals, dates, UUIDs
    as text, bytes as hex."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(
        value, decimal.Decimal | uuid.UUID | dt.date | dt.time | dt.datetime | dt.timedelta
    ):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


async def test(conn: Connection, password: str) -> dict[str, Any]:
    if conn.kind == "postgresql":
        return await _pg_test(conn, password)
    if conn.kind == "mysql":
        return await asyncio.to_thread(_my_test, conn, password)
    from flowforge.ingest.sources import dbapi

    return await asyncio.to_thread(dbapi.test, dbapi.ENGINES[conn.kind], conn, password)


async def tables(conn: Connection, password: str, schema: str | None) -> list[dict]:
    if conn.kind == "postgresql":
        return await _pg_tables(conn, password, schema or conn.options.get("schema"))
    if conn.kind == "mysql":
        return await asyncio.to_thread(_my_tables, conn, password, schema)
    from flowforge.ingest.sources import dbapi

    engine = dbapi.ENGINES[conn.kind]
    return await asyncio.to_thread(dbapi.tables, engine, conn, password, schema)


async def preview(conn: Connection, password: str, table: str, limit: int) -> dict:
    limit = max(1, min(int(limit), PREVIEW_MAX))
    if conn.kind == "postgresql":
        name = TableName.parse(table, conn.options.get("schema") or "public")
        return await _pg_preview(conn, password, name, limit)
    if conn.kind == "mysql":
        name = TableName.parse(table, conn.database)
        return await asyncio.to_thread(_my_preview, conn, password, name, limit)
    from flowforge.ingest.sources import dbapi

    engine = dbapi.ENGINES[conn.kind]
    return await asyncio.to_thread(dbapi.preview, engine, conn, password, table, limit)
