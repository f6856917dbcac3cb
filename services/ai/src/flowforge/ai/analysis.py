"""From profiles and detections to an analysis and its suggestions. Pure: no I/O.

An analysis describes each column (semantic type, confidence, PII and why, and, from an LLM,
a better name and a description). Suggestions are what a person can accept into
configuration; each names its target in Silver terms (Silver's snake_case column names, the
names rules and specs use):

- `rule`   a data-quality rule (action warn), payload = the rule spec;
- `rename` payload `{"column", "to"}`: a Silver column's better name;
- `cast`   payload `{"column", "type"}`: a Silver type spec (`date:%d/%m/%Y`, `integer`, ...);
- `key`    payload `{"columns": [...]}`: the columns that identify a row (dedupe, latest wins);
- `descriptions` payload `{"description", "columns": {column: text}}`: the dataset's and its
  columns' descriptions for the catalog (`flowforge.ai.descriptions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowforge.ai import descriptions
from flowforge.ai.llm import Answer
from flowforge.common.errors import BadInputError
from flowforge.common.naming import normalise_names
from flowforge.common.rules import parse_rules

CAST_SPECS = {
    "string": "string",
    "integer": "integer",
    "decimal": "decimal",
    "float": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
KEY_TYPES = {"identifier", "uuid"}


@dataclass(frozen=True)
class Suggestion:
    kind: str
    target: str
    payload: dict[str, Any]
    reason: str


def offline_columns(profiles: list[Any], guesses: list[Any]) -> list[dict[str, Any]]:
    silver = normalise_names([p.name for p in profiles])
    return [
        {
            "name": p.name,
            "silver_name": silver[p.name],
            "semantic_type": g.type,
            "confidence": round(float(g.confidence), 3),
            # Too close or too weak to act on alone: the type it may be instead.
            "uncertain": bool(g.uncertain),
            "runner_up": g.runner_up,
            "pii": bool(g.pii),
            "pii_kind": g.pii_kind,
            "reason": g.reason,
            "format": g.format,
        }
        for p, g in zip(profiles, guesses, strict=True)
    ]


def offline_suggestions(profiles: list[Any], guesses: list[Any], rules_for) -> list[Suggestion]:
    """Rules from each column's detected type, a date format Silver cannot infer on its own,
    and a key when one column is a complete, unique identifier."""
    silver = normalise_names([p.name for p in profiles])
    out: list[Suggestion] = []
    for profile, guess in zip(profiles, guesses, strict=True):
        column = silver[profile.name]
        for spec in rules_for(guess, profile):
            rule = _rule({**spec, "column": column} if "column" in spec else spec)
            if rule is not None:
                out.append(Suggestion("rule", rule["name"], rule, guess.reason))
        if guess.type == "date" and guess.format:
            out.append(
                Suggestion(
                    "cast",
                    column,
                    {"column": column, "type": f"date:{guess.format}"},
                    f"values read as dates in {guess.format}: {guess.reason}",
                )
            )
    keys = [
        silver[p.name]
        for p, g in zip(profiles, guesses, strict=True)
        if g.type in KEY_TYPES and p.nulls == 0 and p.present and p.distinct >= p.present
    ]
    if keys:
        out.append(
            Suggestion(
                "key",
                "key",
                {"columns": [keys[0]]},
                f"{keys[0]} is present and distinct in every row",
            )
        )
    return out


def offline_descriptions(dataset: str, profiles: list[Any], guesses: list[Any]) -> Suggestion:
    return Suggestion(
        "descriptions",
        "descriptions",
        descriptions.offline(dataset, profiles, guesses),
        "written from each column's semantic type, PII and profile (no LLM)",
    )


def llm_columns(answer: Answer, profiles: list[Any]) -> dict[str, dict[str, Any]]:
    silver = normalise_names([p.name for p in profiles])
    return {
        c.name: {
            "name": c.name,
            "silver_name": silver.get(c.name, c.name),
            "semantic_type": c.semantic_type,
            "pii": c.pii,
            "suggested_name": c.suggested_name,
            "description": c.description,
            "cast": c.cast,
            "date_format": c.date_format,
        }
        for c in answer.columns
    }


def llm_suggestions(answer: Answer, profiles: list[Any], source: str) -> list[Suggestion]:
    silver = normalise_names([p.name for p in profiles])
    out: list[Suggestion] = []
    taken = set(silver.values())
    for c in answer.columns:
        column = silver.get(c.name)
        if column is None:
            continue
        why = f"{source}: {c.description}".strip()
        if c.suggested_name != column and c.suggested_name not in taken:
            taken.add(c.suggested_name)
            out.append(
                Suggestion("rename", column, {"column": column, "to": c.suggested_name}, why)
            )
        if c.cast and c.cast != "string":
            spec = CAST_SPECS[c.cast]
            if c.cast == "date" and c.date_format:
                spec = f"date:{c.date_format}"
            out.append(Suggestion("cast", column, {"column": column, "type": spec}, why))
    for spec in answer.rules:
        rule = _rule({**spec, **_renamed(spec, silver)})
        if rule is not None:
            out.append(Suggestion("rule", rule["name"], rule, f"suggested by {source}"))
    key = [silver[k] for k in answer.dedupe_key if k in silver]
    if key:
        out.append(Suggestion("key", "key", {"columns": key}, f"suggested by {source}"))
    described = descriptions.from_llm(
        answer.dataset_description,
        {c.name: c.description for c in answer.columns},
        profiles,
    )
    if described is not None:
        out.append(Suggestion("descriptions", "descriptions", described, f"written by {source}"))
    return out


def _renamed(spec: dict[str, Any], silver: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.get("column") in silver:
        out["column"] = silver[spec["column"]]
    if spec.get("columns"):
        out["columns"] = [silver.get(c, c) for c in spec["columns"]]
    if "name" in spec and out:
        out["name"] = ""  # named again from the Silver column
    return out


def _rule(spec: dict[str, Any]) -> dict[str, Any] | None:
    spec = {k: v for k, v in spec.items() if not (k == "name" and not v)}
    spec.setdefault("action", "warn")
    try:
        return parse_rules({"rules": [spec]}).rules[0].spec()
    except BadInputError:
        return None
