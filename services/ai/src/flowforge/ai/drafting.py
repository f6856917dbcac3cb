"""Drafting a Gold model from a question (`flowforge.svc.ai.model.draft`): the catalog's
metadata of the tables it may read (asked of the catalog; PII flags from ai's own analyses),
the prompt cache, the LLM chain, and the check of `drafts`. Nothing is saved: the gateway
dry-runs the draft on a sample and a person saves it through the model routes.

Offline (no key, or no provider admitted by the daily budget) there is no draft: writing SQL
for a question needs a language model, and a guessed one would look more certain than it is.
The answer says so (`unavailable`) and names what to set.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flowforge.ai import drafts
from flowforge.ai.answers import InvalidAnswer
from flowforge.ai.chain import Task, ask
from flowforge.ai.drafts import Table
from flowforge.ai.handlers import Deps
from flowforge.ai.ledger import fingerprint_of
from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.lake import check_name

log = logging.getLogger(__name__)
PURPOSE = "model_draft"
NO_KEY = (
    "drafting a model from a question needs an LLM: set ANTHROPIC_API_KEY (or OPENAI_API_KEY) "
    "for the ai service; write the model's SQL yourself meanwhile (POST /api/v1/models)"
)


def _question(request: dict[str, Any]) -> str:
    question = " ".join(str(request.get("question") or "").split())
    if not 3 <= len(question) <= 1000:
        raise BadInputError("`question` must be 3 to 1,000 characters")
    return question


async def catalog_tables(deps: Deps, names: list[str] | None) -> list[Table]:
    """The Silver datasets and Gold models the draft may read, as the catalog records them
    (all of them, or the ones named: an unknown name is a 404)."""
    if deps.ask is None:
        raise BadInputError("this ai service cannot ask the catalog")
    found = await deps.ask("catalog", "docs.export", format="tables")
    tables: dict[str, Table] = {}
    for entry in found["tables"]:
        if entry["layer"] not in ("silver", "gold") or entry["name"] in tables:
            continue
        described = entry.get("columns_described") or {}
        tables[entry["name"]] = Table(
            name=entry["name"],
            layer=entry["layer"],
            columns={c["name"]: c["type"] for c in entry["columns"]},
            description=((entry.get("description") or {}).get("description") or ""),
            column_docs={k: v.get("description") or "" for k, v in described.items()},
        )
    if names:
        missing = [n for n in names if n not in tables]
        if missing:
            raise NotFoundError(f"no dataset or model named {', '.join(map(repr, missing))}")
        return [tables[n] for n in names]
    if len(tables) > drafts.MAX_TABLES:
        raise BadInputError(
            f"the catalog has {len(tables)} datasets and models; name at most "
            f"{drafts.MAX_TABLES} the model may read (`datasets`)"
        )
    return sorted(tables.values(), key=lambda t: t.name)


async def draft_model(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """{question, datasets?, refresh?}: a checked draft (`ready`), the LLM's unusable draft
    with the reason (`refused`), or why no LLM could be asked (`unavailable`)."""
    question = _question(request)
    names = [check_name(str(n)) for n in request.get("datasets") or []]
    tables = await catalog_tables(deps, names or None)
    if not tables:
        raise NotFoundError("the catalog has no dataset or model to draft a model over yet")
    pii = await deps.store.pii_columns([t.name for t in tables if t.layer == "silver"])
    for table in tables:
        table.pii = pii.get(table.name, set())
    out: dict[str, Any] = {"question": question, "source": "offline", "cached": False,
                           "tokens": 0, "attempts": []}  # fmt: skip
    if not deps.providers:
        return {**out, "status": "unavailable", "reason": NO_KEY}
    key = (PURPOSE, drafts.PROMPT_VERSION, fingerprint_of([t.brief() for t in tables]),
           question.lower())  # fmt: skip
    cached = None if request.get("refresh") or deps.cache is None else await deps.cache.get(*key)
    if cached is not None:
        try:
            draft = drafts.check_draft(cached["answer"], tables)
        except InvalidAnswer:
            cached = None
        else:
            if deps.ledger is not None:
                await deps.ledger.record_cached(PURPOSE, ",".join(names), cached["source"])
            return {**out, **draft.to_dict(), "status": "ready", "source": cached["source"],
                    "cached": True}  # fmt: skip
    return await _ask(deps, question, names, tables, key, out)


async def _ask(
    deps: Deps,
    question: str,
    names: list[str],
    tables: list[Table],
    key: tuple[str, ...],
    out: dict[str, Any],
) -> dict[str, Any]:
    seen: list[Any] = []  # the raw answers, to show what was refused

    def check(raw: Any) -> drafts.Draft:
        seen.append(raw)
        return drafts.check_draft(raw, tables)

    task = Task(PURPOSE, ",".join(names), drafts.SYSTEM, drafts.prompt(question, tables),
                drafts.DRAFT_TOOL, check, drafts.ANSWER_TOKENS)  # fmt: skip
    timeout = max((p.timeout for p in deps.providers), default=60.0)
    outcome = await ask(deps.providers, task, budget_left=deps.token_budget,
                        deadline_seconds=2 * timeout + 30)  # fmt: skip
    out |= {"source": outcome.source, "tokens": outcome.usage.total, "attempts": outcome.attempts}
    draft: drafts.Draft | None = outcome.answer
    if draft is not None:
        if deps.cache is not None:
            answer = {"name": draft.name, "sql": draft.sql, "explanation": draft.explanation,
                      "columns_used": [f"{t}.{c}" for t, cs in draft.columns_used.items()
                                       for c in cs]}  # fmt: skip
            await deps.cache.put(*key, source=outcome.source, tokens=outcome.usage.total,
                                 answer=answer)  # fmt: skip
        return {**out, **draft.to_dict(), "status": "ready"}
    invalid = [a for a in outcome.attempts if a["outcome"] == "invalid"]
    if not invalid:
        return {**out, "status": "unavailable", "reason": outcome.reason}
    last = invalid[-1]
    refused = _shown(seen[-1]) if seen else {}
    log.info("model draft refused (%s): %s", last["provider"], last["reason"])
    return {**out, **refused, "status": "refused",
            "reason": f"the LLM's draft cannot be used: {last['reason']}"}  # fmt: skip


def _shown(raw: Any) -> dict[str, Any]:
    """What the LLM proposed, as far as it can be read (a refused draft is shown, not saved)."""
    if isinstance(raw, str):  # OpenAI's answer is JSON text
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if isinstance(raw, dict):
        return {k: str(raw[k])[:20_000] for k in ("name", "sql", "explanation") if raw.get(k)}
    return {}
