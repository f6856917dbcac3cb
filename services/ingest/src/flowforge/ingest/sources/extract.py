"""Extract a table or read-only query from a source database into Bronze Parquet.

Two steps, so a redelivered run extracts exactly the same rows:
- `plan` (when the extraction is requested): the window of an incremental source, from the
  watermark (less the lookback) to the cursor's current maximum, both as the cursor's text;
- `to_bronze` (the run's ingest stage): the rows of that window, streamed in chunks into
  Bronze as text (the source's own text form: exact decimals, ISO dates and times), with the
  source's types as Silver type specs beside them (`source_types`), in a read-only
  transaction. The watermark moves to the window's top only after Bronze is committed.

PostgreSQL through asyncpg's COPY (the server's CSV, read back by Arrow's streaming reader);
MySQL/MariaDB, SQL Server and Oracle through their DB-API drivers (`dbapi`).
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import asyncpg
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from flowforge.common.errors import BadInputError, TransientError
from flowforge.common.events import SourceExtract
from flowforge.ingest.bronze import BronzeResult
from flowforge.ingest.dialect import Dialect, header_names
from flowforge.ingest.sources import dbapi, engines
from flowforge.ingest.sources.connections import Connection
from flowforge.ingest.sources.dialects import DIALECTS, TIME_KINDS, pg_spec
from flowforge.ingest.sources.engines import SourceError, TableName

PG = DIALECTS["postgresql"]
GROUP_ROWS = 1 << 20  # rows per Bronze row group, at most
GROUP_BYTES = 32 << 20  # ... and at most this much data waiting for one
OUTAGES = ("host_unreachable", "timeout")  # the source may come back: the run waits for it
LINEAGE = [
    pa.field("_source_file", pa.string()),
    pa.field("_source_line", pa.int64()),
    pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
    pa.field("_run_id", pa.string()),
]


def source_name(extract: SourceExtract) -> str:
    """How the run names what it read (its `filename`)."""
    return f"{extract.connection}:{extract.table or 'query'}"


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_relation(extract: SourceExtract, conn: Connection) -> str:
    if extract.query:
        return f"({extract.query}) q"
    table = TableName.parse(extract.table or "", conn.options.get("schema") or "public")
    return PG.table(table.schema, table.name) + " q"


async def _pg_columns(db: asyncpg.Connection, relation: str) -> list[tuple[str, str]]:
    """(name, type text) of the relation's columns, typmods included (numeric(12,2))."""
    stmt = await db.prepare(f"SELECT * FROM {relation} LIMIT 0")
    attrs = stmt.get_attributes()
    rows = await db.fetch(
        "SELECT format_type(t.oid, NULL) AS name, t.oid FROM pg_type t WHERE t.oid = ANY($1)",
        [a.type.oid for a in attrs],
    )
    names = {r["oid"]: r["name"] for r in rows}
    # format_type with the typmod needs the column's own atttypmod: ask for the relation's
    # columns by name when it is a table; a query's numeric columns keep their values' scale.
    typmods = {}
    if not relation.startswith("("):
        typmods = {r["attname"]: r["t"] for r in await db.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute"
            " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
            relation.removesuffix(" q"),
        )}  # fmt: skip
    return [(a.name, typmods.get(a.name) or names.get(a.type.oid, a.type.name)) for a in attrs]


async def _pg_plan(conn: Connection, password: str, extract: SourceExtract) -> SourceExtract:
    if extract.mode != "incremental":
        return extract
    db = await engines._pg_connect(conn, password)
    try:
        relation = _pg_relation(extract, conn)
        columns = dict(await _pg_columns(db, relation))
        if extract.cursor not in columns:
            raise BadInputError(f"the cursor column {extract.cursor!r} is not a column of "
                                f"{extract.table or 'the query'}")  # fmt: skip
        cursor = PG.ident(extract.cursor)
        high = await db.fetchval(f"SELECT max({cursor})::text FROM {relation}")
    finally:
        await db.close()
    return extract.model_copy(update={"high": high})


