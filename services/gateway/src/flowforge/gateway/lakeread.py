"""Reading lake objects for the API: samples of a layer, rejected lines, Gold rows.

DuckDB reads local Parquet files (the objects themselves with a local store, cached copies
with S3), so what a client sees is exactly what Gold and the analytics views see: Silver
samples are the *valid* rows (quarantined rows excluded).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from pathlib import Path
from typing import Any

from flowforge.common.lake import ValidRows, sql_list, sql_string
from flowforge.common.memory import DUCKDB_CONFIG
from flowforge.common.storage import LakeFiles


def _jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _rows(sql: str, limit: int) -> list[dict[str, Any]]:
    import duckdb  # on the first read, not at the gateway's start (a test holds it)

    con = duckdb.connect(config={**DUCKDB_CONFIG, "threads": 1})
    try:
        cursor = con.execute(f"SELECT * FROM ({sql}) LIMIT {int(limit)}")
        names = [d[0] for d in cursor.description]
        return [
            {n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()
        ]
    finally:
        con.close()


def sample_bronze(files: LakeFiles, keys: list[str], limit: int) -> list[dict[str, Any]]:
    if not keys:
        return []
    paths = [files.path(k) for k in keys]
    return _rows(f"SELECT * FROM read_parquet({sql_list(paths)}, union_by_name = true)", limit)


def valid_rows(files: LakeFiles, silver: dict[str, Any]) -> ValidRows | None:
    """A dataset's valid rows from transform's `silver.batches` answer (its Silver table's
    files and the batches not in it yet); None when it has none."""
    batches = silver["batches"]
    if not batches and not silver.get("base"):
        return None
    return ValidRows(
        silver=[files.path(b["silver_key"]) for b in batches],
        quarantine=[files.path(b["quarantine_key"]) for b in batches if b["quarantine_key"]],
        key=silver["key"],
        base=[files.path(k) for k in silver.get("base") or []],
    )


def sample_silver(files: LakeFiles, silver: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    rows = valid_rows(files, silver)
    if rows is None:
        return []
    return _rows(
        f"SELECT * FROM ({rows.sql()}) ORDER BY _ingested_at, _run_id, _source_line", limit
    )


def sample_relation(sql: str, limit: int) -> list[dict[str, Any]]:
    """The first rows of a relation over lake files (a stored model's rows)."""
    return _rows(sql, limit)


def rejected_rows(path: Path, limit: int) -> list[dict[str, Any]]:
    return _rows(
        f"SELECT _source_line AS line, reason, raw FROM read_parquet({sql_string(str(path))})"
        " ORDER BY _source_line",
        limit,
    )


def quarantine_rows(
    files: LakeFiles,
    batches: list[tuple[str, str]],
    rule: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Quarantine entries of the given (quarantine key, Silver key) batches, newest batch
    first, each with the quarantined row's Silver values under `row`. Counting and paging
    read only the (small) quarantine objects; Silver is read for the page's rows alone."""
    if not batches:
        return 0, []
    union = " UNION ALL ".join(
        f"SELECT {i} AS batch, _run_id AS run_id, _source_file AS file, _source_line AS line,"
        f' rule, "column", value, reason FROM read_parquet({sql_string(str(files.path(q)))})'
        for i, (q, _) in enumerate(batches)
    )
    where = f" WHERE rule = {sql_string(rule)}" if rule else ""
    import duckdb  # on the first read, not at the gateway's start (a test holds it)

    con = duckdb.connect(config={**DUCKDB_CONFIG, "threads": 1})
    try:
        total = con.execute(f"SELECT count(*) FROM ({union}){where}").fetchone()[0]
        cursor = con.execute(
            f"SELECT * FROM ({union}){where} ORDER BY batch, line, rule"
            f" LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        names = [d[0] for d in cursor.description]
        page = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        silver_rows: dict[tuple[int, int], dict[str, Any]] = {}
        for index in sorted({p["batch"] for p in page}):
            lines = sorted({int(p["line"]) for p in page if p["batch"] == index})
            path = sql_string(str(files.path(batches[index][1])))
            found = con.execute(
                f"SELECT _source_line, to_json(s)::VARCHAR FROM read_parquet({path}) s"
                f" WHERE _source_line IN ({', '.join(map(str, lines))})"
            ).fetchall()
            for line, row in found:
                values = json.loads(row)
                silver_rows[(index, line)] = {
                    k: v for k, v in values.items() if not k.startswith("_")
                }
    finally:
        con.close()
    rows = []
    for p in page:
        item = {k: _jsonable(v) for k, v in p.items() if k != "batch"}
        item["row"] = silver_rows.get((p["batch"], p["line"]), {})
        rows.append(item)
    return int(total), rows
