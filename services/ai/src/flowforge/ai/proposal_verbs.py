"""Pipeline proposals over request/reply (`flowforge.svc.ai.proposal.<verb>`): drafting one
from a sample's Bronze (profiles, the offline detector, the LLM when a key is configured),
keeping it with its dry run (`ai.proposals`), and the decisions on its parts.

A part is claimed (`applying`) before it is applied, so two accepts never apply one part
twice; it ends `accepted`, or `refused` with the reason (and may be accepted again, edited)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from flowforge.ai import llm, proposals
from flowforge.ai.handlers import Deps, _profile
from flowforge.ai.profile import ColumnProfile
from flowforge.ai.semantic import detect, suggest_rules
from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.lake import check_name

PARTS = ("key", "source", "silver", "rules", "model", "schedule")


def _id(request: dict[str, Any]) -> str:
    value = str(request.get("id") or "")
    if not value.isalnum() or len(value) > 64:
        raise BadInputError("`id` must be a proposal id")
    return value


class ProposalStore:
    """`ai.proposals`: each proposal's document, dry run, status and decisions."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def create(self, **row: Any) -> None:
        await self.pool.execute(
            "INSERT INTO ai.proposals (id, dataset, origin, status, source, document,"
            " created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            *[row[k] for k in ("id", "dataset", "origin", "status", "source", "document", "by")],
        )

    async def get(self, proposal_id: str) -> dict[str, Any]:
        row = await self.pool.fetchrow("SELECT * FROM ai.proposals WHERE id = $1", proposal_id)
        if row is None:
            raise NotFoundError(f"no proposal with id {proposal_id!r}")
        return public(row)

    async def page(self, limit: int, dataset: str | None) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM ai.proposals WHERE ($2::text IS NULL OR dataset = $2)"
            " ORDER BY created_at DESC LIMIT $1",
            limit,
            dataset,
        )
        return [public(r) for r in rows]

    async def dry_run(self, proposal_id: str, dry_run: dict, status: str, error: str) -> None:
        await self.pool.execute(
            "UPDATE ai.proposals SET dry_run = $2, status = $3, error = $4, updated_at = now()"
            " WHERE id = $1",
            proposal_id, dry_run, status, error or None,
        )  # fmt: skip

    async def claim(self, proposal_id: str, parts: list[str], by: str) -> list[str]:
        """Mark the parts not accepted nor being applied as `applying`; those claimed."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT decisions FROM ai.proposals WHERE id = $1 FOR UPDATE", proposal_id
            )
            if row is None:
                raise NotFoundError(f"no proposal with id {proposal_id!r}")
            decisions = dict(row["decisions"] or {})
            claimed = [
                p
                for p in parts
                if (decisions.get(p) or {}).get("status") not in ("accepted", "applying")
            ]
            at = datetime.now(UTC).isoformat()  # fmt: skip
            for part in claimed:
                decisions[part] = {"status": "applying", "by": by, "at": at}
            await conn.execute(
                "UPDATE ai.proposals SET decisions = $2, updated_at = now() WHERE id = $1",
                proposal_id,
                decisions,
            )
        return claimed

    async def decide(self, proposal_id: str, results: dict[str, dict], by: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT document, decisions FROM ai.proposals WHERE id = $1 FOR UPDATE",
                proposal_id,
            )
            if row is None:
                raise NotFoundError(f"no proposal with id {proposal_id!r}")
            decisions = dict(row["decisions"] or {})
            at = datetime.now(UTC).isoformat()
            for part, result in results.items():
                decisions[part] = {**result, "by": by, "at": at}
            offered = [p for p, v in (row["document"].get("parts") or {}).items() if v]
            done = [p for p in offered if decisions.get(p, {}).get("status") == "accepted"]
            status = "accepted" if len(done) == len(offered) else "partly_accepted"
            await conn.execute(
                "UPDATE ai.proposals SET decisions = $2, status = CASE WHEN $3 THEN $4"
                " ELSE status END, updated_at = now() WHERE id = $1",
                proposal_id, decisions, bool(done), status,
            )  # fmt: skip


def public(row: asyncpg.Record) -> dict[str, Any]:
    document = dict(row["document"] or {})
    return {
        "id": row["id"],
        "dataset": row["dataset"],
        "origin": dict(row["origin"]),
        "status": row["status"],
        "source": row["source"],
        **{k: document.get(k) for k in ("parts", "reasons", "refused", "columns", "pii")},
        "llm": document.get("llm"),
        "sample": document.get("sample") or {},
        "dry_run": dict(row["dry_run"]) if row["dry_run"] else None,
        "decisions": dict(row["decisions"] or {}),
        "error": row["error"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def _ask_llm(deps: Deps, dataset: str, profiles: list[ColumnProfile], guesses: list):
    """The LLM's view of the sample's columns, within the dataset's token budget."""
    async with deps.store.budget_lock(dataset):
        spent = await deps.store.tokens_spent(dataset)
        briefs = [llm.brief(p.to_dict(), {"type": g.type, "pii": g.pii}, masked=deps.mask_pii)
                  for p, g in zip(profiles, guesses, strict=True)]  # fmt: skip
        keyable = {p.name for p in profiles if p.nulls == 0 and p.present
                   and p.distinct >= p.present}  # fmt: skip
        masked = {p.name for p, g in zip(profiles, guesses, strict=True) if g.pii}
        timeout = max((p.timeout for p in deps.providers), default=60.0)
        outcome = await llm.analyse(
            deps.providers, dataset, briefs, budget_left=deps.token_budget - spent,
            keyable=keyable, masked=masked if deps.mask_pii else set(),
            deadline_seconds=2 * timeout + 30, purpose="proposal",
        )  # fmt: skip
        calls = sum(1 for a in outcome.attempts if a["outcome"] != "skipped")
        await deps.store.add_usage(dataset, outcome.usage.total, calls)
    return outcome


