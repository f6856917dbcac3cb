"""Per-model tests, in the quality rule vocabulary (`flowforge.common.rules.Rule`), run over
a build's result before it is committed: a failing test whose action is `fail` (the default,
dbt's `severity: error`) fails the build and the table keeps its previous version; `warn`
records the failure and commits."""

from __future__ import annotations

from typing import Any

import duckdb

from flowforge.common.errors import BadInputError
from flowforge.common.lake import sql_string
from flowforge.common.models import quote_identifier as q
from flowforge.common.rules import Rule

SUPPORTED = ("not_null", "unique", "accepted_values", "range", "regex", "length",
             "referential", "sql", "row_count")  # fmt: skip


def parse_tests(raw: list[Any], reads: list[str]) -> list[dict[str, Any]]:
    """The tests of a model definition, checked (stored as their specs)."""
    out = []
    for entry in raw or []:
        if not isinstance(entry, dict):
            raise BadInputError(f"a model test is a rule (an object), not {entry!r}")
        try:
            rule = Rule.model_validate({"action": "fail", **entry})
        except ValueError as exc:
            raise BadInputError(f"model test {entry!r}: {exc}") from None
        if rule.type not in SUPPORTED:
            raise BadInputError(f"model test {rule.name!r}: a {rule.type} rule does not apply "
                                f"to a model (use {', '.join(SUPPORTED)})")  # fmt: skip
        if rule.action == "quarantine":
            raise BadInputError(f"model test {rule.name!r}: action is fail or warn")
        if rule.type == "referential":
            target = str(rule.to).partition(".")[0]
            if target not in reads:
                listed = ", ".join(reads) or "nothing"
                raise BadInputError(f"model test {rule.name!r}: {target!r} is not read by the "
                                    f"model (it reads {listed})")  # fmt: skip
        out.append(rule.spec())
    return out


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return sql_string(str(value))


def failing(rule: Rule, relation: str) -> str:
    """SQL counting the rows (or, for row_count, 1 when the count is out of bounds) that fail."""
    col = q(rule.column) if rule.column else ""
    where: str
    if rule.type == "not_null":
        where = f"{col} IS NULL"
    elif rule.type == "unique":
        cols = ", ".join(q(c) for c in (rule.columns or [rule.column or ""]))
        return (f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {relation} "
                f"GROUP BY {cols} HAVING count(*) > 1)")  # fmt: skip
    elif rule.type == "accepted_values":
        values = ", ".join(_literal(v) for v in rule.values or [])
        where = f"{col} IS NOT NULL AND {col} NOT IN ({values})"
    elif rule.type in ("range", "length"):
        value = f"length({col}::VARCHAR)" if rule.type == "length" else col
        low, high = (">=", "<=") if rule.inclusive or rule.type == "length" else (">", "<")
        parts = []
        if rule.min is not None:
            parts.append(f"NOT ({value} {low} {_literal(rule.min)})")
        if rule.max is not None:
            parts.append(f"NOT ({value} {high} {_literal(rule.max)})")
        where = f"{col} IS NOT NULL AND ({' OR '.join(parts) or 'false'})"
    elif rule.type == "regex":
        where = f"{col} IS NOT NULL AND NOT regexp_full_match({col}::VARCHAR, " \
                f"{sql_string(str(rule.pattern))})"  # fmt: skip
    elif rule.type == "referential":
        table, _, column = str(rule.to).partition(".")
        where = f"{col} IS NOT NULL AND {col} NOT IN (SELECT {q(column)} FROM {q(table)})"
    elif rule.type == "sql":
        where = f"NOT coalesce(({rule.expression}), false)"
    else:  # row_count
        bounds = []
        if rule.min is not None:
            bounds.append(f"count(*) < {_literal(rule.min)}")
        if rule.max is not None:
            bounds.append(f"count(*) > {_literal(rule.max)}")
        return f"SELECT CASE WHEN {' OR '.join(bounds) or 'false'} THEN 1 ELSE 0 END " \
               f"FROM {relation}"  # fmt: skip
    return f"SELECT count(*) FROM {relation} WHERE {where}"


def run_tests(
    con: duckdb.DuckDBPyConnection, model: str, specs: list[dict[str, Any]], relation: str
) -> list[dict[str, Any]]:
    """Each test's result ({name, type, column, status, failing, detail}); raises when a
    `fail` test fails, naming every failure."""
    results = []
    for spec in specs:
        rule = Rule.model_validate(spec)
        try:
            count = int(con.execute(failing(rule, relation)).fetchall()[0][0] or 0)
        except duckdb.Error as exc:
            text = str(exc).strip().splitlines()[0]
            results.append({"name": rule.name, "type": rule.type, "column": rule.target,
                            "status": "failed", "failing": None,
                            "detail": f"the test cannot run: {text}"})  # fmt: skip
            continue
        what = "the row count is out of bounds" if rule.type == "row_count" else (
            f"{count:,} row(s) fail it")  # fmt: skip
        status = "passed" if count == 0 else ("warned" if rule.action == "warn" else "failed")
        results.append({"name": rule.name, "type": rule.type, "column": rule.target,
                        "status": status, "failing": count,
                        "detail": "passed" if count == 0 else what})  # fmt: skip
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        listed = "; ".join(f"{r['name']}: {r['detail']}" for r in failed)
        raise BadInputError(f"gold model {model!r} failed its tests ({listed}); the table "
                            "keeps its previous version")  # fmt: skip
    return results
