"""AI schema analysis: column profiles, semantic types and PII, suggestions with their
provenance, and accepting one into configuration (rules, Silver spec, key).

Suggestions are the ai service's (it writes them); what a person decided is the gateway's
(configuration). A suggested rule is dry-run on the dataset's Silver data (by quality) before
it is accepted, and the answer says how many rows it would have quarantined.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from flowforge.common.errors import BadInputError, ConflictError, NotFoundError
from flowforge.common.events import AI_ANALYZE, QUALITY_DRYRUN
from flowforge.common.lake import check_name
from flowforge.common.naming import snake_case
from flowforge.common.rules import parse_rules
from flowforge.gateway.ask import ask
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.schemas import AnalyzeRequest, SilverSpecPublic

router = APIRouter(prefix="/api/v1/datasets", tags=["ai"])
ANALYZE_TIMEOUT = 300.0
DRYRUN_TIMEOUT = 120.0


@router.post("/{name}/analyze")
async def analyze(
    name: str,
    gw: GatewayDep,
    body: AnalyzeRequest | None = None,
) -> dict[str, Any]:
    """Analyse the dataset's latest batch now (offline, then the configured LLM; `refresh`
    asks the LLM again even if this schema was analysed before). Returns the suggestions."""
    name = check_name(name)
    refresh = body.refresh if body else False
    done = await ask(gw, AI_ANALYZE, {"dataset": name, "refresh": refresh}, ANALYZE_TIMEOUT)
    return {"analysed": done, **await gw.state.suggestions(name)}


@router.get("/{name}/suggestions")
async def suggestions(name: str, gw: GatewayDep) -> dict[str, Any]:
    """Each column as analysed (offline: semantic type, confidence, PII and why; LLM: name,
    description, type), the suggestions with their source and status, and LLM usage."""
    name = check_name(name)
    return await gw.state.suggestions(name)


@router.get("/{name}/profile")
async def profile(name: str, gw: GatewayDep) -> dict[str, Any]:
    """The latest batch's column profiles (nulls, distinct, lengths, top values, shapes)."""
    name = check_name(name)
    found = await gw.state.latest_profile(name)
    if found is None:
        raise NotFoundError(f"dataset {name!r} has no profiled batch yet")
    return found


@router.post("/{name}/suggestions/{suggestion_id}/dry-run")
async def dry_run(
    name: str,
    suggestion_id: int,
    gw: GatewayDep,
    action: Annotated[str, Query(description="the action to try it with")] = "quarantine",
) -> dict[str, Any]:
    """How many rows of the dataset's Silver data a suggested rule would have quarantined
    (tried with action `quarantine` unless told otherwise; nothing is stored)."""
    name = check_name(name)
    suggestion = await gw.state.suggestion(name, suggestion_id)
    if suggestion["kind"] != "rule":
        raise BadInputError(f"suggestion {suggestion_id} is a {suggestion['kind']}, not a rule")
    return await _dry_run(gw, name, {**dict(suggestion["payload"]), "action": action})


async def _dry_run(gw: Gateway, dataset: str, rule: dict[str, Any]) -> dict[str, Any]:
    return await ask(gw, QUALITY_DRYRUN, {"dataset": dataset, "rule": rule}, DRYRUN_TIMEOUT)


@router.post("/{name}/suggestions/{suggestion_id}/accept")
async def accept(
    name: str,
    suggestion_id: int,
    gw: GatewayDep,
    action: Annotated[
        str | None, Query(description="for a rule: warn (default), quarantine or fail")
    ] = None,
) -> dict[str, Any]:
    """Turn a suggestion into configuration: a rule into the dataset's rules (dry-run first:
    the answer carries how many rows it would have quarantined), a rename or cast into the
    Silver spec, a key into the dataset's key. It applies to the next batch."""
    name = check_name(name)
    suggestion = await gw.state.suggestion(name, suggestion_id)
    payload = dict(suggestion["payload"])
    kind = suggestion["kind"]
    rule = None
    if kind == "rule":
        payload["action"] = action or "warn"  # a person picks the action, warn by default
        rule = parse_rules({"rules": [payload]}, dataset=name).rules[0]
        existing = {r.name: r for r in await gw.state.rules(name)}
        if rule.name in existing and existing[rule.name].spec() != rule.spec():
            raise ConflictError(
                f"dataset {name!r} already has a different rule named {rule.name!r}; "
                "rename or delete it first"
            )
    elif kind not in ("rename", "cast", "key"):
        raise BadInputError(f"suggestions of kind {kind!r} cannot be accepted")
    # The decision is claimed first: of two concurrent accepts, one applies, one gets 409.
    original = dict(suggestion["payload"])  # what was suggested (the status compares it)
    if not await gw.state.claim_decision(suggestion_id, name, "accepted", original):
        raise ConflictError(f"suggestion {suggestion_id} was already decided")
    detail: dict[str, Any] = {}
    try:
        if rule is not None:
            try:
                tried = {**rule.spec(), "action": "quarantine"}
                detail["dry_run"] = await _dry_run(gw, name, tried)
            except NotFoundError as exc:
                detail["dry_run"] = {"skipped": str(exc)}
            await gw.state.add_rule(name, rule)
        elif kind == "rename":
            await gw.state.update_silver_spec(name, renames={payload["column"]: payload["to"]})
        elif kind == "cast":
            await gw.state.update_silver_spec(name, types={payload["column"]: payload["type"]})
        else:
            await gw.state.save_dataset(name, list(payload["columns"]))
    except BaseException:
        await gw.state.unclaim_decision(suggestion_id)
        raise
    await gw.state.decide(suggestion_id, name, "accepted", original, {**detail, "applied": payload})
    return {"id": suggestion_id, "kind": kind, "accepted": payload, **detail}


@router.post("/{name}/suggestions/{suggestion_id}/dismiss")
async def dismiss(name: str, suggestion_id: int, gw: GatewayDep) -> dict[str, Any]:
    name = check_name(name)
    suggestion = await gw.state.suggestion(name, suggestion_id)
    if not await gw.state.claim_decision(
        suggestion_id, name, "dismissed", dict(suggestion["payload"])
    ):
        raise ConflictError(f"suggestion {suggestion_id} was already decided")
    return {"id": suggestion_id, "dismissed": True}


@router.get("/{name}/spec", response_model=SilverSpecPublic)
async def get_spec(name: str, gw: GatewayDep) -> SilverSpecPublic:
    """The dataset's Silver spec beyond the safe defaults: renames and declared types."""
    name = check_name(name)
    return SilverSpecPublic(**await gw.state.silver_spec(name))


@router.put("/{name}/spec", response_model=SilverSpecPublic)
async def put_spec(name: str, body: SilverSpecPublic, gw: GatewayDep) -> SilverSpecPublic:
    """Replace the Silver spec: `renames` {Silver column: new snake_case name}, `types`
    {Silver column: string | integer | double | boolean | decimal | decimal:N | date |
    date:<strftime> | datetime}. A declared type applies only where every value fits it."""
    name = check_name(name)
    for old, new in body.renames.items():
        if snake_case(new) != new:
            raise BadInputError(f"rename {old!r}: {new!r} is not a snake_case name")
    await gw.state.replace_silver_spec(name, body.model_dump())
    return body
