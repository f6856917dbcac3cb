"""What quality answers over request/reply (`flowforge.svc.quality.<verb>`): the datasets'
rules (it owns and runs them), results and quarantine, and the re-evaluations a person asks
for (replay, release, dry run)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flowforge.common.errors import BadInputError, ConflictError, NotFoundError
from flowforge.common.lake import check_name
from flowforge.common.rules import parse_rules
from flowforge.quality import actions
from flowforge.quality.handlers import Deps
from flowforge.quality.reports import Reports


def _dataset(request: dict[str, Any]) -> str:
    return check_name(str(request.get("dataset", "")))


async def get_rules(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    dataset = _dataset(request)
    return {"dataset": dataset, "rules": [r.spec() for r in await deps.rules.rules(dataset)]}


async def put_rules(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Replace the dataset's rules: `rules` as `parse_rules` takes them (JSON list, or the
    dbt-style `columns` mapping)."""
    dataset = _dataset(request)
    parsed = parse_rules(request.get("rules") or {"rules": []}, dataset=dataset)
    if parsed.dataset and parsed.dataset != dataset:
        raise BadInputError(f"these rules are for dataset {parsed.dataset!r}, not {dataset!r}")
    await deps.rules.replace(dataset, parsed.rules)
    return {"dataset": dataset, "rules": [r.spec() for r in parsed.rules]}


async def add_rule(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    dataset = _dataset(request)
    if not isinstance(request.get("rule"), dict):
        raise BadInputError("send one rule as a JSON object")
    rule = parse_rules({"rules": [request["rule"]]}, dataset=dataset).rules[0]
    existing = {r.name: r for r in await deps.rules.rules(dataset)}
    if request.get("only_new") and rule.name in existing:
        if existing[rule.name].spec() != rule.spec():
            raise ConflictError(
                f"dataset {dataset!r} already has a different rule named {rule.name!r}; "
                "rename or delete it first"
            )
    await deps.rules.add(dataset, rule)
    return await get_rules(request, deps)


async def delete_rule(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    dataset = _dataset(request)
    name = str(request.get("name") or "")
    if not await deps.rules.delete(dataset, name):
        raise NotFoundError(f"dataset {dataset!r} has no rule named {name!r}")
    return {"deleted": name}


async def results(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    limit = max(1, min(int(request.get("limit") or 30), 500))
    return await Reports(deps.results.pool).quality(_dataset(request), limit)


async def overview(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """For the dashboard: datasets whose latest evaluation failed, and the datasets'
    freshness expectations (their `freshness` rules)."""
    limit = max(1, min(int(request.get("limit") or 50), 500))
    reports = Reports(deps.results.pool)
    return {"failing": await reports.failing(limit), "freshness": await reports.freshness()}


async def quarantine_batches(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    run_id = request.get("run_id")
    batches = await Reports(deps.results.pool).quarantine_batches(
        _dataset(request), str(run_id) if run_id else None
    )
    return {"batches": batches}


async def replay(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    runs = request.get("run_ids")
    return {"runs": await actions.replay(_dataset(request), runs or None, deps)}


async def release(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return await actions.release(
        _dataset(request),
        run_id=request.get("run_id"),
        rule=request.get("rule"),
        lines=[int(x) for x in request.get("lines") or []],
        reason=str(request.get("reason") or ""),
        deps=deps,
    )


async def dry_run(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    rule = request.get("rule")
    if not isinstance(rule, dict):
        raise BadInputError("a dry run needs `rule`, one rule as a mapping")
    return await actions.dry_run(_dataset(request), rule, deps)


VERBS: dict[str, Callable[[dict[str, Any], Deps], Awaitable[Any]]] = {
    "rules.get": get_rules,
    "rules.put": put_rules,
    "rules.add": add_rule,
    "rules.delete": delete_rule,
    "results": results,
    "overview": overview,
    "quarantine.batches": quarantine_batches,
    "replay": replay,
    "release": release,
    "dryrun": dry_run,
}
