"""What quality tells others about its results: a dataset's latest evaluation with every
check, the trend, reconciliations, which quarantine objects hold its quarantined rows, and for
the dashboard the datasets whose latest evaluation failed and their freshness expectations."""

from __future__ import annotations

from typing import Any

import asyncpg

from flowforge.common.rules import parse_duration


class Reports:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def quality(self, dataset: str, limit: int) -> dict[str, Any]:
        evaluations = await self.pool.fetch(
            "SELECT * FROM quality.evaluations WHERE dataset = $1"
            " ORDER BY started_at DESC, revision DESC LIMIT $2",
            dataset,
            limit,
        )
        checks = await self._checks([(e["run_id"], e["revision"]) for e in evaluations])
        trend = [
            _evaluation(e, checks.get((e["run_id"], e["revision"]), []), with_checks=i == 0)
            for i, e in enumerate(evaluations)
        ]
        reconciliation = await self.pool.fetch(
            "SELECT run_id, revision, model, name, status, expected, actual, detail, checked_at"
            " FROM quality.reconciliations WHERE dataset = $1 OR model = $1"
            " ORDER BY checked_at DESC, model, name LIMIT $2",
            dataset,
            limit,
        )
        return {
            "dataset": dataset,
            "latest": trend[0] if trend else None,
            "trend": trend,
            "reconciliation": [dict(r) for r in reconciliation],
        }

    async def _checks(
        self, keys: list[tuple[str, int]]
    ) -> dict[tuple[str, int], list[asyncpg.Record]]:
        rows = await self.pool.fetch(
            "SELECT c.* FROM quality.check_results c JOIN unnest($1::text[], $2::int[])"
            " AS k(run_id, revision) USING (run_id, revision) ORDER BY position",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        out: dict[tuple[str, int], list[asyncpg.Record]] = {}
        for c in rows:
            out.setdefault((c["run_id"], c["revision"]), []).append(c)
        return out

    async def quarantine_batches(self, dataset: str, run_id: str | None) -> list[dict[str, Any]]:
        """Each run's latest evaluation (its quarantine object and Silver object), newest
        first."""
        rows = await self.pool.fetch(
            "SELECT * FROM (SELECT DISTINCT ON (run_id) run_id, started_at,"
            " silver_event->>'silver_uri' AS silver_uri, quarantine_key FROM quality.evaluations"
            " WHERE dataset = $1 AND ($2::text IS NULL OR run_id = $2)"
            " ORDER BY run_id, revision DESC) e ORDER BY started_at DESC",
            dataset,
            run_id,
        )
        return [dict(r) for r in rows]

    async def failing(self, limit: int) -> list[dict[str, Any]]:
        """Datasets whose latest evaluation failed, the most recent first: the rules that
        failed it and when it ended."""
        rows = await self.pool.fetch(
            "WITH latest AS (SELECT DISTINCT ON (dataset) dataset, run_id, revision, verdict,"
            " started_at + make_interval(secs => seconds) AS evaluated_at"
            " FROM quality.evaluations ORDER BY dataset, started_at DESC, revision DESC)"
            " SELECT l.dataset, l.run_id, l.revision, l.evaluated_at,"
            " coalesce(array_agg(c.name ORDER BY c.position) FILTER (WHERE c.status = 'failed'),"
            " '{}') AS rules FROM latest l LEFT JOIN quality.check_results c"
            " ON c.run_id = l.run_id AND c.revision = l.revision WHERE l.verdict = 'failed'"
            " GROUP BY l.dataset, l.run_id, l.revision, l.evaluated_at"
            " ORDER BY l.evaluated_at DESC, l.dataset LIMIT $1",
            limit,
        )
        return [{**dict(r), "rules": list(r["rules"])} for r in rows]

    async def freshness(self) -> dict[str, dict[str, Any]]:
        """Each dataset's freshness expectation: its strictest `freshness` rule (the newest
        row may be at most `max_age` old), as seconds."""
        rows = await self.pool.fetch(
            "SELECT dataset, name, spec->>'max_age' AS max_age FROM quality.rules"
            " WHERE spec->>'type' = 'freshness' ORDER BY dataset, position, name"
        )
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            try:
                seconds = parse_duration(r["max_age"]).total_seconds()
            except ValueError:
                continue  # a rule stored before its check: it cannot be evaluated either
            kept = out.get(r["dataset"])
            if kept is None or seconds < kept["max_age_seconds"]:
                out[r["dataset"]] = {"rule": r["name"], "max_age": r["max_age"],
                                     "max_age_seconds": seconds}  # fmt: skip
        return out


def _evaluation(e: asyncpg.Record, checks: list[asyncpg.Record], *, with_checks: bool) -> dict:
    return {
        "run_id": e["run_id"],
        "revision": e["revision"],
        "trigger": e["trigger"],
        "verdict": e["verdict"],
        "rows": e["rows"],
        "quarantined": e["quarantined"],
        "evaluated_at": e["started_at"],
        "seconds": e["seconds"],
        "checks": [_check(c) for c in checks] if with_checks else [],
        "failed_by_rule": {c["name"]: c["failed_rows"] for c in checks},
    }


def _check(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "name": row["name"],
        "rule_type": row["rule_type"],
        "column": row["column_name"],
        "action": row["action"],
        "status": row["status"],
        "failed_rows": row["failed_rows"],
        "total_rows": row["total_rows"],
        "detail": row["detail"],
        "examples": [str(v) for v in (row["examples"] or [])],
    }