async def draft(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """{id, dataset, origin, bronze_key, source_types?, table?, by}: draft and keep the
    proposal (status `drafted`, its dry run to follow)."""
    proposal_id, dataset = _id(request), check_name(str(request.get("dataset") or ""))
    origin = dict(request.get("origin") or {})
    bronze = str(request.get("bronze_key") or "")
    if not bronze.startswith("proposals/"):
        raise BadInputError("`bronze_key` must be a proposal's sample (proposals/...)")
    profiles = await asyncio.to_thread(_profile, deps.files, deps.files.store.uri(bronze))
    guesses = await asyncio.to_thread(lambda: [detect(p) for p in profiles])
    outcome = None
    if deps.providers and profiles:
        outcome = await _ask_llm(deps, dataset, profiles, guesses)
    answered = outcome is not None and outcome.answer is not None
    document = proposals.draft(
        dataset, origin, profiles, guesses, suggest_rules,
        answer=outcome.answer if answered else None,
        source=outcome.source if answered else "offline",
        table=request.get("table"), source_types=request.get("source_types"),
        dropped=outcome.dropped_rules if answered else [],
    )  # fmt: skip
    document["sample"] = dict(request.get("sample") or {})
    if outcome is not None:
        document["llm"] = {"source": outcome.source, "tokens": outcome.usage.total,
                           "attempts": outcome.attempts}  # fmt: skip
    store = ProposalStore(deps.store.pool)
    await store.create(id=proposal_id, dataset=dataset, origin=origin, status="drafted",
                       source=document["source"], document=document,
                       by=str(request.get("by") or ""))  # fmt: skip
    return await store.get(proposal_id)


async def get(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return await ProposalStore(deps.store.pool).get(_id(request))


async def list_(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    limit = max(1, min(int(request.get("limit") or 50), 500))
    dataset = request.get("dataset")
    found = await ProposalStore(deps.store.pool).page(
        limit, check_name(dataset) if dataset else None
    )
    return {"proposals": found}


async def dry_run(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    store = ProposalStore(deps.store.pool)
    status = str(request.get("status") or "ready")
    if status not in ("ready", "failed"):
        raise BadInputError("`status` must be ready or failed")
    await store.dry_run(_id(request), dict(request.get("dry_run") or {}), status,
                        str(request.get("error") or ""))  # fmt: skip
    return await store.get(_id(request))


def _parts(request: dict[str, Any]) -> list[str]:
    parts = request.get("parts") or []
    if not isinstance(parts, list) or any(p not in PARTS for p in parts):
        raise BadInputError(f"`parts` must name parts among {', '.join(PARTS)}")
    return parts


async def claim(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    claimed = await ProposalStore(deps.store.pool).claim(
        _id(request), _parts(request), str(request.get("by") or "")
    )
    return {"claimed": claimed}


async def decide(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    results = dict(request.get("results") or {})
    if any(p not in PARTS for p in results) or any(
        r.get("status") not in ("accepted", "refused", "open") for r in results.values()
    ):
        raise BadInputError("`results` maps parts to {status: accepted | refused | open}")
    await ProposalStore(deps.store.pool).decide(_id(request), results, str(request.get("by")))
    return await ProposalStore(deps.store.pool).get(_id(request))


VERBS: dict[str, Callable[[dict[str, Any], Deps], Awaitable[Any]]] = {
    "proposal.draft": draft,
    "proposal.get": get,
    "proposal.list": list_,
    "proposal.dry_run": dry_run,
    "proposal.claim": claim,
    "proposal.decide": decide,
}
