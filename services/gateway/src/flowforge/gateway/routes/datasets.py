"""Datasets: their layers, schemas (with versions), samples and lineage (asked of the catalog),
their landing contract (ingest's), and samples read from the lake."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from flowforge.common import lake
from flowforge.common.errors import BadInputError, FlowForgeError, NotFoundError
from flowforge.gateway import lakeread
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.paging import Limit, next_page
from flowforge.gateway.params import DatasetName
from flowforge.gateway.pii import for_viewer, mask_row
from flowforge.gateway.schemas import (
    ColumnPublic,
    ContractPublic,
    DatasetList,
    DatasetPublic,
    LineagePublic,
    SamplePublic,
    SchemaPublic,
)

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
Layer = Literal["bronze", "silver"]


def _public(
    name: str, recorded: dict[str, Any] | None, config: dict[str, Any] | None, root: str
) -> DatasetPublic:
    recorded = recorded or {}
    layers = {
        layer: {**entry, "location": lake.public_location(entry.get("location") or "", root)}
        for layer, entry in (recorded.get("layers") or {}).items()
    }
    return DatasetPublic(
        name=name,
        key=list((config or {}).get("key") or []),
        layers=layers,
        runs=recorded.get("runs") or 0,
        last_run=recorded.get("last_run"),
    )


@router.get("", response_model=DatasetList)
async def list_datasets(
    request: Request,
    response: Response,
    gw: GatewayDep,
    limit: Limit = 100,
    cursor: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page")
    ] = None,
) -> DatasetList:
    """Datasets by name (those with runs, and those only configured so far), a page at a
    time: each with its layers, run count, last run and key."""
    recorded, configured = await asyncio.gather(
        gw.owners.catalog.ask("datasets.list", after=cursor, limit=limit + 1),
        gw.owners.ingest.ask("datasets.list", after=cursor, limit=limit + 1),
    )
    by_name = {d["name"]: d for d in recorded["datasets"]}
    config = {d["name"]: d for d in configured["datasets"]}
    names = sorted(set(by_name) | set(config))
    more = len(names) > limit
    names = names[:limit]
    missing = [n for n in names if n not in config]
    if missing:
        extra = await gw.owners.ingest.ask("datasets.list", names=missing)
        config.update({d["name"]: d for d in extra["datasets"]})
    page = next_page(request, response, names[-1] if more and names else None)
    root = gw.store.uri("")
    found = [_public(n, by_name.get(n), config.get(n), root) for n in names]
    return DatasetList(datasets=found, **page)


async def require(gw: Gateway, name: str) -> tuple[dict | None, dict]:
    """What the catalog recorded of the dataset and its contract; 404 if neither knows it."""
    recorded, config = await asyncio.gather(
        gw.owners.catalog.ask("datasets.list", names=[name]),
        gw.owners.ingest.ask("dataset.get", name=name),
    )
    found = recorded["datasets"][0] if recorded["datasets"] else None
    if found is None and not config.get("configured"):
        raise NotFoundError(f"no dataset named {name!r}; list them at GET /api/v1/datasets")
    return found, config


@router.get("/{name}", response_model=DatasetPublic)
async def get_dataset(name: DatasetName, gw: GatewayDep) -> DatasetPublic:
    return _public(name, *await require(gw, name), gw.store.uri(""))


@router.put("/{name}/contract", response_model=ContractPublic)
async def set_contract(name: DatasetName, body: ContractPublic, gw: GatewayDep) -> ContractPublic:
    """Set what happens when a new file's columns differ from the dataset's: `evolve`
    (accept and version the schema), `freeze` (refuse the file, with the difference) or
    `discard_row` (rows with values in unknown columns go to rejected; missing columns are
    null)."""
    saved = await gw.owners.ingest.ask("dataset.put", name=name, **body.model_dump())
    return ContractPublic(schema_policy=saved["schema_policy"], array_policy=saved["array_policy"])


@router.get("/{name}/contract", response_model=ContractPublic)
async def get_contract(name: DatasetName, gw: GatewayDep) -> ContractPublic:
    _, config = await require(gw, name)
    return ContractPublic(
        schema_policy=config["schema_policy"], array_policy=config["array_policy"]
    )


@router.get("/{name}/schema", response_model=SchemaPublic)
async def get_schema(name: DatasetName, gw: GatewayDep, layer: Layer = "silver") -> SchemaPublic:
    asset = await _asset(gw, name, layer)
    # Descriptions name Silver columns; a lookup that fails leaves them out, not the schema.
    docs: dict[str, Any] = {}
    if layer == "silver":
        try:
            docs = await gw.owners.catalog.ask("descriptions.get", dataset=name)
        except FlowForgeError:
            docs = {}
    described = docs.get("columns_described") or {}
    return SchemaPublic(
        dataset=name,
        layer=layer,
        version=asset["version"],
        fingerprint=asset["schema_fingerprint"],
        columns=[
            ColumnPublic(**c, description=(described.get(c["name"]) or {}).get("description"))
            for c in asset["columns"]
        ],
        versions=asset["versions"],
        description=(docs.get("description") or {}).get("description"),
    )


async def _asset(gw: Gateway, name: str, layer: str) -> dict[str, Any]:
    try:
        return await gw.owners.catalog.ask("asset.get", dataset=name, layer=layer)
    except NotFoundError:
        await require(gw, name)  # "no dataset named ..." when it is the dataset that is missing
        raise


@router.get("/{name}/sample", response_model=SamplePublic)
async def get_sample(
    name: DatasetName,
    request: Request,
    gw: GatewayDep,
    layer: Layer = "silver",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    as_of: Annotated[
        datetime | None, Query(description="Silver as it was at this time (time travel)")
    ] = None,
    as_of_run: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[0-9a-f]{32}$",
            description="Silver as it was right after this run was folded into its table",
        ),
    ] = None,  # fmt: skip
    version: Annotated[
        int | None, Query(ge=0, le=2**62, description="a version of the Silver table")
    ] = None,
) -> SamplePublic:
    """The first rows of a layer (Silver: the valid rows only; an older state of them with
    `as_of`, `as_of_run` or `version`, one of them). A viewer sees the values of PII columns as
    their shapes; analysts and up see them as they are."""
    travel = {k: v for k, v in (("as_of", as_of), ("run_id", as_of_run), ("version", version))
              if v is not None}  # fmt: skip
    if len(travel) > 1:
        raise BadInputError("give one of as_of, as_of_run and version")
    if travel and layer != "silver":
        raise BadInputError("time travel reads the Silver table (layer=silver)")
    await _asset(gw, name, layer)  # 404 with a reason when there is no such data
    if travel:
        if as_of is not None:
            travel["as_of"] = as_of.isoformat()
        silver = await gw.owners.transform.ask("silver.as_of", dataset=name, **travel)
        rows = await asyncio.to_thread(lakeread.sample_silver, gw.files, silver, limit)
    elif layer == "bronze":
        found = await gw.owners.catalog.ask("objects.list", dataset=name, layer="bronze")
        keys = [gw.store.key_of(o["uri"]) for o in found["objects"]]
        rows = await asyncio.to_thread(lakeread.sample_bronze, gw.files, keys, limit)
    else:
        silver = await gw.owners.transform.ask("silver.batches", dataset=name)
        rows = await asyncio.to_thread(lakeread.sample_silver, gw.files, silver, limit)
    masked, pii = await for_viewer(request, gw, name)
    if masked:
        rows = [mask_row(r, pii) for r in rows]
    return SamplePublic(dataset=name, layer=layer, rows=rows, masked=masked)


@router.get("/{name}/lineage", response_model=LineagePublic)
async def get_lineage(name: DatasetName, gw: GatewayDep) -> LineagePublic:
    """Everything upstream and downstream of the dataset: files → bronze → silver → gold."""
    await require(gw, name)
    return LineagePublic.model_validate(await gw.owners.catalog.ask("lineage.get", dataset=name))
