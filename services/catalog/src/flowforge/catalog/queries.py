"""What the catalog answers about what it recorded: runs with their stages, datasets with their
layers, schemas with their versions, the objects of each layer, lineage, each run's event log
and the figures of the dashboard. Read only; one query per list (not one per item)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from flowforge.common.errors import NotFoundError
from flowforge.common.eventlog import occurred_at, publisher, summarize
from flowforge.common.events import RunCounts

COUNT_FIELDS = list(RunCounts.model_fields)
RUN_FIELDS = (
    "r.run_id, r.dataset, r.filename, r.content_hash, r.status, r.verdict, r.error,"
    " r.created_at, r.updated_at, r.details->'checks' AS checks,"
    " r.details->'reading' AS reading, r.details->'warnings' AS warnings, "
    + ", ".join(f"r.{f}" for f in COUNT_FIELDS)
)
# Each run's stages as one JSON array, in stage order, beside the run (no query per run).
STAGES_OF_RUN = (
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('name', s.name, 'status', s.status,"
    " 'started_at', s.started_at, 'finished_at', s.finished_at, 'error', s.error)"
    " ORDER BY s.position), '[]') FROM catalog.stages s WHERE s.run_id = r.run_id) AS stages"
)


def run_public(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "run_id": row["run_id"],
        "dataset": row["dataset"],
        "filename": row["filename"],
        "content_hash": row["content_hash"],
        "status": row["status"],
        "verdict": row["verdict"],
        "error": row["error"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "stages": list(row["stages"] or []),
        "counts": {f: row[f] for f in COUNT_FIELDS},
        "checks": list(row["checks"] or []),
        "reading": row["reading"],
        "warnings": list(row["warnings"] or []),
    }


class Queries:
    def __init__(self, pool: asyncpg.Pool, on_described: Callable[[str], None] | None = None):
        self.pool = pool
        self.on_described = on_described  # a dataset's descriptions changed (lineage's cache)

    async def run(self, run_id: str) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            f"SELECT {RUN_FIELDS}, {STAGES_OF_RUN} FROM catalog.runs r WHERE r.run_id = $1",
            run_id,
        )
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return run_public(row)

    async def runs(
        self,
        *,
        dataset: str | None,
        status: str | None,
        before: tuple[datetime, str] | None,
        limit: int,
        content_hash: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first, strictly older than `before` (created_at, run_id) when given."""
        rows = await self.pool.fetch(
            f"SELECT {RUN_FIELDS}, {STAGES_OF_RUN} FROM catalog.runs r"
            " WHERE ($1::text IS NULL OR r.dataset = $1) AND ($2::text IS NULL OR r.status = $2)"
            " AND ($3::timestamptz IS NULL OR (r.created_at, r.run_id) < ($3, $4))"
            " AND ($6::text IS NULL OR r.content_hash = $6)"
            " ORDER BY r.created_at DESC, r.run_id DESC LIMIT $5",
            dataset,
            status,
            before[0] if before else None,
            before[1] if before else None,
            limit,
            content_hash,
        )
        return [run_public(r) for r in rows]

    async def datasets(self, *, after: str | None, limit: int, names: list[str] | None = None):
        """Datasets that have runs, by name: each with its layers, run count and last run."""
        rows = await self.pool.fetch(
            "WITH names AS (SELECT DISTINCT dataset AS name FROM catalog.runs"
            " WHERE ($1::text IS NULL OR dataset > $1)"
            " AND ($3::text[] IS NULL OR dataset = ANY($3::text[])) ORDER BY 1 LIMIT $2)"
            " SELECT n.name, (SELECT coalesce(jsonb_object_agg(a.layer, jsonb_build_object("
            " 'layer', a.layer, 'location', a.location, 'version', a.version,"
            " 'row_count', a.row_count, 'columns', jsonb_array_length(a.columns),"
            " 'updated_at', a.updated_at)), '{}') FROM catalog.assets a"
            " WHERE a.dataset = n.name AND a.layer IN ('bronze', 'silver')) AS layers,"
            " (SELECT count(*) FROM catalog.runs c WHERE c.dataset = n.name) AS runs,"
            " (SELECT c.run_id FROM catalog.runs c WHERE c.dataset = n.name"
            " ORDER BY c.created_at DESC LIMIT 1) AS last_run_id FROM names n ORDER BY n.name",
            after,
            limit,
            names,
        )
        last = await self._runs_by_id([r["last_run_id"] for r in rows if r["last_run_id"]])
        return [
            {
                "name": r["name"],
                "layers": dict(r["layers"]),
                "runs": r["runs"],
                "last_run": last.get(r["last_run_id"]),
            }
            for r in rows
        ]

    async def _runs_by_id(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        rows = await self.pool.fetch(
            f"SELECT {RUN_FIELDS}, {STAGES_OF_RUN} FROM catalog.runs r"
            " WHERE r.run_id = ANY($1::text[])",
            run_ids,
        )
        return {r["run_id"]: run_public(r) for r in rows}

    async def asset(self, dataset: str, layer: str) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "SELECT dataset, layer, location, columns, schema_fingerprint, version, row_count,"
            " last_run_id, updated_at FROM catalog.assets WHERE dataset = $1 AND layer = $2",
            dataset,
            layer,
        )
        if row is None:
            raise NotFoundError(f"dataset {dataset!r} has no {layer} data yet")
        versions = await self.pool.fetch(
            "SELECT version, schema_fingerprint AS fingerprint, columns, run_id, created_at,"
            " changes FROM catalog.asset_versions WHERE dataset = $1 AND layer = $2"
            " ORDER BY version",
            dataset,
            layer,
        )
        return {**dict(row), "versions": [dict(v) for v in versions]}

    async def objects(
        self, dataset: str, layer: str, *, promoted_only: bool, run_id: str | None
    ) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT run_id, uri, rows, promoted, created_at FROM catalog.asset_objects"
            " WHERE dataset = $1 AND layer = $2 AND (NOT $3 OR promoted)"
            " AND ($4::text IS NULL OR run_id = $4) ORDER BY created_at, run_id",
            dataset,
            layer,
            promoted_only,
            run_id,
        )
        return [dict(r) for r in rows]

    async def events(self, run_id: str, subject: str | None, limit: int) -> list[dict[str, Any]]:
        """The run's events as the catalog recorded them, oldest first (by their own time);
        `subject` exact, or a prefix of whole tokens (`quality` → `quality.*`)."""
        rows = await self.pool.fetch(
            "SELECT id, subject, received_at, payload FROM catalog.events WHERE run_id = $1"
            " AND ($2::text IS NULL OR subject = $2 OR starts_with(subject, $2 || '.'))"
            " ORDER BY received_at, id LIMIT $3",
            run_id,
            subject,
            limit,
        )
        if not rows and not await self.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM catalog.runs WHERE run_id = $1)", run_id
        ):
            raise NotFoundError(f"no run with id {run_id!r}")
        out = [_event_public(r) for r in rows]
        return sorted(out, key=lambda e: e["at"])

    async def overview(
        self, now: datetime, window: timedelta, failures: int, datasets: int
    ) -> dict[str, Any]:
        """The dashboard's figures since `now - window`: runs by status and rows landed; the
        latest failed runs; each dataset's last successful run (its staleness is judged by
        the asker, who knows each dataset's freshness expectation)."""
        since = now - window
        totals = await self.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'queued') AS queued,"
            " count(*) FILTER (WHERE status = 'running') AS running,"
            " count(*) FILTER (WHERE status = 'succeeded') AS succeeded,"
            " count(*) FILTER (WHERE status = 'failed') AS failed,"
            " coalesce(sum(parsed), 0) AS parsed, coalesce(sum(rejected), 0) AS rejected,"
            " coalesce(sum(bronze), 0) AS bronze FROM catalog.runs WHERE created_at >= $1",
            since,
        )
        failed = await self.pool.fetch(
            "SELECT run_id, dataset, filename, error, updated_at FROM catalog.runs"
            " WHERE status = 'failed' ORDER BY updated_at DESC, run_id DESC LIMIT $1",
            failures,
        )
        # One row per dataset with Bronze data: its last successful run, its last run (each
        # found through an index, not by reading every run).
        last = await self.pool.fetch(
            "SELECT a.dataset, s.run_id AS success_run_id, s.updated_at AS last_success_at,"
            " l.run_id AS last_run_id, l.created_at AS last_run_at FROM catalog.assets a"
            " LEFT JOIN LATERAL (SELECT run_id, updated_at FROM catalog.runs r"
            " WHERE r.dataset = a.dataset AND r.status = 'succeeded'"
            " ORDER BY r.updated_at DESC LIMIT 1) s ON true"
            " LEFT JOIN LATERAL (SELECT run_id, created_at FROM catalog.runs r"
            " WHERE r.dataset = a.dataset ORDER BY r.created_at DESC LIMIT 1) l ON true"
            " WHERE a.layer = 'bronze'"
            " ORDER BY s.updated_at ASC NULLS FIRST, a.dataset LIMIT $1",
            datasets,
        )
        return {
            "since": since,
            "until": now,
            "runs": {k: totals[k] for k in ("queued", "running", "succeeded", "failed")},
            "rows": {k: totals[k] for k in ("parsed", "rejected", "bronze")},
            "failed_runs": [dict(r) for r in failed],
            "datasets": [dict(r) for r in last],
        }

    async def lineage(self, dataset: str) -> dict[str, Any]:
        """Everything downstream of the dataset and everything upstream of it; not the other
        datasets that share a file name or feed the same Gold model."""
        rows = await self.pool.fetch("SELECT source, target FROM catalog.lineage_edges")
        edges = [(r["source"], r["target"]) for r in rows]
        start = {f"bronze:{dataset}", f"silver:{dataset}"}
        down = _closure(start, edges)
        up = _closure(start, [(t, s) for s, t in edges])
        kept = [(s, t) for s, t in edges if (s in down and t in down) or (s in up and t in up)]
        if not kept:
            raise NotFoundError(f"dataset {dataset!r} has no lineage yet: no file has landed in it")
        nodes = sorted({n for edge in kept for n in edge})
        models = [n.split(":", 1)[1] for n in nodes if n.startswith("gold:")]
        columns = await self.pool.fetch(
            "SELECT model, column_name, source, source_column FROM catalog.column_lineage"
            " WHERE model = ANY($1) ORDER BY model, column_name, source, source_column",
            models,
        )
        by_column: dict[tuple[str, str], list[dict]] = {}
        for c in columns:
            by_column.setdefault((c["model"], c["column_name"]), []).append(
                {"node": c["source"], "column": c["source_column"]}
            )
        return {
            "dataset": dataset,
            "nodes": [
                {"id": n, "layer": n.split(":", 1)[0], "name": n.split(":", 1)[1]} for n in nodes
            ],
            "edges": [{"source": s, "target": t} for s, t in kept],
            "columns": [
                {"node": f"gold:{model}", "column": column, "sources": sources}
                for (model, column), sources in by_column.items()
            ],
        }


def _event_public(row: asyncpg.Record) -> dict[str, Any]:
    payload = row["payload"] if isinstance(row["payload"], dict) else {}
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    subject = row["subject"]
    return {
        "id": row["id"],
        "subject": subject,
        "service": publisher(subject, data),
        "at": occurred_at(data) or row["received_at"],
        "received_at": row["received_at"],
        "summary": summarize(subject, data),
        "payload": payload,
    }


def _closure(start: set[str], edges: list[tuple[str, str]]) -> set[str]:
    reached, frontier = set(start), set(start)
    while frontier:
        frontier = {t for s, t in edges if s in frontier} - reached
        reached |= frontier
    return reached
