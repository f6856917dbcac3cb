"""Data-quality rules: the one definition of a rule, its thresholds, and the YAML file format.

The gateway validates and stores rules (it owns configuration); quality evaluates them. A
rule applies to one dataset's Silver batch:

- row rules (`not_null`, `unique`, `accepted_values`, `range`, `regex`, `length`, `format`,
  `referential`, `sql`) mark each row as passing or failing;
- batch rules (`freshness`, `row_count`) judge the batch as a whole.

`action` says what a failing row does: `warn` only records it, `quarantine` takes it out of
the valid view, `fail` quarantines it and fails the batch (Gold is not built from it).
`warn_if` / `fail_if` (dbt's `warn_if` / `error_if`) are thresholds on the failing rows, as a
count (`> 10`) or a share of the batch (`> 1%`); with them, a rule passes, warns or fails by
how many rows fail rather than at the first one.

Nulls pass every value rule (`accepted_values`, `range`, `regex`, `length`, `format`,
`referential`, `sql`): `not_null` is the rule that catches them, as in dbt and Soda.
"""

from __future__ import annotations

import functools
import re
import threading
from datetime import date, datetime, timedelta
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flowforge.common.errors import BadInputError
from flowforge.common.memory import DUCKDB_CONFIG

RuleType = Literal[
    "not_null",
    "unique",
    "accepted_values",
    "range",
    "regex",
    "length",
    "format",
    "freshness",
    "row_count",
    "referential",
    "sql",
]
Action = Literal["warn", "quarantine", "fail"]
BATCH_RULES = frozenset({"freshness", "row_count"})
ROW_RULES = frozenset(RuleType.__args__) - BATCH_RULES  # type: ignore[attr-defined]

# `format` names and the pattern each value must match in full (Rust regex syntax, as Polars).
FORMATS: dict[str, str] = {
    "email": r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+",
    "url": r"(?i)https?://[^\s/$.?#][^\s]*",
    "uuid": r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "ipv4": r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)",
    "ipv6": r"(?i)(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){0,6}(?::[0-9a-f]{1,4}){0,6}"
    r"|::",
    "phone": r"\+?[0-9][0-9 ().-]{5,}[0-9]",
    "country_code": r"[A-Z]{2}",
    "currency_code": r"[A-Z]{3}",
    "postal_code_us": r"[0-9]{5}(?:-[0-9]{4})?",
    "integer": r"[+-]?[0-9]+",
    "number": r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",  # ISO; give `date_format` for another layout
    "datetime": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
}

_THRESHOLD = re.compile(r"^\s*(>=|>)?\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*$")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RULE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,120}$")


class Threshold(BaseModel):
    """`> 10` (more than 10 rows fail) or `>= 1.5%` (at least 1.5 % of the batch fails)."""

    model_config = ConfigDict(frozen=True)

    op: Literal[">", ">="] = ">"
    value: float
    percent: bool = False

    @classmethod
    def parse(cls, raw: Any) -> Threshold:
        if isinstance(raw, Threshold):
            return raw
        if isinstance(raw, dict):
            return cls.model_validate(raw)
        match = _THRESHOLD.match(str(raw))
        if not match:
            raise ValueError(
                f"threshold {raw!r} is not understood: write a count or a percentage, "
                "like '> 10' or '> 1%'"
            )
        op, value, percent = match.groups()
        return cls(op=op or ">", value=float(value), percent=bool(percent))

    def exceeded(self, failed: int, total: int) -> bool:
        amount = (100.0 * failed / total if total else 0.0) if self.percent else float(failed)
        return amount >= self.value if self.op == ">=" else amount > self.value

    def __str__(self) -> str:
        value = f"{self.value:g}"
        return f"{self.op} {value}{'%' if self.percent else ''}"


def parse_duration(raw: str) -> timedelta:
    match = _DURATION.match(str(raw))
    if not match:
        raise ValueError(
            f"duration {raw!r} is not understood: write a number and a unit, "
            "like '30m', '24h' or '7d'"
        )
    amount, unit = match.groups()
    return timedelta(seconds=float(amount) * _DURATION_UNITS[unit])


