"""Datasets: their layers, schemas (with versions), samples and lineage."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from flowforge.common.errors import NotFoundError
from flowforge.common.lake import check_name
from flowforge.gateway import lakeread
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.schemas import (
    ColumnPublic,
    ContractPublic,
    DatasetList,
    DatasetPublic,
    LayerPublic,
    LineageEdge,
    LineageNode,
    LineagePublic,
    SamplePublic,
    SchemaPublic,
)

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
Layer = Literal["bronze", "silver"]


async def _dataset(gw: Gateway, name: str) -> DatasetPublic:
    assets = await gw.state.assets(name)
    runs = await gw.state.runs(name, 1)
    return DatasetPublic(
        name=name,
        key=await gw.state.dataset_key(name),
        layers={
            a["layer"]: LayerPublic(
                layer=a["layer"],
                location=a["location"],
                version=a["version"],
                row_count=a["row_count"],
                columns=len(a["columns"]),
                updated_at=a["updated_at"],
            )
            for a in assets
        },
        runs=await gw.state.run_count(name),
        last_run=runs[0] if runs else None,
    )


@router.get("", response_model=DatasetList)
async def list_datasets(gw: GatewayDep) -> DatasetList:
    return DatasetList(datasets=[await _dataset(gw, n) for n in await gw.state.dataset_names()])


@router.get("/{name}", response_model=DatasetPublic)
async def get_dataset(name: str, gw: GatewayDep) -> DatasetPublic:
    await gw.state.require_dataset(name)
    return await _dataset(gw, name)


@router.put("/{name}/contract", response_model=ContractPublic)
async def set_contract(name: str, body: ContractPublic, gw: GatewayDep) -> ContractPublic:
    """Set what happens when a new file's columns differ from the dataset's: `evolve`
    (accept and version the schema), `freeze` (refuse the file, with the difference) or
    `discard_row` (rows with values in unknown columns go to rejected; missing columns are
    null)."""
    check_name(name)
    await gw.state.set_schema_policy(name, body.schema_policy)
    await gw.state.set_array_policy(name, body.array_policy)
    return body


@router.get("/{name}/contract", response_model=ContractPublic)
async def get_contract(name: str, gw: GatewayDep) -> ContractPublic:
    await gw.state.require_dataset(name)
    return ContractPublic(
        schema_policy=await gw.state.schema_policy(name),
        array_policy=await gw.state.array_policy(name),
    )


@router.get("/{name}/schema", response_model=SchemaPublic)
async def get_schema(name: str, gw: GatewayDep, layer: Layer = "silver") -> SchemaPublic:
    asset = await gw.state.asset(name, layer)
    versions = await gw.state.asset_versions(name, layer)
    return SchemaPublic(
        dataset=name,
        layer=layer,
        version=asset["version"],
        fingerprint=asset["schema_fingerprint"],
        columns=[ColumnPublic(**c) for c in asset["columns"]],
        versions=[
            {
                "version": v["version"],
                "fingerprint": v["schema_fingerprint"],
                "run_id": v["run_id"],
                "created_at": v["created_at"].isoformat(),
                "columns": v["columns"],
                "changes": v["changes"],
            }
            for v in versions
        ],
    )


@router.get("/{name}/sample", response_model=SamplePublic)
async def get_sample(
    name: str,
    gw: GatewayDep,
    layer: Layer = "silver",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
) -> SamplePublic:
    await gw.state.asset(name, layer)  # 404 with a reason when there is no such data
    if layer == "bronze":
        objects = await gw.state.objects(name, "bronze")
        keys = [gw.store.key_of(o["uri"]) for o in objects]
        rows = await asyncio.to_thread(lakeread.sample_bronze, gw.files, keys, limit)
    else:
        silver = await gw.state.objects(name, "silver", promoted_only=True)
        promoted = {o["run_id"] for o in silver}
        quarantine = [
            o for o in await gw.state.objects(name, "quarantine") if o["run_id"] in promoted
        ]
        key = await gw.state.silver_key(name)
        rows = await asyncio.to_thread(
            lakeread.sample_silver,
            gw.files,
            [gw.store.key_of(o["uri"]) for o in silver],
            [gw.store.key_of(o["uri"]) for o in quarantine],
            key,
            limit,
        )
    return SamplePublic(dataset=name, layer=layer, rows=rows)


@router.get("/{name}/lineage", response_model=LineagePublic)
async def get_lineage(name: str, gw: GatewayDep) -> LineagePublic:
    await gw.state.require_dataset(name)
    edges = [(e["source"], e["target"]) for e in await gw.state.lineage_edges()]
    start = {f"bronze:{name}", f"silver:{name}"}
    # Everything downstream of the dataset, and everything upstream of it; not the other
    # datasets that share a file name or feed the same Gold model.
    down = _closure(start, edges)
    up = _closure(start, [(t, s) for s, t in edges])
    kept = [(s, t) for s, t in edges if (s in down and t in down) or (s in up and t in up)]
    if not kept:
        raise NotFoundError(f"dataset {name!r} has no lineage yet: no file has landed in it")
    nodes = sorted({n for edge in kept for n in edge})
    return LineagePublic(
        dataset=name,
        nodes=[LineageNode(id=n, layer=n.split(":", 1)[0], name=n.split(":", 1)[1]) for n in nodes],
        edges=[LineageEdge(source=s, target=t) for s, t in kept],
    )


def _closure(start: set[str], edges: list[tuple[str, str]]) -> set[str]:
    reached, frontier = set(start), set(start)
    while frontier:
        frontier = {t for s, t in edges if s in frontier} - reached
        reached |= frontier
    return reached
