"""A pipeline proposal's rules tried on its sample's Silver
(`flowforge.svc.quality.sample.rules`): the same rule engine a batch meets, nothing stored but
the sample's quarantine under `proposals/<id>/` (the starter model's dry run leaves those rows
out, as Gold would). A rule that cannot be used here (it does not parse, or names a column the
sample does not have) is named with the reason in `errors`, and the others still run."""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from flowforge.common import lake
from flowforge.common.errors import BadInputError
from flowforge.common.privacy import mask
from flowforge.common.rules import Rule, parse_rules
from flowforge.quality.engine import evaluate
from flowforge.quality.handlers import Deps, references_for

PREVIEW_ROWS = 20


def _key(request: dict[str, Any], name: str) -> str:
    key = lake.check_data_key(str(request.get(name) or ""))
    if not key.startswith("proposals/"):
        raise BadInputError(f"`{name}` must be a proposal's object (proposals/...)")
    return key


def check_rules(specs: Any, columns: list[str]) -> tuple[list[Rule], list[str]]:
    """The usable rules, and why each other one is not (by its position and name)."""
    if not isinstance(specs, list):
        raise BadInputError("`rules` must be a list of rules")
    rules, problems, names = [], [], set()
    for i, spec in enumerate(specs):
        label = f"rules[{i}]" + (f" ({spec.get('name')})" if isinstance(spec, dict) else "")
        try:
            if not isinstance(spec, dict):
                raise BadInputError("a rule is a mapping")
            rule = parse_rules({"rules": [spec]}).rules[0]
        except (BadInputError, TypeError, ValueError) as exc:
            problems.append(f"{label}: {exc}")
            continue
        missing = [c for c in (rule.columns or ([rule.column] if rule.column else []))
                   if c not in columns]  # fmt: skip
        if missing:
            problems.append(f"{label}: column {missing[0]!r} is not in the sample's Silver "
                            f"(it has {', '.join(columns)})")  # fmt: skip
        elif rule.name in names:
            problems.append(f"{label}: a second rule named {rule.name!r}")
        else:
            names.add(rule.name)
            rules.append(rule)
    return rules, problems


def _evaluate(deps: Deps, request: dict[str, Any], rules: list[Rule], references) -> dict:
    silver = pl.read_parquet(deps.files.path(_key(request, "silver_key")))
    key = [str(k) for k in request.get("key") or [] if k in silver.columns]
    evaluation = evaluate(silver, rules, key=key, references=references)
    quarantine_key = _key(request, "quarantine_key")
    written = None
    if evaluation.quarantine.height:
        out = deps.files.output(quarantine_key)
        evaluation.quarantine.write_parquet(out)
        deps.files.commit(quarantine_key, out)
        written = quarantine_key
    pii = set(request.get("pii") or [])
    shown = evaluation.quarantine.head(PREVIEW_ROWS).to_dicts()
    for row in shown:
        if row.get("column") in pii and row.get("value") is not None:
            row["value"] = mask(str(row["value"]))
    return {
        "rows": evaluation.rows,
        "quarantined": evaluation.quarantined,
        "valid": evaluation.rows - evaluation.quarantined,
        "verdict": evaluation.verdict,
        "checks": [c.model_dump(mode="json") for c in evaluation.checks],
        "examples": {
            name: [mask(str(v)) if _on_pii(rules, name, pii) else v for v in values]
            for name, values in evaluation.examples.items()
        },
        "quarantine": shown,
        "quarantine_key": written,
    }


def _on_pii(rules: list[Rule], name: str, pii: set[str]) -> bool:
    rule = next((r for r in rules if r.name == name), None)
    targets = (rule.columns or [rule.column]) if rule is not None else []
    return bool(set(targets) & pii)


async def sample_rules(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """{silver_key, quarantine_key, rules, key, pii}: each rule's result on the sample (failed
    rows, action, examples; values of `pii` columns as shapes), the rows quarantine would hold
    and the valid rows; `errors.rules` lists the rules that cannot be used, with the reason."""
    path = await asyncio.to_thread(deps.files.path, _key(request, "silver_key"))
    columns = pq.read_schema(path).names
    rules, problems = check_rules(request.get("rules") or [], columns)
    references = await references_for(rules, deps)
    found = await asyncio.to_thread(_evaluate, deps, request, rules, references)
    return {**found, "errors": {"rules": "; ".join(problems)} if problems else {}}


VERBS = {"sample.rules": sample_rules}
