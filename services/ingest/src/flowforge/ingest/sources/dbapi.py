"""Sources reached through a DB-API driver in a worker thread: MySQL/MariaDB (PyMySQL), SQL
Server (pymssql) and Oracle (python-oracledb in thin mode). One extraction for all three; what
differs is an `Engine`: how to connect and classify errors, how to open a consistent read-only
transaction, where the catalog keeps column types, and how a value becomes its text.

Drivers: PyMySQL and python-oracledb are pure Python (no client library to install; oracledb's
thin mode needs no Oracle Instant Client); pymssql ships FreeTDS inside its wheels. All three
stream: PyMySQL's unbuffered cursor, pymssql's row-by-row TDS reading, oracledb's `arraysize`
round trips. Rows are read in chunks of CHUNK_ROWS and written to Bronze as they come.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowforge.common.errors import BadInputError, FlowForgeError, NotFoundError
from flowforge.common.events import SourceExtract
from flowforge.ingest.sources import engines
from flowforge.ingest.sources.connections import Connection
from flowforge.ingest.sources.dialects import (
    DIALECTS,
    TIME_KINDS,
    SqlDialect,
    mssql_spec,
    my_spec,
    oracle_name,
    oracle_spec,
)
from flowforge.ingest.sources.engines import SourceError, TableName

CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class Column:
    spec: str  # the Silver type spec
    cast: str = ""  # the type a window bound is cast to ("" : compared as sent)


@dataclass(frozen=True)
class Engine:
    kind: str
    connect: Callable[[Connection, str], Any]  # a DB-API connection, or SourceError
    error: Callable[[BaseException, Connection], SourceError]
    begin: Callable[[Any], None]  # a consistent, read-only (where there is one) transaction
    columns: Callable[[Any, TableName], dict[str, Column]]  # from the catalog
    default_schema: Callable[[Connection], str]
    max_text: Callable[[str, Column], str]  # SQL: the text of max(cursor), as bounds are given
    query_error: Callable[[BaseException, str], str | None]  # a query's fault, or None
    version: Callable[[Any], str]
    tables_sql: str = ""  # rows for engines._group; one parameter: the schema
    text: Callable[[Any], str | None] = field(default=lambda v: _text(v))
    ping: str = "SELECT 1"

    @property
    def dialect(self) -> SqlDialect:
        return DIALECTS[self.kind]


def _text(value: Any) -> str | None:
    """A driver's Python value as the source database would print it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex().upper()
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    return str(value)


def _params(dialect: SqlDialect, params: list[Any]) -> Any:
    return {f"p{i + 1}": v for i, v in enumerate(params)} if dialect.param == ":" else params


def _resolve(names: list[str], wanted: str, what: str) -> str:
    """A column by its name as given, or case-insensitively when that is unambiguous (Oracle
    folds unquoted names to upper case: `updated_at` is UPDATED_AT)."""
    if wanted in names:
        return wanted
    same = [n for n in names if n.lower() == wanted.lower()]
    if len(same) == 1:
        return same[0]
    raise BadInputError(f"the cursor column {wanted!r} is not a column of {what}")


def call(engine: Engine, conn: Connection, password: str, work: Callable[[Any], Any]) -> Any:
    """`work(cursor)` inside a read-only transaction, rolled back after; errors classified."""
    db = engine.connect(conn, password)
    try:
        cursor = db.cursor()
        engine.begin(cursor)
        try:
            return work(cursor)
        finally:
            db.rollback()
    except FlowForgeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every way of failing is classified
        raise engine.error(exc, conn) from None
    finally:
        db.close()


def test(engine: Engine, conn: Connection, password: str) -> dict[str, Any]:
    started = time.perf_counter()
    db = engine.connect(conn, password)
    try:
        connected = time.perf_counter()
        cursor = db.cursor()
        version = engine.version(cursor)
        trip = time.perf_counter()
        cursor.execute(engine.ping)
        cursor.fetchall()
        return {"server_version": version,
                "round_trip_ms": round((time.perf_counter() - trip) * 1000, 2),
                "connect_ms": round((connected - started) * 1000, 1)}  # fmt: skip
    except FlowForgeError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise engine.error(exc, conn) from None
    finally:
        db.close()


