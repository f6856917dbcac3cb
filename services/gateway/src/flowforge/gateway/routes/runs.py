"""Runs: status, stages and row accounting of each landed file; its rejected lines and its event
log (the catalog answers; an upload it has not recorded yet shows as queued)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from flowforge.common import lake
from flowforge.common.errors import NotFoundError
from flowforge.common.events import STAGES, RunCounts
from flowforge.common.privacy import mask
from flowforge.gateway import lakeread
from flowforge.gateway.audit import redact
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.paging import Cursor, Limit, next_page
from flowforge.gateway.params import RunId
from flowforge.gateway.pii import for_viewer
from flowforge.gateway.schemas import (
    RejectedList,
    RejectedRow,
    RunEventList,
    RunList,
    RunPublic,
    StagePublic,
)

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
CONTENT_FIELDS = frozenset({"content_hash"})  # named like a secret, but a file's digest


@router.get("", response_model=RunList)
async def list_runs(
    request: Request,
    response: Response,
    gw: GatewayDep,
    dataset: Annotated[str | None, Query(description="only this dataset's runs")] = None,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed"] | None,
        Query(description="only runs in this state"),
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> RunList:
    """Runs, newest first, a page at a time."""
    page = await gw.owners.catalog.ask(
        "runs.list", dataset=dataset, status=status, limit=limit, cursor=cursor
    )
    return RunList(runs=page["runs"], **next_page(request, response, page["next_cursor"]))


async def find_run(gw: Gateway, run_id: str) -> RunPublic:
    try:
        return RunPublic.model_validate(await gw.owners.catalog.ask("runs.get", run_id=run_id))
    except NotFoundError:
        upload = await gw.uploads.get(run_id)
        if upload is None:
            raise
        return _queued(upload)


def _queued(upload: dict) -> RunPublic:
    """An upload the catalog has not recorded yet."""
    return RunPublic(
        run_id=upload["run_id"],
        dataset=upload["dataset"],
        filename=upload["filename"],
        status="queued",
        created_at=upload["created_at"],
        updated_at=upload["created_at"],
        stages=[StagePublic(name=s, status="pending") for s in STAGES],
        counts=RunCounts(),
    )


@router.get("/{run_id}", response_model=RunPublic)
async def get_run(run_id: RunId, gw: GatewayDep) -> RunPublic:
    run = await find_run(gw, run_id)
    if run.status in ("queued", "running"):
        run.progress = gw.progress.get(run_id)
    return run


@router.get("/{run_id}/rejected", response_model=RejectedList)
async def get_rejected(
    run_id: RunId,
    request: Request,
    gw: GatewayDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> RejectedList:
    """The run's rejected lines with their line number and reason. A viewer sees the raw lines
    as their shapes when the dataset has PII columns."""
    run = await find_run(gw, run_id)
    key = lake.rejected_key(run.dataset, run_id)
    if not run.counts.rejected or not await asyncio.to_thread(gw.store.exists, key):
        return RejectedList(run_id=run_id, count=run.counts.rejected or 0, rows=[])
    path = await asyncio.to_thread(gw.files.path, key)
    rows = await asyncio.to_thread(lakeread.rejected_rows, path, limit)
    masked, pii = await for_viewer(request, gw, run.dataset)
    if masked and (pii is None or pii):
        rows = [{**r, "raw": mask(r["raw"])} for r in rows]
    return RejectedList(
        run_id=run_id,
        count=run.counts.rejected or len(rows),
        rows=[RejectedRow(**r) for r in rows],
    )


@router.get("/{run_id}/events", response_model=RunEventList)
async def get_events(
    run_id: RunId,
    gw: GatewayDep,
    subject: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$",
            max_length=200,
            description="only this subject (`quality.checked`), or the subjects under a prefix "
            "of whole tokens (`quality`: quality.checked, quality.failed, ...; `dlq`: dead "
            "letters)",
        ),
    ] = None,
) -> RunEventList:
    """The run's event log as the catalog recorded it, oldest first: each event with the
    service that sent it, when it happened, a summary line and its payload."""
    try:
        found = await gw.owners.catalog.ask("runs.events", run_id=run_id, subject=subject)
    except NotFoundError:
        if await gw.uploads.get(run_id) is None:
            raise
        return RunEventList(run_id=run_id, events=[])  # uploaded, not recorded yet
    # Events carry no secrets by design; like the audit log, anything named or shaped like
    # one is hidden all the same (a content hash is no secret).
    # A local lake's object references are `file:` URIs: shown as keys, never server paths.
    root = gw.store.uri("")
    for event in found["events"]:
        event["payload"] = _public_uris(redact(event["payload"], CONTENT_FIELDS), root)
    return RunEventList.model_validate(found)


def _public_uris(value: Any, root: str) -> Any:
    if isinstance(value, str):
        return lake.public_location(value, root) if value.startswith("file:") else value
    if isinstance(value, dict):
        return {k: _public_uris(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_public_uris(v, root) for v in value]
    return value