class Rule(BaseModel):
    """One rule on one dataset. Only the fields its `type` uses may be set."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    type: RuleType
    description: str = ""
    column: str | None = None
    columns: list[str] | None = None  # unique over several columns
    values: list[Any] | None = None  # accepted_values
    min: int | float | str | None = None  # range (number or ISO date), length, row_count
    max: int | float | str | None = None
    inclusive: bool = True  # range: whether min and max themselves are allowed
    pattern: str | None = None  # regex (matched in full)
    format: str | None = None  # format: a FORMATS name
    date_format: str | None = None  # format date/datetime: a strftime layout, like %d/%m/%Y
    max_age: str | None = None  # freshness: '24h', '7d'
    max_change_pct: float | None = None  # row_count: change versus the previous batch, in %
    to: str | None = None  # referential: 'dataset.column'
    expression: str | None = None  # sql: a DuckDB boolean expression a valid row satisfies
    action: Action | None = None
    warn_if: Threshold | None = None
    fail_if: Threshold | None = None

    @field_validator("warn_if", "fail_if", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> Any:
        return None if value is None else Threshold.parse(value)

    @field_validator("min", "max", mode="before")
    @classmethod
    def _iso_bound(cls, value: Any) -> Any:
        # YAML reads `min: 2024-01-01` as a date: keep it as the ISO text the docs show.
        if isinstance(value, date | datetime):
            return value.isoformat()
        return value

    @field_validator("values")
    @classmethod
    def _scalar_values(cls, values: list[Any] | None) -> list[Any] | None:
        if values is not None:
            for value in values:
                if isinstance(value, list | dict):
                    raise ValueError(f"accepted values are single values, not {value!r}")
        return values

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Rule:
        _check_fields(self)
        _check_settings(self, engines=(info.context or {}).get("engines", True))
        if self.type in BATCH_RULES and self.action == "quarantine":
            raise ValueError(
                f"a {self.type} rule judges the batch, not rows: action is warn or fail"
            )
        if self.type in BATCH_RULES and (self.warn_if or self.fail_if):
            raise ValueError(f"a {self.type} rule judges the batch: warn_if/fail_if do not apply")
        if not self.name:
            self.name = default_name(self)
        if not _RULE_NAME.match(self.name):
            raise ValueError(
                f"rule name {self.name!r}: use letters, digits and _ . : - (at most 120)"
            )
        return self

    @property
    def effective_action(self) -> Action:
        """The action when none is given: quarantine for row rules, fail for batch rules."""
        return self.action or ("fail" if self.type in BATCH_RULES else "quarantine")

    @property
    def is_row_rule(self) -> bool:
        return self.type in ROW_RULES

    @property
    def target(self) -> str | None:
        """The column(s) the rule is about, for reports."""
        if self.columns:
            return ", ".join(self.columns)
        return self.column

    def status_for(self, failed: int, total: int) -> Literal["passed", "warned", "failed"]:
        """The rule's status when `failed` of `total` rows failed it (batch rules: 1 of 1)."""
        if failed == 0:
            return "passed"
        if self.fail_if is not None and self.fail_if.exceeded(failed, total):
            return "failed"
        if self.fail_if is None and self.effective_action == "fail":
            return "failed"
        if self.warn_if is not None:
            return "warned" if self.warn_if.exceeded(failed, total) else "passed"
        return "warned"

    def spec(self) -> dict[str, Any]:
        """The rule as written in YAML/JSON: only the fields that are set."""
        out = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        out["name"], out["type"] = self.name, self.type
        if self.type == "range" and not self.inclusive:
            out["inclusive"] = False
        for field in ("warn_if", "fail_if"):
            threshold = getattr(self, field)
            if threshold is not None:
                out[field] = str(threshold)
        order = ["name", "type", "column", "columns"]
        return {k: out[k] for k in order if k in out} | {
            k: v for k, v in out.items() if k not in order
        }


# The fields each rule type reads; setting any other (but the common ones) is a mistake.
_USED = {
    "not_null": {"column"},
    "unique": {"column", "columns"},
    "accepted_values": {"column", "values"},
    "range": {"column", "min", "max", "inclusive"},
    "regex": {"column", "pattern"},
    "length": {"column", "min", "max"},
    "format": {"column", "format", "date_format"},
    "freshness": {"column", "max_age"},
    "row_count": {"min", "max", "max_change_pct"},
    "referential": {"column", "to"},
    "sql": {"expression", "column"},
}
_COMMON = {"name", "type", "description", "action", "warn_if", "fail_if", "inclusive"}


def _check_fields(rule: Rule) -> None:
    """Only the fields the rule's type reads, and the column(s) it needs."""
    kind, used = rule.type, _USED[rule.type]
    stray = [
        f
        for f in type(rule).model_fields
        if f not in used | _COMMON and getattr(rule, f) is not None
    ]
    if stray:
        raise ValueError(f"a {kind} rule does not take {', '.join(stray)}")
    if kind == "unique":
        if bool(rule.column) == bool(rule.columns):
            raise ValueError("a unique rule needs `column` or `columns` (not both)")
    elif "column" in used and kind != "sql" and not rule.column:
        raise ValueError(f"a {kind} rule needs `column`")


