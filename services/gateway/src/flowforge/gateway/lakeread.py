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

import duckdb

from flowforge.common.lake import ValidRows, sql_list, sql_string
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
    con = duckdb.connect(config={"threads": 1})
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


def sample_silver(
    files: LakeFiles, silver: list[str], quarantine: list[str], key: list[str], limit: int
) -> list[dict[str, Any]]:
    if not silver:
        return []
    rows = ValidRows(
        silver=[files.path(k) for k in silver],
        quarantine=[files.path(k) for k in quarantine],
        key=key,
    )
    return _rows(
        f"SELECT * FROM ({rows.sql()}) ORDER BY _ingested_at, _run_id, _source_line", limit
    )


def sample_file(path: Path, limit: int) -> list[dict[str, Any]]:
    return _rows(f"SELECT * FROM read_parquet({sql_string(str(path))})", limit)


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
    first, each with the quarantined row's Silver values under `row`."""
    if not batches:
        return 0, []
    parts = []
    for i, (qkey, skey) in enumerate(batches):
        q, s = sql_string(str(files.path(qkey))), sql_string(str(files.path(skey)))
        parts.append(
            f"SELECT {i} AS batch, q._run_id AS run_id, q._source_file AS file,"
            ' q._source_line AS line, q.rule, q."column", q.value, q.reason,'
            " to_json(s) AS row"
            f" FROM read_parquet({q}) q LEFT JOIN read_parquet({s}) s"
            " ON s._run_id = q._run_id AND s._source_line = q._source_line"
        )
    union = " UNION ALL ".join(parts)
    where = f" WHERE rule = {sql_string(rule)}" if rule else ""
    con = duckdb.connect(config={"threads": 1})
    try:
        total = con.execute(f"SELECT count(*) FROM ({union}){where}").fetchone()[0]
        cursor = con.execute(
            f'SELECT run_id, file, line, rule, "column", value, reason, row::VARCHAR AS row'
            f" FROM ({union}){where} ORDER BY batch, line, rule"
            f" LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        names = [d[0] for d in cursor.description]
        rows = []
        for record in cursor.fetchall():
            item = dict(zip(names, record, strict=True))
            row = json.loads(item["row"]) if item["row"] else {}
            item["row"] = {k: v for k, v in row.items() if not k.startswith("_")}
            rows.append({k: _jsonable(v) for k, v in item.items()})
        return int(total), rows
    finally:
        con.close()
