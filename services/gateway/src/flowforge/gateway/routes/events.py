"""The live event stream: server-sent events fed from NATS (flowforge.gateway.live), for the
web UI to follow runs as they happen without polling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.sse import EventSourceResponse

from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.live import Busy
from flowforge.gateway.params import NAME_PATTERN
from flowforge.gateway.problems import MEDIA_TYPE
from flowforge.gateway.schemas import LiveEvent

router = APIRouter(prefix="/api/v1/events", tags=["events"])
STREAM_PATH = "/api/v1/events/stream"  # exempt from the request time limit (app.py)
PROBLEM = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


async def admitted(request: Request, gw: GatewayDep) -> str:
    """Who the stream is for, once the limits allow one more (a refusal is a problem answered
    before the stream starts)."""
    owner = request.state.principal.actor
    try:
        gw.live.admit(owner)
    except Busy as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        raise HTTPException(exc.status, exc.detail, headers=headers) from None
    return owner


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`text/event-stream`: per event `id:` (send it back as "
            "`Last-Event-ID` to resume), `event:` (the subject) and `data:` (a LiveEvent as "
            "JSON); `event: overflow` when messages were lost (refetch what is shown); a "
            "comment every 15 s; the stream ends after 30 minutes (reconnect to go on)",
        },
        429: {"description": "this user or key has 10 streams open", "content": PROBLEM},
        503: {"description": "the gateway serves its most streams at once", "content": PROBLEM},
    },
)
async def stream_events(
    request: Request,
    gw: GatewayDep,
    owner: Annotated[str, Depends(admitted)],
    run_id: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$", description="only this run's"),
    ] = None,
    dataset: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="only this dataset's")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(max_length=100, description="resume after this event (EventSource sends it)"),
    ] = None,
) -> AsyncIterator[LiveEvent]:
    """Pipeline events as they happen (every subject of the stream, dead letters and runs'
    live progress), one summary line each, never the payload; the audit log's events to
    admins only. Optional filters: `run_id`, `dataset`."""
    async for event in gw.live.stream(
        owner,
        run_id=run_id,
        dataset=dataset,
        admin=request.state.principal.role == "admin",
        last_event_id=last_event_id,
        disconnected=request.is_disconnected,
    ):
        yield event  # type: ignore[misc] - a ServerSentEvent whose data is a LiveEvent
