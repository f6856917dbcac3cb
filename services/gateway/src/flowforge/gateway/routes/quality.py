"""Data quality: a dataset's rules (JSON or YAML), its results and trend, its quarantine,
and the two actions that change what is valid: replay and release. Quality owns rules,
results and quarantine; the gateway asks it."""

from __future__ import annotations

import asyncio
from collections.abc import Set as AbstractSet
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import JSONResponse

from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.rules import RuleSet, dump_yaml, load_yaml, parse_rules
from flowforge.gateway import lakeread
from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.owners import LONG
from flowforge.gateway.params import DatasetName, RuleName
from flowforge.gateway.pii import for_viewer, mask_row
from flowforge.gateway.routes.jobs import ACCEPTED, accept
from flowforge.gateway.schemas import (
    QualityPublic,
    QuarantinePublic,
    ReleaseRequest,
    ReplayRequest,
    RuleSetPublic,
)

router = APIRouter(prefix="/api/v1/datasets", tags=["quality"])
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

RULES_EXAMPLE = {
    "rules": [
        {"type": "not_null", "column": "order_id"},
        {"type": "range", "column": "amount", "min": 0, "max": 10000},
        {"type": "format", "column": "email", "format": "email", "warn_if": "> 1%"},
        {"type": "accepted_values", "column": "state", "values": ["CA", "NY"], "action": "warn"},
        {"type": "row_count", "min": 1, "max_change_pct": 50, "action": "warn"},
    ]
}


@router.get("/{name}/rules", response_model=RuleSetPublic)
async def get_rules(name: DatasetName, gw: GatewayDep) -> RuleSetPublic:
    """The dataset's rules, in evaluation order."""
    return RuleSetPublic.model_validate(await gw.owners.quality.ask("rules.get", dataset=name))


@router.put("/{name}/rules", response_model=RuleSetPublic)
async def put_rules(
    name: DatasetName,
    gw: GatewayDep,
    body: Annotated[Any, Body(openapi_examples={"rules": {"value": RULES_EXAMPLE}})],
) -> RuleSetPublic:
    """Replace the dataset's rules: `{"rules": [...]}` and/or dbt-style `{"columns": {col:
    [rules]}}` (see docs/quality.md). They apply to the next batch; replay to re-check
    batches already landed."""
    rules = parse_rules(body, dataset=name, engines=False)  # a clear 400, then quality
    if rules.dataset != name:
        raise BadInputError(f"these rules are for dataset {rules.dataset!r}, not {name!r}")
    saved = await gw.owners.quality.ask(
        "rules.put", dataset=name, rules={"rules": [r.spec() for r in rules.rules]}
    )
    return RuleSetPublic.model_validate(saved)


@router.post("/{name}/rules", response_model=RuleSetPublic, status_code=status.HTTP_201_CREATED)
async def add_rule(
    name: DatasetName,
    gw: GatewayDep,
    body: Annotated[dict[str, Any], Body(examples=[{"type": "not_null", "column": "id"}])],
) -> RuleSetPublic:
    """Add one rule (a rule with the same name is replaced)."""
    rule = parse_rules({"rules": [body]}, dataset=name, engines=False).rules[0]
    saved = await gw.owners.quality.ask("rules.add", dataset=name, rule=rule.spec())
    return RuleSetPublic.model_validate(saved)


