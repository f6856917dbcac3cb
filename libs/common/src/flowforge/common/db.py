"""PostgreSQL access: the asyncpg pool and the migrations runner.

Each service owns one schema (`ingest`, `transform`, `quality`, `catalog`, `gateway`, `ai`)
and keeps its numbered SQL files in `migrations/`. They are applied at start-up, in order,
under an advisory lock, so N replicas starting together apply each file exactly once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import asyncpg

from flowforge.common.errors import PermanentError, TransientError

log = logging.getLogger(__name__)
MIGRATION_LOCK = 0x466C6F77  # "Flow"


def _encode_json(value: object) -> str:
    # PostgreSQL's jsonb cannot hold U+0000 (fuzzed files put it in column names and values).
    return json.dumps(value).replace("\\u0000", "\\ufffd")


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, encoder=_encode_json, decoder=json.loads, schema="pg_catalog"
        )


# Refusals that waiting cannot fix: the configuration is wrong.
CONFIGURATION_ERRORS = (
    asyncpg.InvalidCatalogNameError,  # no such database
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidAuthorizationSpecificationError,  # no such role, or not allowed
)


async def create_pool(dsn: str, *, attempts: int = 30, min_size: int = 1, max_size: int = 5):
    """Open a pool, waiting for a database that is still starting (up to ~`attempts` s); a
    database that does not exist or refuses the credentials is an error at once."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, init=_init_connection
            )
        except CONFIGURATION_ERRORS as exc:
            raise PermanentError(f"PostgreSQL refused the connection: {exc}") from exc
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            last = exc
            await asyncio.sleep(1)
    raise TransientError(f"cannot connect to PostgreSQL: {last}") from last


async def migrate(pool: asyncpg.Pool, schema: str, migrations_dir: Path) -> list[str]:
    """Apply this schema's pending migrations; returns the names applied."""
    files = sorted(migrations_dir.glob("*.sql"))  # noqa: ASYNC240 - a few local files, once
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                r["name"]
                for r in await conn.fetch(f'SELECT name FROM "{schema}".schema_migrations')
            }
            for path in files:
                if path.name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL search_path TO "{schema}", public')
                    await conn.execute(path.read_text())
                    await conn.execute(
                        f'INSERT INTO "{schema}".schema_migrations (name) VALUES ($1)', path.name
                    )
                applied.append(path.name)
                log.info("applied migration", extra={"schema": schema, "migration": path.name})
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied
