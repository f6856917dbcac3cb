"""What the LLM costs (issue 18 part 5): every call in `ai.calls` with its tokens and cost, a
budget per UTC day (tokens and dollars) that admits each call before it is made, and the
prompt cache (`ai.prompt_cache`) that answers a question already asked of the same schema.

The daily budget is exact across replicas: admitting a call reads the day's spend and writes
the call as `pending` at its estimate in one transaction under an advisory lock, held only
for that (never across the call); the call's row then gets its real tokens and outcome.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from flowforge.ai.chain import Call
from flowforge.common.settings import AI_PRICES

log = logging.getLogger(__name__)
BUDGET_LOCK = "ai-daily-budget"
TODAY = "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


class Prices:
    """US dollars per million tokens by model-name prefix; the longest prefix wins."""

    def __init__(self, overrides: Mapping[str, tuple[float, float]] | None = None):
        self.table = {**AI_PRICES, **dict(overrides or {})}

    def per_million(self, model: str) -> tuple[float, float]:
        matches = [p for p in self.table if p != "*" and model.startswith(p)]
        return self.table[max(matches, key=len)] if matches else self.table["*"]

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        per_in, per_out = self.per_million(model)
        return round((input_tokens * per_in + output_tokens * per_out) / 1_000_000, 6)


@dataclass
class DailyBudget:
    tokens: int  # 0: no limit
    cost: float  # US dollars, 0: no limit


class Ledger:
    """The gate every provider call passes (`chain.Gate`), and the usage it reports."""

    def __init__(self, pool: asyncpg.Pool, prices: Prices, budget: DailyBudget):
        self.pool, self.prices, self.budget = pool, prices, budget

    async def admit(self, call: Call) -> tuple[Any, str]:
        estimate = call.estimated_input + call.estimated_output
        cost = self.prices.cost(call.model, call.estimated_input, call.estimated_output)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", BUDGET_LOCK)
            spent = await conn.fetchrow(
                "SELECT coalesce(sum(CASE WHEN outcome = 'pending' THEN estimated_tokens"
                " ELSE input_tokens + output_tokens END), 0) AS tokens,"
                " coalesce(sum(CASE WHEN outcome = 'pending' THEN estimated_cost"
                f" ELSE cost_usd END), 0) AS cost FROM ai.calls WHERE at >= {TODAY}"
            )
            reason = self._over(int(spent["tokens"]), float(spent["cost"]), estimate, cost)
            row = await conn.fetchval(
                "INSERT INTO ai.calls (purpose, dataset, provider, model, estimated_tokens,"
                " estimated_cost, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " RETURNING id",
                call.purpose, call.dataset, call.provider, call.model, estimate, cost,
                "skipped" if reason else "pending", reason,
            )  # fmt: skip
        if reason:
            log.warning("LLM call for %s refused: %s", call.dataset or call.purpose, reason)
            return None, reason
        return row, ""

    def _over(self, tokens: int, cost: float, estimate: int, estimated_cost: float) -> str:
        """Why a call of this estimate would break the day's budget ("" when it would not)."""
        if self.budget.tokens and tokens + estimate > self.budget.tokens:
            return (
                f"daily LLM budget: {tokens:,} of {self.budget.tokens:,} tokens used today "
                f"(UTC) and the call needs about {estimate:,} (FLOWFORGE_AI_DAILY_TOKENS)"
            )
        if self.budget.cost and cost + estimated_cost > self.budget.cost:
            return (
                f"daily LLM budget: ${cost:.4f} of ${self.budget.cost:.2f} spent today (UTC) "
                f"and the call may cost up to ${estimated_cost:.4f} (FLOWFORGE_AI_DAILY_COST)"
            )
        return ""

    async def record(self, ticket: Any, call: Call) -> None:
        cost = self.prices.cost(call.model, call.input_tokens, call.output_tokens)
        if ticket is None:  # not admitted through the gate: a call skipped before it
            await self.pool.execute(
                "INSERT INTO ai.calls (purpose, dataset, provider, model, input_tokens,"
                " output_tokens, cost_usd, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6,"
                " $7, $8, $9)",
                call.purpose, call.dataset, call.provider, call.model, call.input_tokens,
                call.output_tokens, cost, call.outcome, call.reason[:1000],
            )  # fmt: skip
            return
        await self.pool.execute(
            "UPDATE ai.calls SET input_tokens = $2, output_tokens = $3, cost_usd = $4,"
            " outcome = $5, reason = $6 WHERE id = $1",
            ticket, call.input_tokens, call.output_tokens, cost, call.outcome, call.reason[:1000],
        )  # fmt: skip

    async def record_cached(self, purpose: str, dataset: str, source: str) -> None:
        """An answer from the prompt cache: a call not made, at no cost."""
        provider, _, model = source.partition(":")
        await self.pool.execute(
            "INSERT INTO ai.calls (purpose, dataset, provider, model, cached, outcome)"
            " VALUES ($1, $2, $3, $4, true, 'cached')",
            purpose, dataset, provider, model,
        )  # fmt: skip

    async def usage(self, days: int, recent: int) -> dict[str, Any]:
        """Per-day totals of the last `days` UTC days (today first), today against the
        budget, and the latest `recent` calls."""
        since = datetime.now(UTC).date() - timedelta(days=days - 1)
        totals = await self.pool.fetch(
            "SELECT (at AT TIME ZONE 'UTC')::date AS day, purpose, count(*) FILTER (WHERE"
            " outcome NOT IN ('skipped', 'cached')) AS calls, count(*) FILTER (WHERE cached)"
            " AS cached, count(*) FILTER (WHERE outcome IN ('error', 'invalid', 'refused'))"
            " AS failed, count(*) FILTER (WHERE outcome = 'skipped') AS skipped,"
            " coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0)"
            " AS output_tokens, coalesce(sum(cost_usd), 0) AS cost_usd FROM ai.calls"
            " WHERE at >= ($1::date)::timestamp AT TIME ZONE 'UTC'"
            " GROUP BY 1, 2 ORDER BY 1 DESC, 2",
            since,
        )
        calls = await self.pool.fetch(
            "SELECT id, at, purpose, dataset, provider, model, input_tokens, output_tokens,"
            " cost_usd, cached, outcome, reason FROM ai.calls ORDER BY at DESC, id DESC"
            " LIMIT $1",
            recent,
        )
        by_day = _by_day(totals)
        today = by_day[0] if by_day and by_day[0]["day"] == datetime.now(UTC).date() else None
        used = today or {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        return {
            "days": by_day,
            "today": {
                "tokens": used["input_tokens"] + used["output_tokens"],
                "cost_usd": round(used["cost_usd"], 6),
                "budget_tokens": self.budget.tokens or None,
                "budget_cost_usd": self.budget.cost or None,
            },
            "prices": {k: list(v) for k, v in self.prices.table.items()},
            "calls": [dict(r) for r in calls],
        }


def _by_day(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Rows per (day, purpose) folded into one entry per day with its purposes."""
    days: dict[Any, dict[str, Any]] = {}
    fields = ("calls", "cached", "failed", "skipped", "input_tokens", "output_tokens")
    for row in rows:
        day = days.setdefault(
            row["day"],
            {
                "day": row["day"],
                **dict.fromkeys(fields, 0),
                "cost_usd": 0.0,
                "purposes": {},
            },  # fmt: skip
        )
        for f in fields:
            day[f] += int(row[f])
        day["cost_usd"] = round(day["cost_usd"] + float(row["cost_usd"]), 6)
        day["purposes"][row["purpose"]] = {
            **{f: int(row[f]) for f in fields}, "cost_usd": round(float(row["cost_usd"]), 6)
        }  # fmt: skip
    return list(days.values())


def fingerprint_of(*parts: Any) -> str:
    """A stable digest of what a prompt was drawn from (JSON of the parts)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class PromptCache:
    """Validated answers by (purpose, prompt version, schema fingerprint, scope)."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def get(self, purpose: str, version: str, fingerprint: str, scope: str) -> dict | None:
        row = await self.pool.fetchrow(
            "UPDATE ai.prompt_cache SET hits = hits + 1, last_hit_at = now() WHERE purpose = $1"
            " AND prompt_version = $2 AND fingerprint = $3 AND scope = $4"
            " RETURNING source, answer, tokens",
            purpose, version, fingerprint, scope,
        )  # fmt: skip
        return dict(row) if row is not None else None

    async def put(
        self,
        purpose: str,
        version: str,
        fingerprint: str,
        scope: str,
        *,
        source: str,
        answer: dict[str, Any],
        tokens: int,
    ) -> None:
        await self.pool.execute(
            "INSERT INTO ai.prompt_cache (purpose, prompt_version, fingerprint, scope, source,"
            " answer, tokens) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (purpose,"
            " prompt_version, fingerprint, scope) DO UPDATE SET source = EXCLUDED.source,"
            " answer = EXCLUDED.answer, tokens = EXCLUDED.tokens, created_at = now()",
            purpose, version, fingerprint, scope, source, answer, tokens,
        )  # fmt: skip
