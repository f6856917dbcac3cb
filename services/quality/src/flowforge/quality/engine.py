"""The rule engine: every rule of a dataset on one Silver batch. Pure: frames in, results out.

All row rules are Polars expressions evaluated in one `select` over the batch (one
vectorised pass, run in parallel by Polars); `sql` rules are DuckDB expressions evaluated in
one more query over the same Arrow data. Each rule yields a failing-row mask; rows failing a
`quarantine` or `fail` rule are written to the quarantine frame with the rule, the column,
the value and the row's lineage. Released rows (a person's decision, recorded per row and
rule) count as passing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pyarrow as pa

from flowforge.common.events import CheckResult
from flowforge.common.rules import FORMATS, Rule, parse_duration
from flowforge.quality.structural import QUARANTINE_SCHEMA, check_batch, verdict_of

EXAMPLES = 5
SQL_SECONDS = 120  # the longest one sql rule may run on one batch


@dataclass
class Reference:
    """The values a referential rule checks against (None: they could not be read, and why)."""

    values: pl.Series | None
    problem: str = ""


@dataclass
class Evaluation:
    verdict: str
    checks: list[CheckResult]
    quarantine: pl.DataFrame
    rows: int
    seconds: float
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def quarantined(self) -> int:
        if not self.quarantine.height:
            return 0
        return self.quarantine.select(pl.col("_source_line")).n_unique()


class RuleError(Exception):
    """A rule that cannot be evaluated on this batch (a missing column, a bad pattern...)."""


def follow_renames(rules: list[Rule], renames: dict[str, str], available: list[str]) -> list[Rule]:
    """Rules written before a column was renamed (the dataset's Silver spec) follow it to its
    new name in batches that have the new name and not the old one."""
    if not renames:
        return rules
    present = set(available)

    def moved(name: str | None) -> str | None:
        new = renames.get(name or "")
        return new if name not in present and new in present else name

    out = []
    for rule in rules:
        update: dict = {}
        if rule.column and moved(rule.column) != rule.column:
            update["column"] = moved(rule.column)
        if rule.columns and [moved(c) for c in rule.columns] != rule.columns:
            update["columns"] = [moved(c) for c in rule.columns]
        out.append(rule.model_copy(update=update) if update else rule)
    return out


def columns_needed(rules: list[Rule], key: list[str], available: list[str]) -> list[str]:
    """The Silver columns the rules read (an sql rule: every column its expression names)."""
    wanted = {"_run_id", "_source_file", "_source_line", *key}
    for rule in rules:
        wanted.update(rule.columns or [])
        if rule.column:
            wanted.add(rule.column)
        if rule.type == "sql" and rule.expression:
            wanted.update(_named(rule.expression, available))
    return [c for c in available if c in wanted]


def _named(expression: str, available: list[str]) -> set[str]:
    """Columns an expression may name: its bare words and "quoted" identifiers that are
    columns (a word inside a string literal may be included too: harmless, one more column)."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression)}
    quoted = {q.replace('""', '"') for q in re.findall(r'"((?:[^"]|"")*)"', expression)}
    return {c for c in available if c.lower() in words or c in quoted}


def evaluate(
    silver: pl.DataFrame,
    rules: list[Rule],
    *,
    key: list[str],
    references: dict[str, Reference] | None = None,
    previous_rows: int | None = None,
    released: pl.DataFrame | None = None,
    now: datetime | None = None,
    empty_ok: bool = False,
) -> Evaluation:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    total = silver.height
    row_rules = [r for r in rules if r.is_row_rule]
    flags, counts, problems = _row_flags(silver, row_rules, references or {}, released)
    structural = check_batch(
        silver, key, _key_repeats(row_rules, key, counts, released), empty_ok=empty_ok
    )
    checks = list(structural.checks)
    parts = [structural.quarantine] if structural.quarantine.height else []
    examples: dict[str, list[str]] = {}
    for rule in rules:
        if rule.name in problems:
            checks.append(_unevaluated(rule, problems[rule.name], total))
        elif not rule.is_row_rule:
            checks.append(_batch_rule(silver, rule, previous_rows, now))
        else:
            failed = int(counts.get(rule.name) or 0)
            checks.append(_row_result(rule, failed, total))
            if failed:
                entries = _entries(_failed_rows(silver, rule, flags), rule)
                examples[rule.name] = (
                    entries.get_column("value")
                    .drop_nulls()
                    .unique(maintain_order=True)
                    .head(EXAMPLES)
                    .to_list()
                )
                if rule.effective_action in ("quarantine", "fail"):
                    parts.append(entries)
    quarantine = (
        pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    return Evaluation(
        verdict=verdict_of(checks),
        checks=checks,
        quarantine=quarantine,
        rows=total,
        seconds=time.perf_counter() - started,
        examples=examples,
    )


def _row_flags(
    silver: pl.DataFrame,
    row_rules: list[Rule],
    references: dict[str, Reference],
    released: pl.DataFrame | None,
) -> tuple[pl.DataFrame, dict[str, int], dict[str, str]]:
    """Each row rule's failing-row flags (a column per rule), its count of failing rows, and
    the rules that could not be evaluated with the reason."""
    masks: dict[str, pl.Expr] = {}
    problems: dict[str, str] = {}
    for rule in row_rules:
        try:
            masks[rule.name] = _without_released(_failing(silver, rule, references), rule, released)
        except RuleError as exc:
            problems[rule.name] = str(exc)
    flags = _flags(silver, masks, problems)
    counts = (
        flags.select(pl.col(name).fill_null(False).sum() for name in flags.columns).row(
            0, named=True
        )
        if masks and silver.height
        else dict.fromkeys(masks, 0)
    )
    return flags, counts, problems


def _row_result(rule: Rule, failed: int, total: int) -> CheckResult:
    detail = ""
    if failed:
        share = 100.0 * failed / total if total else 0.0
        detail = f"{failed} of {total} rows ({share:.2f}%) fail"
        if rule.effective_action in ("quarantine", "fail"):
            detail += ", quarantined"
    return CheckResult(
        name=rule.name,
        status=rule.status_for(failed, total),
        failed_rows=failed,
        detail=detail,
        rule_type=rule.type,
        column=rule.target,
        action=rule.effective_action,
        total_rows=total,
    )


def _failed_rows(silver: pl.DataFrame, rule: Rule, flags: pl.DataFrame) -> pl.DataFrame:
    """The rows failing a rule: their lineage and the rule's own columns."""
    mask = flags.get_column(rule.name).fill_null(False)
    return silver.select(_narrow(silver, rule)).filter(mask)


def _narrow(silver: pl.DataFrame, rule: Rule) -> list[str]:
    targets = rule.columns or ([rule.column] if rule.column else [])
    lineage = ["_run_id", "_source_file", "_source_line"]
    return [*lineage, *(c for c in targets if c in silver.columns and c not in lineage)]


def _key_repeats(
    rules: list[Rule], key: list[str], counts: dict[str, int], released: pl.DataFrame | None
) -> int | None:
    """0 when a `unique` rule over exactly the key found no repeat (and no release altered
    its count): the structural check need not sort the key again."""
    if not key or (released is not None and released.height):
        return None
    for rule in rules:
        if rule.type == "unique" and sorted(rule.columns or [rule.column]) == sorted(key):
            if rule.name in counts and not counts[rule.name]:
                return 0  # no key repeats (the count itself differs: it counts every copy)
    return None


def _flags(silver: pl.DataFrame, masks: dict[str, pl.Expr], problems: dict[str, str]):
    """Every mask in one `select` (one pass); if that fails, mask by mask, so one rule that
    breaks at run time (a cast Polars refuses, say) is reported, not the whole batch lost."""
    if not masks:
        return pl.DataFrame()
    try:
        return silver.select(mask.alias(name) for name, mask in masks.items())
    except pl.exceptions.PolarsError:
        pass
    columns = []
    for name, mask in list(masks.items()):
        try:
            columns.append(silver.select(mask.alias(name)).to_series())
        except pl.exceptions.PolarsError as exc:
            problems[name] = _first_line(exc)
            del masks[name]
    return pl.DataFrame(columns) if columns else pl.DataFrame()


# ------------------------------------------------------------------------------- row rules


def _column(silver: pl.DataFrame, name: str | None) -> pl.DataType:
    if name is None or name not in silver.columns:
        raise RuleError(f"column {name!r} is not in this batch")
    return silver.schema[name]


def _failing(silver: pl.DataFrame, rule: Rule, references: dict[str, Reference]) -> pl.Expr:
    """A boolean expression, true where the row fails the rule."""
    kind = rule.type
    if kind == "sql":
        return _sql_failing(silver, rule)
    if kind == "unique":
        return _repeated(silver, rule.columns or [rule.column])
    dtype = _column(silver, rule.column)
    col = pl.col(rule.column)
    if kind == "not_null":
        return col.is_null()
    present = col.is_not_null()
    if kind == "accepted_values":
        return present & ~_is_in(col, dtype, list(rule.values or []))
    if kind == "range":
        return present & _out_of_range(col, dtype, rule)
    if kind == "length":
        return present & _outside_length(_text(col, dtype).str.len_chars(), rule)
    if kind == "regex":
        _check_pattern(rule.pattern or "")
        return present & ~_text(col, dtype).str.contains(f"^(?:{rule.pattern})$")
    if kind == "format":
        return present & ~_has_format(col, dtype, rule)
    if kind == "referential":
        ref = references.get(rule.to or "")
        if ref is None or ref.values is None:
            raise RuleError(ref.problem if ref else f"the values of {rule.to} could not be read")
        return present & ~_is_in(col, dtype, ref.values)
    raise RuleError(f"{kind} is not a row rule")


def _repeated(silver: pl.DataFrame, names: list[str | None]) -> pl.Expr:
    """Rows whose value (or combination of values) occurs more than once, nulls aside."""
    for name in names:
        _column(silver, name)
    cols = [pl.col(n) for n in names]
    present = pl.all_horizontal(c.is_not_null() for c in cols)
    repeated = (cols[0] if len(cols) == 1 else pl.struct(cols)).is_duplicated()
    return present & repeated


def _outside_length(length: pl.Expr, rule: Rule) -> pl.Expr:
    outside = pl.lit(False)
    if rule.min is not None:
        outside = outside | (length < int(rule.min))
    if rule.max is not None:
        outside = outside | (length > int(rule.max))
    return outside


def _text(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return col if dtype == pl.String else col.cast(pl.String)


def _is_in(col: pl.Expr, dtype: pl.DataType, values: list[Any] | pl.Series) -> pl.Expr:
    """Membership with the values in the column's type; as text when they do not convert."""
    series = values if isinstance(values, pl.Series) else pl.Series(values, strict=False)
    if series.dtype == dtype:
        return col.is_in(series.implode())
    if dtype == pl.Boolean:
        truth = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
                 "t": True, "f": False, "1": True, "0": False}  # fmt: skip
        wanted = {truth.get(str(v).strip().lower()) for v in series.to_list()} - {None}
        return col.is_in(pl.Series(sorted(wanted), dtype=pl.Boolean).implode())
    if dtype != pl.String and series.dtype != pl.Null:
        try:
            typed = series.cast(dtype, strict=True)
            # Only a lossless conversion (1.5 must not become 1 for an integer column).
            if typed.cast(series.dtype, strict=False).equals(series, check_names=False):
                return col.is_in(typed.implode())
            return col.cast(series.dtype, strict=False).is_in(series.implode())
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
            pass
    return _text(col, dtype).is_in(series.cast(pl.String).implode())


def _bound(value: Any, dtype: pl.DataType) -> Any:
    """A range bound in the column's type: numbers for numeric columns, dates for dates."""
    try:
        if dtype.is_integer() and isinstance(value, int):
            return value
        if dtype.is_numeric():
            return float(value)
        if dtype == pl.Date:
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if isinstance(dtype, pl.Datetime):
            moment = datetime.fromisoformat(str(value))
            if dtype.time_zone and moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            if not dtype.time_zone and moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return moment
    except (TypeError, ValueError) as exc:
        raise RuleError(f"bound {value!r} does not fit a {dtype} column") from exc
    return str(value)


def _out_of_range(col: pl.Expr, dtype: pl.DataType, rule: Rule) -> pl.Expr:
    numeric_bounds = all(isinstance(b, int | float) for b in (rule.min, rule.max) if b is not None)
    if dtype == pl.String and numeric_bounds:
        # Silver keeps a numeric column as text when some values are not numbers: compare the
        # numbers as numbers, and a value that is not one is out of range.
        number = col.str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)
        return number.is_null() | _out_of_range(number, pl.Float64, rule)
    if dtype.is_integer() and numeric_bounds:
        pass  # integers compare exactly with integer bounds (no float rounding past 2^53)
    elif dtype.is_numeric():
        col = col.cast(pl.Float64)
    elif dtype not in (pl.Date, pl.String) and not isinstance(dtype, pl.Datetime):
        raise RuleError(f"a range does not apply to a {dtype} column")
    outside = pl.lit(False)
    if rule.min is not None:
        low = pl.lit(_bound(rule.min, dtype))
        outside = outside | ((col < low) if rule.inclusive else (col <= low))
    if rule.max is not None:
        high = pl.lit(_bound(rule.max, dtype))
        outside = outside | ((col > high) if rule.inclusive else (col >= high))
    return outside


def _has_format(col: pl.Expr, dtype: pl.DataType, rule: Rule) -> pl.Expr:
    name = rule.format or ""
    if name == "date" and dtype == pl.Date or name == "datetime" and isinstance(dtype, pl.Datetime):
        return pl.lit(True)  # Silver already typed every value as one
    text = _text(col, dtype)
    if name in ("date", "datetime") and rule.date_format:
        parse = (
            text.str.to_date(rule.date_format, strict=False)
            if name == "date"
            else text.str.to_datetime(rule.date_format, strict=False)
        )
        return parse.is_not_null()
    return text.str.contains(f"^(?:{FORMATS[name]})$")


def _check_pattern(pattern: str) -> None:
    try:
        pl.Series([""]).str.contains(f"^(?:{pattern})$")
    except pl.exceptions.ComputeError as exc:
        raise RuleError(f"pattern {pattern!r} is not supported: {exc}") from exc


def _sql_failing(silver: pl.DataFrame, rule: Rule) -> pl.Expr:
    """Rows whose expression is false (null passes), found by DuckDB over the batch's Arrow
    data in a sandboxed connection; returned as a membership test on the row's line."""
    named = _named(rule.expression or "", silver.columns)
    batch = silver.select(["_source_line", *(c for c in silver.columns if c in named)])
    lines = sql_failing_lines(rule, lambda con: con.register("batch", batch.to_arrow()))
    return pl.col("_source_line").is_in(lines.implode())


def sql_failing_lines(rule: Rule, bind: Callable[[Any], object]) -> pl.Series:
    """The sorted `_source_line`s where a sql rule's expression is false (null passes), in a
    sandboxed DuckDB connection on which `bind(con)` makes the relation `batch` (it reads no
    file itself); a failing or endless expression is a `RuleError`."""
    import duckdb

    from flowforge.common.models import warm_sandboxed

    con = warm_sandboxed([], memory_limit="1GB")  # reads no file: `bind` gives the rows
    # An expression can be made to run for ever (a huge range() subquery): cut it off.
    timer = threading.Timer(SQL_SECONDS, con.interrupt)
    timer.start()
    try:
        bind(con)
        found = con.sql(
            "SELECT _source_line FROM batch"
            f" WHERE NOT coalesce(CAST(({rule.expression}) AS BOOLEAN), true)"
        ).arrow()
        table = found.read_all() if isinstance(found, pa.RecordBatchReader) else found
    except duckdb.Error as exc:
        if not timer.is_alive():
            raise RuleError(f"expression {rule.expression!r} ran past {SQL_SECONDS}s") from exc
        raise RuleError(f"expression {rule.expression!r} failed: {_first_line(exc)}") from exc
    finally:
        timer.cancel()
        con.close()
    return pl.from_arrow(table).get_column("_source_line").cast(pl.Int64).sort()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _without_released(mask: pl.Expr, rule: Rule, released: pl.DataFrame | None) -> pl.Expr:
    if released is None or not released.height:
        return mask
    lines = released.filter(pl.col("rule").is_in([rule.name, "*"])).get_column("_source_line")
    if not lines.len():
        return mask
    return mask & ~pl.col("_source_line").is_in(lines.implode())


def _value(rule: Rule, columns: list[str]) -> pl.Expr:
    """A failing row's value as text: the rule's column, or its columns joined by ", "."""
    names = rule.columns or ([rule.column] if rule.column else [])
    names = [n for n in names if n in columns]
    if not names:
        return pl.lit(None, dtype=pl.String)
    if len(names) == 1:
        return pl.col(names[0]).cast(pl.String)
    return pl.concat_str([pl.col(n).cast(pl.String).fill_null("") for n in names], separator=", ")


def entry_columns(rule: Rule, columns: list[str]) -> list[pl.Expr]:
    """A quarantine entry (`QUARANTINE_SCHEMA`) of a row failing `rule`, over rows with these
    `columns` (a frame's or a lazy scan's)."""
    return [
        pl.col("_run_id").cast(pl.String),
        pl.col("_source_file").cast(pl.String),
        pl.col("_source_line").cast(pl.Int64),
        pl.lit(rule.name, dtype=pl.String).alias("rule"),
        pl.lit(rule.target, dtype=pl.String).alias("column"),
        _value(rule, columns).alias("value"),
        pl.lit(_reason(rule), dtype=pl.String).alias("reason"),
    ]


def _entries(rows: pl.DataFrame, rule: Rule) -> pl.DataFrame:
    return rows.select(entry_columns(rule, rows.columns))


def _reason(rule: Rule) -> str:
    match rule.type:
        case "not_null":
            return f"{rule.column} is null"
        case "unique":
            return f"{rule.target} repeats in this batch"
        case "accepted_values":
            shown = ", ".join(map(str, (rule.values or [])[:10]))
            return f"{rule.column} is not one of: {shown}"
        case "range":
            low = "[" if rule.inclusive else "("
            high = "]" if rule.inclusive else ")"
            lo = "" if rule.min is None else rule.min
            hi = "" if rule.max is None else rule.max
            return f"{rule.column} is outside {low}{lo}, {hi}{high}"
        case "length":
            return f"length of {rule.column} is outside [{rule.min or 0}, {rule.max or ''}]"
        case "regex":
            return f"{rule.column} does not match {rule.pattern}"
        case "format":
            layout = f" ({rule.date_format})" if rule.date_format else ""
            return f"{rule.column} is not a valid {rule.format}{layout}"
        case "referential":
            return f"{rule.column} has no match in {rule.to}"
        case "sql":
            return f"not ({rule.expression})"
    return rule.type


# ----------------------------------------------------------------------------- batch rules


def _batch_rule(
    silver: pl.DataFrame, rule: Rule, previous_rows: int | None, now: datetime
) -> CheckResult:
    if rule.type == "row_count":
        bad, detail = _row_count(silver.height, rule, previous_rows)
    else:
        try:
            bad, detail = _freshness(silver, rule, now)
        except RuleError as exc:
            return _unevaluated(rule, str(exc), silver.height)
    return CheckResult(
        name=rule.name,
        status=rule.status_for(1 if bad else 0, 1),
        failed_rows=0,
        detail=detail,
        rule_type=rule.type,
        column=rule.target,
        action=rule.effective_action,
        total_rows=silver.height,
    )


def _row_count(rows: int, rule: Rule, previous: int | None) -> tuple[bool, str]:
    problems = []
    if rule.min is not None and rows < float(rule.min):
        problems.append(f"{rows} rows, fewer than {rule.min:g}")
    if rule.max is not None and rows > float(rule.max):
        problems.append(f"{rows} rows, more than {rule.max:g}")
    detail = f"{rows} rows"
    if rule.max_change_pct is not None:
        if previous is None:
            detail += "; no previous batch to compare with"
        else:
            change = 100.0 * (rows - previous) / previous if previous else float("inf")
            detail += f"; {change:+.1f}% versus the previous batch ({previous} rows)"
            if abs(change) > rule.max_change_pct:
                problems.append(
                    f"{rows} rows, {change:+.1f}% versus the previous batch ({previous}),"
                    f" beyond ±{rule.max_change_pct:g}%"
                )
    return (True, "; ".join(problems)) if problems else (False, detail)


def _freshness(silver: pl.DataFrame, rule: Rule, now: datetime) -> tuple[bool, str]:
    dtype = _column(silver, rule.column)
    col = silver.get_column(rule.column)
    if dtype == pl.Date:
        newest = col.max()
        newest_at = datetime(newest.year, newest.month, newest.day, tzinfo=UTC) if newest else None
    elif isinstance(dtype, pl.Datetime):
        newest_at = col.max()
        if newest_at is not None and newest_at.tzinfo is None:
            newest_at = newest_at.replace(tzinfo=UTC)
    elif dtype == pl.String:
        parsed = col.str.to_datetime(strict=False, time_zone="UTC")
        newest_at = parsed.max()
    else:
        raise RuleError(f"freshness needs a date or time column; {rule.column} is {dtype}")
    max_age = parse_duration(rule.max_age or "0s")
    if newest_at is None:
        return True, f"{rule.column} has no values"
    age = now - newest_at
    text = f"newest {rule.column} is {newest_at.isoformat()}, {_age(age.total_seconds())} old"
    if age > max_age:
        return True, f"{text} (max {rule.max_age})"
    return False, text


def _age(seconds: float) -> str:
    if seconds < 0:
        return "in the future, 0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _unevaluated(rule: Rule, problem: str, total: int) -> CheckResult:
    """A rule that could not run: it fails the batch if its action is fail, else warns."""
    return CheckResult(
        name=rule.name,
        status="failed" if rule.effective_action == "fail" else "warned",
        failed_rows=0,
        detail=f"could not evaluate: {problem}",
        rule_type=rule.type,
        column=rule.target,
        action=rule.effective_action,
        total_rows=total,
    )


__all__ = ["Evaluation", "Reference", "RuleError", "columns_needed", "entry_columns", "evaluate"]
