"""Descriptions of datasets, Gold models and their columns (the catalog's): read, written by a
person, and exported as dbt-style `schema.yml` or OpenLineage dataset events. AI-proposed
descriptions arrive through the `descriptions` suggestion (routes/ai.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.gateway.audit import note
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.params import DatasetName, ModelName
from flowforge.gateway.routes.datasets import require
from flowforge.gateway.schemas import DescriptionsPublic, DescriptionsPut

router = APIRouter(tags=["catalog"])
LAYER = {"dataset": "silver", "model": "gold"}
DocsFormat = Annotated[Literal["dbt", "openlineage"], Query(description="dbt or openlineage")]


async def columns_of(gw: Gateway, name: str, layer: str) -> list[str] | None:
    """The columns of the dataset's Silver schema (a model's Gold one); None before it has one."""
    try:
        asset = await gw.owners.catalog.ask("asset.get", dataset=name, layer=layer)
    except NotFoundError:
        return None
    return [str(c["name"]) for c in asset["columns"]]


async def described(gw: Gateway, name: str, kind: str | None = None) -> dict[str, Any]:
    """The catalog's record; with `kind`, a 404 first for a dataset or model that does not
    exist (a description is never kept for a name nothing has)."""
    if kind == "dataset":
        await require(gw, name)
    elif kind == "model":
        await gw.owners.transform.ask("models.get", name=name)  # 404 when no such model
    return await gw.owners.catalog.ask("descriptions.get", dataset=name)


async def write(
    gw: Gateway,
    name: str,
    layer: str,
    *,
    description: str | None,
    columns: dict[str, str],
    source: str,
    by: str,
    unknown: Literal["refuse", "skip"] = "refuse",
) -> tuple[dict[str, Any], list[str]]:
    """Write descriptions into the catalog; columns not in the schema are refused (a person's
    edit) or skipped and named (an accepted suggestion made before a rename)."""
    known = await columns_of(gw, name, layer)
    stray = [c for c in columns if known is None or c not in known]
    if stray and unknown == "refuse":
        what = "no schema yet" if known is None else f"columns: {', '.join(known)}"
        raise BadInputError(
            f"{name!r} has no column(s) {', '.join(map(repr, stray))} to describe ({what})"
        )
    kept = {c: t for c, t in columns.items() if c not in stray}
    saved = await gw.owners.catalog.ask(
        "descriptions.put", dataset=name, description=description, columns=kept,
        source=source, by=by,
    )  # fmt: skip
    return saved, stray


def _public(saved: dict[str, Any]) -> DescriptionsPublic:
    return DescriptionsPublic(
        name=saved["dataset"],
        description=saved["description"],
        columns=saved["columns_described"],
    )


async def _put(
    gw: Gateway, request: Request, name: str, kind: str, body: DescriptionsPut
) -> DescriptionsPublic:
    before = await described(gw, name, kind)
    saved, _ = await write(
        gw, name, LAYER[kind], description=body.description, columns=body.columns,
        source="person", by=request.state.principal.name,
    )  # fmt: skip
    note(
        request,
        target=name,
        before=_public(before).model_dump(mode="json"),
        after=_public(saved).model_dump(mode="json"),
    )
    return _public(saved)


@router.get("/api/v1/datasets/{name}/descriptions", response_model=DescriptionsPublic)
async def dataset_descriptions(name: DatasetName, gw: GatewayDep) -> DescriptionsPublic:
    """The dataset's description and its Silver columns', each with where it came from
    (`person`, `offline`, or the LLM provider:model) and who wrote or accepted it."""
    return _public(await described(gw, name, "dataset"))


@router.put("/api/v1/datasets/{name}/descriptions", response_model=DescriptionsPublic)
async def put_dataset_descriptions(
    name: DatasetName, body: DescriptionsPut, request: Request, gw: GatewayDep
) -> DescriptionsPublic:
    """Write the dataset's description (`description`; omitted: unchanged) and its Silver
    columns' (`columns` {column: text}, only those given); an empty text removes one. A
    column not in the Silver schema is refused."""
    return await _put(gw, request, name, "dataset", body)


@router.get("/api/v1/models/{name}/descriptions", response_model=DescriptionsPublic)
async def model_descriptions(name: ModelName, gw: GatewayDep) -> DescriptionsPublic:
    """The Gold model's description and its columns'."""
    return _public(await described(gw, name, "model"))


@router.put("/api/v1/models/{name}/descriptions", response_model=DescriptionsPublic)
async def put_model_descriptions(
    name: ModelName, body: DescriptionsPut, request: Request, gw: GatewayDep
) -> DescriptionsPublic:
    """Write the Gold model's description and its columns' (as for a dataset; the columns
    are those of its last build)."""
    return await _put(gw, request, name, "model", body)


@router.get(
    "/api/v1/catalog/docs",
    responses={
        200: {
            "content": {
                # A YAML document (a mapping: `version`, `sources`, `models`), as dbt reads it.
                "application/yaml": {"schema": {"type": "object", "required": ["version"]}},
                "application/json": {"schema": {"type": "object", "required": ["events"]}},
            },
            "description": "dbt-style schema.yml (format dbt) or OpenLineage dataset events",
        }
    },
)
async def export_docs(
    gw: GatewayDep,
    format: Annotated[
        Literal["dbt", "openlineage"], Query(description="dbt or openlineage")
    ] = "dbt",  # noqa: A002
) -> Any:
    """Every Silver dataset and Gold model with its columns, types and descriptions: as a
    dbt-style `schema.yml` (Silver datasets as the tables of source `flowforge_silver`, Gold
    models as models) or as OpenLineage DatasetEvents (schema facet with field descriptions,
    documentation facet), named as the platform's run events name them."""
    exported = await gw.owners.catalog.ask("docs.export", format=format)
    if format == "dbt":
        return PlainTextResponse(exported["text"], media_type="application/yaml")
    return JSONResponse({"events": exported["events"]})
