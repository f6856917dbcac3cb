"""What a viewer may not see: values of PII columns (as the ai service flagged them) are shown
to viewers as their shapes (`ann.lee@example.com` → `aaa.aaa@aaaaaaa.aaa`); analysts and up see
them as they are. When the ai service cannot say which columns are PII (it does not answer, or
has not analysed the dataset yet), every value is masked for a viewer (closed, not open)."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from fastapi import Request

from flowforge.common.errors import FlowForgeError
from flowforge.common.privacy import mask
from flowforge.gateway.access import rank
from flowforge.gateway.deps import Gateway

EVERY_COLUMN = None  # the ai service did not answer: treat every column as PII


def sees_pii(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return principal is not None and rank(principal.role) >= rank("analyst")


async def pii_columns(gw: Gateway, dataset: str) -> AbstractSet[str] | None:
    """The dataset's PII columns, by Bronze and Silver name (None: unknown, mask all: the ai
    service did not answer, or has not analysed the dataset yet, as when its first batch is
    still being profiled)."""
    try:
        found = await gw.owners.ai.ask("suggestions", dataset=dataset)
    except FlowForgeError:
        return EVERY_COLUMN
    if not found.get("columns"):
        return EVERY_COLUMN
    flagged: set[str] = set()
    known: set[str] = set()
    for column in found["columns"]:
        names = [n for n in (column.get("name"), column.get("silver_name")) if n]
        known.update(names)
        analysed = column.get("offline") or {}
        if analysed.get("pii") or (column.get("llm") or {}).get("pii"):
            flagged.update(names)
    return PiiColumns(flagged, known)


class PiiColumns(frozenset):
    """The columns the ai flagged as PII; `in` is also true of a column it has not analysed
    (one a later batch added: unknown is closed, not open)."""

    known: frozenset[str]

    def __new__(cls, flagged: set[str], known: set[str]) -> PiiColumns:
        found = super().__new__(cls, flagged)
        found.known = frozenset(known)
        return found

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or name not in self.known


def _shape(value: Any) -> Any:
    return None if value is None else mask(str(value))


def mask_row(row: dict[str, Any], pii: AbstractSet[str] | None) -> dict[str, Any]:
    """The row with PII columns' values as shapes (lineage columns `_...` kept)."""
    return {
        k: _shape(v) if not k.startswith("_") and (pii is None or k in pii) else v
        for k, v in row.items()
    }


async def for_viewer(
    request: Request, gw: Gateway, dataset: str
) -> tuple[bool, AbstractSet[str] | None]:
    """(whether to mask, the PII columns) for this caller and dataset."""
    if sees_pii(request):
        return False, set()
    return True, await pii_columns(gw, dataset)