async def _pg_extract(
    conn: Connection, password: str, extract: SourceExtract, sink: _Sink
) -> dict[str, str]:
    db = await engines._pg_connect(conn, password)
    try:
        async with db.transaction(readonly=True, isolation="repeatable_read"):
            await db.execute("SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'")
            relation = _pg_relation(extract, conn)
            columns = await _pg_columns(db, relation)
            types = dict(columns)
            # Each column as COPY prints it (session in UTC, ISO dates): no cast on the
            # server, which would cost more than the COPY itself.
            select = ", ".join(PG.ident(n) for n, _ in columns)
            conditions, params = [], []
            order = ""
            if extract.mode == "incremental":
                if extract.cursor not in types:
                    raise BadInputError(f"the cursor column {extract.cursor!r} is gone")
                cursor = PG.ident(extract.cursor)
                nulls = await db.fetchval(f"SELECT count(*) FROM {relation} WHERE {cursor} IS NULL")
                if nulls:
                    raise BadInputError(
                        f"the cursor column {extract.cursor!r} has {nulls} null value(s): "
                        "such rows can never be extracted incrementally; choose a cursor "
                        "without nulls, or extract in full"
                    )
                time_cursor = pg_spec(types[extract.cursor]).split(":")[0] in TIME_KINDS
                conditions, params = PG.window(
                    extract.cursor, types[extract.cursor], time_cursor, extract.low,
                    extract.high, extract.lookback,
                )  # fmt: skip
                order = f" ORDER BY {cursor}"
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            query = _inline(f"SELECT {select or '1'} FROM {relation}{where}{order}", params)
            sink.start([n for n, _ in columns])
            # COPY is the fastest way out of PostgreSQL as text. It writes to a spool file
            # that a worker thread reads as it grows, parsing with Arrow's CSV reader and
            # writing Bronze, so the server's work and ours overlap (an unquoted empty field
            # is NULL, a quoted one the empty string, exactly as COPY wrote them).
            spool = sink.out.with_suffix(".copy.csv")
            spool.touch()
            written = threading.Event()
            reading = asyncio.create_task(
                asyncio.to_thread(sink.add_csv, spool, len(columns), written)
            )
            try:
                try:
                    with open(spool, "ab", buffering=0) as out:  # noqa: ASYNC230 - page cache

                        async def append(data: bytes) -> None:
                            # A page-cache write of one chunk (~16 KiB): quicker in place
                            # than handed to a thread, as asyncpg does for a path.
                            out.write(data)

                        await db.copy_from_query(query, output=append, format="csv")
                finally:
                    written.set()
                await reading
            finally:
                await asyncio.gather(reading, return_exceptions=True)  # COPY's error wins
                spool.unlink(missing_ok=True)
    except asyncpg.PostgresError as exc:
        raise _pg_query_error(exc, extract) from None
    except OSError as exc:
        raise engines._pg_error(exc, conn) from None
    finally:
        await db.close()
    return {name: pg_spec(t) for name, t in columns}


def _inline(query: str, params: list) -> str:
    """The window's bounds written into the query as literals (COPY takes no parameters):
    each is text, quoted with its quotes doubled (standard_conforming_strings is on)."""
    for n in range(len(params), 0, -1):
        text = str(params[n - 1])
        if "\x00" in text:
            raise BadInputError("a watermark or initial value holds a NUL character")
        query = query.replace(f"${n}", "'" + text.replace("'", "''") + "'")
    return query


def _pg_query_error(exc: asyncpg.PostgresError, extract: SourceExtract) -> Exception:
    what = extract.table or "the query"
    if isinstance(exc, asyncpg.UndefinedTableError):
        return BadInputError(f"no table {what} (or no access to it): {exc}")
    if isinstance(exc, asyncpg.UndefinedColumnError):
        return BadInputError(f"{what}: {exc}")
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return BadInputError(f"{what}: the query tried to write, refused: {exc}")
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return BadInputError(f"{what}: the connection's user may not read it: {exc}")
    if isinstance(exc, asyncpg.PostgresSyntaxError):
        return BadInputError(f"{what}: the query is not valid SQL: {exc}")
    return BadInputError(f"{what}: {type(exc).__name__}: {exc}")


# --- the Bronze side --------------------------------------------------------------------------


class _Growing(io.RawIOBase):
    """A file another writer is still appending to, read to its end: a read at the current
    end waits for more until `written` is set."""

    def __init__(self, path: Path, written: threading.Event):
        self.file = open(path, "rb")  # noqa: SIM115 - closed with this object
        self.written = written

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        """Fill `buffer` (Arrow parses each read as one block: a short read would make a
        small batch), short only at the end of what was written."""
        view, filled = memoryview(buffer).cast("B"), 0
        while filled < len(view):
            finished = self.written.is_set()
            n = self.file.readinto(view[filled:]) or 0
            filled += n
            if not n:
                if finished:
                    break
                time.sleep(0.002)
        return filled

    def close(self) -> None:
        self.file.close()
        super().close()


