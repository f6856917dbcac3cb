"""Quality's I/O: its own tables (`quality.*`, it is their only writer and reader): rules,
evaluations and their checks, releases, reconciliations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from flowforge.common.events import CheckResult, SilverReady
from flowforge.common.rules import Rule


class Results:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    @asynccontextmanager
    async def run_lock(self, run_id: str) -> AsyncIterator[asyncpg.Connection]:
        """One evaluation of a run at a time, across replicas (a transaction-scoped lock)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('quality:' || $1))", run_id)
            yield conn

    @staticmethod
    async def latest_revision(conn: asyncpg.Connection, run_id: str) -> int | None:
        return await conn.fetchval(
            "SELECT max(revision) FROM quality.evaluations WHERE run_id = $1", run_id
        )

    @staticmethod
    async def silver_event(conn: asyncpg.Connection, run_id: str) -> SilverReady | None:
        payload = await conn.fetchval(
            "SELECT silver_event FROM quality.evaluations WHERE run_id = $1"
            " ORDER BY revision DESC LIMIT 1",
            run_id,
        )
        return None if payload is None else SilverReady.model_validate(payload)

    @staticmethod
    async def published(conn: asyncpg.Connection, run_id: str) -> dict | None:
        return await conn.fetchval(
            "SELECT checked_event FROM quality.evaluations WHERE run_id = $1"
            " ORDER BY revision DESC LIMIT 1",
            run_id,
        )

    @staticmethod
    async def previous_rows(conn: asyncpg.Connection, dataset: str, run_id: str) -> int | None:
        """Rows of the batch evaluated before this run's first evaluation."""
        return await conn.fetchval(
            "SELECT rows FROM quality.evaluations e WHERE dataset = $1 AND run_id <> $2"
            " AND revision = 0 AND started_at < coalesce((SELECT min(started_at) FROM"
            " quality.evaluations WHERE run_id = $2), now())"
            " ORDER BY started_at DESC LIMIT 1",
            dataset,
            run_id,
        )

    @staticmethod
    async def released(conn: asyncpg.Connection, run_id: str) -> list[tuple[int, str]]:
        rows = await conn.fetch(
            "SELECT source_line, rule FROM quality.releases WHERE run_id = $1", run_id
        )
        return [(r["source_line"], r["rule"]) for r in rows]

    @staticmethod
    async def save(
        conn: asyncpg.Connection,
        *,
        event: SilverReady,
        revision: int,
        trigger: str,
        verdict: str,
        rows: int,
        quarantined: int,
        quarantine_key: str | None,
        started_at: datetime,
        seconds: float,
        checks: list[CheckResult],
        examples: dict[str, list[str]],
        checked: Any = None,
    ) -> None:
        """Store an evaluation and its checks (replacing the same revision: a redelivery)."""
        await conn.execute(
            "DELETE FROM quality.evaluations WHERE run_id = $1 AND revision = $2",
            event.run_id,
            revision,
        )
        await conn.execute(
            "INSERT INTO quality.evaluations (run_id, revision, dataset, trigger, verdict, rows,"
            " quarantined, quarantine_key, silver_event, started_at, seconds, checked_event)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            event.run_id,
            revision,
            event.dataset,
            trigger,
            verdict,
            rows,
            quarantined,
            quarantine_key,
            event.model_dump(mode="json"),
            started_at,
            seconds,
            checked.model_dump(mode="json") if checked is not None else None,
        )
        await conn.executemany(
            "INSERT INTO quality.check_results (run_id, revision, position, name, rule_type,"
            " column_name, action, status, failed_rows, total_rows, detail, examples)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            [
                (
                    event.run_id,
                    revision,
                    i,
                    c.name,
                    c.rule_type,
                    c.column,
                    c.action,
                    c.status,
                    c.failed_rows,
                    c.total_rows,
                    c.detail,
                    [str(v) for v in examples.get(c.name, [])],
                )
                for i, c in enumerate(checks)
            ],
        )

    async def release(self, dataset: str, entries: list[tuple[str, int, str]], reason: str) -> int:
        """Record (run_id, line, rule) releases; returns how many were new."""
        if not entries:
            return 0
        rows = await self.pool.fetch(
            "INSERT INTO quality.releases (run_id, source_line, rule, dataset, reason)"
            " SELECT r, l, u, $4, $5 FROM unnest($1::text[], $2::bigint[], $3::text[])"
            " AS e(r, l, u) ON CONFLICT DO NOTHING RETURNING 1",
            [e[0] for e in entries],
            [e[1] for e in entries],
            [e[2] for e in entries],
            dataset,
            reason,
        )
        return len(rows)

    async def latest_evaluations(self, dataset: str) -> list[asyncpg.Record]:
        """Each run's latest evaluation of the dataset, newest run first."""
        return await self.pool.fetch(
            "SELECT * FROM (SELECT DISTINCT ON (run_id) run_id, revision, verdict,"
            " quarantine_key, quarantined, started_at FROM quality.evaluations"
            " WHERE dataset = $1 ORDER BY run_id, revision DESC) e ORDER BY started_at DESC",
            dataset,
        )

    async def save_reconciliation(
        self, run_id: str, revision: int, dataset: str, checks: list[dict[str, Any]]
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO quality.reconciliations (run_id, revision, dataset, model, name,"
                " status, expected, actual, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                " ON CONFLICT (run_id, revision, model, name) DO UPDATE SET"
                " status = EXCLUDED.status, expected = EXCLUDED.expected,"
                " actual = EXCLUDED.actual, detail = EXCLUDED.detail, checked_at = now()",
                [
                    (
                        run_id,
                        revision,
                        dataset,
                        c["model"],
                        c["name"],
                        c["status"],
                        c["expected"],
                        c["actual"],
                        c["detail"],
                    )
                    for c in checks
                ],
            )


class Rules:
    """The datasets' rules, in evaluation order."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def rules(self, dataset: str) -> list[Rule]:
        rows = await self.pool.fetch(
            "SELECT spec FROM quality.rules WHERE dataset = $1 ORDER BY position, name", dataset
        )
        return [Rule.model_validate(_json(r["spec"])) for r in rows]

    async def replace(self, dataset: str, rules: list[Rule]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM quality.rules WHERE dataset = $1", dataset)
            await conn.executemany(
                "INSERT INTO quality.rules (dataset, name, position, spec) VALUES ($1, $2, $3, $4)",
                [(dataset, r.name, i, r.spec()) for i, r in enumerate(rules)],
            )

    async def add(self, dataset: str, rule: Rule) -> None:
        """Add a rule at the end (one of the same name is replaced in place)."""
        await self.pool.execute(
            "INSERT INTO quality.rules (dataset, name, position, spec) VALUES ($1, $2,"
            " (SELECT coalesce(max(position) + 1, 0) FROM quality.rules WHERE dataset = $1),"
            " $3) ON CONFLICT (dataset, name) DO UPDATE SET spec = EXCLUDED.spec,"
            " updated_at = now()",
            dataset,
            rule.name,
            rule.spec(),
        )

    async def delete(self, dataset: str, name: str) -> bool:
        done = await self.pool.execute(
            "DELETE FROM quality.rules WHERE dataset = $1 AND name = $2", dataset, name
        )
        return not done.endswith(" 0")


class Batches:
    """A dataset's batches that passed quality (their latest evaluation did not fail them),
    from its latest full snapshot on: what its valid rows are made of, as quality decided it."""

    def __init__(self, pool: asyncpg.Pool, key_of):
        self.pool = pool
        self.key_of = key_of  # object URI → key in the store

    async def promoted(self, dataset: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT run_id, silver_event->>'silver_uri' AS silver_uri,"
            " silver_event->'key' AS key_columns, quarantine_key,"
            " coalesce((silver_event->>'snapshot')::boolean, false) AS snapshot"
            " FROM (SELECT DISTINCT ON"
            " (run_id) * FROM quality.evaluations WHERE dataset = $1"
            " ORDER BY run_id, revision DESC) e WHERE verdict <> 'failed'"
            " ORDER BY (SELECT min(started_at) FROM quality.evaluations f"
            " WHERE f.run_id = e.run_id), run_id",
            dataset,
        )
        # From the latest full snapshot on (rows only in batches before it are deleted).
        snapshots = [i for i, r in enumerate(rows) if r["snapshot"]]
        rows = rows[snapshots[-1] :] if snapshots else rows
        return [
            {
                "run_id": r["run_id"],
                "silver_key": self.key_of(r["silver_uri"]),
                "quarantine_key": r["quarantine_key"],
                "key_columns": list(_json(r["key_columns"]) or []),
            }
            for r in rows
        ]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