def _check_settings(rule: Rule, *, engines: bool = True) -> None:
    """The settings of the rule's type: present and well-formed (with `engines`, a pattern
    and an expression also as the engines that run them see them)."""
    kind = rule.type
    if kind == "accepted_values" and not rule.values:
        raise ValueError("an accepted_values rule needs a non-empty `values` list")
    if kind in ("range", "length", "row_count"):
        _check_bounds(rule)
    if kind == "regex":
        if not rule.pattern:
            raise ValueError("a regex rule needs `pattern`")
        if engines:
            _check_pattern(rule.pattern)
    if kind == "format":
        if rule.format not in FORMATS:
            raise ValueError(f"format {rule.format!r} is not one of: {', '.join(sorted(FORMATS))}")
        if rule.date_format and rule.format not in ("date", "datetime"):
            raise ValueError("`date_format` goes with format date or datetime")
    if kind == "freshness":
        if not rule.max_age:
            raise ValueError("a freshness rule needs `max_age`, like '24h'")
        parse_duration(rule.max_age)
    if kind == "referential" and (not rule.to or "." not in rule.to):
        raise ValueError("a referential rule needs `to: <dataset>.<column>`")
    if kind == "sql":
        if not rule.expression or not rule.expression.strip():
            raise ValueError("an sql rule needs `expression`, a boolean SQL expression")
        _check_expression(rule.expression, engines=engines)


def _check_bounds(rule: Rule) -> None:
    kind = rule.type
    if rule.min is None and rule.max is None:
        if kind != "row_count" or rule.max_change_pct is None:
            raise ValueError(f"a {kind} rule needs `min` and/or `max`")
    if kind in ("length", "row_count"):
        for bound in (rule.min, rule.max):
            if bound is not None and not isinstance(bound, int | float):
                raise ValueError(f"a {kind} rule's min/max are numbers")


def default_name(rule: Rule) -> str:
    target = "_".join(rule.columns) if rule.columns else rule.column
    return f"{rule.type}_{target}" if target else rule.type


def _check_pattern(pattern: str) -> None:
    """Checked by the engine that runs it (Polars' Rust regex: no look-around or
    back-references, but \\p{L} and the like)."""
    import polars as pl

    try:
        pl.Series([""]).str.contains(f"^(?:{pattern})$")
    except pl.exceptions.PolarsError as exc:
        problem = str(exc).strip().splitlines()
        detail = next(
            (p.strip().removeprefix("error: ") for p in problem if p.startswith("error:")),
            problem[0] if problem else "",
        )
        raise ValueError(f"pattern {pattern!r} is not a valid regex here: {detail}") from exc


