"""Transform's I/O: its own tables: the Silver batches, pinned and declared Silver specs, and
the Gold models with their build state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from flowforge.common import lake
from flowforge.common.errors import NotFoundError
from flowforge.transform.gold import Model
from flowforge.transform.materialize import Materialization


class Batches:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def record_silver(
        self,
        run_id: str,
        dataset: str,
        bronze_key: str,
        silver_key: str,
        key: list[str],
        snapshot: bool = False,
        deleted_key: str | None = None,
        rows: int | None = None,
    ) -> None:
        await self.pool.execute(
            "INSERT INTO transform.batches (run_id, dataset, bronze_key, silver_key, key_columns,"
            " snapshot, deleted_key, rows) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (run_id) DO UPDATE SET bronze_key = EXCLUDED.bronze_key,"
            " silver_key = EXCLUDED.silver_key, key_columns = EXCLUDED.key_columns,"
            " snapshot = EXCLUDED.snapshot, deleted_key = EXCLUDED.deleted_key,"
            " rows = EXCLUDED.rows",
            run_id,
            dataset,
            bronze_key,
            silver_key,
            key,
            snapshot,
            deleted_key,
            rows,
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

    async def promoted(
        self, dataset: str, *, without: str = "", conn: asyncpg.Connection | None = None
    ) -> list[asyncpg.Record]:
        """The batches the dataset's current rows are made of: the promoted ones, from the
        latest promoted full snapshot on (in the order they reached Silver); `without` a run
        (as they were before it). `conn`: within that connection's transaction."""
        return await (conn or self.pool).fetch(
            "SELECT * FROM transform.batches WHERE dataset = $1 AND promoted AND run_id <> $2"
            " AND silver_at >= coalesce((SELECT max(silver_at) FROM transform.batches"
            " WHERE dataset = $1 AND promoted AND snapshot AND run_id <> $2), '-infinity')"
            " ORDER BY promoted_at, run_id",
            dataset,
            without,
        )

    async def latest_silver_key(
        self, dataset: str, conn: asyncpg.Connection | None = None
    ) -> str | None:
        return await (conn or self.pool).fetchval(
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

    async def datasets(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT dataset FROM transform.batches WHERE promoted ORDER BY 1"
        )
        return [r["dataset"] for r in rows]


class SilverSpecs:
    """Each dataset's declared Silver spec (renames and types)."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def get(self, dataset: str) -> dict[str, dict[str, str]]:
        row = await self.pool.fetchrow(
            "SELECT renames, types FROM transform.silver_specs WHERE dataset = $1", dataset
        )
        if row is None:
            return {"renames": {}, "types": {}}
        return {"renames": dict(row["renames"]), "types": dict(row["types"])}

    async def replace(self, dataset: str, renames: dict[str, str], types: dict[str, str]) -> None:
        await self.pool.execute(
            "INSERT INTO transform.silver_specs (dataset, renames, types) VALUES ($1, $2, $3)"
            " ON CONFLICT (dataset) DO UPDATE SET renames = EXCLUDED.renames,"
            " types = EXCLUDED.types, updated_at = now()",
            dataset,
            renames,
            types,
        )

    async def merge(self, dataset: str, renames: dict[str, str], types: dict[str, str]) -> None:
        """Merge into the spec in one statement (two accepted suggestions at once both land)."""
        await self.pool.execute(
            "INSERT INTO transform.silver_specs (dataset, renames, types) VALUES ($1, $2, $3)"
            " ON CONFLICT (dataset) DO UPDATE SET"
            " renames = transform.silver_specs.renames || EXCLUDED.renames,"
            " types = transform.silver_specs.types || EXCLUDED.types, updated_at = now()",
            dataset,
            renames,
            types,
        )


MODEL_FIELDS = (
    "name, sql, depends_on, reconcile, created_at, updated_at, built_at, build_id, row_count,"
    " columns, last_error, last_error_at, version, materialized, unique_key, config,"
    " description, column_docs, tests, test_results, pending"
)


class ModelRegistry:
    """Gold models (`transform.models`) and their build state."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def all(self) -> dict[str, Model]:
        rows = await self.pool.fetch(
            "SELECT name, sql, depends_on, version, materialized, unique_key, config, built_from,"
            " tests, pending, pending_rows, row_count FROM transform.models"
        )
        return {
            r["name"]: Model(
                r["name"],
                r["sql"],
                tuple(r["depends_on"]),
                r["version"],
                Materialization.stored(r["materialized"], list(r["unique_key"]), dict(r["config"])),
                dict(r["built_from"] or {}),
                tuple(r["tests"] or ()),
                tuple(r["pending"] or ()),
                int(r["pending_rows"] or 0),
                r["row_count"],
            )
            for r in rows
        }

    async def reconcile(self, names: list[str]) -> dict[str, dict[str, str]]:
        rows = await self.pool.fetch(
            "SELECT name, reconcile FROM transform.models WHERE name = ANY($1::text[])", names
        )
        return {r["name"]: dict(r["reconcile"]) for r in rows}

    async def save(
        self,
        name: str,
        sql: str,
        depends_on: list[str],
        reconcile: dict[str, str],
        mat: Materialization | None = None,
        description: str = "",
        column_docs: dict[str, Any] | None = None,
        tests: list[dict[str, Any]] | None = None,
    ) -> None:
        """Add or replace a model; a changed definition is built in full next time."""
        mat = mat or Materialization()
        await self.pool.execute(
            "INSERT INTO transform.models (name, sql, depends_on, reconcile, materialized,"
            " unique_key, config, description, column_docs, tests) VALUES ($1, $2, $3, $4, $5,"
            " $6, $7, $8, $9, $10) ON CONFLICT (name) DO UPDATE SET sql = EXCLUDED.sql,"
            " depends_on = EXCLUDED.depends_on, reconcile = EXCLUDED.reconcile,"
            " materialized = EXCLUDED.materialized, unique_key = EXCLUDED.unique_key,"
            " config = EXCLUDED.config, description = EXCLUDED.description,"
            " column_docs = EXCLUDED.column_docs, tests = EXCLUDED.tests, built_from = '{}',"
            " updated_at = now()",
            name,
            sql,
            depends_on,
            reconcile,
            mat.materialized,
            list(mat.unique_key),
            mat.config(),
            description,
            column_docs or {},
            tests or [],
        )

    async def get(self, name: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            f"SELECT {MODEL_FIELDS} FROM transform.models WHERE name = $1", name
        )
        if row is None:
            raise NotFoundError(f"no Gold model named {name!r}; list them at GET /api/v1/models")
        return row

    async def page(self, after: str | None, limit: int) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            f"SELECT {MODEL_FIELDS} FROM transform.models WHERE $1::text IS NULL OR name > $1"
            " ORDER BY name LIMIT $2",
            after,
            limit,
        )

    async def built(
        self,
        name: str,
        build_id: str,
        rows: int | None,
        columns: list[dict[str, str]],
        version: int | None,
        built_from: dict[str, Any] | None = None,
        test_results: list[dict[str, Any]] | None = None,
        pending: list[str] | None = None,
        pending_rows: int = 0,
    ) -> None:
        """A build recorded: a full one (a new table version, no merges pending) or an
        incremental merge (the same version, `pending` merges beside it)."""
        await self.pool.execute(
            "UPDATE transform.models SET built_at = now(), build_id = $2, row_count = $3,"
            " columns = $4, version = $5, built_from = $6, test_results = $7,"
            " pending = $8, pending_rows = $9, last_error = NULL, last_error_at = NULL"
            " WHERE name = $1",
            name,
            build_id,
            rows,
            columns,
            version,
            built_from or {},
            test_results or [],
            pending or [],
            pending_rows,
        )

    async def failed(self, name: str, error: str) -> None:
        await self.pool.execute(
            "UPDATE transform.models SET last_error = $2, last_error_at = now() WHERE name = $1",
            name,
            error,
        )


class GoldLock:
    """One build at a time per Gold model across every transform replica (PostgreSQL advisory
    locks on a held connection; a replica that dies releases them with its connection). A
    build reads its inputs and commits under its models' locks, so two replicas promoting
    batches of one dataset cannot commit a model in the wrong order, while models of other
    datasets build at the same time. Locks are taken in one global order (by name): two
    builds sharing models wait for each other and never deadlock."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    @asynccontextmanager
    async def hold(self, models: Iterable[str]) -> AsyncIterator[None]:
        names = sorted(set(models))
        if not names:
            yield
            return
        async with self.pool.acquire() as conn:
            taken: list[str] = []
            try:
                for name in names:
                    await conn.execute(
                        "SELECT pg_advisory_lock($1, hashtext($2))", lake.GOLD_LOCK_KEY, name
                    )
                    taken.append(name)
                yield
            finally:
                for name in reversed(taken):
                    await conn.execute(
                        "SELECT pg_advisory_unlock($1, hashtext($2))", lake.GOLD_LOCK_KEY, name
                    )
