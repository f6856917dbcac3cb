"""What ai tells others: a dataset's columns as analysed (offline and LLM) with the
suggestions and their status, the latest column profiles (PII values as shapes), and the
decisions a person takes on suggestions (recorded here, next to the suggestions)."""

from __future__ import annotations

from typing import Any

import asyncpg

from flowforge.common.errors import NotFoundError
from flowforge.common.privacy import mask

STATUS = "CASE WHEN d.payload = s.payload THEN d.decision ELSE 'open' END"


class Reports:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def suggestions(self, dataset: str) -> dict[str, Any]:
        """Columns as analysed (offline and LLM), suggestions with status, LLM usage."""
        analyses = await self.pool.fetch(
            "SELECT DISTINCT ON (source) source, run_id, result, tokens, attempts, cached,"
            " created_at FROM ai.analyses WHERE dataset = $1 ORDER BY source, created_at DESC",
            dataset,
        )
        offline = next((a for a in analyses if a["source"] == "offline"), None)
        llm = sorted(
            (a for a in analyses if a["source"] != "offline"),
            key=lambda a: a["created_at"],
            reverse=True,
        )
        usage = await self.pool.fetchrow(
            "SELECT tokens, calls FROM ai.usage WHERE dataset = $1", dataset
        )
        rows = await self.pool.fetch(
            "SELECT s.id, s.kind, s.target, s.source, s.payload, s.reason, s.run_id,"
            f" s.updated_at, {STATUS} AS status FROM ai.suggestions s"
            " LEFT JOIN ai.decisions d ON d.suggestion_id = s.id"
            " WHERE s.dataset = $1 ORDER BY s.kind, s.target, s.source",
            dataset,
        )
        return {
            "dataset": dataset,
            "columns": _columns(offline, llm),
            "suggestions": [dict(r) for r in rows],
            "llm": _llm_usage(llm, usage),
        }

    async def profile(self, dataset: str) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "SELECT run_id, rows, columns, seconds, created_at FROM ai.profiles"
            " WHERE dataset = $1 ORDER BY created_at DESC LIMIT 1",
            dataset,
        )
        if row is None:
            raise NotFoundError(f"dataset {dataset!r} has no profiled batch yet")
        found = dict(row)
        analysis = await self.pool.fetchval(
            "SELECT result FROM ai.analyses WHERE run_id = $1 AND source = 'offline'",
            found["run_id"],
        )
        pii = {c["name"] for c in (analysis or {}).get("columns", []) if c.get("pii")}
        found["columns"] = [_masked(c) if c["name"] in pii else c for c in row["columns"]]
        return found

    async def suggestion(self, dataset: str, suggestion_id: int) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "SELECT s.*, CASE WHEN d.payload = s.payload THEN d.decision END AS decision"
            " FROM ai.suggestions s LEFT JOIN ai.decisions d ON d.suggestion_id = s.id"
            " WHERE s.id = $1 AND s.dataset = $2",
            suggestion_id,
            dataset,
        )
        if row is None:
            raise NotFoundError(
                f"dataset {dataset!r} has no suggestion {suggestion_id}; "
                f"list them at GET /api/v1/datasets/{dataset}/suggestions"
            )
        return dict(row)

    async def claim(self, suggestion_id: int, dataset: str, decision: str, payload: dict) -> bool:
        """Record a decision unless one exists for this very payload; False if it does."""
        done = await self.pool.fetchval(
            "INSERT INTO ai.decisions (suggestion_id, dataset, decision, payload)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (suggestion_id) DO UPDATE SET"
            " decision = EXCLUDED.decision, payload = EXCLUDED.payload, detail = '{}',"
            " decided_at = now() WHERE ai.decisions.payload <> EXCLUDED.payload RETURNING 1",
            suggestion_id,
            dataset,
            decision,
            payload,
        )
        return bool(done)

    async def unclaim(self, suggestion_id: int) -> None:
        await self.pool.execute("DELETE FROM ai.decisions WHERE suggestion_id = $1", suggestion_id)

    async def decide(
        self, suggestion_id: int, dataset: str, decision: str, payload: dict, detail: dict
    ) -> None:
        await self.pool.execute(
            "INSERT INTO ai.decisions (suggestion_id, dataset, decision, payload, detail)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (suggestion_id) DO UPDATE SET"
            " decision = EXCLUDED.decision, payload = EXCLUDED.payload,"
            " detail = EXCLUDED.detail, decided_at = now()",
            suggestion_id,
            dataset,
            decision,
            payload,
            detail,
        )


def _columns(offline: asyncpg.Record | None, llm: list[asyncpg.Record]) -> list[dict]:
    by_name: dict[str, dict[str, Any]] = {}
    if offline is not None:
        for c in offline["result"].get("columns", []):
            by_name[c["name"]] = {"name": c["name"], "silver_name": c.get("silver_name"),
                                  "offline": c}  # fmt: skip
    if llm and llm[0]["source"] != "llm-failed":
        for c in llm[0]["result"].get("columns", []):
            by_name.setdefault(c["name"], {"name": c["name"]})["llm"] = c
    return list(by_name.values())


def _llm_usage(llm: list[asyncpg.Record], usage: asyncpg.Record | None) -> dict | None:
    if not llm:
        return None
    return {
        "source": llm[0]["source"],
        "run_id": llm[0]["run_id"],
        "cached": llm[0]["cached"],
        "attempts": llm[0]["attempts"],
        "tokens_spent": usage["tokens"] if usage else 0,
        "calls": usage["calls"] if usage else 0,
    }


def _masked(column: dict) -> dict:
    """A PII column's profile with its values shown as shapes (statistics unchanged)."""
    out = dict(column)
    for field in ("min", "max"):
        if isinstance(out.get(field), str):
            out[field] = mask(out[field])
    out["top_values"] = [[mask(str(v)), n] for v, n in out.get("top_values") or []]
    out["sample"] = [mask(str(v)) for v in out.get("sample") or []]
    out["masked"] = True
    return out
