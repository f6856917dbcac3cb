"""`POST /api/v1/sql`: read-only SQL over the lake for analysts (and the web UI's explorer).
One SELECT naming datasets (their valid Silver rows) and Gold models by name; run in a
sandboxed DuckDB that can read only those tables' files (no other file, no network, no
extension), with a row limit and a time limit; answered as JSON, CSV or Parquet."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.lake import ValidRows, sql_list, sql_string
from flowforge.common.lakehouse import Lakehouse
from flowforge.common.models import model_references, quote_identifier, sandboxed
from flowforge.gateway import lakeread
from flowforge.gateway.deps import Gateway, GatewayDep

router = APIRouter(prefix="/api/v1", tags=["sql"])
TIME_LIMIT = 30.0  # seconds a query may run
MAX_ROWS = 100_000


class SqlRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="one SELECT over datasets "
                     "(their valid Silver rows) and Gold models, by name")  # fmt: skip
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description="rows returned at most")
    timeout: float = Field(TIME_LIMIT, gt=0, le=TIME_LIMIT, description="seconds it may run")


class SqlColumn(BaseModel):
    name: str
    type: str


class SqlResult(BaseModel):
    columns: list[SqlColumn]
    rows: list[list[Any]]
    truncated: bool = Field(description="more rows than `limit` matched")
    seconds: float
    tables: dict[str, str] = Field(description="each table read: `silver` or `gold`")


async def _inputs(
    gw: Gateway, names: list[str]
) -> tuple[dict[str, ValidRows], dict[str, list[Path]]]:
    datasets: dict[str, ValidRows] = {}
    models: dict[str, list[Path]] = {}
    for name in names:
        try:
            model = await gw.owners.transform.ask("models.get", name=name)
        except NotFoundError:
            pass
        else:
            if model.get("version") is None:
                raise BadInputError(f"model {name!r} has not been built yet")
            models[name] = await asyncio.to_thread(
                Lakehouse(gw.store).data_paths, gw.files, "gold", name, model["version"]
            )
            continue
        silver = await gw.owners.transform.ask("silver.batches", dataset=name)
        rows = await asyncio.to_thread(lakeread.valid_rows, gw.files, silver)
        if rows is None:
            raise BadInputError(f"{name!r} is neither a Gold model nor a dataset with valid rows")
        datasets[name] = rows
    return datasets, models


def _run(
    sql: str, datasets: dict, models: dict, limit: int, out: Path | None, fmt: str, wait: float
):
    paths = [p for rows in datasets.values() for p in rows.paths]
    paths += [p for files in models.values() for p in files]
    con = sandboxed([*paths, *([out] if out else [])])
    timer = threading.Timer(wait, con.interrupt)
    try:
        for name, rows in datasets.items():
            con.execute(f"CREATE TEMP VIEW {quote_identifier(name)} AS {rows.sql()}")
        for name, files in models.items():
            con.execute(f"CREATE TEMP VIEW {quote_identifier(name)} AS SELECT * FROM "
                        f"read_parquet({sql_list(files)}, union_by_name = true)")  # fmt: skip
        started = time.perf_counter()
        timer.start()
        query = f"SELECT * FROM ({sql}) q LIMIT {int(limit) + 1}"
        try:
            if out is not None:
                con.execute(f"COPY ({query}) TO {sql_string(str(out))} (FORMAT {fmt}"
                            f"{', HEADER true' if fmt == 'csv' else ''})")  # fmt: skip
                return None
            cursor = con.execute(query)
            names = [(d[0], str(d[1]).lower()) for d in cursor.description]
            rows = cursor.fetchall()
        except duckdb.InterruptException:
            raise BadInputError(f"the query ran past its time limit ({wait:g} s)") from None
        except duckdb.Error as exc:
            text = str(exc).strip().splitlines()[0]
            raise BadInputError(f"the query failed: {text}") from None
        return names, rows, time.perf_counter() - started
    finally:
        timer.cancel()
        con.close()


@router.post("/sql", response_model=SqlResult, responses={
    200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
          "description": "the rows (JSON, or a CSV / Parquet file with `format`)"}})  # fmt: skip
async def run_sql(
    body: SqlRequest,
    gw: GatewayDep,
    format: Annotated[
        Literal["json", "csv", "parquet"], Query(description="the answer's form")
    ] = "json",  # noqa: A002, E501
) -> SqlResult | Response:
    """Run one read-only SELECT over datasets (their valid Silver rows) and Gold models, by
    name, within a row and a time limit. Anything else (several statements, writes, reading
    files or URLs) is refused before it runs."""
    tables = model_references(body.sql)
    if not tables:
        raise BadInputError("name at least one dataset or model (FROM orders)")
    datasets, models = await _inputs(gw, tables)
    kinds = {**dict.fromkeys(datasets, "silver"), **dict.fromkeys(models, "gold")}
    if format != "json":
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"result.{format}"
            await asyncio.to_thread(_run, body.sql, datasets, models, body.limit - 1, out,
                                    format, body.timeout)  # fmt: skip
            data = await asyncio.to_thread(out.read_bytes)
        media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
        return Response(data, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="result.{format}"'})  # fmt: skip
    names, rows, seconds = await asyncio.to_thread(
        _run, body.sql, datasets, models, body.limit, None, format, body.timeout
    )
    return SqlResult(
        columns=[SqlColumn(name=n, type=t) for n, t in names],
        rows=[[lakeread._jsonable(v) for v in r] for r in rows[: body.limit]],
        truncated=len(rows) > body.limit,
        seconds=round(seconds, 3),
        tables=kinds,
    )