def tables(engine: Engine, conn: Connection, password: str, schema: str | None) -> list[dict]:
    schema = schema or engine.default_schema(conn)
    if not schema:
        raise BadInputError("name a `schema`, or set the connection's database / schema")

    def work(cursor) -> list[dict]:
        cursor.execute(engine.tables_sql, _params(engine.dialect, [schema]))
        return engines._group(cursor.fetchall())

    return call(engine, conn, password, work)


def preview(engine: Engine, conn: Connection, password: str, table: str, limit: int) -> dict:
    name = TableName.parse(table, engine.default_schema(conn))
    relation = engine.dialect.table(name.schema, name.name)

    def work(cursor) -> dict:
        try:
            cursor.execute(engine.dialect.limit(f"SELECT * FROM {relation}", limit))
        except Exception as exc:  # noqa: BLE001
            if engine.query_error(exc, table) is not None:
                raise NotFoundError(f"no table {name.schema}.{name.name} (or no access)") from None
            raise
        columns = [{"name": d[0], "type": _type_name(d[1])} for d in cursor.description]
        return {
            "columns": columns,
            "rows": [[engines._json_value(v) for v in r] for r in cursor.fetchall()],
        }

    return call(engine, conn, password, work)


def _type_name(code: Any) -> str:
    name = getattr(code, "name", None)  # oracledb's DbType
    return str(name or code).lower().removeprefix("db_type_")


def relation(engine: Engine, extract: SourceExtract, conn: Connection) -> str:
    if extract.query:
        return f"({extract.query}) q"
    table = TableName.parse(extract.table or "", engine.default_schema(conn))
    return engine.dialect.table(table.schema, table.name) + " q"


def extract(
    engine: Engine,
    conn: Connection,
    password: str,
    spec: SourceExtract,
    sink: Any,
    *,
    plan: bool = False,
) -> Any:
    """Stream the window into `sink`, return {column: Silver spec}; with `plan`, only the
    cursor's current maximum as text (the window's top)."""
    d = engine.dialect
    what = spec.table or "the query"
    db = engine.connect(conn, password)
    try:
        cur = db.cursor()
        engine.begin(cur)
        rel = relation(engine, spec, conn)
        cur.execute(f"SELECT * FROM {rel} WHERE 1 = 0")
        names = [c[0] for c in cur.description]
        cur.fetchall()
        columns = dict.fromkeys(names, Column("string"))
        if spec.table:
            table = TableName.parse(spec.table, engine.default_schema(conn))
            found = engine.columns(cur, table)
            columns.update({n: found[n] for n in names if n in found})
        conditions: list[str] = []
        params: list[Any] = []
        order = ""
        if spec.mode == "incremental":
            name = _resolve(names, spec.cursor or "", what)
            column, col = columns[name], d.ident(name)
            if plan:
                cur.execute(f"SELECT {engine.max_text(col, column)} FROM {rel}")
                return cur.fetchone()[0]
            cur.execute(f"SELECT COUNT(*) FROM {rel} WHERE {col} IS NULL")
            nulls = int(cur.fetchone()[0])
            if nulls:
                raise BadInputError(
                    f"the cursor column {spec.cursor!r} has {nulls} null value(s): such rows "
                    "can never be extracted incrementally; choose a cursor without nulls, or "
                    "extract in full"
                )
            time_cursor = column.spec.split(":")[0] in TIME_KINDS
            conditions, params = d.window(
                name, column.cast, time_cursor, spec.low, spec.high, spec.lookback
            )
            order = f" ORDER BY {col}"
        elif plan:
            return None
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sink.start(names)
        stream = engine.kind == "mysql" and _unbuffered(db) or cur
        if engine.kind == "oracle":
            stream.arraysize = 5_000
        stream.execute(f"SELECT * FROM {rel}{where}{order}", _params(d, params))
        text = engine.text
        while rows := stream.fetchmany(CHUNK_ROWS):
            sink.add([[text(v) for v in col] for col in zip(*rows, strict=True)], len(rows))
        return {n: c.spec for n, c in columns.items()}
    except FlowForgeError:
        raise
    except Exception as exc:  # noqa: BLE001 - a query's fault is the run's error; else classified
        fault = engine.query_error(exc, what)
        if fault is not None:
            raise BadInputError(fault) from None
        raise engine.error(exc, conn) from None
    finally:
        db.close()