class _Sink:
    """Chunks of text columns into one Bronze Parquet file, with lineage."""

    def __init__(self, out: Path, source: str, run_id: str, ingested_at: datetime,
                 progress: Callable[[int], None] | None):  # fmt: skip
        self.out, self.source, self.run_id, self.ingested_at = out, source, run_id, ingested_at
        self.progress = progress
        self.names: list[str] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0
        self.pending: list[pa.Table] = []
        self.pending_bytes = 0
        self.written = 0  # rows in row groups already written

    def start(self, raw_names: list[str]) -> None:
        self.raw = raw_names
        self.names = header_names(raw_names, {f.name for f in LINEAGE})
        schema = pa.schema([pa.field(n, pa.string()) for n in self.names] + LINEAGE)
        # Dictionaries only for the lineage columns (one value each): for the data, encoding
        # them cost more time than it saves space in a file Silver reads once.
        self.writer = pq.ParquetWriter(
            self.out, schema, compression="zstd",
            use_dictionary=["_source_file", "_run_id", "_ingested_at"],
            column_encoding={"_source_line": "DELTA_BINARY_PACKED"},
            # Statistics (min/max) of long text columns cost a third of the write and help
            # no reader of Bronze (Silver reads it whole); the lineage columns keep theirs.
            write_statistics=[f.name for f in LINEAGE],
        )  # fmt: skip

    def add_csv(self, path: Path, width: int, written: threading.Event | None = None) -> None:
        """Every row of a CSV file COPY writes, in order, batch by batch; with `written`, the
        file is read while it grows, until that is set."""
        source = _Growing(path, written) if written is not None else path
        names = [f"c{i}" for i in range(width)]
        try:
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(column_names=names, block_size=2 << 20),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True,
                    quoted_strings_can_be_null=False, null_values=[""],
                ),
            )  # fmt: skip
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return  # no row in the window
            raise
        for batch in reader:
            if batch.num_rows:
                self.add(batch.columns, batch.num_rows)

    def add(self, columns: list, n: int) -> None:
        assert self.writer is not None
        arrays = [c if isinstance(c, pa.Array) else pa.array(c, pa.string()) for c in columns]
        arrays += [
            pa.repeat(pa.scalar(self.source), n),
            pa.array(np.arange(self.rows + 1, self.rows + n + 1, dtype=np.int64)),
            pa.repeat(pa.scalar(self.ingested_at, pa.timestamp("us", tz="UTC")), n),
            pa.repeat(pa.scalar(self.run_id), n),
        ]
        self.pending.append(pa.Table.from_arrays(arrays, schema=self.writer.schema))
        self.pending_bytes += self.pending[-1].nbytes
        self.rows += n
        if self.rows - self.written >= GROUP_ROWS or self.pending_bytes >= GROUP_BYTES:
            self._flush()
        if self.progress is not None:
            self.progress(self.rows)

    def _flush(self) -> None:
        """Chunks gathered into one row group (readers scan a few large ones faster than
        many small ones), memory bounded by GROUP_BYTES."""
        if self.pending and self.writer is not None:
            self.writer.write_table(pa.concat_tables(self.pending), row_group_size=GROUP_ROWS)
        self.pending, self.pending_bytes, self.written = [], 0, self.rows

    def close(self) -> None:
        if self.writer is not None:
            self._flush()
            self.writer.close()
        elif self.names or not self.out.exists():
            pq.write_table(pa.schema(LINEAGE).empty_table(), self.out)


# --- entry points -----------------------------------------------------------------------------


async def plan(conn: Connection, password: str, extract: SourceExtract) -> SourceExtract:
    """The window's top for an incremental source (the cursor's maximum now)."""
    try:
        if conn.kind == "postgresql":
            return await _pg_plan(conn, password, extract)
        if extract.mode != "incremental":
            return extract
        engine = dbapi.ENGINES[conn.kind]
        high = await asyncio.to_thread(
            dbapi.extract, engine, conn, password, extract, None, plan=True
        )
        return extract.model_copy(update={"high": high})
    except SourceError as exc:
        raise BadInputError(f"connection {conn.name!r}: {exc} ({exc.kind})") from None


async def to_bronze(
    conn: Connection,
    password: str,
    extract: SourceExtract,
    out: Path,
    *,
    run_id: str,
    ingested_at: datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[BronzeResult, dict[str, str]]:
    """Extract the window into `out`; (the Bronze result, the columns' type specs)."""
    sink = _Sink(out, source_name(extract), run_id, ingested_at, progress)
    try:
        if conn.kind == "postgresql":
            specs = await _pg_extract(conn, password, extract, sink)
        else:
            engine = dbapi.ENGINES[conn.kind]
            specs = await asyncio.to_thread(dbapi.extract, engine, conn, password, extract, sink)
    except SourceError as exc:
        message = f"connection {conn.name!r}: {exc} ({exc.kind})"
        if exc.kind in OUTAGES:  # retried with back-off like any outage, then failed
            raise TransientError(message) from None
        raise BadInputError(message) from None
    finally:
        sink.close()
    names = dict(zip(sink.raw, sink.names, strict=True)) if sink.names else {}
    dialect = Dialect("utf-8", "", "", True, len(sink.names), 1.0, "declared")
    result = BronzeResult(dialect=dialect, columns=sink.names, parsed=sink.rows,
                          bronze=sink.rows, format=conn.kind)  # fmt: skip
    return result, {names.get(k, k): v for k, v in specs.items() if v != "string"}