def _check_expression(expression: str, *, engines: bool = True) -> None:
    """One SQL expression, no statement separators or comments that could end it early."""
    text = expression.strip()
    if ";" in _strip_strings(text) or "--" in _strip_strings(text) or "/*" in text:
        raise ValueError("an sql rule's expression is one expression: no ';' or comments")
    depth = 0
    for ch in _strip_strings(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            raise ValueError("an sql rule's expression has an unbalanced ')'")
    if depth:
        raise ValueError("an sql rule's expression has an unbalanced '('")
    problem = _parse_problem(text) if engines else ""
    if problem:
        raise ValueError(problem)


@functools.lru_cache(maxsize=4096)
def _parse_problem(text: str) -> str:
    """Why `text` is not one DuckDB expression ("" when it is). Remembered: a stored rule is
    checked again each time it is read (each batch), and a new DuckDB database per check
    cost ~40 ms."""
    import duckdb

    with _PARSER_LOCK:
        global _parser
        if _parser is None:
            _parser = duckdb.connect(config=DUCKDB_CONFIG)
        try:
            statements = _parser.extract_statements(f"SELECT ({text}) AS ok FROM batch")
        except duckdb.Error as exc:
            return f"the expression does not parse as DuckDB SQL: {exc}"
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        return "an sql rule's expression is one boolean expression"
    return ""


_PARSER_LOCK = threading.Lock()
_parser = None  # one in-memory DuckDB database, for parsing only


def _strip_strings(text: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", text)


class RuleSet(BaseModel):
    """A dataset's rules, as stored and as exchanged (JSON body or YAML file)."""

    dataset: str = ""
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(
                    f"two rules are named {rule.name!r}: give one of them another `name`"
                )
            seen.add(rule.name)
        return self


def parse_rules(data: Any, *, dataset: str = "", engines: bool = True) -> RuleSet:
    """Rules from parsed JSON/YAML, in either of two shapes:

    a flat list (`rules: [{type: not_null, column: id}, ...]`), or grouped by column the way
    dbt's schema files are (`columns: {id: [not_null, unique], status: [{accepted_values:
    {values: [a, b]}}]}`), or both. A bad rule is a BadInputError naming it.

    `engines=False` leaves out the checks that need the engines themselves (a regex compiled
    by Polars, an sql expression parsed by DuckDB): for a process that only relays rules to
    quality, which parses them again in full and whose refusal reaches the client as this
    one would. The gateway so never loads Polars or DuckDB for rules (~80 MiB).
    """
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict):
        raise BadInputError("rules must be a mapping with `rules:` (and/or `columns:`) or a list")
    unknown = set(data) - {"dataset", "rules", "columns", "version"}
    if unknown:
        raise BadInputError(f"unknown top-level key(s) in rules: {', '.join(sorted(unknown))}")
    raw: list[tuple[str, Any]] = []
    for i, item in enumerate(data.get("rules") or []):
        raw.append((f"rules[{i}]", _shorthand(item, None)))
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise BadInputError("`columns:` maps a column name to its list of rules")
    for column, items in columns.items():
        if not isinstance(items, list):
            raise BadInputError(f"columns.{column}: a list of rules")
        for i, item in enumerate(items):
            raw.append((f"columns.{column}[{i}]", _shorthand(item, str(column))))
    rules = []
    for where, spec in raw:
        try:
            rules.append(Rule.model_validate(spec, context={"engines": engines}))
        except ValidationError as exc:
            raise BadInputError(f"{where}: {_first_error(exc)}") from exc
        except ValueError as exc:
            raise BadInputError(f"{where}: {exc}") from exc
    try:
        return RuleSet.model_validate(  # its rules' checks run again: with the same context
            {"dataset": str(data.get("dataset") or dataset), "rules": rules},
            context={"engines": engines},
        )
    except ValidationError as exc:
        raise BadInputError(_first_error(exc)) from exc


def _shorthand(item: Any, column: str | None) -> Any:
    """`not_null` or `{accepted_values: {values: [...]}}` → a full rule mapping."""
    if isinstance(item, str):
        spec: dict[str, Any] = {"type": item}
    elif isinstance(item, dict) and "type" not in item and len(item) == 1:
        ((kind, params),) = item.items()
        if params is not None and not isinstance(params, dict):
            raise BadInputError(f"{kind}: its settings are a mapping, got {params!r}")
        spec = {"type": kind, **(params or {})}
    elif isinstance(item, dict):
        spec = dict(item)
    else:
        raise BadInputError(f"a rule is a mapping or a rule type name, got {item!r}")
    if "error_if" in spec:  # dbt's spelling
        spec["fail_if"] = spec.pop("error_if")
    if "severity" in spec and "action" not in spec:  # dbt: severity error|warn
        severity = str(spec.pop("severity")).lower()
        spec["action"] = {"error": "fail", "warn": "warn"}.get(severity, severity)
    if column is not None and spec.get("type") != "row_count":
        spec.setdefault("column", column)
    return spec


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "__root__")
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def load_yaml(text: str, *, dataset: str = "", engines: bool = True) -> RuleSet:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInputError(f"rules file is not valid YAML{where}: {problem}") from exc
    if data is None:
        return RuleSet(dataset=dataset, rules=[])
    return parse_rules(data, dataset=dataset, engines=engines)


def dump_yaml(rules: RuleSet) -> str:
    body = {"version": 1, "dataset": rules.dataset, "rules": [r.spec() for r in rules.rules]}
    header = (
        "# FlowForge data-quality rules (docs/quality.md). Import with\n"
        f"#   curl -X PUT --data-binary @{rules.dataset or 'dataset'}.rules.yaml \\\n"
        f"#     -H 'content-type: application/yaml' "
        f"$URL/api/v1/datasets/{rules.dataset or '<name>'}/rules.yaml\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


__all__ = [
    "BATCH_RULES",
    "FORMATS",
    "ROW_RULES",
    "Rule",
    "RuleSet",
    "Threshold",
    "dump_yaml",
    "load_yaml",
    "parse_duration",
    "parse_rules",
]