def _unbuffered(db) -> Any:
    import pymysql.cursors

    return db.cursor(pymysql.cursors.SSCursor)


# --- MySQL / MariaDB --------------------------------------------------------------------------


def _my_connect(conn: Connection, password: str):
    db = engines._my_connect(conn, password)
    db.decoders = {}  # values as the server sends their text; no Python conversions
    return db


def _my_begin(cur) -> None:
    cur.execute("SET time_zone = '+00:00'")
    cur.execute("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT")


def _my_columns(cur, table: TableName) -> dict[str, Column]:
    cur.execute(
        "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_TYPE"
        " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (table.schema, table.name),
    )
    out = {}
    for name, data_type, precision, scale, column_type in cur.fetchall():
        name, data_type, column_type = _s(name), _s(data_type).lower(), _s(column_type)
        spec = my_spec(data_type, _int(precision), _int(scale), column_type)
        out[name] = Column(spec, _my_cast(data_type, spec, column_type))
    return out


def _my_cast(data_type: str, spec: str, column_type: str) -> str:
    if data_type in ("datetime", "timestamp"):
        return "DATETIME(6)"
    if data_type == "date":
        return "DATE"
    if spec == "integer":
        return "SIGNED"
    if data_type in ("decimal", "numeric"):
        return column_type.upper().replace(" UNSIGNED", "")
    return ""


def _my_query_error(exc: BaseException, what: str) -> str | None:
    import pymysql

    if not isinstance(exc, pymysql.err.MySQLError) or not exc.args:
        return None
    code, text = exc.args[0], exc.args[1] if len(exc.args) > 1 else ""
    if code == 1146:
        return f"no table {what} (or no access to it)"
    if code == 1054:
        return f"{what}: {text}"
    if code == 1792:
        return f"{what}: the query tried to write, refused"
    if code in (1064, 1149):
        return f"{what}: the query is not valid SQL: {text}"
    if code in (1142, 1143):
        return f"{what}: the connection's user may not read it: {text}"
    return None


def _my_version(cur) -> str:
    cur.execute("SELECT VERSION()")
    return _s(cur.fetchone()[0])


def _my_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).hex()
    return str(value)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


MYSQL = Engine(
    kind="mysql",
    connect=_my_connect,
    error=engines._my_error,
    begin=_my_begin,
    columns=_my_columns,
    default_schema=lambda conn: conn.database,
    max_text=lambda col, column: f"CAST(MAX({col}) AS CHAR)",
    query_error=_my_query_error,
    version=_my_version,
    text=_my_text,
)


# --- SQL Server (pymssql) ---------------------------------------------------------------------

MSSQL_TABLES = """
SELECT t.TABLE_SCHEMA, t.TABLE_NAME,
       CASE t.TABLE_TYPE WHEN 'VIEW' THEN 'view' ELSE 'table' END,
       (SELECT SUM(p.rows) FROM sys.partitions p
         WHERE p.object_id = OBJECT_ID(QUOTENAME(t.TABLE_SCHEMA) + '.' + QUOTENAME(t.TABLE_NAME))
           AND p.index_id IN (0, 1)),
       c.COLUMN_NAME,
       c.DATA_TYPE + CASE
         WHEN c.DATA_TYPE IN ('decimal', 'numeric')
           THEN '(' + CAST(c.NUMERIC_PRECISION AS varchar) + ','
                + CAST(c.NUMERIC_SCALE AS varchar) + ')'
         WHEN c.CHARACTER_MAXIMUM_LENGTH = -1 THEN '(max)'
         WHEN c.CHARACTER_MAXIMUM_LENGTH IS NOT NULL
           THEN '(' + CAST(c.CHARACTER_MAXIMUM_LENGTH AS varchar) + ')'
         ELSE '' END,
       CASE c.IS_NULLABLE WHEN 'YES' THEN 1 ELSE 0 END,
       k.ORDINAL_POSITION
FROM INFORMATION_SCHEMA.TABLES t
JOIN INFORMATION_SCHEMA.COLUMNS c
  ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
LEFT JOIN INFORMATION_SCHEMA.TABLE_CONSTRAINTS pk
  ON pk.TABLE_SCHEMA = t.TABLE_SCHEMA AND pk.TABLE_NAME = t.TABLE_NAME
 AND pk.CONSTRAINT_TYPE = 'PRIMARY KEY'
LEFT JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k
  ON k.CONSTRAINT_SCHEMA = pk.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = pk.CONSTRAINT_NAME
 AND k.COLUMN_NAME = c.COLUMN_NAME
WHERE t.TABLE_SCHEMA = %s
ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME, c.ORDINAL_POSITION
"""


