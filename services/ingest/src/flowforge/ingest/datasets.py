"""`ingest.datasets`: each dataset's landing contract (key, schema and array policies) and its
Bronze columns so far. Ingest owns it because it acts on it."""

from __future__ import annotations

from typing import Any

import asyncpg

from flowforge.common.errors import BadInputError

SCHEMA_POLICIES = ("evolve", "freeze", "discard_row")
ARRAY_POLICIES = ("json", "columns")
DEFAULTS = {"key": [], "schema_policy": "evolve", "array_policy": "json"}


def public(name: str, row: asyncpg.Record | None) -> dict[str, Any]:
    if row is None:
        return {"name": name, "configured": False, **DEFAULTS}
    return {
        "name": name,
        "configured": True,
        "key": list(row["key_columns"]),
        "schema_policy": row["schema_policy"],
        "array_policy": row["array_policy"],
        "updated_at": row["updated_at"],
    }


class Datasets:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def get(self, name: str) -> dict[str, Any]:
        row = await self.pool.fetchrow("SELECT * FROM ingest.datasets WHERE name = $1", name)
        return public(name, row)

    async def put(
        self,
        name: str,
        *,
        key: list[str] | None = None,
        schema_policy: str | None = None,
        array_policy: str | None = None,
    ) -> dict[str, Any]:
        """Create the dataset if new; each given setting replaces the stored one."""
        if schema_policy is not None and schema_policy not in SCHEMA_POLICIES:
            raise BadInputError(f"schema_policy must be one of {', '.join(SCHEMA_POLICIES)}")
        if array_policy is not None and array_policy not in ARRAY_POLICIES:
            raise BadInputError(f"array_policy must be one of {', '.join(ARRAY_POLICIES)}")
        row = await self.pool.fetchrow(
            "INSERT INTO ingest.datasets (name, key_columns, schema_policy, array_policy)"
            " VALUES ($1, coalesce($2::text[], '{}'), coalesce($3, 'evolve'),"
            " coalesce($4, 'json')) ON CONFLICT (name) DO UPDATE SET"
            " key_columns = coalesce($2::text[], ingest.datasets.key_columns),"
            " schema_policy = coalesce($3, ingest.datasets.schema_policy),"
            " array_policy = coalesce($4, ingest.datasets.array_policy), updated_at = now()"
            " RETURNING *",
            name,
            key,
            schema_policy,
            array_policy,
        )
        return public(name, row)

    async def page(
        self, after: str | None, limit: int, names: list[str] | None = None
    ) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM ingest.datasets WHERE ($1::text IS NULL OR name > $1)"
            " AND ($3::text[] IS NULL OR name = ANY($3::text[])) ORDER BY name LIMIT $2",
            after,
            limit,
            names,
        )
        return [public(r["name"], r) for r in rows]

    async def bronze_columns(self, name: str) -> list[str] | None:
        """The dataset's Bronze columns so far (None for a dataset that has none yet)."""
        columns = await self.pool.fetchval(
            "SELECT bronze_columns FROM ingest.datasets WHERE name = $1", name
        )
        return list(columns) if columns is not None else None

    async def record_columns(self, name: str, columns: list[str]) -> None:
        await self.pool.execute(
            "INSERT INTO ingest.datasets (name, bronze_columns) VALUES ($1, $2)"
            " ON CONFLICT (name) DO UPDATE SET bronze_columns = EXCLUDED.bronze_columns",
            name,
            columns,
        )
