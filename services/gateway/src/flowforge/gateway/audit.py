"""The audit log: every request that asks for a change (any method but GET/HEAD/OPTIONS) is
recorded, whatever its outcome, with who asked, from where, what about, and, for
configuration, what it was before and after (secrets redacted). It is written by one
middleware, so no route can forget it; routes add detail through `note(request, ...)`.
Each record is also published as `audit.recorded` for other systems."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowforge.common.bus import publish
from flowforge.common.events import AuditRecorded
from flowforge.gateway.access import SAFE_METHODS

log = logging.getLogger(__name__)
SECRET_FIELDS = ("password", "secret", "token", "hash", "api_key", "authorization")
TARGET_PARAMS = ("name", "key_id", "run_id", "job_id", "suggestion_id", "rule")


def redact(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """The value with secrets replaced: fields named like one (but those in `keep`), and
    anything shaped like a key."""
    if isinstance(value, dict):
        return {
            k: "***"
            if k not in keep and any(s in str(k).lower() for s in SECRET_FIELDS)
            else redact(v, keep)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, keep) for v in value]
    if isinstance(value, str) and value.startswith("ffk_"):
        return "***"
    return value


def note(request: Request, **fields: Any) -> None:
    """Add to this request's audit record: `target`, `before`, `after`, `detail`."""
    request.state.audit = {**getattr(request.state, "audit", {}), **fields}


class AuditLog:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "INSERT INTO gateway.audit (actor, role, action, method, path, target, status,"
            " before, after, detail, source_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6,"
            " $7, $8, $9, $10, $11, $12) RETURNING *",
            *[entry.get(f) for f in ("actor", "role", "action", "method", "path", "target",
                                      "status", "before", "after")],
            entry.get("detail") or {},
            entry.get("source_ip"),
            entry.get("user_agent"),
        )  # fmt: skip
        return dict(row)

    async def page(
        self, filters: dict[str, Any], before: tuple[datetime, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM gateway.audit WHERE ($1::text IS NULL OR actor = $1)"
            " AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR target = $3)"
            " AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)"
            " AND ($6::timestamptz IS NULL OR (at, id) < ($6, $7::bigint))"
            " ORDER BY at DESC, id DESC LIMIT $8",
            filters.get("actor"),
            filters.get("action"),
            filters.get("target"),
            filters.get("since"),
            filters.get("until"),
            before[0] if before else None,
            int(before[1]) if before else None,
            limit,
        )
        return [dict(r) for r in rows]


def entry_of(request: Request, status: int) -> dict[str, Any]:
    principal = getattr(request.state, "principal", None)
    extra = getattr(request.state, "audit", {})
    route = request.scope.get("route")
    params = request.path_params
    target = extra.get("target") or "/".join(str(params[p]) for p in TARGET_PARAMS if p in params)
    return {
        "actor": principal.actor if principal else "anonymous",
        "role": principal.role if principal else None,
        "action": getattr(route, "name", None) or "unmatched",
        "method": request.method,
        "path": request.url.path,
        "target": target or None,
        "status": status,
        "before": redact(extra.get("before")),
        "after": redact(extra.get("after")),
        "detail": redact(extra.get("detail") or {}),
        "source_ip": request.client.host if request.client else None,
        "user_agent": (request.headers.get("user-agent") or "")[:300] or None,
    }


def install(app: FastAPI) -> None:
    app.add_middleware(AuditChanges)


class AuditChanges:
    """Pure ASGI: a change (any method but the safe ones) is recorded when its answer starts,
    before the client has it; a request whose app raised is not recorded."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def record_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await _record(Request(scope), message["status"])
            await send(message)

        await self.app(scope, receive, record_then_send)


async def _record(request: Request, status: int) -> None:
    audit: AuditLog | None = getattr(request.app.state, "audit", None)
    if audit is None:
        return
    try:
        row = await audit.record(entry_of(request, status))
    except Exception:  # noqa: BLE001 - the change is done; a lost audit row is logged loudly
        log.exception("could not record the audit entry of %s %s", request.method, request.url)
        return
    gw = request.app.state.gateway
    event = AuditRecorded(run_id=f"audit-{row['id']}", dataset=row["target"] or "", **row)
    task = asyncio.create_task(_publish(gw, event))
    request.app.state.background.add(task)
    task.add_done_callback(request.app.state.background.discard)


async def _publish(gw: Any, event: AuditRecorded) -> None:
    try:
        await publish(gw.broker, event, gw.settings)
    except Exception:  # noqa: BLE001 - the row is the record; the event is a courtesy
        log.warning("audit event %s not published", event.id)
