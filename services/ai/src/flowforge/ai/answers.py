"""The answer a model must give: its schema (forced on the model by both providers) and its
validation against the dataset. What the model proposes is only ever a suggestion: unknown
columns or unusable names reject the answer; an unusable rule is dropped and listed."""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowforge.common.errors import BadInputError
from flowforge.common.lake import normalise_name
from flowforge.common.naming import normalise_names
from flowforge.common.rules import Rule, parse_rules

M = TypeVar("M", bound=BaseModel)
CASTS = ("string", "integer", "decimal", "float", "boolean", "date", "datetime")
TOOL_NAME = "record_column_analysis"


class SuggestedColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the column's current name, exactly as given")
    suggested_name: str = Field(description="a clear snake_case name")
    description: str = Field("", description="one sentence")
    semantic_type: str
    pii: bool = False
    cast: Literal["string", "integer", "decimal", "float", "boolean", "date", "datetime"] | None = (
        None
    )
    date_format: str | None = Field(None, description="strftime format, for date/datetime")


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[SuggestedColumn]
    dedupe_key: list[str] = Field(default_factory=list)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    dataset_description: str = Field(
        "", description="one or two sentences: what the dataset holds and what one row is"
    )


ANSWER_SCHEMA = Answer.model_json_schema()
THRESHOLD_FIELDS = ("action", "warn_if", "fail_if", "description", "name")


class InvalidAnswer(Exception):
    """The model's answer does not fit the schema or the dataset."""


def validate(
    raw: Any,
    columns: list[str],
    *,
    keyable: set[str] | None = None,
    masked: set[str] | None = None,
) -> tuple[Answer, list[str]]:
    """The answer, checked against the dataset: known columns, valid names and rules.
    Structural problems raise InvalidAnswer; a single unusable rule is dropped (listed).

    What the model proposes is only ever a suggestion, and a modest one: every rule is `warn`
    without thresholds (a person picks the action on accepting), a key only a column the
    profile shows complete and distinct (`keyable`), and no value-shaped rule (regex,
    accepted values) or date format for a column whose values it saw masked (`masked`)."""
    keyable = set(columns) if keyable is None else keyable
    masked = masked or set()
    answer = _parse_answer(raw)
    _check_columns(answer, columns)
    answer.dedupe_key = [k for k in answer.dedupe_key if k in keyable][:1]
    for column in answer.columns:
        if column.name in masked:
            column.date_format = None
            if column.cast in ("date", "datetime"):
                column.cast = None
    answer.rules, dropped = _vet_rules(answer.rules, columns, masked)
    return answer, dropped


def _parse_answer(raw: Any) -> Answer:
    return parse_forced(raw, Answer)


def parse_forced(raw: Any, model: type[M]) -> M:
    """A provider's forced answer (a tool call's input, or JSON text) as `model`; what does
    not fit is an InvalidAnswer naming the first field that does not."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InvalidAnswer(f"not JSON: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidAnswer(f"{where}: {first.get('msg')}") from exc


def _check_columns(answer: Answer, columns: list[str]) -> None:
    """Only the dataset's columns, each with a usable name (normalised in place)."""
    known = set(columns)
    unknown = [c.name for c in answer.columns if c.name not in known]
    if unknown:
        raise InvalidAnswer(f"columns not in the dataset: {unknown[:5]}")
    if not answer.columns:
        raise InvalidAnswer("no columns analysed")
    answer.dataset_description = answer.dataset_description.strip()[:1000]
    for column in answer.columns:
        name = normalise_name(column.suggested_name)
        if not name:
            raise InvalidAnswer(f"suggested name {column.suggested_name!r} is empty")
        column.suggested_name = name
        column.description = column.description.strip()[:500]
        column.semantic_type = normalise_name(column.semantic_type)[:40] or "unknown"


def _vet_rules(
    specs: list[dict[str, Any]], columns: list[str], masked: set[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The proposed rules that are usable here, as `warn` rules on Silver's column names;
    and why each other one was dropped."""
    kept, dropped = [], []
    silver = normalise_names(columns)  # rules speak of Silver's column names
    masked_silver = {silver[c] for c in masked if c in silver}
    for spec in specs:
        rule, problem = _vet_rule(spec, silver, masked_silver)
        if rule is None:
            dropped.append(problem)
        else:
            kept.append(rule.spec())
    return kept, dropped


def _vet_rule(
    spec: dict[str, Any], silver: dict[str, str], masked_silver: set[str]
) -> tuple[Rule | None, str]:
    spec = {k: v for k, v in dict(spec).items() if k not in THRESHOLD_FIELDS}
    spec["action"] = "warn"
    if isinstance(spec.get("column"), str) and spec["column"] in silver:
        spec["column"] = silver[spec["column"]]
    if isinstance(spec.get("columns"), list):
        spec["columns"] = [silver.get(c, c) for c in spec["columns"]]
    try:
        rule = parse_rules({"rules": [spec]}).rules[0]
    except (BadInputError, TypeError, ValueError) as exc:
        return None, f"{spec.get('type')} on {spec.get('column')}: {exc}"
    targets = rule.columns or ([rule.column] if rule.column else [])
    if rule.type in ("sql", "referential", "freshness", "row_count") or any(
        t not in set(silver.values()) for t in targets
    ):
        return None, f"{rule.type} on {rule.target}: not a column rule this dataset has"
    if rule.type in ("regex", "accepted_values", "format") and set(targets) & masked_silver:
        return None, f"{rule.type} on {rule.target}: drawn from masked values"
    return rule, ""
