"""What ingest answers about source connections over request/reply
(`flowforge.svc.ingest.<verb>`). Answers never hold a password."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from flowforge.common.errors import BadInputError
from flowforge.common.lake import check_name
from flowforge.ingest.sources import engines
from flowforge.ingest.sources.connections import Connections
from flowforge.ingest.sources.engines import SourceError

log = logging.getLogger(__name__)


def _name(request: dict[str, Any]) -> str:
    return check_name(str(request.get("name") or ""), "connection")


async def put(request: dict[str, Any], store: Connections) -> dict[str, Any]:
    connection, created = await store.put(request)
    log.info("connection %s %s", connection["name"], "created" if created else "replaced")
    return {"connection": connection, "created": created}


async def get(request: dict[str, Any], store: Connections) -> dict[str, Any]:
    return await store.get(_name(request))


async def list_(request: dict[str, Any], store: Connections) -> dict[str, Any]:
    return {"connections": await store.list()}


async def delete(request: dict[str, Any], store: Connections) -> dict[str, Any]:
    await store.delete(_name(request))
    return {"deleted": request["name"]}


async def test(request: dict[str, Any], store: Connections) -> dict[str, Any]:
    """Connect and ask the server's version: `ok` with the version and timings, or `ok: false`
    with the error classified (host_unreachable, timeout, auth_failed, database_not_found,
    tls_required, tls_unavailable, unsupported, error)."""
    conn, password = await store.open(_name(request))
    try:
        return {"ok": True, "name": conn.name, **await engines.test(conn, password)}
    except SourceError as exc:
        return {"ok": False, "name": conn.name, "error": {"kind": exc.kind, "detail": str(exc)}}


async def tables(request: dict[str, Any], store: Connections) -> dict[str, Any]:
    conn, password = await store.open(_name(request))
    schema = request.get("schema")
    if schema is not None and (not isinstance(schema, str) or len(schema) > 128):
        raise BadInputError("`schema` must be text of at most 128 characters")
    try:
        found = await engines.tables(conn, password, schema or None)
    except SourceError as exc:
        raise BadInputError(f"connection {conn.name!r}: {exc} ({exc.kind})") from None
    return {"connection": conn.name, "tables": found}


async def preview(request: dict[str, Any], store: Connections) -> dict[str, Any]:
    conn, password = await store.open(_name(request))
    try:
        limit = int(request.get("limit") or 20)
    except (TypeError, ValueError):
        raise BadInputError("`limit` must be a number") from None
    try:
        rows = await engines.preview(conn, password, request.get("table"), limit)
    except SourceError as exc:
        raise BadInputError(f"connection {conn.name!r}: {exc} ({exc.kind})") from None
    return {"connection": conn.name, "table": request.get("table"), **rows}


VERBS: dict[str, Callable[[dict[str, Any], Connections], Awaitable[Any]]] = {
    "connection.put": put,
    "connection.get": get,
    "connections.list": list_,
    "connection.delete": delete,
    "connection.test": test,
    "connection.tables": tables,
    "connection.preview": preview,
}
