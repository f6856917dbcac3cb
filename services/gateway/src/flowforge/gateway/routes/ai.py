"""AI schema analysis: column profiles, semantic types and PII, suggestions with their
provenance, and accepting one into configuration (rules, Silver spec, key); the LLM's usage
and cost (`/api/v1/ai/usage`).

Suggestions and the decisions on them are the ai service's; a rule goes to quality (after a
dry run on the Silver data: the answer says how many rows it would have quarantined), a
rename or cast to transform's Silver spec, a key to ingest's dataset contract.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from flowforge.common.errors import BadInputError, ConflictError, NotFoundError
from flowforge.common.rules import parse_rules
from flowforge.gateway.ai_schemas import UsagePublic
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.owners import LONG
from flowforge.gateway.params import DatasetName, SuggestionId
from flowforge.gateway.routes import descriptions
from flowforge.gateway.routes.jobs import ACCEPTED, accept
from flowforge.gateway.schemas import AnalyzeRequest, SilverSpecPublic

router = APIRouter(prefix="/api/v1", tags=["ai"])
DRYRUN_TIMEOUT = 120.0


@router.get("/ai/usage", response_model=UsagePublic)
async def usage(
    gw: GatewayDep,
    days: Annotated[int, Query(ge=1, le=366, description="UTC days back, today included")] = 30,
    recent: Annotated[int, Query(ge=0, le=500, description="latest calls listed")] = 50,
) -> UsagePublic:
    """The LLM's token use and estimated cost: per UTC day and purpose (calls, answers from
    the prompt cache, failures, calls not made), today against the daily budget, the price
    table, and the latest calls with their outcome and reason."""
    return UsagePublic.model_validate(await gw.owners.ai.ask("usage", days=days, recent=recent))


@router.post("/datasets/{name}/analyze", status_code=202, responses=ACCEPTED)
async def analyze(
    name: DatasetName, request: Request, gw: GatewayDep, body: AnalyzeRequest | None = None
) -> JSONResponse:
    """Analyse the dataset's latest batch now (offline, then the configured LLM; `refresh`
    asks the LLM again even if this schema was analysed before). A job; its result is the
    analysis, and the suggestions are then at GET .../suggestions."""
    refresh = body.refresh if body else False

    async def work() -> Any:
        done = await gw.owners.ai.ask("analyze", timeout=LONG, dataset=name, refresh=refresh)
        return {"analysed": done, **await gw.owners.ai.ask("suggestions", dataset=name)}

    return await accept(gw, request, "analyze", name, {"refresh": refresh}, work)


@router.get("/datasets/{name}/suggestions")
async def suggestions(name: DatasetName, gw: GatewayDep) -> dict[str, Any]:
    """Each column as analysed (offline: semantic type, confidence, PII and why; LLM: name,
    description, type), the suggestions with their source and status, and LLM usage."""
    return await gw.owners.ai.ask("suggestions", dataset=name)


@router.get("/datasets/{name}/profile")
async def profile(name: DatasetName, gw: GatewayDep) -> dict[str, Any]:
    """The latest batch's column profiles (nulls, distinct, lengths, top values, shapes;
    values of PII columns as shapes)."""
    return await gw.owners.ai.ask("profile", dataset=name)


async def _suggestion(gw: Gateway, dataset: str, suggestion_id: int) -> dict[str, Any]:
    return await gw.owners.ai.ask("suggestion.get", dataset=dataset, id=suggestion_id)


@router.post("/datasets/{name}/suggestions/{suggestion_id}/dry-run")
async def dry_run(
    name: DatasetName,
    suggestion_id: SuggestionId,
    gw: GatewayDep,
    action: Annotated[str, Query(pattern="^(warn|quarantine|fail)$")] = "quarantine",
) -> dict[str, Any]:
    """How many rows of the dataset's Silver data a suggested rule would have quarantined
    (tried with action `quarantine` unless told otherwise; nothing is stored)."""
    suggestion = await _suggestion(gw, name, suggestion_id)
    if suggestion["kind"] != "rule":
        raise BadInputError(f"suggestion {suggestion_id} is a {suggestion['kind']}, not a rule")
    return await _dry_run(gw, name, {**dict(suggestion["payload"]), "action": action})


async def _dry_run(gw: Gateway, dataset: str, rule: dict[str, Any]) -> dict[str, Any]:
    return await gw.owners.quality.ask("dryrun", timeout=DRYRUN_TIMEOUT, dataset=dataset, rule=rule)


@router.post("/datasets/{name}/suggestions/{suggestion_id}/accept")
async def accept_suggestion(
    name: DatasetName,
    suggestion_id: SuggestionId,
    request: Request,
    gw: GatewayDep,
    action: Annotated[
        str | None,
        Query(pattern="^(warn|quarantine|fail)$", description="for a rule: warn (default)"),
    ] = None,
) -> dict[str, Any]:
    """Turn a suggestion into configuration: a rule into the dataset's rules (dry-run first:
    the answer carries how many rows it would have quarantined), a rename or cast into the
    Silver spec, a key into the dataset's key (these apply to the next batch); descriptions
    into the catalog at once."""
    suggestion = await _suggestion(gw, name, suggestion_id)
    payload = dict(suggestion["payload"])
    kind = suggestion["kind"]
    if kind == "rule":
        payload["action"] = action or "warn"  # a person picks the action, warn by default
        parse_rules({"rules": [payload]}, dataset=name, engines=False)  # a clear 400 first
    elif kind not in ("rename", "cast", "key", "descriptions"):
        raise BadInputError(f"suggestions of kind {kind!r} cannot be accepted")
    # The decision is claimed first: of two concurrent accepts, one applies, one gets 409.
    original = dict(suggestion["payload"])  # what was suggested (the status compares it)
    claim = {"dataset": name, "id": suggestion_id, "payload": original}
    if not (await gw.owners.ai.ask("suggestion.claim", decision="accepted", **claim))["claimed"]:
        raise ConflictError(f"suggestion {suggestion_id} was already decided")
    try:
        by = request.state.principal.name
        source = str(suggestion.get("source") or "offline")
        detail = await _apply(gw, name, kind, payload, source=source, by=by)
    except BaseException:
        await gw.owners.ai.ask("suggestion.unclaim", id=suggestion_id)
        raise
    await gw.owners.ai.ask(
        "suggestion.decide", decision="accepted", detail={**detail, "applied": payload}, **claim
    )
    return {"id": suggestion_id, "kind": kind, "accepted": payload, **detail}


async def _apply(
    gw: Gateway, name: str, kind: str, payload: dict[str, Any], *, source: str, by: str
) -> dict[str, Any]:
    """Hand the accepted suggestion to the service that acts on it."""
    detail: dict[str, Any] = {}
    if kind == "rule":
        try:
            detail["dry_run"] = await _dry_run(gw, name, {**payload, "action": "quarantine"})
        except NotFoundError as exc:
            detail["dry_run"] = {"skipped": str(exc)}
        await gw.owners.quality.ask("rules.add", dataset=name, rule=payload, only_new=True)
    elif kind == "rename":
        renames = {payload["column"]: payload["to"]}
        await gw.owners.transform.ask("spec.put", dataset=name, renames=renames, merge=True)
    elif kind == "cast":
        types = {payload["column"]: payload["type"]}
        await gw.owners.transform.ask("spec.put", dataset=name, types=types, merge=True)
    elif kind == "descriptions":  # columns renamed since the suggestion are named, not kept
        _, skipped = await descriptions.write(
            gw, name, "silver", description=payload.get("description"),
            columns=dict(payload.get("columns") or {}), source=source, by=by, unknown="skip",
        )  # fmt: skip
        if skipped:
            detail["skipped_columns"] = skipped
    else:
        await gw.owners.ingest.ask("dataset.put", name=name, key=list(payload["columns"]))
    return detail


@router.post("/datasets/{name}/suggestions/{suggestion_id}/dismiss")
async def dismiss(name: DatasetName, suggestion_id: SuggestionId, gw: GatewayDep) -> dict:
    suggestion = await _suggestion(gw, name, suggestion_id)
    claimed = await gw.owners.ai.ask(
        "suggestion.claim",
        dataset=name,
        id=suggestion_id,
        decision="dismissed",
        payload=dict(suggestion["payload"]),
    )
    if not claimed["claimed"]:
        raise ConflictError(f"suggestion {suggestion_id} was already decided")
    return {"id": suggestion_id, "dismissed": True}


@router.get("/datasets/{name}/spec", response_model=SilverSpecPublic)
async def get_spec(name: DatasetName, gw: GatewayDep) -> SilverSpecPublic:
    """The dataset's Silver spec beyond the safe defaults: renames and declared types."""
    return SilverSpecPublic(**await gw.owners.transform.ask("spec.get", dataset=name))


@router.put("/datasets/{name}/spec", response_model=SilverSpecPublic)
async def put_spec(name: DatasetName, body: SilverSpecPublic, gw: GatewayDep) -> SilverSpecPublic:
    """Replace the Silver spec: `renames` {Silver column: new snake_case name}, `types`
    {Silver column: string | integer | double | boolean | decimal | decimal:N | date |
    date:<strftime> | datetime}. A declared type applies only where every value fits it."""
    saved = await gw.owners.transform.ask("spec.put", dataset=name, **body.model_dump())
    return SilverSpecPublic(**saved)
