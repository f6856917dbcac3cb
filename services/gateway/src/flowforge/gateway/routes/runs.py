"""Runs: status, stages and row accounting of each landed file; its rejected lines."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from flowforge.common import lake
from flowforge.gateway import lakeread
from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.schemas import RejectedList, RejectedRow, RunList, RunPublic

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])


@router.get("", response_model=RunList)
async def list_runs(
    gw: GatewayDep,
    dataset: Annotated[str | None, Query(description="only this dataset's runs")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RunList:
    return RunList(runs=await gw.state.runs(dataset, limit))


@router.get("/{run_id}", response_model=RunPublic)
async def get_run(run_id: str, gw: GatewayDep) -> RunPublic:
    run = await gw.state.run(run_id)
    if run.status in ("queued", "running"):
        run.progress = gw.progress.get(run_id)
    return run


@router.get("/{run_id}/rejected", response_model=RejectedList)
async def get_rejected(
    run_id: str, gw: GatewayDep, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000
) -> RejectedList:
    run = await gw.state.run(run_id)
    key = lake.rejected_key(run.dataset, run_id)
    if not run.counts.rejected or not await asyncio.to_thread(gw.store.exists, key):
        return RejectedList(run_id=run_id, count=run.counts.rejected or 0, rows=[])
    path = await asyncio.to_thread(gw.files.path, key)
    rows = await asyncio.to_thread(lakeread.rejected_rows, path, limit)
    return RejectedList(
        run_id=run_id,
        count=run.counts.rejected or len(rows),
        rows=[RejectedRow(**r) for r in rows],
    )
