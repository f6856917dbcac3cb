"""Gold models: DuckDB SQL over Silver datasets (valid rows) and other models, by name.
Transform owns them (definitions and build state); the gateway asks it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from flowforge.common.errors import NotFoundError
from flowforge.gateway import drafts, lakeread
from flowforge.gateway.ai_schemas import DraftPublic, DraftRequest
from flowforge.gateway.audit import note
from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.owners import LONG
from flowforge.gateway.paging import Limit, next_page
from flowforge.gateway.params import ModelName
from flowforge.gateway.routes import sql
from flowforge.gateway.routes.jobs import ACCEPTED, accept
from flowforge.gateway.schemas import ModelCreate, ModelList, ModelPublic, SamplePublic

router = APIRouter(prefix="/api/v1/models", tags=["models"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModelPublic)
async def create_model(body: ModelCreate, gw: GatewayDep) -> ModelPublic:
    """Register (or replace) a Gold model and build it from the data already landed; it is
    rebuilt whenever a dataset it reads lands again. A failed build shows on the model
    (`last_error`)."""
    saved = await gw.owners.transform.ask("models.put", **body.model_dump())
    return ModelPublic.model_validate(saved)


@router.post("/draft", response_model=DraftPublic)
async def draft_model(body: DraftRequest, request: Request, gw: GatewayDep) -> DraftPublic:
    """Draft a Gold model from a question ("monthly revenue by country for paid orders"): the
    LLM writes it from the catalog's metadata (names, types, descriptions; never a value),
    the ai service checks it (it parses, reads only known datasets and models and columns they
    have) and it is run on a sample (`dry_run`); `columns_used` and `lineage` say what it reads.
    `ready` drafts are saved, by a person, with POST /api/v1/models; nothing is saved here. A
    draft that cannot be used is `refused` with the reason; with no LLM key (or over the daily
    budget) it is `unavailable`, with the reason."""
    found = await gw.owners.ai.ask("model.draft", timeout=LONG, **body.model_dump())
    draft = await drafts.dry_run(gw, DraftPublic.model_validate(found))
    note(request, target=f"model/{draft.name}" if draft.name else None,
         detail=drafts.audit_detail(draft))  # fmt: skip
    return draft


@router.get("", response_model=ModelList)
async def list_models(
    request: Request,
    response: Response,
    gw: GatewayDep,
    limit: Limit = 100,
    cursor: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page")
    ] = None,
) -> ModelList:
    page = await gw.owners.transform.ask("models.list", after=cursor, limit=limit)
    return ModelList(models=page["models"], **next_page(request, response, page["next_after"]))


@router.get("/{name}", response_model=ModelPublic)
async def get_model(name: ModelName, gw: GatewayDep) -> ModelPublic:
    return ModelPublic.model_validate(await gw.owners.transform.ask("models.get", name=name))


@router.post("/{name}/build", status_code=202, responses=ACCEPTED)
async def build_model(
    name: ModelName,
    request: Request,
    gw: GatewayDep,
    full_refresh: Annotated[
        bool, Query(description="rebuild incremental models from all their input rows")
    ] = False,
) -> JSONResponse:
    """Rebuild the model (and the models reading it) from the data there is now. A job: its
    result lists the models built and those that failed, with the reason."""
    await gw.owners.transform.ask("models.get", name=name)  # 404 now, not in the job

    async def work() -> Any:
        return await gw.owners.transform.ask(
            "models.build", timeout=LONG, names=[name], full_refresh=full_refresh
        )

    return await accept(gw, request, "build", name, {"models": [name]}, work)


@router.get("/{name}/sample", response_model=SamplePublic)
async def sample_model(
    name: ModelName, gw: GatewayDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 20
) -> SamplePublic:
    model = await gw.owners.transform.ask("models.get", name=name)
    if model.get("materialized") == "view" and model["built"]:  # read through its SQL
        inputs = await sql.read_inputs(gw, [name])
        names, found, _ = await asyncio.to_thread(
            sql.run_query, f"SELECT * FROM {name}", inputs, limit, None, "json", 30.0
        )
        rows = [{n: lakeread._jsonable(v) for (n, _), v in zip(names, row, strict=True)}
                for row in found[:limit]]  # fmt: skip
        return SamplePublic(dataset=name, layer="gold", rows=rows)
    if not model["built"] or model.get("version") is None:
        reason = f"; the last build failed: {model['last_error']}" if model["last_error"] else ""
        raise NotFoundError(
            f"model {name!r} has not been built yet: it is built once the data it reads "
            f"({', '.join(model['depends_on']) or 'none'}) has landed and passed quality" + reason
        )
    stored = await asyncio.to_thread(sql.model_rows, gw, model)
    rows = await asyncio.to_thread(lakeread.sample_relation, stored.sql(), limit)
    return SamplePublic(dataset=name, layer="gold", rows=rows)
