"""The catalog's tables (it is their only writer). Every write is an idempotent upsert, so the
same event recorded twice, or events of one run arriving out of order, give the same state."""

from __future__ import annotations

from typing import Any

import asyncpg

from flowforge.common.events import (
    STAGES,
    Column,
    PipelineEvent,
    RunCounts,
    SchemaDiff,
    StageTiming,
)
from flowforge.common.schema import schema_diff

COUNT_FIELDS = tuple(RunCounts.model_fields)


def derive_status(stages: dict[str, str]) -> str:
    """A run's status from its stages: failed wins, then succeeded once Gold is done."""
    values = set(stages.values())
    if "failed" in values:
        return "failed"
    if stages.get("gold") == "succeeded":
        return "succeeded"
    if values & {"succeeded", "running"}:
        return "running"
    return "queued"


class Records:
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def seen(
        self, event_id: str, subject: str, event: PipelineEvent | Any, payload: dict
    ) -> bool:
        """Audit the event; False when it was already recorded (a redelivery)."""
        done = await self.conn.execute(
            "INSERT INTO catalog.events (id, subject, run_id, dataset, payload)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            event_id,
            subject,
            event.run_id,
            event.dataset,
            payload,
        )
        return done.endswith(" 0")

    async def touch_run(self, event: PipelineEvent) -> None:
        counts = event.counts.model_dump()
        sets = ", ".join(f"{f} = coalesce(EXCLUDED.{f}, catalog.runs.{f})" for f in COUNT_FIELDS)
        await self.conn.execute(
            "INSERT INTO catalog.runs (run_id, dataset, filename, content_hash, "
            + ", ".join(COUNT_FIELDS)
            + ") VALUES ($1, $2, $3, $4, "
            + ", ".join(f"${i}" for i in range(5, 5 + len(COUNT_FIELDS)))
            + ") ON CONFLICT (run_id) DO UPDATE SET "
            "filename = CASE WHEN EXCLUDED.filename <> '' THEN EXCLUDED.filename"
            " ELSE catalog.runs.filename END, "
            "content_hash = CASE WHEN EXCLUDED.content_hash <> '' THEN EXCLUDED.content_hash"
            " ELSE catalog.runs.content_hash END, "
            f"{sets}, updated_at = now()",
            event.run_id,
            event.dataset,
            event.filename,
            event.content_hash,
            *[counts[f] for f in COUNT_FIELDS],
        )
        await self.conn.executemany(
            "INSERT INTO catalog.stages (run_id, name, position) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            [(event.run_id, name, i) for i, name in enumerate(STAGES)],
        )

    async def set_stage(
        self,
        run_id: str,
        stage: str,
        status: str,
        timing: StageTiming | None = None,
        error: str | None = None,
    ) -> None:
        # A stage that already failed or succeeded is not moved back to a lesser state.
        await self.conn.execute(
            "UPDATE catalog.stages SET status = $3, started_at = coalesce($4, started_at),"
            " finished_at = coalesce($5, finished_at), error = coalesce($6, error)"
            " WHERE run_id = $1 AND name = $2 AND"
            " (status IN ('pending', 'running') OR $3 = 'failed')",
            run_id,
            stage,
            status,
            timing.started_at if timing else None,
            timing.finished_at if timing else None,
            error,
        )

    async def revision_of(self, run_id: str) -> int:
        return (
            await self.conn.fetchval("SELECT revision FROM catalog.runs WHERE run_id = $1", run_id)
            or 0
        )

    async def advance_revision(self, run_id: str, revision: int) -> bool:
        """True when `revision` is newer than the run's recorded one (and records it)."""
        done = await self.conn.execute(
            "UPDATE catalog.runs SET revision = $2 WHERE run_id = $1 AND revision < $2",
            run_id,
            revision,
        )
        return not done.endswith(" 0")

    async def reopen(self, run_id: str, stages: list[str]) -> None:
        """A later revision of a run (a quality replay or release) decides these stages anew:
        back to pending, with the run's error cleared (it is derived again)."""
        await self.conn.execute(
            "UPDATE catalog.stages SET status = 'pending', error = NULL, finished_at = NULL"
            " WHERE run_id = $1 AND name = ANY($2::text[])",
            run_id,
            stages,
        )
        await self.conn.execute("UPDATE catalog.runs SET error = NULL WHERE run_id = $1", run_id)

    async def skip_after(self, run_id: str, stage: str) -> None:
        later = list(STAGES[STAGES.index(stage) + 1 :])
        await self.conn.execute(
            "UPDATE catalog.stages SET status = 'skipped' WHERE run_id = $1"
            " AND name = ANY($2::text[]) AND status IN ('pending', 'running')",
            run_id,
            later,
        )

    async def refresh_status(
        self,
        run_id: str,
        *,
        verdict: str | None = None,
        error: str | None = None,
        details: dict | None = None,
    ) -> str:
        rows = await self.conn.fetch(
            "SELECT name, status, error FROM catalog.stages WHERE run_id = $1", run_id
        )
        stages = {r["name"]: r["status"] for r in rows}
        status = derive_status(stages)
        first_error = error or next(
            (r["error"] for r in sorted(rows, key=lambda r: STAGES.index(r["name"])) if r["error"]),
            None,
        )
        await self.conn.execute(
            "UPDATE catalog.runs SET status = $2, verdict = coalesce($3, verdict),"
            " error = coalesce($4, error), details = details || $5::jsonb, updated_at = now()"
            " WHERE run_id = $1",
            run_id,
            status,
            verdict,
            first_error,
            details or {},
        )
        return status

    async def set_column_lineage(
        self, model: str, lineage: dict[str, list[list[str]]], run_id: str
    ) -> None:
        """The model's column lineage, replaced by its latest build's."""
        await self.conn.execute("DELETE FROM catalog.column_lineage WHERE model = $1", model)
        rows = []
        for column, sources in lineage.items():
            for source, source_column in sources:
                layer = "gold" if await self.is_model(source) else "silver"
                rows.append((model, column, node(layer, source), source_column, run_id))
        if rows:
            await self.conn.executemany(
                "INSERT INTO catalog.column_lineage VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT DO NOTHING",
                rows,
            )

    async def upsert_asset(
        self,
        dataset: str,
        layer: str,
        location: str,
        columns: list[Column],
        fingerprint: str,
        run_id: str,
    ) -> tuple[int, bool, SchemaDiff | None]:
        """Record the asset's schema; returns (version, whether the schema changed, and what
        changed from the previous version when there was one)."""
        cols = [c.model_dump() for c in columns]
        row = await self.conn.fetchrow(
            "SELECT version, schema_fingerprint, columns FROM catalog.assets"
            " WHERE dataset = $1 AND layer = $2 FOR UPDATE",
            dataset,
            layer,
        )
        diff = None
        if row is None:
            version, changed = 1, True
        elif row["schema_fingerprint"] != fingerprint:
            version, changed = row["version"] + 1, True
            diff = schema_diff([Column(**c) for c in row["columns"]], columns)
        else:
            version, changed = row["version"], False
        await self.conn.execute(
            "INSERT INTO catalog.assets (dataset, layer, location, columns, schema_fingerprint,"
            " version, last_run_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (dataset, layer) DO UPDATE SET location = EXCLUDED.location,"
            " columns = EXCLUDED.columns, schema_fingerprint = EXCLUDED.schema_fingerprint,"
            " version = EXCLUDED.version, last_run_id = EXCLUDED.last_run_id, updated_at = now()",
            dataset, layer, location, cols, fingerprint, version, run_id,
        )  # fmt: skip
        if changed:
            await self.conn.execute(
                "INSERT INTO catalog.asset_versions (dataset, layer, version, schema_fingerprint,"
                " columns, run_id, changes) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT DO NOTHING",
                dataset, layer, version, fingerprint, cols, run_id,
                diff.model_dump() if diff else None,
            )  # fmt: skip
        return version, changed, diff

    async def add_object(
        self, dataset: str, layer: str, run_id: str, uri: str, rows: int, promoted: bool = False
    ) -> None:
        await self.conn.execute(
            "INSERT INTO catalog.asset_objects (dataset, layer, run_id, uri, rows, promoted)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dataset, layer, run_id) DO UPDATE"
            " SET uri = EXCLUDED.uri,"
            # Events of a run may arrive in any order: a promotion recorded first (with the
            # valid count) is kept when the object's own event comes later.
            " rows = CASE WHEN catalog.asset_objects.promoted THEN catalog.asset_objects.rows"
            " ELSE EXCLUDED.rows END,"
            " promoted = catalog.asset_objects.promoted OR EXCLUDED.promoted",
            dataset,
            layer,
            run_id,
            uri,
            rows,
            promoted,
        )
        await self.recount(dataset, layer)

    async def promote(self, dataset: str, run_id: str, uri: str, valid: int) -> None:
        await self.conn.execute(
            "INSERT INTO catalog.asset_objects (dataset, layer, run_id, uri, rows, promoted)"
            " VALUES ($1, 'silver', $2, $3, $4, true) ON CONFLICT (dataset, layer, run_id)"
            " DO UPDATE SET promoted = true, rows = EXCLUDED.rows",
            dataset,
            run_id,
            uri,
            valid,
        )
        await self.recount(dataset, "silver")

    async def demote(self, dataset: str, run_id: str) -> None:
        await self.conn.execute(
            "UPDATE catalog.asset_objects SET promoted = false"
            " WHERE dataset = $1 AND layer = 'silver' AND run_id = $2",
            dataset,
            run_id,
        )
        await self.recount(dataset, "silver")

    async def drop_object(self, dataset: str, layer: str, run_id: str) -> None:
        await self.conn.execute(
            "DELETE FROM catalog.asset_objects WHERE dataset = $1 AND layer = $2 AND run_id = $3",
            dataset,
            layer,
            run_id,
        )

    async def recount(self, dataset: str, layer: str) -> None:
        only_promoted = "AND promoted" if layer == "silver" else ""
        await self.conn.execute(
            "UPDATE catalog.assets SET row_count = (SELECT coalesce(sum(rows), 0) FROM"
            " catalog.asset_objects o WHERE o.dataset = $1 AND o.layer = $2 "
            f"{only_promoted}) WHERE dataset = $1 AND layer = $2",
            dataset,
            layer,
        )

    async def set_gold_rows(self, model: str, rows: int) -> None:
        await self.conn.execute(
            "UPDATE catalog.assets SET row_count = $2 WHERE dataset = $1 AND layer = 'gold'",
            model,
            rows,
        )

    async def is_model(self, name: str) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM catalog.assets"
                " WHERE dataset = $1 AND layer = 'gold')",
                name,
            )
        )

    async def edge(self, source: str, target: str, run_id: str, kind: str = "data") -> None:
        await self.conn.execute(
            "INSERT INTO catalog.lineage_edges (source, target, kind, last_run_id)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (source, target) DO UPDATE SET"
            " last_run_id = EXCLUDED.last_run_id, updated_at = now()",
            source,
            target,
            kind,
            run_id,
        )


def node(layer: str, name: str) -> str:
    return f"{layer}:{name}"
