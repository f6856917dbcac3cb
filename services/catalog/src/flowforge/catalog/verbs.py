"""What the catalog answers over request/reply (`flowforge.svc.catalog.<verb>`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flowforge.catalog.queries import Queries
from flowforge.common.cursor import decode_cursor, encode_cursor
from flowforge.common.errors import BadInputError
from flowforge.common.lake import check_name

PAGE_LIMIT = 1000


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


VERBS: dict[str, Callable[[dict[str, Any], Queries], Awaitable[Any]]] = {
    "runs.get": get_run,
    "runs.list": list_runs,
    "datasets.list": list_datasets,
    "asset.get": get_asset,
    "objects.list": list_objects,
    "lineage.get": get_lineage,
}
