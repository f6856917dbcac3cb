"""The audit log, for admins: every change asked through the API, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator

from flowforge.common.cursor import decode_cursor, encode_cursor
from flowforge.gateway.access_schemas import AuditEntry, AuditList
from flowforge.gateway.paging import Cursor, Limit, next_page

router = APIRouter(prefix="/api/v1", tags=["access"])


def _iso_only(value: object) -> object:
    """A time as ISO 8601 text only (pydantic would also read `0.5` as seconds since 1970)."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("give an ISO 8601 time such as 2026-12-03T10:00:00Z")
    return value


Stamp = Annotated[
    datetime | None,
    BeforeValidator(_iso_only),
    Query(description="ISO 8601 time", json_schema_extra={"format": "date-time"}),
]


@router.get("/audit", response_model=AuditList)
async def list_audit(
    request: Request,
    response: Response,
    actor: Annotated[str | None, Query(max_length=200, description="user:<name>, key:<id>")] = None,
    action: Annotated[str | None, Query(max_length=100, description="e.g. put_rules")] = None,
    target: Annotated[
        str | None, Query(max_length=300, description="dataset, model, user, key")
    ] = None,
    since: Stamp = None,
    until: Stamp = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> AuditList:
    filters = {"actor": actor, "action": action, "target": target, "since": since,
               "until": until}  # fmt: skip
    rows = await request.app.state.audit.page(
        filters, decode_cursor(cursor) if cursor else None, limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = encode_cursor(rows[-1]["at"], str(rows[-1]["id"])) if more and rows else None
    return AuditList(
        entries=[AuditEntry.model_validate(r) for r in rows], **next_page(request, response, last)
    )
