"""What ingest answers over request/reply (`flowforge.svc.ingest.<verb>`): each dataset's
landing contract (key, schema policy, array policy), which it owns because it acts on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flowforge.common.errors import BadInputError
from flowforge.common.lake import check_name
from flowforge.ingest.datasets import Datasets

PAGE_LIMIT = 1000


async def get_dataset(request: dict[str, Any], datasets: Datasets) -> dict[str, Any]:
    return await datasets.get(check_name(str(request.get("name", ""))))


async def put_dataset(request: dict[str, Any], datasets: Datasets) -> dict[str, Any]:
    key = request.get("key")
    if key is not None and (
        not isinstance(key, list) or not all(isinstance(k, str) and k.strip() for k in key)
    ):
        raise BadInputError("`key` must be a list of column names")
    return await datasets.put(
        check_name(str(request.get("name", ""))),
        key=[k.strip() for k in key] if key is not None else None,
        schema_policy=request.get("schema_policy"),
        array_policy=request.get("array_policy"),
    )


async def list_datasets(request: dict[str, Any], datasets: Datasets) -> dict[str, Any]:
    """Configured datasets by name: after `after`, at most `limit`, or exactly `names`."""
    names = request.get("names")
    limit = max(1, min(int(request.get("limit") or 100), PAGE_LIMIT))
    found = await datasets.page(
        request.get("after"), limit if names is None else len(names) or 1, names
    )
    return {"datasets": found}


VERBS: dict[str, Callable[[dict[str, Any], Datasets], Awaitable[Any]]] = {
    "dataset.get": get_dataset,
    "dataset.put": put_dataset,
    "datasets.list": list_datasets,
}