def _ms_connect(conn: Connection, password: str):
    import pymssql

    encryption = {"no": "off", "yes": "require", "strict": "require"}
    try:
        return pymssql.connect(
            server=conn.host, port=str(conn.port), user=conn.user or None, password=password,
            database=conn.database, login_timeout=max(1, int(conn.timeout)), charset="UTF-8",
            appname="flowforge", encryption=encryption.get(conn.options.get("encrypt", "no")),
            read_only=True, autocommit=False, use_datetime2=True,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        raise _ms_error(exc, conn) from None


def _ms_codes(exc: BaseException) -> tuple[int | None, str]:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], tuple) and args[0]:
        code, text = args[0][0], args[0][1] if len(args[0]) > 1 else b""
        return code, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return None, str(exc)


def _ms_error(exc: BaseException, conn: Connection) -> SourceError:
    where = f"{conn.host}:{conn.port}"
    code, text = _ms_codes(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if code == 18456 or "Login failed" in text:
        return SourceError("auth_failed", f"authentication failed for user {conn.user!r}")
    if code == 4060 or "Cannot open database" in text:
        return SourceError("database_not_found", f"database {conn.database!r} does not exist "
                           "or the user may not use it")  # fmt: skip
    if "encrypt" in text.lower() or "SSL" in text or "TLS" in text:
        return SourceError("tls_required", f"{where}: {first}")
    if code == 20003 or "timed out" in text.lower() or isinstance(exc, TimeoutError):
        return SourceError("timeout", f"{where} did not answer within {conn.timeout:.0f} s")
    if code in (20009, 20002, 20017, 20006, 20047):
        return SourceError("host_unreachable", f"cannot reach {where}: {first}")
    return SourceError("error", f"{where}: {type(exc).__name__}: {first}")


def _ms_begin(cur) -> None:
    # No read-only transaction in SQL Server: the query check and a reading login are the
    # walls (the connection also declares ApplicationIntent=ReadOnly). Snapshot isolation
    # gives one consistent view where the database allows it; else repeatable read.
    cur.execute("SELECT snapshot_isolation_state FROM sys.databases WHERE name = DB_NAME()")
    row = cur.fetchone()
    level = "SNAPSHOT" if row and row[0] == 1 else "REPEATABLE READ"
    cur.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")


def _ms_columns(cur, table: TableName) -> dict[str, Column]:
    cur.execute(
        "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE"
        " FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (table.schema, table.name),
    )
    out = {}
    for name, data_type, precision, scale in cur.fetchall():
        spec = mssql_spec(data_type, _int(precision), _int(scale))
        out[name] = Column(spec, mssql_cast(data_type, _int(precision), _int(scale)))
    return out


def mssql_cast(data_type: str, precision: int | None, scale: int | None) -> str:
    t = data_type.lower()
    if t in ("decimal", "numeric"):
        return f"decimal({precision or 18},{scale or 0})"
    if t in ("datetime", "datetime2", "smalldatetime"):
        return "datetime2(7)"
    if t == "datetimeoffset":
        return "datetimeoffset(7)"
    if t in ("date", "tinyint", "smallint", "int", "bigint", "float", "real", "money"):
        return t
    return ""


def mssql_max_text(col: str, column: Column) -> str:
    if column.cast == "datetimeoffset(7)":
        return f"CONVERT(varchar(40), MAX({col}), 127)"
    if column.cast.startswith("datetime2") or column.cast == "date":
        return f"CONVERT(varchar(40), MAX({col}), 126)"
    return f"CAST(MAX({col}) AS nvarchar(200))"


def _ms_query_error(exc: BaseException, what: str) -> str | None:
    code, text = _ms_codes(exc)
    first = text.strip().splitlines()[0] if text.strip() else ""
    if code == 208:
        return f"no table {what} (or no access to it)"
    if code in (207, 4104):
        return f"{what}: {first}"
    if code in (229, 230):
        return f"{what}: the connection's user may not read it: {first}"
    if code in (102, 156, 170):
        return f"{what}: the query is not valid SQL: {first}"
    return None


def _ms_version(cur) -> str:
    cur.execute("SELECT @@VERSION")
    return str(cur.fetchone()[0]).splitlines()[0]


MSSQL = Engine(
    kind="sqlserver",
    connect=_ms_connect,
    error=_ms_error,
    begin=_ms_begin,
    columns=_ms_columns,
    default_schema=lambda conn: conn.options.get("schema") or "dbo",
    max_text=mssql_max_text,
    query_error=_ms_query_error,
    version=_ms_version,
    tables_sql=MSSQL_TABLES,
)


# --- Oracle (python-oracledb, thin mode) ------------------------------------------------------

ORACLE_TABLES = """
SELECT o.owner, o.object_name, LOWER(o.object_type), t.num_rows,
       c.column_name,
       c.data_type || CASE
         WHEN c.data_type = 'NUMBER' AND c.data_precision IS NOT NULL
           THEN '(' || c.data_precision || ',' || NVL(c.data_scale, 0) || ')'
         WHEN c.data_type IN ('VARCHAR2', 'NVARCHAR2', 'CHAR', 'NCHAR', 'RAW')
           THEN '(' || c.char_length || ')'
         ELSE '' END,
       CASE c.nullable WHEN 'Y' THEN 1 ELSE 0 END,
       k.position
FROM all_objects o
JOIN all_tab_columns c ON c.owner = o.owner AND c.table_name = o.object_name
LEFT JOIN all_tables t ON t.owner = o.owner AND t.table_name = o.object_name
LEFT JOIN all_constraints pk
  ON pk.owner = o.owner AND pk.table_name = o.object_name AND pk.constraint_type = 'P'
LEFT JOIN all_cons_columns k
  ON k.owner = pk.owner AND k.constraint_name = pk.constraint_name
 AND k.column_name = c.column_name
WHERE o.object_type IN ('TABLE', 'VIEW') AND o.owner = :p1
ORDER BY o.owner, o.object_name, c.column_id
"""
# Every value fetched as the server's text, in these formats (exact numbers, ISO times, UTC).
ORACLE_SESSION = (
    "ALTER SESSION SET TIME_ZONE = 'UTC' NLS_NUMERIC_CHARACTERS = '.,'"
    " NLS_DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS'"
    " NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF6'"
    " NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF6TZH:TZM'"
)


def _ora_connect(conn: Connection, password: str):
    import oracledb

    where = {"service_name": conn.options.get("service_name") or conn.database or None}
    if conn.options.get("sid"):
        where = {"sid": conn.options["sid"]}
    try:
        db = oracledb.connect(
            user=conn.user, password=password, host=conn.host, port=conn.port,
            tcp_connect_timeout=conn.timeout, **where,
        )  # fmt: skip
        db.outputtypehandler = _ora_as_text
        with db.cursor() as cur:
            cur.execute(ORACLE_SESSION)
        return db
    except Exception as exc:  # noqa: BLE001
        raise _ora_error(exc, conn) from None


def _ora_as_text(cursor, metadata):
    """Numbers, dates and times fetched as the session prints them (never as floats)."""
    import oracledb

    if metadata.type_code in (
        oracledb.DB_TYPE_NUMBER, oracledb.DB_TYPE_DATE, oracledb.DB_TYPE_TIMESTAMP,
        oracledb.DB_TYPE_TIMESTAMP_TZ, oracledb.DB_TYPE_TIMESTAMP_LTZ,
        oracledb.DB_TYPE_BINARY_FLOAT, oracledb.DB_TYPE_BINARY_DOUBLE,
        oracledb.DB_TYPE_INTERVAL_DS, oracledb.DB_TYPE_INTERVAL_YM,
    ):  # fmt: skip
        return cursor.var(oracledb.DB_TYPE_VARCHAR, size=100, arraysize=cursor.arraysize)
    if metadata.type_code is oracledb.DB_TYPE_CLOB:
        return cursor.var(oracledb.DB_TYPE_LONG, arraysize=cursor.arraysize)
    if metadata.type_code is oracledb.DB_TYPE_NCLOB:
        return cursor.var(oracledb.DB_TYPE_LONG_NVARCHAR, arraysize=cursor.arraysize)
    if metadata.type_code is oracledb.DB_TYPE_BLOB:
        return cursor.var(oracledb.DB_TYPE_LONG_RAW, arraysize=cursor.arraysize)
    return None


def _ora_code(exc: BaseException) -> str:
    first = exc.args[0] if getattr(exc, "args", ()) else None
    return str(getattr(first, "full_code", "") or "")


def _ora_error(exc: BaseException, conn: Connection) -> SourceError:
    where = f"{conn.host}:{conn.port}"
    code, text = _ora_code(exc), str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if code in ("ORA-01017", "ORA-28000", "ORA-01005"):
        return SourceError("auth_failed", f"authentication failed for user {conn.user!r}")
    if code in ("ORA-12514", "ORA-12505", "DPY-6001", "DPY-6003"):
        service = conn.options.get("service_name") or conn.options.get("sid") or conn.database
        return SourceError("database_not_found", f"{where} does not know service {service!r}")
    if code in ("DPY-4024", "DPY-4011") and "timed out" in text:
        return SourceError("timeout", f"{where} did not answer within {conn.timeout:.0f} s")
    if code in ("DPY-6005", "DPY-4011", "ORA-12541", "ORA-12170", "ORA-03113", "ORA-03135"):
        return SourceError("host_unreachable", f"cannot reach {where}: {text}")
    if isinstance(exc, TimeoutError):
        return SourceError("timeout", f"{where} did not answer within {conn.timeout:.0f} s")
    return SourceError("error", f"{where}: {type(exc).__name__}: {text}")


def _ora_begin(cur) -> None:
    cur.execute("SET TRANSACTION READ ONLY")  # one consistent view; writes refused


def _ora_columns(cur, table: TableName) -> dict[str, Column]:
    cur.execute(
        "SELECT column_name, data_type, data_precision, data_scale FROM all_tab_columns"
        " WHERE owner = :p1 AND table_name = :p2",
        {"p1": oracle_name(table.schema), "p2": oracle_name(table.name)},
    )
    out = {}
    for name, data_type, precision, scale in cur.fetchall():
        spec = oracle_spec(data_type, _int(precision), _int(scale))
        out[name] = Column(spec, data_type)
    return out


def oracle_max_text(col: str, column: Column) -> str:
    t = column.cast.upper()
    if t.startswith("TIMESTAMP"):
        return (f"TO_CHAR(CAST(MAX({col}) AS TIMESTAMP WITH TIME ZONE), "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM')")  # fmt: skip
    if t == "DATE":
        return f"TO_CHAR(MAX({col}), 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    if t in ("NUMBER", "FLOAT", "BINARY_FLOAT", "BINARY_DOUBLE"):
        return f"TO_CHAR(MAX({col}), 'TM9')"
    return f"MAX({col})"


def _ora_query_error(exc: BaseException, what: str) -> str | None:
    code = _ora_code(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else code
    if code == "ORA-00942":
        return f"no table {what} (or no access to it)"
    if code == "ORA-00904":
        return f"{what}: {text}"
    if code in ("ORA-01456", "ORA-16000"):
        return f"{what}: the query tried to write, refused"
    if code in ("ORA-01031",):
        return f"{what}: the connection's user may not read it: {text}"
    if code in ("ORA-00900", "ORA-00923", "ORA-00933", "ORA-00936", "ORA-00907"):
        return f"{what}: the query is not valid SQL: {text}"
    return None


def _ora_version(cur) -> str:
    return f"Oracle Database {cur.connection.version}"


ORACLE = Engine(
    kind="oracle",
    connect=_ora_connect,
    error=_ora_error,
    begin=_ora_begin,
    columns=_ora_columns,
    default_schema=lambda conn: conn.options.get("schema") or conn.user.upper(),
    max_text=oracle_max_text,
    query_error=_ora_query_error,
    version=_ora_version,
    tables_sql=ORACLE_TABLES,
    text=lambda v: _text(v) if not isinstance(v, bytes) else v.hex().upper(),
    ping="SELECT 1 FROM DUAL",
)

ENGINES = {"mysql": MYSQL, "sqlserver": MSSQL, "oracle": ORACLE}
