"""Transform's I/O: its own `transform.batches` table and the model registry (read from the
gateway's configuration, which the gateway owns)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from flowforge.common import lake
from flowforge.common.errors import NotFoundError
from flowforge.transform.gold import Model


class Batches:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def record_silver(
        self, run_id: str, dataset: str, bronze_key: str, silver_key: str, key: list[str]
    ) -> None:
        await self.pool.execute(
            "INSERT INTO transform.batches (run_id, dataset, bronze_key, silver_key, key_columns)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id) DO UPDATE SET"
            " bronze_key = EXCLUDED.bronze_key, silver_key = EXCLUDED.silver_key,"
            " key_columns = EXCLUDED.key_columns",
            run_id,
            dataset,
            bronze_key,
            silver_key,
            key,
        )

    async def promote(self, run_id: str, quarantine_key: str | None, revision: int = 0) -> bool:
        """Promote the batch as quality's revision `revision` says; False (nothing done) when a
        newer revision has already decided it."""
        done = await self.pool.execute(
            "UPDATE transform.batches SET promoted = true, quarantine_key = $2, revision = $3,"
            " promoted_at = coalesce(promoted_at, now()) WHERE run_id = $1 AND revision <= $3",
            run_id,
            quarantine_key,
            revision,
        )
        if done.endswith(" 0"):
            if await self.pool.fetchval(
                "SELECT 1 FROM transform.batches WHERE run_id = $1", run_id
            ):
                return False
            raise NotFoundError(f"run {run_id} has no Silver batch recorded")
        return True

    async def demote(self, run_id: str, revision: int = 0) -> bool:
        """Take a batch out of Gold's inputs (quality failed it); True if it was promoted.
        Recorded even when it was not, so an older passing revision cannot promote it later."""
        was = await self.pool.fetchval(
            "UPDATE transform.batches b SET promoted = false, promoted_at = NULL, revision = $2"
            " FROM (SELECT promoted FROM transform.batches WHERE run_id = $1) old"
            " WHERE b.run_id = $1 AND b.revision <= $2 RETURNING old.promoted",
            run_id,
            revision,
        )
        return bool(was)

    async def promoted(self, dataset: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM transform.batches WHERE dataset = $1 AND promoted"
            " ORDER BY promoted_at, run_id",
            dataset,
        )

    async def latest_silver_key(self, dataset: str) -> str | None:
        return await self.pool.fetchval(
            "SELECT silver_key FROM transform.batches WHERE dataset = $1"
            " ORDER BY silver_at DESC LIMIT 1",
            dataset,
        )

    async def pinned_specs(self, dataset: str) -> dict[str, str]:
        specs = await self.pool.fetchval(
            "SELECT specs FROM transform.schemas WHERE dataset = $1", dataset
        )
        return dict(specs or {})

    async def pin_specs(self, dataset: str, specs: dict[str, str]) -> None:
        """Pin the specs of columns not pinned yet (a pinned column keeps its first type)."""
        await self.pool.execute(
            "INSERT INTO transform.schemas (dataset, specs) VALUES ($1, $2)"
            # jsonb `||` keeps the right side's value for a shared column: the pinned one.
            " ON CONFLICT (dataset) DO UPDATE SET"
            " specs = EXCLUDED.specs || transform.schemas.specs, updated_at = now()",
            dataset,
            specs,
        )

    async def declared_spec(self, dataset: str) -> dict:
        """The dataset's Silver spec as the gateway stores it (renames, declared types)."""
        try:
            spec = await self.pool.fetchval(
                "SELECT silver_spec FROM gateway.datasets WHERE name = $1", dataset
            )
        except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
            return {}  # the gateway has not created (or migrated) its tables yet
        return dict(spec or {})

    async def datasets(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT dataset FROM transform.batches WHERE promoted ORDER BY 1"
        )
        return [r["dataset"] for r in rows]


class ModelRegistry:
    """Gold models as the gateway stores them (`gateway.models`); read only here."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def all(self) -> dict[str, Model]:
        exists = await self.pool.fetchval("SELECT to_regclass('gateway.models') IS NOT NULL")
        if not exists:
            return {}
        rows = await self.pool.fetch("SELECT name, sql, depends_on FROM gateway.models")
        return {r["name"]: Model(r["name"], r["sql"], tuple(r["depends_on"])) for r in rows}


class GoldLock:
    """One Gold build at a time across every transform replica (a PostgreSQL advisory lock on
    a held connection; a replica that dies releases it with its connection). Without it, two
    replicas promoting different batches could commit Gold in the wrong order."""

    KEY = lake.GOLD_LOCK_KEY

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool
        self.local = asyncio.Lock()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        async with self.local, self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", self.KEY)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.KEY)
