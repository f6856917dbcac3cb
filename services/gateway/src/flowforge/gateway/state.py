"""What the gateway reads and writes in PostgreSQL.

It writes only its own schema (`gateway`: datasets, models, uploads) and reads the catalog's
tables (runs, stages, assets, lineage), which the catalog service alone writes.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from flowforge.common.errors import NotFoundError
from flowforge.common.events import STAGES, RunCounts
from flowforge.common.privacy import mask
from flowforge.common.rules import Rule
from flowforge.gateway.schemas import (
    CheckPublic,
    EvaluationPublic,
    QualityPublic,
    ReconciliationPublic,
    RunPublic,
    StagePublic,
)

COUNT_FIELDS = list(RunCounts.model_fields)


class State:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    # --- configuration (owned) -------------------------------------------------------------

    async def dataset_key(self, name: str) -> list[str]:
        key = await self.pool.fetchval(
            "SELECT key_columns FROM gateway.datasets WHERE name = $1", name
        )
        return list(key or [])

    # One column of gateway.datasets per dataset setting (the names are ours, never input).
    SETTINGS = ("schema_policy", "array_policy", "silver_spec")

    def _checked(self, column: str) -> str:
        if column not in self.SETTINGS:
            raise ValueError(f"{column!r} is not a dataset setting")
        return column

    async def _setting(self, name: str, column: str) -> Any:
        column = self._checked(column)
        return await self.pool.fetchval(
            f"SELECT {column} FROM gateway.datasets WHERE name = $1", name
        )

    async def _set_setting(self, name: str, column: str, value: Any) -> None:
        column = self._checked(column)
        await self.pool.execute(
            f"INSERT INTO gateway.datasets (name, {column}) VALUES ($1, $2)"
            f" ON CONFLICT (name) DO UPDATE SET {column} = EXCLUDED.{column}, updated_at = now()",
            name,
            value,
        )

    async def schema_policy(self, name: str) -> str:
        return await self._setting(name, "schema_policy") or "evolve"

    async def set_schema_policy(self, name: str, policy: str) -> None:
        await self._set_setting(name, "schema_policy", policy)

    async def array_policy(self, name: str) -> str:
        return await self._setting(name, "array_policy") or "json"

    async def set_array_policy(self, name: str, policy: str) -> None:
        await self._set_setting(name, "array_policy", policy)

    async def save_dataset(self, name: str, key: list[str] | None) -> list[str]:
        """Create the dataset if new; a given key replaces the stored one."""
        row = await self.pool.fetchrow(
            "INSERT INTO gateway.datasets (name, key_columns)"
            " VALUES ($1, coalesce($2::text[], '{}'))"
            " ON CONFLICT (name) DO UPDATE SET key_columns ="
            " coalesce($2::text[], gateway.datasets.key_columns), updated_at = now()"
            " RETURNING key_columns",
            name,
            key,
        )
        return list(row["key_columns"])

    async def record_upload(
        self,
        run_id: str,
        dataset: str,
        filename: str,
        size: int,
        content_hash: str,
        landing_uri: str,
    ) -> None:
        await self.pool.execute(
            "INSERT INTO gateway.uploads (run_id, dataset, filename, size_bytes, content_hash,"
            " landing_uri) VALUES ($1, $2, $3, $4, $5, $6)",
            run_id,
            dataset,
            filename,
            size,
            content_hash,
            landing_uri,
        )

    async def save_model(
        self, name: str, sql: str, depends_on: list[str], reconcile: dict[str, str] | None = None
    ) -> asyncpg.Record:
        return await self.pool.fetchrow(
            "INSERT INTO gateway.models (name, sql, depends_on, reconcile) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (name) DO UPDATE SET sql = EXCLUDED.sql,"
            " depends_on = EXCLUDED.depends_on, reconcile = EXCLUDED.reconcile,"
            " updated_at = now() RETURNING *",
            name,
            sql,
            depends_on,
            reconcile or {},
        )

    # --- data-quality rules (owned) ------------------------------------------------------------

    async def rules(self, dataset: str) -> list[Rule]:
        rows = await self.pool.fetch(
            "SELECT spec FROM gateway.rules WHERE dataset = $1 ORDER BY position, name", dataset
        )
        return [Rule.model_validate(r["spec"]) for r in rows]

    async def replace_rules(self, dataset: str, rules: list[Rule]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._ensure_dataset(conn, dataset)
            await conn.execute("DELETE FROM gateway.rules WHERE dataset = $1", dataset)
            await conn.executemany(
                "INSERT INTO gateway.rules (dataset, name, position, spec) VALUES ($1, $2, $3, $4)",
                [(dataset, r.name, i, r.spec()) for i, r in enumerate(rules)],
            )

    async def add_rule(self, dataset: str, rule: Rule) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._ensure_dataset(conn, dataset)
            await conn.execute(
                "INSERT INTO gateway.rules (dataset, name, position, spec) VALUES ($1, $2,"
                " (SELECT coalesce(max(position) + 1, 0) FROM gateway.rules WHERE dataset = $1),"
                " $3) ON CONFLICT (dataset, name) DO UPDATE SET spec = EXCLUDED.spec,"
                " updated_at = now()",
                dataset,
                rule.name,
                rule.spec(),
            )

    async def delete_rule(self, dataset: str, name: str) -> bool:
        done = await self.pool.execute(
            "DELETE FROM gateway.rules WHERE dataset = $1 AND name = $2", dataset, name
        )
        return not done.endswith(" 0")

    @staticmethod
    async def _ensure_dataset(conn: asyncpg.Connection, dataset: str) -> None:
        await conn.execute(
            "INSERT INTO gateway.datasets (name) VALUES ($1) ON CONFLICT DO NOTHING", dataset
        )

    # --- Silver spec and AI suggestions -------------------------------------------------------

    async def silver_spec(self, dataset: str) -> dict[str, Any]:
        spec = dict(await self._setting(dataset, "silver_spec") or {})
        return {"renames": dict(spec.get("renames") or {}), "types": dict(spec.get("types") or {})}

    async def replace_silver_spec(self, dataset: str, spec: dict[str, Any]) -> None:
        await self._set_setting(dataset, "silver_spec", spec)

    async def update_silver_spec(
        self,
        dataset: str,
        *,
        renames: dict[str, str] | None = None,
        types: dict[str, str] | None = None,
    ) -> None:
        """Merge into the spec in one statement (two accepts at once both land)."""
        await self.pool.execute(
            "INSERT INTO gateway.datasets (name, silver_spec) VALUES ($1,"
            " jsonb_build_object('renames', $2::jsonb, 'types', $3::jsonb))"
            " ON CONFLICT (name) DO UPDATE SET silver_spec = jsonb_build_object("
            " 'renames', coalesce(gateway.datasets.silver_spec->'renames', '{}') || $2::jsonb,"
            " 'types', coalesce(gateway.datasets.silver_spec->'types', '{}') || $3::jsonb),"
            " updated_at = now()",
            dataset,
            renames or {},
            types or {},
        )

    async def latest_profile(self, dataset: str) -> dict[str, Any] | None:
        if not await self._has("ai.profiles"):
            return None
        row = await self.pool.fetchrow(
            "SELECT run_id, rows, columns, seconds, created_at FROM ai.profiles"
            " WHERE dataset = $1 ORDER BY created_at DESC LIMIT 1",
            dataset,
        )
        if row is None:
            return None
        found = dict(row)
        analysis = await self.pool.fetchval(
            "SELECT result FROM ai.analyses WHERE run_id = $1 AND source = 'offline'",
            found["run_id"],
        )
        pii = {c["name"] for c in (analysis or {}).get("columns", []) if c.get("pii")}
        found["columns"] = [_masked_profile(c) if c["name"] in pii else c for c in row["columns"]]
        return found

    async def suggestion(self, dataset: str, suggestion_id: int) -> asyncpg.Record:
        row = None
        if await self._has("ai.suggestions"):
            row = await self.pool.fetchrow(
                "SELECT s.*, CASE WHEN d.payload = s.payload THEN d.decision END AS decision"
                " FROM ai.suggestions s LEFT JOIN"
                " gateway.suggestion_decisions d ON d.suggestion_id = s.id"
                " WHERE s.id = $1 AND s.dataset = $2",
                suggestion_id,
                dataset,
            )
        if row is None:
            raise NotFoundError(
                f"dataset {dataset!r} has no suggestion {suggestion_id}; "
                f"list them at GET /api/v1/datasets/{dataset}/suggestions"
            )
        return row

    async def claim_decision(
        self, suggestion_id: int, dataset: str, decision: str, payload: dict
    ) -> bool:
        """Record a decision unless one exists for this very payload; False if it does."""
        done = await self.pool.fetchval(
            "INSERT INTO gateway.suggestion_decisions (suggestion_id, dataset, decision, payload)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (suggestion_id) DO UPDATE SET"
            " decision = EXCLUDED.decision, payload = EXCLUDED.payload, detail = '{}',"
            " decided_at = now() WHERE gateway.suggestion_decisions.payload <> EXCLUDED.payload"
            " RETURNING 1",
            suggestion_id,
            dataset,
            decision,
            payload,
        )
        return bool(done)

    async def unclaim_decision(self, suggestion_id: int) -> None:
        await self.pool.execute(
            "DELETE FROM gateway.suggestion_decisions WHERE suggestion_id = $1", suggestion_id
        )

    async def decide(
        self, suggestion_id: int, dataset: str, decision: str, payload: dict, detail: dict
    ) -> None:
        await self.pool.execute(
            "INSERT INTO gateway.suggestion_decisions (suggestion_id, dataset, decision, payload,"
            " detail) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (suggestion_id) DO UPDATE SET"
            " decision = EXCLUDED.decision, payload = EXCLUDED.payload,"
            " detail = EXCLUDED.detail, decided_at = now()",
            suggestion_id,
            dataset,
            decision,
            payload,
            detail,
        )

    async def suggestions(self, dataset: str) -> dict[str, Any]:
        """Columns as analysed (offline and LLM), suggestions with status, LLM usage."""
        out: dict[str, Any] = {"dataset": dataset, "columns": [], "suggestions": [], "llm": None}
        if not await self._has("ai.analyses"):
            return out
        analyses = await self.pool.fetch(
            "SELECT DISTINCT ON (source) source, run_id, result, tokens, attempts, cached,"
            " created_at FROM ai.analyses WHERE dataset = $1"
            " ORDER BY source, created_at DESC",
            dataset,
        )
        offline = next((a for a in analyses if a["source"] == "offline"), None)
        llm = [a for a in analyses if a["source"] != "offline"]
        llm.sort(key=lambda a: a["created_at"], reverse=True)
        by_name: dict[str, dict[str, Any]] = {}
        if offline is not None:
            for c in offline["result"].get("columns", []):
                by_name[c["name"]] = {"name": c["name"], "silver_name": c.get("silver_name"),
                                      "offline": c}  # fmt: skip
        if llm and llm[0]["source"] != "llm-failed":
            for c in llm[0]["result"].get("columns", []):
                by_name.setdefault(c["name"], {"name": c["name"]})["llm"] = c
        out["columns"] = list(by_name.values())
        usage = await self.pool.fetchrow(
            "SELECT tokens, calls FROM ai.usage WHERE dataset = $1", dataset
        )
        if llm:
            out["llm"] = {
                "source": llm[0]["source"],
                "run_id": llm[0]["run_id"],
                "cached": llm[0]["cached"],
                "attempts": llm[0]["attempts"],
                "tokens_spent": usage["tokens"] if usage else 0,
                "calls": usage["calls"] if usage else 0,
            }
        rows = await self.pool.fetch(
            "SELECT s.id, s.kind, s.target, s.source, s.payload, s.reason, s.run_id,"
            " s.updated_at, CASE WHEN d.payload = s.payload THEN d.decision ELSE 'open' END"
            " AS status FROM ai.suggestions s"
            " LEFT JOIN gateway.suggestion_decisions d ON d.suggestion_id = s.id"
            " WHERE s.dataset = $1 ORDER BY s.kind, s.target, s.source",
            dataset,
        )
        out["suggestions"] = [dict(r) for r in rows]
        return out

    # --- quality results (read; the quality service writes them) -------------------------------

    async def _has(self, table: str) -> bool:
        return await self.pool.fetchval("SELECT to_regclass($1) IS NOT NULL", table)

    async def quality(self, dataset: str, limit: int) -> QualityPublic:
        if not await self._has("quality.evaluations"):
            return QualityPublic(dataset=dataset, latest=None, trend=[], reconciliation=[])
        evaluations = await self.pool.fetch(
            "SELECT * FROM quality.evaluations WHERE dataset = $1"
            " ORDER BY started_at DESC, revision DESC LIMIT $2",
            dataset,
            limit,
        )
        keys = [(e["run_id"], e["revision"]) for e in evaluations]
        checks = await self.pool.fetch(
            "SELECT c.* FROM quality.check_results c JOIN unnest($1::text[], $2::int[])"
            " AS k(run_id, revision) USING (run_id, revision) ORDER BY position",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        by_eval: dict[tuple[str, int], list[asyncpg.Record]] = {}
        for c in checks:
            by_eval.setdefault((c["run_id"], c["revision"]), []).append(c)
        trend = []
        for i, e in enumerate(evaluations):
            mine = by_eval.get((e["run_id"], e["revision"]), [])
            trend.append(
                EvaluationPublic(
                    run_id=e["run_id"],
                    revision=e["revision"],
                    trigger=e["trigger"],
                    verdict=e["verdict"],
                    rows=e["rows"],
                    quarantined=e["quarantined"],
                    evaluated_at=e["started_at"],
                    seconds=e["seconds"],
                    checks=[_check(c) for c in mine] if i == 0 else [],
                    failed_by_rule={c["name"]: c["failed_rows"] for c in mine},
                )
            )
        reconciliation = await self.pool.fetch(
            "SELECT * FROM quality.reconciliations WHERE dataset = $1 OR model = $1"
            " ORDER BY checked_at DESC, model, name LIMIT $2",
            dataset,
            limit,
        )
        return QualityPublic(
            dataset=dataset,
            latest=trend[0] if trend else None,
            trend=trend,
            reconciliation=[
                ReconciliationPublic(**{k: r[k] for k in ReconciliationPublic.model_fields})
                for r in reconciliation
            ],
        )

    async def quarantine_batches(self, dataset: str, run_id: str | None) -> list[asyncpg.Record]:
        """Each run's latest evaluation (its quarantine object and Silver object), newest
        first."""
        if not await self._has("quality.evaluations"):
            return []
        return await self.pool.fetch(
            "SELECT * FROM (SELECT DISTINCT ON (run_id) run_id, started_at,"
            " silver_event->>'silver_uri' AS silver_uri, quarantine_key FROM quality.evaluations"
            " WHERE dataset = $1 AND ($2::text IS NULL OR run_id = $2)"
            " ORDER BY run_id, revision DESC) e ORDER BY started_at DESC",
            dataset,
            run_id,
        )

    async def models(self) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT m.*, a.row_count, a.columns FROM gateway.models m LEFT JOIN catalog.assets a"
            " ON a.dataset = m.name AND a.layer = 'gold' ORDER BY m.name"
        )

    async def model(self, name: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT m.*, a.row_count, a.columns, a.location FROM gateway.models m"
            " LEFT JOIN catalog.assets a ON a.dataset = m.name AND a.layer = 'gold'"
            " WHERE m.name = $1",
            name,
        )
        if row is None:
            raise NotFoundError(f"no Gold model named {name!r}; list them at GET /api/v1/models")
        return row

    # --- runs (catalog) ----------------------------------------------------------------------

    async def run(self, run_id: str) -> RunPublic:
        runs = await self._runs("r.run_id = $1", run_id)
        if runs:
            return runs[0]
        upload = await self.pool.fetchrow("SELECT * FROM gateway.uploads WHERE run_id = $1", run_id)
        if upload is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return _queued(upload)

    async def runs(self, dataset: str | None, limit: int) -> list[RunPublic]:
        where = "r.dataset = $1" if dataset else "$1::text IS NULL"
        recorded = await self._runs(where, dataset, limit=limit)
        known = {r.run_id for r in recorded}
        pending = await self.pool.fetch(
            "SELECT * FROM gateway.uploads u WHERE ($1::text IS NULL OR u.dataset = $1)"
            " AND NOT EXISTS (SELECT 1 FROM catalog.runs r WHERE r.run_id = u.run_id)"
            " ORDER BY created_at DESC LIMIT $2",
            dataset,
            limit,
        )
        out = recorded + [_queued(u) for u in pending if u["run_id"] not in known]
        out.sort(key=lambda r: r.created_at, reverse=True)
        return out[:limit]

    async def _runs(self, where: str, arg: Any, limit: int = 1) -> list[RunPublic]:
        rows = await self.pool.fetch(
            f"SELECT r.* FROM catalog.runs r WHERE {where}"
            f" ORDER BY r.created_at DESC LIMIT {int(limit)}",
            arg,
        )
        if not rows:
            return []
        stages = await self.pool.fetch(
            "SELECT * FROM catalog.stages WHERE run_id = ANY($1::text[]) ORDER BY position",
            [r["run_id"] for r in rows],
        )
        by_run: dict[str, list[StagePublic]] = {}
        for s in stages:
            by_run.setdefault(s["run_id"], []).append(
                StagePublic(
                    name=s["name"],
                    status=s["status"],
                    started_at=s["started_at"],
                    finished_at=s["finished_at"],
                    error=s["error"],
                )
            )
        return [_run(r, by_run.get(r["run_id"], [])) for r in rows]

    # --- datasets and assets (catalog) -------------------------------------------------------

    async def dataset_names(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT name FROM gateway.datasets UNION SELECT DISTINCT dataset FROM catalog.runs"
            " ORDER BY 1"
        )
        return [r["name"] for r in rows]

    async def assets(self, dataset: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM catalog.assets WHERE dataset = $1 AND layer IN ('bronze', 'silver')",
            dataset,
        )

    async def asset(self, dataset: str, layer: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT * FROM catalog.assets WHERE dataset = $1 AND layer = $2", dataset, layer
        )
        if row is None:
            await self.require_dataset(dataset)
            raise NotFoundError(f"dataset {dataset!r} has no {layer} data yet")
        return row

    async def asset_versions(self, dataset: str, layer: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT version, schema_fingerprint, columns, run_id, created_at, changes"
            " FROM catalog.asset_versions WHERE dataset = $1 AND layer = $2 ORDER BY version",
            dataset,
            layer,
        )

    async def require_dataset(self, dataset: str) -> None:
        if dataset not in await self.dataset_names():
            raise NotFoundError(f"no dataset named {dataset!r}; list them at GET /api/v1/datasets")

    async def objects(
        self, dataset: str, layer: str, *, promoted_only: bool = False, run_id: str | None = None
    ) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM catalog.asset_objects WHERE dataset = $1 AND layer = $2"
            " AND (NOT $3 OR promoted) AND ($4::text IS NULL OR run_id = $4)"
            " ORDER BY created_at, run_id",
            dataset,
            layer,
            promoted_only,
            run_id,
        )

    async def silver_key(self, dataset: str) -> list[str]:
        """The key (in Silver names) of the dataset's latest promoted batch: the same batch
        transform takes its key from, so samples and Gold agree on the valid rows."""
        key = await self.pool.fetchval(
            "SELECT r.details->'key' FROM catalog.runs r JOIN catalog.asset_objects o"
            " ON o.run_id = r.run_id AND o.layer = 'silver' AND o.promoted"
            " WHERE r.dataset = $1 ORDER BY o.created_at DESC LIMIT 1",
            dataset,
        )
        return list(key or [])

    async def run_count(self, dataset: str) -> int:
        return await self.pool.fetchval(
            "SELECT count(*) FROM catalog.runs WHERE dataset = $1", dataset
        )

    async def lineage_edges(self) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT source, target FROM catalog.lineage_edges")


def _run(row: asyncpg.Record, stages: list[StagePublic]) -> RunPublic:
    details = row["details"] or {}
    return RunPublic(
        run_id=row["run_id"],
        dataset=row["dataset"],
        filename=row["filename"],
        status=row["status"],
        verdict=row["verdict"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        stages=stages,
        counts=RunCounts(**{f: row[f] for f in COUNT_FIELDS}),
        checks=details.get("checks", []),
    )


def _queued(upload: asyncpg.Record) -> RunPublic:
    return RunPublic(
        run_id=upload["run_id"],
        dataset=upload["dataset"],
        filename=upload["filename"],
        status="queued",
        created_at=upload["created_at"],
        updated_at=upload["created_at"],
        stages=[StagePublic(name=s, status="pending") for s in STAGES],
        counts=RunCounts(),
    )


def _check(row: asyncpg.Record) -> CheckPublic:
    return CheckPublic(
        name=row["name"],
        rule_type=row["rule_type"],
        column=row["column_name"],
        action=row["action"],
        status=row["status"],
        failed_rows=row["failed_rows"],
        total_rows=row["total_rows"],
        detail=row["detail"],
        examples=list(row["examples"] or []),
    )


def _masked_profile(column: dict) -> dict:
    """A PII column's profile with its values shown as shapes (statistics unchanged)."""
    out = dict(column)
    for field in ("min", "max"):
        if isinstance(out.get(field), str):
            out[field] = mask(out[field])
    out["top_values"] = [[mask(str(v)), n] for v, n in out.get("top_values") or []]
    out["sample"] = [mask(str(v)) for v in out.get("sample") or []]
    out["masked"] = True
    return out