@router.delete("/{name}/rules/{rule}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(name: DatasetName, rule: RuleName, gw: GatewayDep) -> Response:
    await gw.owners.quality.ask("rules.delete", dataset=name, name=rule)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/rules.yaml", response_class=Response)
async def export_rules(name: DatasetName, gw: GatewayDep) -> Response:
    """The rules as a YAML file, to keep in version control and import again."""
    found = await gw.owners.quality.ask("rules.get", dataset=name)
    rules = parse_rules({"rules": found["rules"]}, dataset=name, engines=False).rules
    return Response(
        dump_yaml(
            RuleSet.model_validate({"dataset": name, "rules": rules}, context={"engines": False})
        ),
        media_type="application/yaml",
        headers={"content-disposition": f'attachment; filename="{name}.rules.yaml"'},
    )


@router.put("/{name}/rules.yaml", response_model=RuleSetPublic)
async def import_rules(name: DatasetName, request: Request, gw: GatewayDep) -> RuleSetPublic:
    """Replace the rules from a YAML file (the body, content-type application/yaml)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in YAML_TYPES:
        raise BadInputError(f"send the YAML file as application/yaml, not {kind}")
    raw = await request.body()
    if not raw.strip():
        raise BadInputError(
            "the body is empty: send the rules file (to remove every rule, send `rules: []`)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"the rules file is not UTF-8 text (byte {exc.start})") from exc
    rules = load_yaml(text, dataset=name, engines=False)
    if rules.dataset and rules.dataset != name:
        raise BadInputError(
            f"this rules file is for dataset {rules.dataset!r}, not {name!r}: "
            "fix its `dataset:` or import it into that dataset"
        )
    saved = await gw.owners.quality.ask(
        "rules.put", dataset=name, rules={"rules": [r.spec() for r in rules.rules]}
    )
    return RuleSetPublic.model_validate(saved)


# --- results ---------------------------------------------------------------------------------


@router.get("/{name}/quality", response_model=QualityPublic)
async def get_quality(
    name: DatasetName, gw: GatewayDep, limit: Annotated[int, Query(ge=1, le=500)] = 30
) -> QualityPublic:
    """The latest evaluation (each check with its counts and example values), the trend over
    the last `limit` evaluations, and the latest cross-layer reconciliations."""
    found = await gw.owners.quality.ask("results", dataset=name, limit=limit)
    return QualityPublic.model_validate(found)


@router.get("/{name}/quarantine", response_model=QuarantinePublic)
async def get_quarantine(
    name: DatasetName,
    request: Request,
    gw: GatewayDep,
    rule: Annotated[str | None, Query(max_length=200)] = None,
    run_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> QuarantinePublic:
    """Quarantined rows (each with the rule it failed, the column, the value, its file and
    line, and the row itself), newest batch first; filter by rule or run. A viewer sees PII
    values as their shapes."""
    found = await gw.owners.quality.ask("quarantine.batches", dataset=name, run_id=run_id)
    batches = found["batches"]
    if run_id and not batches:
        raise NotFoundError(f"run {run_id} has no quality evaluation in dataset {name!r}")
    quarantine = [
        (b["quarantine_key"], gw.store.key_of(b["silver_uri"]))
        for b in batches
        if b["quarantine_key"]
    ]
    total, rows = await asyncio.to_thread(
        lakeread.quarantine_rows, gw.files, quarantine, rule, limit, offset
    )
    masked, pii = await for_viewer(request, gw, name)
    if masked:
        rows = [_masked_entry(r, pii) for r in rows]
    return QuarantinePublic(dataset=name, total=total, rows=rows, masked=masked)


def _masked_entry(entry: dict[str, Any], pii: AbstractSet[str] | None) -> dict[str, Any]:
    """A quarantine entry for a viewer: the failing value and the row's PII values masked."""
    value_is_pii = pii is None or entry.get("column") in pii
    return {
        **entry,
        "value": mask_row({"v": entry.get("value")}, None)["v"]
        if value_is_pii
        else entry.get("value"),
        "row": mask_row(entry.get("row") or {}, pii),
    }


@router.post("/{name}/quarantine/release", status_code=202, responses=ACCEPTED)
async def release_rows(
    name: DatasetName, body: ReleaseRequest, request: Request, gw: GatewayDep
) -> JSONResponse:
    """Release quarantined rows back into the valid view (all of them, or one run's, one
    rule's, some lines of one run), recorded with the reason; the affected batches are
    re-evaluated and Gold is rebuilt. A job: its result says how many rows left quarantine."""
    params = body.model_dump(exclude_none=True, exclude={"all"})

    async def work() -> Any:
        return await gw.owners.quality.ask("release", timeout=LONG, dataset=name, **params)

    return await accept(gw, request, "release", name, params, work)


@router.post("/{name}/quality/replay", status_code=202, responses=ACCEPTED)
async def replay(
    name: DatasetName, body: ReplayRequest, request: Request, gw: GatewayDep
) -> JSONResponse:
    """Re-evaluate the runs given (`run_ids`), or every batch (`all: true`), with the
    dataset's rules of now; each batch's new verdict, quarantine and Gold follow. A job."""
    params = {"run_ids": None if body.all else body.run_ids}

    async def work() -> Any:
        return await gw.owners.quality.ask("replay", timeout=LONG, dataset=name, **params)

    return await accept(gw, request, "replay", name, params, work)
