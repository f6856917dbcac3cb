"""`POST /api/v1/sql`: read-only SQL over the lake for analysts (and the web UI's explorer).
One SELECT naming datasets (their valid Silver rows) and Gold models by name; run in a
sandboxed DuckDB that can read only those tables' files (no other file, no network, no
extension), with a row limit and a time limit; answered as JSON, CSV or Parquet."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.lake import ModelRows, ValidRows, sql_string
from flowforge.common.lakehouse import Lakehouse
from flowforge.common.models import model_references, quote_identifier, sandboxed
from flowforge.gateway import lakeread
from flowforge.gateway.deps import Gateway, GatewayDep

if TYPE_CHECKING:  # imported when a query runs, not at the gateway's start
    import duckdb

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


@dataclass
class Inputs:
    """What a query reads: datasets' valid rows, stored models' files, and `view` models'
    SQL (bound over their own inputs, which are here too)."""

    datasets: dict[str, ValidRows] = field(default_factory=dict)
    models: dict[str, ModelRows] = field(default_factory=dict)
    views: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def kinds(self) -> dict[str, str]:
        return {**dict.fromkeys(self.datasets, "silver"), **dict.fromkeys(self.models, "gold"),
                **dict.fromkeys(self.views, "gold")}  # fmt: skip

    def paths(self) -> list[Path]:
        out = [p for rows in self.datasets.values() for p in rows.paths]
        return out + [p for rows in self.models.values() for p in rows.paths]

    def bind(self, con: duckdb.DuckDBPyConnection) -> None:
        for name, rows in self.datasets.items():
            con.execute(f"CREATE TEMP VIEW {quote_identifier(name)} AS {rows.sql()}")
        for name, rows in self.models.items():
            con.execute(f"CREATE TEMP VIEW {quote_identifier(name)} AS {rows.sql()}")
        done = set(self.datasets) | set(self.models)
        waiting = dict(self.views)
        while waiting:  # each view once what it reads is there (models form no cycle)
            ready = [n for n, (_, deps) in waiting.items() if set(deps) <= done]
            if not ready:
                raise BadInputError(f"views {sorted(waiting)} read each other in a cycle")
            for name in ready:
                con.execute(f"CREATE TEMP VIEW {quote_identifier(name)} AS {waiting.pop(name)[0]}")
                done.add(name)


def model_rows(gw: Gateway, model: dict[str, Any]) -> ModelRows:
    """A stored model's rows from transform's answer: its table version and pending merges."""
    return ModelRows(
        base=Lakehouse(gw.store).data_paths(gw.files, "gold", model["name"], model["version"]),
        pending=[gw.files.path(k) for k in model.get("pending") or []],
        key=list(model.get("unique_key") or []),
    )


async def read_inputs(gw: Gateway, names: list[str]) -> Inputs:
    found = Inputs()
    queue = list(names)
    while queue:
        name = queue.pop(0)
        if name in found.datasets or name in found.models or name in found.views:
            continue
        try:
            model = await gw.owners.transform.ask("models.get", name=name)
        except NotFoundError:
            pass
        else:
            if model.get("materialized") == "view":
                found.views[name] = (model["sql"], list(model["depends_on"]))
                queue += list(model["depends_on"])
                continue
            if model.get("version") is None:
                raise BadInputError(f"model {name!r} has not been built yet")
            found.models[name] = await asyncio.to_thread(model_rows, gw, model)
            continue
        silver = await gw.owners.transform.ask("silver.batches", dataset=name)
        rows = await asyncio.to_thread(lakeread.valid_rows, gw.files, silver)
        if rows is None:
            raise BadInputError(f"{name!r} is neither a Gold model nor a dataset with valid rows")
        found.datasets[name] = rows
    return found


def run_query(sql: str, inputs: Inputs, limit: int, out: Path | None, fmt: str, wait: float):
    import duckdb

    con = sandboxed([*inputs.paths(), *([out] if out else [])])
    timer = threading.Timer(wait, con.interrupt)
    try:
        inputs.bind(con)
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
    inputs = await read_inputs(gw, tables)
    kinds = {name: kind for name, kind in inputs.kinds().items() if name in tables}
    if format != "json":
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"result.{format}"
            await asyncio.to_thread(run_query, body.sql, inputs, body.limit - 1, out,
                                    format, body.timeout)  # fmt: skip
            data = await asyncio.to_thread(out.read_bytes)
        media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
        return Response(data, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="result.{format}"'})  # fmt: skip
    names, rows, seconds = await asyncio.to_thread(
        run_query, body.sql, inputs, body.limit, None, format, body.timeout
    )
    return SqlResult(
        columns=[SqlColumn(name=n, type=t) for n, t in names],
        rows=[[lakeread._jsonable(v) for v in r] for r in rows[: body.limit]],
        truncated=len(rows) > body.limit,
        seconds=round(seconds, 3),
        tables=kinds,
    )
