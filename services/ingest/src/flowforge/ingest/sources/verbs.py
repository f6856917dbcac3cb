"""What ingest answers about source connections over request/reply
(`flowforge.svc.ingest.<verb>`). Answers never hold a password."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowforge.common.errors import BadInputError
from flowforge.common.events import FileLanded, SourceExtract, utcnow
from flowforge.common.lake import check_name
from flowforge.ingest.datasets import Datasets
from flowforge.ingest.sources import config, engines
from flowforge.ingest.sources import extract as extraction
from flowforge.ingest.sources.config import Sources
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


# --- a dataset's source and its extractions ---------------------------------------------------


@dataclass
class SourceDeps:
    connections: Connections
    sources: Sources
    datasets: Datasets
    announce: Callable[[FileLanded], Awaitable[None]]


async def put_source(request: dict[str, Any], deps: SourceDeps) -> dict[str, Any]:
    source = config.parse(request)
    await deps.connections.get(source["connection"])  # 404 for an unknown connection
    key = request.get("key")
    if key is not None:
        if not isinstance(key, list) or not all(isinstance(k, str) and k for k in key):
            raise BadInputError("`key` must be a list of column names")
        await deps.datasets.put(source["dataset"], key=key, schema_policy=None,
                                array_policy=None)  # fmt: skip
    saved = await deps.sources.put(source)
    return {**saved, "key": (await deps.datasets.get(source["dataset"]))["key"]}


async def get_source(request: dict[str, Any], deps: SourceDeps) -> dict[str, Any]:
    saved = await deps.sources.get(str(request.get("dataset") or ""))
    return {**saved, "key": (await deps.datasets.get(saved["dataset"]))["key"]}


async def extract(request: dict[str, Any], deps: SourceDeps) -> dict[str, Any]:
    """Start one extraction run of a dataset's source: its window is fixed now (for an
    incremental source, from the watermark to the cursor's current maximum) and travels in
    the run's `file.landed`, so a redelivery extracts the same rows.
    {"run_id", "dataset", "window", "filename", "landing_uri"}"""
    source = await deps.sources.get(str(request.get("dataset") or ""))
    conn, password = await deps.connections.open(source["connection"])
    spec = SourceExtract(
        connection=conn.name, table=source["table"], query=source["query"],
        mode=source["mode"], cursor=source["cursor"], lookback=source["lookback"],
        low=source["watermark"] if source["watermark"] is not None else source["initial"],
    )  # fmt: skip
    if request.get("window") == "logical":
        spec = _logical_window(spec, request)
    else:
        spec = await extraction.plan(conn, password, spec)
    dataset = await deps.datasets.get(source["dataset"])
    # A workflow step names its run (the same when a step is repeated after a crash), so the
    # bus drops the repeated `file.landed` as a duplicate instead of extracting twice.
    run_id = str(request.get("run_id") or uuid.uuid4().hex)
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise BadInputError("`run_id` must be 32 lower-case hex digits")
    by = str(request.get("requested_by") or "")[:200]
    window = f"{spec.cursor} in ({spec.low}, {spec.high}]" if spec.mode == "incremental" else "all"
    log.info("extract %s from %s (%s), requested by %s", source["dataset"],
             extraction.source_name(spec), window, by or "?", extra={"run_id": run_id})  # fmt: skip
    await deps.announce(FileLanded(
        run_id=run_id, dataset=source["dataset"], filename=extraction.source_name(spec),
        content_hash=hashlib.sha256(spec.model_dump_json().encode()).hexdigest(),
        key=dataset["key"], schema_policy=dataset["schema_policy"],
        array_policy=dataset["array_policy"],
        landing_uri=f"source:{conn.name}", extract=spec, extracted=True,
        snapshot=spec.mode == "full", landed_at=utcnow(),
    ))  # fmt: skip
    return {
        "run_id": run_id,
        "dataset": source["dataset"],
        "window": window,
        "filename": extraction.source_name(spec),
        "landing_uri": f"source:{conn.name}",
    }


def _logical_window(spec: SourceExtract, request: dict[str, Any]) -> SourceExtract:
    """A backfill's window: the cursor in (logical_start, logical_end] (UTC, as the cursor's
    text), instead of from the watermark; the watermark stays where it is."""
    if spec.mode != "incremental":
        raise BadInputError("a logical window needs an incremental source (a cursor to "
                            "place it on); a full source reads everything each time")  # fmt: skip
    bounds = []
    for field in ("logical_start", "logical_end"):
        try:
            when = datetime.fromisoformat(str(request.get(field)))
        except ValueError:
            raise BadInputError(f"`{field}` must be an ISO 8601 time") from None
        when = when.astimezone(UTC) if when.tzinfo else when
        bounds.append(when.strftime("%Y-%m-%d %H:%M:%S.%f"))
    return spec.model_copy(update={"low": bounds[0], "high": bounds[1], "lookback": 0,
                                   "advance": False})  # fmt: skip


SOURCE_VERBS: dict[str, Callable[[dict[str, Any], SourceDeps], Awaitable[Any]]] = {
    "source.put": put_source,
    "source.get": get_source,
    "extract": extract,
}
