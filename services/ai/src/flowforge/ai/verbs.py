"""What ai answers over request/reply (`flowforge.svc.ai.<verb>`): analyses and suggestions,
profiles, decisions on suggestions, analysing a dataset's latest batch on demand, the LLM's
usage (tokens and cost per day, against the daily budget), and Gold models drafted from a
question (`model.draft`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flowforge.ai import drafting, handlers
from flowforge.ai.handlers import Deps
from flowforge.ai.reports import Reports
from flowforge.common.errors import BadInputError
from flowforge.common.lake import check_name


def _dataset(request: dict[str, Any]) -> str:
    return check_name(str(request.get("dataset", "")))


def _id(request: dict[str, Any]) -> int:
    try:
        return int(request["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInputError("`id` must be a suggestion id (an integer)") from exc


def _decision(request: dict[str, Any]) -> str:
    decision = request.get("decision")
    if decision not in ("accepted", "dismissed"):
        raise BadInputError("`decision` must be accepted or dismissed")
    return decision


async def suggestions(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return await Reports(deps.store.pool).suggestions(_dataset(request))


async def profile(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return await Reports(deps.store.pool).profile(_dataset(request))


async def suggestion(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return await Reports(deps.store.pool).suggestion(_dataset(request), _id(request))


async def claim(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Claim the decision on a suggestion (of two concurrent decisions, one wins)."""
    done = await Reports(deps.store.pool).claim(
        _id(request), _dataset(request), _decision(request), dict(request.get("payload") or {})
    )
    return {"claimed": done}


async def unclaim(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    await Reports(deps.store.pool).unclaim(_id(request))
    return {"unclaimed": True}


async def decide(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    await Reports(deps.store.pool).decide(
        _id(request),
        _dataset(request),
        _decision(request),
        dict(request.get("payload") or {}),
        dict(request.get("detail") or {}),
    )
    return {"decided": True}


async def analyze(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return await handlers.analyse_dataset(
        _dataset(request), deps, refresh=request.get("refresh") is True
    )


async def usage(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """The LLM's token use and cost: per UTC day, today against the daily budget, the
    latest calls."""
    if deps.ledger is None:
        raise BadInputError("this ai service keeps no LLM ledger")
    try:
        days = max(1, min(int(request.get("days") or 30), 366))
        recent = max(0, min(int(request.get("recent") or 50), 500))
    except (TypeError, ValueError) as exc:
        raise BadInputError("`days` and `recent` must be whole numbers") from exc
    return await deps.ledger.usage(days, recent)


VERBS: dict[str, Callable[[dict[str, Any], Deps], Awaitable[Any]]] = {
    "suggestions": suggestions,
    "profile": profile,
    "suggestion.get": suggestion,
    "suggestion.claim": claim,
    "suggestion.unclaim": unclaim,
    "suggestion.decide": decide,
    "analyze": analyze,
    "usage": usage,
    "model.draft": drafting.draft_model,
}
