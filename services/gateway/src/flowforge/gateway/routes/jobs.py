"""Jobs: long operations (analyses, replays, releases, builds) answered at once with 202 and
`Location: /api/v1/jobs/{id}`; the job holds the status and, when done, the result or error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from flowforge.common.cursor import decode_cursor, encode_cursor
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.jobs import preferred_wait
from flowforge.gateway.paging import Cursor, Limit, next_page
from flowforge.gateway.params import JobId
from flowforge.gateway.schemas import JobList, JobPublic

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

ACCEPTED = {
    202: {"model": JobPublic, "description": "accepted: follow the job at its `Location`"},
    200: {"model": JobPublic, "description": "finished within `Prefer: wait=N`"},
}


async def accept(
    gw: Gateway,
    request: Request,
    kind: str,
    dataset: str | None,
    params: dict[str, Any],
    work: Callable[[], Awaitable[Any]],
) -> JSONResponse:
    """Start `work` as a job; 202 with its URL, or 200 with the finished job when the client
    asked to wait (`Prefer: wait=N`) and it finished in time."""
    job_id = await gw.jobs.start(kind, dataset, params, work)
    job = await gw.jobs.wait(job_id, preferred_wait(request.headers.get("prefer")))
    done = job["status"] in ("succeeded", "failed")
    location = f"/api/v1/jobs/{job_id}"
    return JSONResponse(
        jsonable_encoder(JobPublic.model_validate(job)),
        status_code=200 if done else 202,
        headers={"Location": location, **({} if done else {"Retry-After": "1"})},
    )


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(job_id: JobId, request: Request, gw: GatewayDep) -> JobPublic:
    """A job's status, and its result or error once finished (`Prefer: wait=N` waits up to
    N seconds for it to finish)."""
    job = await gw.jobs.wait(job_id, preferred_wait(request.headers.get("prefer")))
    return JobPublic.model_validate(job)


@router.get("", response_model=JobList)
async def list_jobs(
    request: Request, response: Response, gw: GatewayDep, limit: Limit = 100, cursor: Cursor = None
) -> JobList:
    """Jobs, newest first, a page at a time."""
    rows = await gw.jobs.jobs.page(decode_cursor(cursor) if cursor else None, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
    return JobList(
        jobs=[JobPublic.model_validate(r) for r in rows], **next_page(request, response, last)
    )
