"""Gold models: DuckDB SQL over Silver datasets (valid rows) and other models, by name."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from flowforge.common import lake
from flowforge.common.bus import publish
from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.events import JobRequested
from flowforge.common.models import model_references
from flowforge.gateway import lakeread
from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.schemas import (
    ColumnPublic,
    ModelCreate,
    ModelList,
    ModelPublic,
    SamplePublic,
)

router = APIRouter(prefix="/api/v1/models", tags=["models"])


def _public(row) -> ModelPublic:
    return ModelPublic(
        name=row["name"],
        sql=row["sql"],
        depends_on=list(row["depends_on"]),
        reconcile=dict(row["reconcile"] or {}),
        built=row["row_count"] is not None,
        row_count=row["row_count"],
        columns=[ColumnPublic(**c) for c in (row["columns"] or [])],
        updated_at=row["updated_at"],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModelPublic)
async def create_model(body: ModelCreate, gw: GatewayDep) -> ModelPublic:
    """Register (or replace) a Gold model and build it from the data already landed; it is
    rebuilt whenever a dataset it reads lands again."""
    name = lake.check_name(body.name.strip(), "model")
    sql = body.sql.strip().rstrip(";")
    if not sql:
        raise BadInputError("the model's SQL is empty")
    depends_on = model_references(sql)
    if name in depends_on:
        raise BadInputError(f"model {name!r} reads itself")
    reconcile = _reconcile(body.reconcile, depends_on)
    await gw.state.save_model(name, sql, depends_on, reconcile)
    # Build it now from the data already landed (transform skips it if its inputs are missing).
    job = JobRequested(run_id=uuid.uuid4().hex, dataset=name, kind="build_models", models=[name])
    await publish(gw.broker, job, gw.settings)
    return _public(await gw.state.model(name))


def _reconcile(declared: dict[str, str], depends_on: list[str]) -> dict[str, str]:
    """Check `{gold column: 'dataset.column'}`: the dataset must be one the model reads."""
    out = {}
    for gold_column, source in declared.items():
        dataset, _, column = source.strip().partition(".")
        if not gold_column.strip() or not column:
            raise BadInputError(
                f"reconcile {gold_column!r}: {source!r} should be '<dataset>.<column>'"
            )
        if dataset not in depends_on:
            raise BadInputError(
                f"reconcile {gold_column!r}: the model does not read {dataset!r} "
                f"(it reads {', '.join(depends_on) or 'nothing'})"
            )
        out[gold_column.strip()] = f"{dataset}.{column}"
    return out


@router.get("", response_model=ModelList)
async def list_models(gw: GatewayDep) -> ModelList:
    return ModelList(models=[_public(r) for r in await gw.state.models()])


@router.get("/{name}", response_model=ModelPublic)
async def get_model(name: str, gw: GatewayDep) -> ModelPublic:
    return _public(await gw.state.model(name))


@router.get("/{name}/sample", response_model=SamplePublic)
async def sample_model(
    name: str, gw: GatewayDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 20
) -> SamplePublic:
    row = await gw.state.model(name)
    key = lake.gold_key(name)
    if row["row_count"] is None or not await asyncio.to_thread(gw.store.exists, key):
        raise NotFoundError(
            f"model {name!r} has not been built yet: it is built once the data it reads "
            f"({', '.join(row['depends_on']) or 'none'}) has landed and passed quality"
        )
    path = await asyncio.to_thread(gw.files.fresh_path, key)
    rows = await asyncio.to_thread(lakeread.sample_file, path, limit)
    return SamplePublic(dataset=name, layer="gold", rows=rows)
