"""ai's tables (`ai.*`, it is their only writer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from flowforge.ai.analysis import Suggestion


class AiStore:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def save_profile(
        self,
        *,
        run_id: str,
        dataset: str,
        fingerprint: str,
        bronze_uri: str,
        rows: int,
        columns: list[dict[str, Any]],
        seconds: float,
    ) -> None:
        await self.pool.execute(
            "INSERT INTO ai.profiles (run_id, dataset, schema_fingerprint, bronze_uri, rows,"
            " columns, seconds) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (run_id) DO"
            " UPDATE SET columns = EXCLUDED.columns, rows = EXCLUDED.rows,"
            " seconds = EXCLUDED.seconds",
            run_id,
            dataset,
            fingerprint,
            bronze_uri,
            rows,
            columns,
            seconds,
        )

    async def latest_profile(self, dataset: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            "SELECT * FROM ai.profiles WHERE dataset = $1 ORDER BY created_at DESC LIMIT 1",
            dataset,
        )

    async def save_analysis(
        self,
        *,
        run_id: str,
        source: str,
        dataset: str,
        fingerprint: str,
        result: dict[str, Any],
        tokens: int = 0,
        attempts: list[dict[str, str]] | None = None,
        cached: bool = False,
    ) -> None:
        await self.pool.execute(
            "INSERT INTO ai.analyses (run_id, source, dataset, schema_fingerprint, result, tokens,"
            " attempts, cached) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (run_id, source) DO UPDATE SET result = EXCLUDED.result,"
            " tokens = EXCLUDED.tokens, attempts = EXCLUDED.attempts, cached = EXCLUDED.cached,"
            " created_at = now()",
            run_id,
            source,
            dataset,
            fingerprint,
            result,
            tokens,
            attempts or [],
            cached,
        )

    async def pii_columns(self, datasets: list[str]) -> dict[str, set[str]]:
        """Each dataset's PII columns by Silver name, as its latest offline analysis says."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT ON (dataset) dataset, result FROM ai.analyses"
            " WHERE source = 'offline' AND dataset = ANY($1::text[])"
            " ORDER BY dataset, created_at DESC",
            datasets,
        )
        return {
            r["dataset"]: {
                c.get("silver_name") or c["name"] for c in r["result"]["columns"] if c.get("pii")
            }
            for r in rows
        }

    @asynccontextmanager
    async def budget_lock(self, dataset: str) -> AsyncIterator[None]:
        """One LLM analysis of a dataset at a time, across replicas and on-demand requests,
        so each reads what the previous one spent before spending (exact budget)."""
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext('ai-budget:' || $1))", dataset)
            try:
                yield
            finally:
                await conn.execute(
                    "SELECT pg_advisory_unlock(hashtext('ai-budget:' || $1))", dataset
                )

    async def tokens_spent(self, dataset: str) -> int:
        return (
            await self.pool.fetchval("SELECT tokens FROM ai.usage WHERE dataset = $1", dataset) or 0
        )

    async def add_usage(self, dataset: str, tokens: int, calls: int) -> None:
        await self.pool.execute(
            "INSERT INTO ai.usage (dataset, tokens, calls) VALUES ($1, $2, $3)"
            " ON CONFLICT (dataset) DO UPDATE SET tokens = ai.usage.tokens + EXCLUDED.tokens,"
            " calls = ai.usage.calls + EXCLUDED.calls, updated_at = now()",
            dataset,
            tokens,
            calls,
        )

    async def save_suggestions(
        self, dataset: str, run_id: str, source: str, suggestions: list[Suggestion]
    ) -> None:
        await self.pool.executemany(
            "INSERT INTO ai.suggestions (dataset, kind, target, source, payload, reason, run_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dataset, kind, target, source)"
            " DO UPDATE SET payload = EXCLUDED.payload, reason = EXCLUDED.reason,"
            " run_id = EXCLUDED.run_id, updated_at = now()",
            [(dataset, s.kind, s.target, source, s.payload, s.reason, run_id) for s in suggestions],
        )
