"""Data quality: a dataset's rules (JSON or YAML), its results and trend, its quarantine,
and the two actions that change what is valid: replay and release (asked of quality, which
owns results and quarantine, over NATS request/reply)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status

from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.events import QUALITY_RELEASE, QUALITY_REPLAY
from flowforge.common.lake import check_name
from flowforge.common.rules import Rule, RuleSet, dump_yaml, load_yaml, parse_rules
from flowforge.gateway import lakeread
from flowforge.gateway.ask import ask
from flowforge.gateway.deps import Gateway, GatewayDep
from flowforge.gateway.schemas import (
    QualityPublic,
    QuarantinePublic,
    ReleaseRequest,
    ReplayRequest,
    RuleSetPublic,
)

router = APIRouter(prefix="/api/v1/datasets", tags=["quality"])
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
REQUEST_TIMEOUT = 300.0

RULES_EXAMPLE = {
    "rules": [
        {"type": "not_null", "column": "order_id"},
        {"type": "range", "column": "amount", "min": 0, "max": 10000},
        {"type": "format", "column": "email", "format": "email", "warn_if": "> 1%"},
        {"type": "accepted_values", "column": "state", "values": ["CA", "NY"], "action": "warn"},
        {"type": "row_count", "min": 1, "max_change_pct": 50, "action": "warn"},
    ]
}


def _public(dataset: str, rules: list[Rule]) -> RuleSetPublic:
    return RuleSetPublic(dataset=dataset, rules=[r.spec() for r in rules])


@router.get("/{name}/rules", response_model=RuleSetPublic)
async def get_rules(name: str, gw: GatewayDep) -> RuleSetPublic:
    """The dataset's rules, in evaluation order."""
    name = check_name(name)
    return _public(name, await gw.state.rules(name))


@router.put("/{name}/rules", response_model=RuleSetPublic)
async def put_rules(
    name: str,
    gw: GatewayDep,
    body: Annotated[Any, Body(openapi_examples={"rules": {"value": RULES_EXAMPLE}})],
) -> RuleSetPublic:
    """Replace the dataset's rules: `{"rules": [...]}` and/or dbt-style `{"columns": {col:
    [rules]}}` (see docs/quality.md). They apply to the next batch; replay to re-check
    batches already landed."""
    name = check_name(name)
    rules = parse_rules(body, dataset=name)
    if rules.dataset != name:
        raise BadInputError(f"these rules are for dataset {rules.dataset!r}, not {name!r}")
    await gw.state.replace_rules(name, rules.rules)
    return _public(name, rules.rules)


@router.post("/{name}/rules", response_model=RuleSetPublic, status_code=status.HTTP_201_CREATED)
async def add_rule(
    name: str,
    gw: GatewayDep,
    body: Annotated[dict[str, Any], Body(examples=[{"type": "not_null", "column": "id"}])],
) -> RuleSetPublic:
    """Add one rule (a rule with the same name is replaced)."""
    name = check_name(name)
    rule = parse_rules({"rules": [body]}, dataset=name).rules[0]
    await gw.state.add_rule(name, rule)
    return _public(name, await gw.state.rules(name))


@router.delete("/{name}/rules/{rule}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(name: str, rule: str, gw: GatewayDep) -> Response:
    name = check_name(name)
    if not await gw.state.delete_rule(name, rule):
        raise NotFoundError(f"dataset {name!r} has no rule named {rule!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/rules.yaml", response_class=Response)
async def export_rules(name: str, gw: GatewayDep) -> Response:
    """The rules as a YAML file, to keep in version control and import again."""
    name = check_name(name)
    text = dump_yaml(RuleSet(dataset=name, rules=await gw.state.rules(name)))
    return Response(
        text,
        media_type="application/yaml",
        headers={"content-disposition": f'attachment; filename="{name}.rules.yaml"'},
    )


@router.put("/{name}/rules.yaml", response_model=RuleSetPublic)
async def import_rules(name: str, request: Request, gw: GatewayDep) -> RuleSetPublic:
    """Replace the rules from a YAML file (the body, content-type application/yaml)."""
    name = check_name(name)
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
    rules = load_yaml(text, dataset=name)
    if rules.dataset and rules.dataset != name:
        raise BadInputError(
            f"this rules file is for dataset {rules.dataset!r}, not {name!r}: "
            "fix its `dataset:` or import it into that dataset"
        )
    await gw.state.replace_rules(name, rules.rules)
    return _public(name, rules.rules)


# --- results ---------------------------------------------------------------------------------


@router.get("/{name}/quality", response_model=QualityPublic)
async def get_quality(
    name: str, gw: GatewayDep, limit: Annotated[int, Query(ge=1, le=500)] = 30
) -> QualityPublic:
    """The latest evaluation (each check with its counts and example values), the trend over
    the last `limit` evaluations, and the latest cross-layer reconciliations."""
    name = check_name(name)
    return await gw.state.quality(name, limit)


@router.get("/{name}/quarantine", response_model=QuarantinePublic)
async def get_quarantine(
    name: str,
    gw: GatewayDep,
    rule: str | None = None,
    run_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> QuarantinePublic:
    """Quarantined rows (each with the rule it failed, the column, the value, its file and
    line, and the row itself), newest batch first; filter by rule or run."""
    name = check_name(name)
    batches = await gw.state.quarantine_batches(name, run_id)
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
    return QuarantinePublic(dataset=name, total=total, rows=rows)


@router.post("/{name}/quarantine/release")
async def release_rows(name: str, body: ReleaseRequest, gw: GatewayDep) -> dict[str, Any]:
    """Release quarantined rows back into the valid view (all of them, or one run's, one
    rule's, some lines of one run), recorded with the reason; the affected batches are
    re-evaluated at once and Gold is rebuilt. Returns how many rows left quarantine."""
    name = check_name(name)
    request = {"dataset": name, **body.model_dump(exclude_none=True, exclude={"all"})}
    return await _ask_quality(gw, QUALITY_RELEASE, request)


@router.post("/{name}/quality/replay")
async def replay(name: str, body: ReplayRequest, gw: GatewayDep) -> dict[str, Any]:
    """Re-evaluate the runs given (`run_ids`), or every batch (`all: true`), with the
    dataset's rules of now; each batch's new verdict, quarantine and Gold follow."""
    name = check_name(name)
    request = {"dataset": name, "run_ids": None if body.all else body.run_ids}
    return await _ask_quality(gw, QUALITY_REPLAY, request)


async def _ask_quality(gw: Gateway, subject: str, request: dict[str, Any]) -> dict[str, Any]:
    return await ask(gw, subject, request, REQUEST_TIMEOUT)
