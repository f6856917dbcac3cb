"""Descriptions of datasets, Gold models and their columns (the catalog's own record), and
their export as dbt-style docs (`schema.yml`) and OpenLineage dataset events.

A description comes from an accepted AI suggestion (`source` names the provider, or
`offline`) or from a person (`person`); the latest write wins, one per dataset and column
(column '' is the dataset itself). An empty text removes one."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import yaml

from flowforge.common.errors import BadInputError

MAX_CHARS = 2000
SOURCES = ("person", "offline", "anthropic", "openai")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadInputError(f"the description of {what} must be text")
    text = value.strip()
    if len(text) > MAX_CHARS:
        raise BadInputError(
            f"the description of {what} is {len(text)} characters long; at most {MAX_CHARS}"
        )
    return text


def source_of(value: Any) -> str:
    """`person`, `offline`, or the LLM provider (`anthropic`, `openai`, with its model after a
    colon as the ai service names its sources)."""
    source = str(value or "person")
    if source.split(":", 1)[0] not in SOURCES:
        raise BadInputError(f"source must be one of {', '.join(SOURCES)} (got {source!r})")
    return source[:200]


class Descriptions:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def of(self, dataset: str) -> dict[str, Any]:
        rows = await self.pool.fetch(
            "SELECT column_name, description, source, updated_by, updated_at"
            " FROM catalog.descriptions WHERE dataset = $1 ORDER BY column_name",
            dataset,
        )
        return _shape(dataset, rows)

    async def put(
        self,
        dataset: str,
        *,
        description: str | None,
        columns: dict[str, str],
        source: str,
        by: str,
    ) -> dict[str, Any]:
        """Write the dataset's description (None: unchanged) and its columns' (each given
        column only); an empty text removes one. The result is the whole record."""
        texts = {"": _text(description, f"dataset {dataset}")} if description is not None else {}
        if not isinstance(columns, dict):
            raise BadInputError("columns must be an object {column: description}")
        for column, text in columns.items():
            if not isinstance(column, str) or not column or len(column) > 300:
                raise BadInputError(f"column name {column!r} is not a column name")
            texts[column] = _text(text, f"column {column}")
        async with self.pool.acquire() as conn, conn.transaction():
            for column, text in texts.items():
                if text:
                    await conn.execute(
                        "INSERT INTO catalog.descriptions (dataset, column_name, description,"
                        " source, updated_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT"
                        " (dataset, column_name) DO UPDATE SET description = EXCLUDED.description,"
                        " source = EXCLUDED.source, updated_by = EXCLUDED.updated_by,"
                        " updated_at = now()",
                        dataset, column, text, source, by,
                    )  # fmt: skip
                else:
                    await conn.execute(
                        "DELETE FROM catalog.descriptions WHERE dataset = $1 AND column_name = $2",
                        dataset,
                        column,
                    )
        return await self.of(dataset)

    async def documented(self) -> list[dict[str, Any]]:
        """Every Silver dataset and Gold model with its columns (as last recorded), location
        and descriptions, by name."""
        assets = await self.pool.fetch(
            "SELECT dataset, layer, location, columns FROM catalog.assets"
            " WHERE layer IN ('silver', 'gold') ORDER BY dataset, layer"
        )
        rows = await self.pool.fetch(
            "SELECT dataset, column_name, description, source, updated_by, updated_at"
            " FROM catalog.descriptions ORDER BY dataset, column_name"
        )
        by_dataset: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            by_dataset.setdefault(row["dataset"], []).append(row)
        return [
            {
                "name": a["dataset"],
                "layer": a["layer"],
                "location": a["location"],
                "columns": _columns(a["columns"]),
                **_shape(a["dataset"], by_dataset.get(a["dataset"], [])),
            }
            for a in assets
        ]


def _columns(raw: Any) -> list[dict[str, str]]:
    columns = json.loads(raw) if isinstance(raw, str) else raw
    return [{"name": str(c["name"]), "type": str(c["type"])} for c in columns or []]


def _shape(dataset: str, rows: list[asyncpg.Record]) -> dict[str, Any]:
    out: dict[str, Any] = {"dataset": dataset, "description": None, "columns_described": {}}
    for row in rows:
        entry = {
            "description": row["description"],
            "source": row["source"],
            "updated_by": row["updated_by"],
            "updated_at": row["updated_at"],
        }
        if row["column_name"] == "":
            out["description"] = entry
        else:
            out["columns_described"][row["column_name"]] = entry
    return out


# ------------------------------------------------------------------------------ exports


def dbt_docs(documented: list[dict[str, Any]]) -> str:
    """dbt-style `schema.yml`: Silver datasets as the tables of a source `flowforge_silver`,
    Gold models as models; each with its description and its columns' (and data types)."""

    def table(entry: dict[str, Any]) -> dict[str, Any]:
        described = entry["columns_described"]
        out: dict[str, Any] = {"name": entry["name"]}
        if entry["description"]:
            out["description"] = entry["description"]["description"]
        out["columns"] = [
            {
                "name": c["name"],
                **({"description": described[c["name"]]["description"]}
                   if c["name"] in described else {}),
                "data_type": c["type"],
            }
            for c in entry["columns"]
        ]  # fmt: skip
        return out

    silver = [table(e) for e in documented if e["layer"] == "silver"]
    gold = [table(e) for e in documented if e["layer"] == "gold"]
    doc: dict[str, Any] = {"version": 2}
    if silver:
        doc["sources"] = [
            {
                "name": "flowforge_silver",
                "description": "FlowForge's Silver layer: typed, cleaned, deduplicated datasets",
                "tables": silver,
            }
        ]
    if gold:
        doc["models"] = gold
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
