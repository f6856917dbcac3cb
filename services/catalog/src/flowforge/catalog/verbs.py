"""What the catalog answers over request/reply (`flowforge.svc.catalog.<verb>`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flowforge.catalog import openlineage
from flowforge.catalog.descriptions import Descriptions, dbt_docs, source_of
from flowforge.catalog.queries import Queries
from flowforge.common.cursor import decode_cursor, encode_cursor
from flowforge.common.errors import BadInputError
from flowforge.common.lake import check_name

PAGE_LIMIT = 1000
EVENTS_LIMIT = 1000  # events of one run answered (a run has a handful per revision)
SUBJECT = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$")


def _limit(request: dict[str, Any], default: int = 100) -> int:
    return max(1, min(int(request.get("limit") or default), PAGE_LIMIT))


async def get_run(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    return await q.run(str(request.get("run_id", "")))


async def list_runs(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    """Newest first; `cursor` continues after the last run of the previous page."""
    limit = _limit(request)
    cursor = request.get("cursor")
    dataset = request.get("dataset")
    runs = await q.runs(
        dataset=check_name(dataset) if dataset else None,
        status=request.get("status") or None,
        before=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
        content_hash=request.get("content_hash") or None,
    )
    more = len(runs) > limit
    runs = runs[:limit]
    last = runs[-1] if runs else None
    return {
        "runs": runs,
        "next_cursor": encode_cursor(last["created_at"], last["run_id"]) if more and last else None,
    }


async def run_events(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    """The run's event log, oldest first; `subject` exact or a prefix of whole tokens."""
    run_id = str(request.get("run_id", ""))
    subject = request.get("subject") or None
    if subject is not None and not SUBJECT.match(str(subject)):
        raise BadInputError(
            f"subject {subject!r}: a subject (`quality.checked`) or its first tokens (`quality`)"
        )
    return {"run_id": run_id, "events": await q.events(run_id, subject, EVENTS_LIMIT)}


async def overview(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    """The dashboard's figures (see `Queries.overview`)."""
    hours = max(1.0, min(float(request.get("hours") or 24), 24 * 366))
    failures = max(1, min(int(request.get("failures") or 20), 200))
    datasets = max(1, min(int(request.get("datasets") or PAGE_LIMIT), 10 * PAGE_LIMIT))
    return await q.overview(datetime.now(UTC), timedelta(hours=hours), failures, datasets)


async def list_datasets(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    names = request.get("names")
    return {
        "datasets": await q.datasets(after=request.get("after"), limit=_limit(request), names=names)
    }


async def get_asset(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    layer = str(request.get("layer", ""))
    if layer not in ("bronze", "silver", "gold"):
        raise BadInputError("layer must be bronze, silver or gold")
    return await q.asset(check_name(str(request.get("dataset", ""))), layer)


async def list_objects(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    objects = await q.objects(
        check_name(str(request.get("dataset", ""))),
        str(request.get("layer", "")),
        promoted_only=bool(request.get("promoted_only")),
        run_id=request.get("run_id") or None,
    )
    return {"objects": objects}


async def get_lineage(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    return await q.lineage(check_name(str(request.get("dataset", ""))))


def _name(request: dict[str, Any]) -> str:
    return check_name(str(request.get("dataset", "")))


async def get_descriptions(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    return await Descriptions(q.pool).of(_name(request))


async def put_descriptions(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    """Write a dataset's (or model's) description and its columns'; an empty text removes one."""
    name = _name(request)
    saved = await Descriptions(q.pool).put(
        name,
        description=request.get("description"),
        columns=request.get("columns") or {},
        source=source_of(request.get("source")),
        by=str(request.get("by") or "")[:200],
    )
    if q.on_described is not None:
        q.on_described(name)
    return saved


async def export_docs(request: dict[str, Any], q: Queries) -> dict[str, Any]:
    """Every Silver dataset's and Gold model's descriptions and schema, as dbt-style
    `schema.yml` text (`format` dbt), OpenLineage dataset events (`openlineage`), or as they
    are (`tables`: name, layer, columns with types, descriptions; for ai's model drafts)."""
    kind = request.get("format") or "dbt"
    documented = await Descriptions(q.pool).documented()
    if kind == "tables":
        return {"format": "tables", "tables": documented}
    if kind == "dbt":
        return {"format": "dbt", "text": dbt_docs(documented)}
    if kind == "openlineage":
        return {"format": "openlineage", "events": openlineage.dataset_docs(documented)}
    raise BadInputError("format must be dbt or openlineage")


VERBS: dict[str, Callable[[dict[str, Any], Queries], Awaitable[Any]]] = {
    "runs.get": get_run,
    "runs.list": list_runs,
    "runs.events": run_events,
    "overview": overview,
    "datasets.list": list_datasets,
    "asset.get": get_asset,
    "objects.list": list_objects,
    "lineage.get": get_lineage,
    "descriptions.get": get_descriptions,
    "descriptions.put": put_descriptions,
    "docs.export": export_docs,
}
