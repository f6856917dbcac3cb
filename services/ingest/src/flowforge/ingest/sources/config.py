"""`ingest.sources`: a dataset fed from a source database (which connection, which table or
read-only query, full or incremental by a cursor column) and its watermark."""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.lake import check_name

MODES = ("full", "incremental")
# What can make a single SELECT write or lock: data-modifying WITH parts, SELECT ... INTO,
# row locks, and statements smuggled in. (Words that are also common column and function
# names, such as `comment` or `replace`, are left to the read-only transaction.)
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|upsert|into|create|alter|drop|truncate|grant|revoke|"
    r"copy|call|exec|execute|lock)\b|\bfor\s+(no\s+key\s+)?(update|share|key\s+share)\b",
    re.IGNORECASE,
)
_STRINGS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\$\$.*?\$\$", re.S)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def check_query(query: str) -> str:
    """A single read-only SELECT (or WITH ... SELECT), refused before it reaches the
    database otherwise; the extraction also runs in a read-only transaction."""
    if not isinstance(query, str) or not query.strip():
        raise BadInputError("`query` must be a SELECT statement")
    if len(query) > 100_000:
        raise BadInputError("`query` is longer than 100,000 characters")
    bare = _COMMENTS.sub(" ", _STRINGS.sub("''", query)).strip().rstrip(";").strip()
    if ";" in bare:
        raise BadInputError("`query` must be one statement (it holds a ';')")
    if not re.match(r"^(select|with)\b", bare, re.IGNORECASE):
        raise BadInputError("`query` must be a SELECT (or WITH ... SELECT) statement")
    if found := _WRITES.search(bare):
        raise BadInputError(
            f"`query` must only read: {found.group(0).upper()!r} is refused (an extraction "
            "never writes to its source)"
        )
    return query.strip().rstrip(";").strip()


def parse(request: dict[str, Any]) -> dict[str, Any]:
    dataset = check_name(str(request.get("dataset") or ""))
    connection = check_name(str(request.get("connection") or ""), "connection")
    table, query = request.get("table"), request.get("query")
    if (table is None) == (query is None):
        raise BadInputError("give exactly one of `table` and `query`")
    if table is not None and (not isinstance(table, str) or not 0 < len(table) <= 300):
        raise BadInputError("`table` must name a table: `schema.table` or `table`")
    if query is not None:
        query = check_query(query)
    mode = request.get("mode") or "full"
    if mode not in MODES:
        raise BadInputError(f"`mode` must be full or incremental, not {mode!r}")
    cursor = request.get("cursor")
    if isinstance(cursor, list):
        if len(cursor) > 1:
            raise BadInputError("`cursor` takes one column for now (e.g. updated_at or id)")
        cursor = cursor[0] if cursor else None
    if mode == "incremental" and not cursor:
        raise BadInputError("an incremental source needs a `cursor` column (e.g. updated_at)")
    if cursor is not None and (not isinstance(cursor, str) or not 0 < len(cursor) <= 128):
        raise BadInputError("`cursor` must be a column name")
    lookback = request.get("lookback") or 0
    if not isinstance(lookback, int | float) or isinstance(lookback, bool) or lookback < 0:
        raise BadInputError("`lookback` must be a number ≥ 0 (seconds for a time cursor)")
    initial = request.get("initial")
    if initial is not None:
        initial = str(initial)
    return {"dataset": dataset, "connection": connection, "table": table, "query": query,
            "mode": mode, "cursor": cursor if mode == "incremental" else None,
            "lookback": float(lookback), "initial": initial}  # fmt: skip


def public(row: asyncpg.Record) -> dict[str, Any]:
    return {"dataset": row["dataset"], "connection": row["connection"],
            "table": row["source_table"], "query": row["query"], "mode": row["mode"],
            "cursor": row["cursor_column"], "lookback": row["lookback"],
            "initial": row["initial"], "watermark": row["watermark"],
            "watermark_run": row["watermark_run"], "updated_at": row["updated_at"]}  # fmt: skip


class Sources:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def put(self, source: dict[str, Any]) -> dict[str, Any]:
        """Set a dataset's source; the watermark is kept while the table/query and cursor
        stay the same, and starts again otherwise."""
        try:
            row = await self.pool.fetchrow(
                "INSERT INTO ingest.sources AS s (dataset, connection, source_table, query,"
                " mode, cursor_column, initial, lookback) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
                " ON CONFLICT (dataset) DO UPDATE SET connection=$2, source_table=$3,"
                " query=$4, mode=$5, cursor_column=$6, initial=$7, lookback=$8,"
                " watermark = CASE WHEN s.source_table IS NOT DISTINCT FROM $3 AND"
                "   s.query IS NOT DISTINCT FROM $4 AND s.cursor_column IS NOT DISTINCT FROM $6"
                "   AND s.connection = $2 THEN s.watermark END,"
                " updated_at = now() RETURNING *",
                source["dataset"], source["connection"], source["table"], source["query"],
                source["mode"], source["cursor"], source["initial"], source["lookback"],
            )  # fmt: skip
        except asyncpg.ForeignKeyViolationError:
            raise NotFoundError(f"no connection named {source['connection']!r}") from None
        return public(row)

    async def get(self, dataset: str) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "SELECT * FROM ingest.sources WHERE dataset = $1", check_name(dataset)
        )
        if row is None:
            raise NotFoundError(
                f"dataset {dataset!r} has no source: PUT /api/v1/datasets/{dataset}/source"
            )
        return public(row)

    async def advance(self, dataset: str, high: str | None, run_id: str) -> None:
        """After the run's Bronze is committed: the next extract starts from `high`."""
        if high is None:
            return
        await self.pool.execute(
            "UPDATE ingest.sources SET watermark = $2, watermark_run = $3, updated_at = now()"
            " WHERE dataset = $1",
            dataset, high, run_id,
        )  # fmt: skip
