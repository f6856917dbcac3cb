"""The scheduler's tables: workflow definitions with their trigger state, runs, steps and
notifications. Every replica works on the same rows; what makes it safe is in the SQL:
a tick's run is inserted under a unique key (the first replica wins), and a run is executed by
the replica that holds its lease (taken with SKIP LOCKED, renewed while it works, taken over
by another replica once it lapses)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from flowforge.common.cursor import decode_cursor, encode_cursor
from flowforge.common.errors import NotFoundError

TERMINAL = ("succeeded", "failed", "cancelled", "skipped")
NAMESPACE = uuid.UUID("6f1c1d1e-4f0b-4b8e-9c1a-2a7f6c0e5d11")


@dataclass
class NewRun:
    workflow: str
    trigger: str
    steps: list[str]
    key: str | None = None
    logical: tuple[datetime, datetime] | None = None
    params: dict | None = None
    status: str = "queued"
    reason: str | None = None


def run_id_for(key: str) -> str:
    """The run id of a keyed run (a tick): the same on every replica."""
    return uuid.uuid5(NAMESPACE, key).hex


class Store:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    # --- definitions ---------------------------------------------------------------------

    async def put_workflow(self, name: str, definition: dict, origin: str, now: datetime) -> bool:
        """Create or replace; True when created. Its trigger state is kept on replace."""
        row = await self.pool.fetchrow(
            "INSERT INTO scheduler.workflows AS w (name, definition, origin, created_at,"
            " updated_at, paused) VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (name) DO UPDATE"
            " SET definition = $2, origin = $3, updated_at = $4 RETURNING (xmax = 0) AS created",
            name, definition, origin, now, bool(definition.get("paused")),
        )  # fmt: skip
        return bool(row["created"])

    async def workflows(self) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM scheduler.workflows ORDER BY name")

    async def workflow(self, name: str) -> asyncpg.Record:
        row = await self.pool.fetchrow("SELECT * FROM scheduler.workflows WHERE name = $1", name)
        if row is None:
            raise NotFoundError(f"no workflow named {name!r}")
        return row

    async def delete_workflow(self, name: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.execute("DELETE FROM scheduler.workflows WHERE name = $1", name)
            if done.endswith(" 0"):
                raise NotFoundError(f"no workflow named {name!r}")
            await conn.execute(
                "UPDATE scheduler.runs SET cancel = true, status = CASE WHEN status = 'queued'"
                " THEN 'cancelled' ELSE status END, reason = 'the workflow was deleted'"
                " WHERE workflow = $1 AND status IN ('queued', 'running')",
                name,
            )

    async def delete_missing_files(self, origins: set[str]) -> list[str]:
        """Workflows loaded from files that are gone: removed."""
        rows = await self.pool.fetch(
            "DELETE FROM scheduler.workflows WHERE origin LIKE 'file:%' AND NOT origin = ANY($1)"
            " RETURNING name",
            list(origins),
        )
        return [r["name"] for r in rows]

    async def set_paused(self, name: str, paused: bool, now: datetime) -> None:
        done = await self.pool.execute(
            "UPDATE scheduler.workflows SET paused = $2, updated_at = $3,"
            # Resumed: ticks missed while paused are not owed (catch-up starts from now).
            " last_tick = CASE WHEN NOT $2 AND paused THEN greatest(last_tick, $3::timestamptz)"
            " ELSE last_tick END WHERE name = $1",
            name, paused, now,
        )  # fmt: skip
        if done.endswith(" 0"):
            raise NotFoundError(f"no workflow named {name!r}")

    # --- runs ----------------------------------------------------------------------------

    async def add_run(self, workflow: str, trigger: str, steps: list[str], *, now: datetime,
                      **kw: Any) -> str | None:  # fmt: skip
        """A new run with its steps pending; None when a run with this key exists already
        (another replica fired the tick, or this one did before)."""
        added = await self.add_runs([NewRun(workflow, trigger, steps, **kw)], now)
        return added[0] if added else None

    async def add_runs(self, runs: list[NewRun], now: datetime) -> list[str]:
        """Many new runs in one transaction (a minute's ticks of every workflow); the ids of
        those added (a keyed run that exists already is not)."""
        if not runs:
            return []
        ids = [run_id_for(r.key) if r.key else uuid.uuid4().hex for r in runs]
        async with self.pool.acquire() as conn, conn.transaction():
            added = await conn.fetch(
                "INSERT INTO scheduler.runs (id, workflow, tick_key, trigger, status,"
                " logical_start, logical_end, params, reason, created_at, finished_at)"
                " SELECT u.id, u.workflow, u.tick_key, u.trigger, u.status, u.logical_start,"
                " u.logical_end, u.params::jsonb, u.reason, $10::timestamptz,"
                " CASE WHEN u.status IN ('skipped', 'cancelled') THEN $10::timestamptz END"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
                " $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[])"
                " AS u(id, workflow, tick_key, trigger, status, logical_start, logical_end,"
                " params, reason) ON CONFLICT DO NOTHING RETURNING id",
                ids, [r.workflow for r in runs], [r.key for r in runs],
                [r.trigger for r in runs], [r.status for r in runs],
                [r.logical[0] if r.logical else None for r in runs],
                [r.logical[1] if r.logical else None for r in runs],
                [json.dumps(r.params or {}) for r in runs], [r.reason for r in runs], now,
            )  # fmt: skip
            done = {row["id"] for row in added}
            pairs = [(i, step) for i, r in zip(ids, runs, strict=True)
                     if i in done and r.status == "queued" for step in r.steps]  # fmt: skip
            if pairs:
                await conn.execute(
                    "INSERT INTO scheduler.steps (run_id, name) SELECT * FROM"
                    " unnest($1::text[], $2::text[])",
                    [p[0] for p in pairs], [p[1] for p in pairs],
                )  # fmt: skip
        return [i for i in ids if i in done]

    async def advance_many(self, ticks: dict[str, datetime]) -> None:
        if ticks:
            await self.pool.execute(
                "UPDATE scheduler.workflows w SET last_tick = greatest(w.last_tick, u.t)"
                " FROM unnest($1::text[], $2::timestamptz[]) AS u(name, t) WHERE w.name = u.name",
                list(ticks), list(ticks.values()),
            )  # fmt: skip

    async def active_counts(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT workflow, count(*) AS n FROM scheduler.runs WHERE status IN"
            " ('queued', 'running') GROUP BY workflow"
        )
        return {r["workflow"]: r["n"] for r in rows}

    async def active(self, workflow: str) -> int:
        return await self.pool.fetchval(
            "SELECT count(*) FROM scheduler.runs WHERE workflow = $1 AND status IN"
            " ('queued', 'running')",
            workflow,
        )

    async def claim(
        self, replica: str, now: datetime, lease: timedelta, limits: dict[str, int], n: int = 100
    ) -> list[asyncpg.Record]:
        """Runs to execute, up to `n`: running runs whose lease lapsed (their replica died),
        then queued runs, the oldest first, as many per workflow as it has room for (fewer
        running than its `max_active_runs`). SKIP LOCKED and the status re-checked by the
        UPDATE: replicas never take the same run."""
        async with self.pool.acquire() as conn, conn.transaction():
            taken = await conn.fetch(
                "UPDATE scheduler.runs SET owner = $1, lease_until = $3 WHERE id IN (SELECT id"
                " FROM scheduler.runs WHERE status = 'running' AND lease_until < $2"
                " ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *, 1 AS attempts",
                replica, now, now + lease, n,
            )  # fmt: skip
            fresh = await conn.fetch(
                "WITH busy AS (SELECT workflow, count(*) AS n FROM scheduler.runs"
                " WHERE status = 'running' GROUP BY workflow),"
                " queued AS (SELECT r.id, r.workflow, row_number() OVER (PARTITION BY r.workflow"
                " ORDER BY r.created_at, r.logical_end NULLS FIRST, r.id) AS place"
                " FROM scheduler.runs r WHERE r.status = 'queued'),"
                " chosen AS (SELECT q.id FROM queued q LEFT JOIN busy b USING (workflow)"
                " WHERE q.place <= coalesce(($2::jsonb ->> q.workflow)::int, 1)"
                " - coalesce(b.n, 0) ORDER BY q.place LIMIT $5)"
                " UPDATE scheduler.runs SET status = 'running', owner = $1, lease_until = $4,"
                " started_at = coalesce(started_at, $3) WHERE id IN (SELECT id FROM chosen)"
                " AND status = 'queued' RETURNING *, 0 AS attempts",
                replica, limits, now, now + lease, max(0, n - len(taken)),
            )  # fmt: skip
        return [*taken, *fresh]

    async def renew(self, run_id: str, replica: str, until: datetime) -> bool | None:
        """Keep the lease: whether the run is to be cancelled; None when another replica took
        it over (this one stalled)."""
        return await self.pool.fetchval(
            "UPDATE scheduler.runs SET lease_until = $3 WHERE id = $1 AND owner = $2"
            " AND status = 'running' RETURNING cancel",
            run_id,
            replica,
            until,
        )

    async def cancel(self, workflow: str, run_id: str, now: datetime) -> dict:
        row = await self.pool.fetchrow(
            "UPDATE scheduler.runs SET cancel = true, reason = 'cancelled on request',"
            " status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,"
            " finished_at = CASE WHEN status = 'queued' THEN $3::timestamptz ELSE finished_at END"
            " WHERE id = $1 AND workflow = $2 RETURNING status",
            run_id, workflow, now,
        )  # fmt: skip
        if row is None:
            raise NotFoundError(f"workflow {workflow!r} has no run {run_id!r}")
        return await self.run(run_id)

    async def finish(self, run_id: str, status: str, reason: str | None, now: datetime) -> None:
        await self.pool.execute(
            "UPDATE scheduler.runs SET status = $2, reason = coalesce($3, reason),"
            " finished_at = $4, lease_until = NULL WHERE id = $1",
            run_id,
            status,
            reason,
            now,
        )

    async def late_runs(self, slas: dict[str, float], now: datetime) -> list[asyncpg.Record]:
        """Running runs past their workflow's SLA, not alerted yet (marked now)."""
        if not slas:
            return []
        return await self.pool.fetch(
            "UPDATE scheduler.runs r SET sla_alerted = true, sla_alerted_at = $2"
            " WHERE status = 'running' AND NOT"
            " sla_alerted AND ($1::jsonb ? workflow) AND started_at + make_interval(secs =>"
            " ($1::jsonb ->> workflow)::float) < $2 RETURNING *",
            slas,
            now,
        )

    # --- steps ---------------------------------------------------------------------------

    async def steps(self, run_id: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM scheduler.steps WHERE run_id = $1 ORDER BY name", run_id
        )

    async def step_started(self, run_id: str, name: str, now: datetime) -> int:
        return await self.pool.fetchval(
            "UPDATE scheduler.steps SET status = 'running', attempt = attempt + 1,"
            " started_at = $3, finished_at = NULL, error = NULL, retry_at = NULL"
            " WHERE run_id = $1 AND name = $2 RETURNING attempt",
            run_id,
            name,
            now,
        )

    async def steps_started(self, steps: list[tuple[str, str]], now: datetime) -> dict:
        """Start many pending steps at once: {(run id, step): attempt}."""
        if not steps:
            return {}
        rows = await self.pool.fetch(
            "UPDATE scheduler.steps s SET status = 'running', attempt = s.attempt + 1,"
            " started_at = $3, finished_at = NULL, error = NULL, retry_at = NULL"
            " FROM unnest($1::text[], $2::text[]) AS u(run_id, name)"
            " WHERE s.run_id = u.run_id AND s.name = u.name AND s.status = 'pending'"
            " RETURNING s.run_id, s.name, s.attempt",
            [r for r, _ in steps], [n for _, n in steps], now,
        )  # fmt: skip
        return {(r["run_id"], r["name"]): r["attempt"] for r in rows}

    async def step_pipeline_run(self, run_id: str, name: str, pipeline_run: str) -> None:
        await self.pool.execute(
            "UPDATE scheduler.steps SET pipeline_runs = pipeline_runs || to_jsonb($3::text)"
            " WHERE run_id = $1 AND name = $2 AND NOT pipeline_runs ? $3",
            run_id,
            name,
            pipeline_run,
        )

    async def step_done(
        self,
        run_id: str,
        name: str,
        status: str,
        now: datetime,
        *,
        error: str | None = None,
        output: Any = None,
        retry_at: datetime | None = None,
    ) -> None:
        await self.pool.execute(
            "UPDATE scheduler.steps SET status = $3::text, error = $4, output = $5,"
            " retry_at = $6, finished_at = CASE WHEN $3::text = 'pending' THEN NULL"
            " ELSE $7::timestamptz END"
            " WHERE run_id = $1 AND name = $2",
            run_id, name, status, error, output, retry_at, now,
        )  # fmt: skip

    # --- history -------------------------------------------------------------------------

    async def run(self, run_id: str) -> dict:
        row = await self.pool.fetchrow("SELECT * FROM scheduler.runs WHERE id = $1", run_id)
        if row is None:
            raise NotFoundError(f"no workflow run {run_id!r}")
        return _run(row, await self.steps(run_id))

    async def runs(self, workflow: str, limit: int, cursor: str | None, status: str | None):
        after = decode_cursor(cursor) if cursor else None
        rows = await self.pool.fetch(
            "SELECT * FROM scheduler.runs WHERE workflow = $1 AND ($2::text IS NULL OR"
            " status = $2) AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))"
            " ORDER BY created_at DESC, id DESC LIMIT $5",
            workflow, status, after[0] if after else None, after[1] if after else None,
            limit + 1,
        )  # fmt: skip
        more = len(rows) > limit
        rows = rows[:limit]
        steps = await self.pool.fetch(
            "SELECT * FROM scheduler.steps WHERE run_id = ANY($1) ORDER BY name",
            [r["id"] for r in rows],
        )
        by_run: dict[str, list] = {}
        for s in steps:
            by_run.setdefault(s["run_id"], []).append(s)
        last = rows[-1] if rows else None
        return {
            "runs": [_run(r, by_run.get(r["id"], [])) for r in rows],
            "next_cursor": encode_cursor(last["created_at"], last["id"]) if more and last else None,
        }

    async def last_runs(self, workflows: list[str]) -> dict[str, dict]:
        """Each workflow's newest run that was not skipped, in one query."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT ON (workflow) * FROM scheduler.runs WHERE workflow = ANY($1)"
            " AND status <> 'skipped' ORDER BY workflow, created_at DESC, id DESC",
            workflows,
        )
        return {r["workflow"]: _run(r, []) for r in rows}

    async def alerts(self, limit: int) -> list[dict]:
        """The latest alerts, newest first: runs that failed, runs that went past their SLA."""
        rows = await self.pool.fetch(
            "SELECT * FROM ((SELECT id, workflow, 'failure' AS alert, finished_at AS at, reason"
            " FROM scheduler.runs WHERE status = 'failed' AND finished_at IS NOT NULL"
            " ORDER BY finished_at DESC LIMIT $1) UNION ALL (SELECT id, workflow, 'sla',"
            " sla_alerted_at, NULL FROM scheduler.runs WHERE sla_alerted"
            " AND sla_alerted_at IS NOT NULL ORDER BY sla_alerted_at DESC LIMIT $1)) a"
            " ORDER BY at DESC, id LIMIT $1",
            limit,
        )
        return [dict(r) for r in rows]

    # --- notifications -------------------------------------------------------------------

    async def notification(self, run_id: str, workflow: str, event: str, target: str) -> int | None:
        return await self.pool.fetchval(
            "INSERT INTO scheduler.notifications (run_id, workflow, event, target)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
            run_id,
            workflow,
            event,
            target,
        )

    async def notified(self, nid: int, ok: bool, error: str | None, now: datetime) -> None:
        await self.pool.execute(
            "UPDATE scheduler.notifications SET attempts = attempts + 1, last_error = $3,"
            " status = CASE WHEN $2 THEN 'sent' ELSE status END,"
            " sent_at = CASE WHEN $2 THEN $4::timestamptz END WHERE id = $1",
            nid, ok, error, now,
        )  # fmt: skip

    async def gave_up(self, nid: int) -> None:
        await self.pool.execute(
            "UPDATE scheduler.notifications SET status = 'failed' WHERE id = $1", nid
        )

    async def notifications(self, run_id: str) -> list[dict]:
        rows = await self.pool.fetch(
            "SELECT event, target, status, attempts, last_error, created_at, sent_at"
            " FROM scheduler.notifications WHERE run_id = $1 ORDER BY id",
            run_id,
        )
        return [dict(r) for r in rows]


def _run(row: asyncpg.Record, steps: list[asyncpg.Record]) -> dict:
    started, finished = row["started_at"], row["finished_at"]
    return {
        "id": row["id"],
        "workflow": row["workflow"],
        "status": row["status"],
        "trigger": row["trigger"],
        "logical_start": row["logical_start"],
        "logical_end": row["logical_end"],
        "params": dict(row["params"] or {}),
        "reason": row["reason"],
        "created_at": row["created_at"],
        "started_at": started,
        "finished_at": finished,
        "seconds": (finished - started).total_seconds() if started and finished else None,
        "steps": [
            {
                "name": s["name"],
                "status": s["status"],
                "attempts": s["attempt"],
                "pipeline_runs": list(s["pipeline_runs"] or []),
                "output": s["output"],
                "error": s["error"],
                "retry_at": s["retry_at"],
                "started_at": s["started_at"],
                "finished_at": s["finished_at"],
            }
            for s in steps
        ],
    }
