"""The rule engine on a Silver file, in bounded memory: the same results as `engine.evaluate`
on the whole file in one frame (checks, examples, quarantine entries row for row and in the
same order), without holding the file's columns (a small file is evaluated in memory, by
`engine.evaluate` itself).

- Cross-row rules find their failing lines first, over the whole file, on narrow data:
  `unique` on its own column(s) and `_source_line`; `sql` in DuckDB scanning the file
  (memory-limited). In the pass below they are a membership test on the line.
- One streaming pass (Polars, its sinks multiplexed over one scan of the file) writes each row
  rule's failing rows, as quarantine entries, and the rows with a null key part to a file
  each; a rule's count is its file's rows, its examples the first values of that file. A
  rule that breaks at run time (a cast Polars refuses...) makes the pass fail: then each rule
  passes alone, and the one that breaks is reported, not the file lost.
- The key's repeats are counted by DuckDB (skipped when a `unique` rule on the key already
  counted none).
- The quarantine object is the entry files in `evaluate`'s order (structural, then rule by
  rule in file order), copied into one Parquet file by Polars' streaming sink.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from flowforge.common.events import CheckResult
from flowforge.common.lake import sql_string
from flowforge.common.models import quote_identifier, warm_sandboxed
from flowforge.common.rules import Rule
from flowforge.quality import engine, structural
from flowforge.quality.engine import Reference, RuleError

# A file this small is evaluated in memory by the frame engine (the same results; 50k rows:
# 23 ms instead of 48 by the streaming pass, whose sinks and connections cost a fixed ~20 ms).
IN_MEMORY_ROWS = 131_072
IN_MEMORY_BYTES = 64 << 20  # of the columns the rules read, uncompressed


@dataclass
class FileEvaluation:
    verdict: str
    checks: list[CheckResult]
    rows: int
    seconds: float
    examples: dict[str, list[str]] = field(default_factory=dict)
    quarantine_rows: int = 0  # entries written to `out` (0: no file written)
    quarantined: int = 0  # Silver rows whose line is in the quarantine written
    valid: int = 0


def evaluate_file(
    path: Path,
    rules: list[Rule],
    *,
    key: list[str],
    out: Path,
    scratch: Path,
    references: dict[str, Reference] | None = None,
    previous_rows: int | None = None,
    released: pl.DataFrame | None = None,
    now: datetime | None = None,
    empty_ok: bool = False,
    renames: dict[str, str] | None = None,
) -> FileEvaluation:
    """Evaluate the rules on the Silver file at `path`; write the quarantine to `out` when it
    has entries, and count the Silver rows it quarantines (as readers subtract them)."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    file = pq.ParquetFile(path, pre_buffer=False)
    available = file.schema_arrow.names
    rules = engine.follow_renames(rules, renames or {}, available)
    wanted = engine.columns_needed(rules, key, available)
    total = file.metadata.num_rows
    if total <= IN_MEMORY_ROWS and _data_bytes(file, wanted) <= IN_MEMORY_BYTES:
        frame = pl.read_parquet(path, columns=wanted)
        found = engine.evaluate(
            frame, rules, key=key, references=references, previous_rows=previous_rows,
            released=released, now=now, empty_ok=empty_ok,
        )  # fmt: skip
        return _in_memory(frame, found, out, started)
    shape = pl.DataFrame(schema=pl.scan_parquet(path).select(wanted).collect_schema())
    row_rules = [r for r in rules if r.is_row_rule]
    problems: dict[str, str] = {}
    masks: dict[str, pl.Expr] = {}  # each row rule's failing rows
    for rule in row_rules:
        try:
            if rule.type == "sql":
                mask = _among(_sql_lines(path, shape.columns, rule))
            elif rule.type == "unique":
                mask = _among(_repeated_lines(path, shape, rule))
            else:
                mask = _probed(shape, engine._failing(shape, rule, references or {}))
            masks[rule.name] = engine._without_released(mask, rule, released)
        except RuleError as exc:
            problems[rule.name] = str(exc)
    keyed = bool(key) and all(k in available for k in key)
    with tempfile.TemporaryDirectory(prefix="quality-", dir=scratch) as tmp:
        null_keys, failed = _failing_rows(
            path, shape.columns, key if keyed else [], masks, row_rules, Path(tmp), problems
        )
        rows = {part: _rows(part) for part in [null_keys, *failed.values()] if part}
        counts = {name: rows[part] for name, part in failed.items()}
        examples = _examples({name: part for name, part in failed.items() if rows[part]})
        repeats = engine._key_repeats(row_rules, key, counts, released)
        if keyed and repeats is None:
            repeats = _repeated_keys(path, key)
        checks = structural.batch_checks(
            total, key, available, rows.get(null_keys, 0), repeats, empty_ok=empty_ok
        )
        for rule in rules:
            if rule.name in problems:
                checks.append(engine._unevaluated(rule, problems[rule.name], total))
            elif not rule.is_row_rule:
                checks.append(_batch_rule(path, rule, total, previous_rows, now))
            else:
                checks.append(engine._row_result(rule, counts[rule.name], total))
        kept = [
            failed[r.name]
            for r in row_rules
            if r.name in failed and r.effective_action in ("quarantine", "fail")
        ]
        written = [part for part in [null_keys, *kept] if part and rows[part]]
        entries = sum(rows[part] for part in written)
        quarantined, valid = 0, total
        if entries:
            pl.scan_parquet(written).sink_parquet(out)
            quarantined, valid = _valid_count(path, out)
    return FileEvaluation(
        verdict=structural.verdict_of(checks),
        checks=checks,
        rows=total,
        seconds=time.perf_counter() - started,
        examples=examples,
        quarantine_rows=entries,
        quarantined=quarantined,
        valid=valid,
    )


def _data_bytes(file: pq.ParquetFile, columns: list[str]) -> int:
    """The uncompressed size of these columns in the file, from its footer."""
    wanted = set(columns)
    meta = file.metadata
    return sum(
        chunk.total_uncompressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
        if (chunk := meta.row_group(g).column(c)).path_in_schema in wanted
    )


def _in_memory(
    frame: pl.DataFrame, found: engine.Evaluation, out: Path, started: float
) -> FileEvaluation:
    """A small file's evaluation by the frame engine, its quarantine written to `out`."""
    quarantined = 0
    if found.quarantine.height:
        found.quarantine.write_parquet(out)
        lines = found.quarantine.get_column("_source_line").unique()
        quarantined = int(frame.get_column("_source_line").is_in(lines.implode()).sum())
    return FileEvaluation(
        verdict=found.verdict,
        checks=found.checks,
        rows=found.rows,
        seconds=time.perf_counter() - started,
        examples=found.examples,
        quarantine_rows=found.quarantine.height,
        quarantined=quarantined,
        valid=found.rows - quarantined,
    )


def _probed(shape: pl.DataFrame, mask: pl.Expr) -> pl.Expr:
    """The mask, once it has run on no rows: a rule Polars refuses whatever the values (a
    date format it cannot use, say) is reported as the frame engine reports it, even for a
    file with no rows."""
    try:
        shape.select(mask)
    except pl.exceptions.PolarsError as exc:
        raise RuleError(engine._first_line(exc)) from exc
    return mask


def _among(lines: pl.Series) -> pl.Expr:
    return pl.col("_source_line").is_in(lines.implode())


def _failing_rows(
    path: Path,
    columns: list[str],
    key: list[str],
    masks: dict[str, pl.Expr],
    rules: list[Rule],
    folder: Path,
    problems: dict[str, str],
) -> tuple[Path | None, dict[str, Path]]:
    """The rows with a null key part (when `key`) and each rule's failing rows, as quarantine
    entries, in a Parquet file each under `folder`, by one streaming pass over the file. A
    rule that breaks the pass is tried alone; if it breaks again it goes to `problems`."""
    source = pl.scan_parquet(path).select(columns)
    null_keys = folder / "structural.parquet" if key else None
    sinks: dict[Path, pl.LazyFrame] = {}
    if null_keys:
        sinks[null_keys] = structural._null_keys(source, key)
    failed: dict[str, Path] = {}
    for i, rule in enumerate(r for r in rules if r.name in masks):
        failed[rule.name] = folder / f"{i}.parquet"
        entries = source.filter(masks[rule.name]).select(engine.entry_columns(rule, columns))
        sinks[failed[rule.name]] = entries

    def write(paths: list[Path]) -> None:
        plans = [sinks[p].sink_parquet(p, compression="lz4", lazy=True) for p in paths]
        pl.collect_all(plans, engine="streaming")

    try:
        write(list(sinks))
    except pl.exceptions.PolarsError:
        if null_keys:
            write([null_keys])  # breaks only on the file itself: not a rule's problem
        for name, part in list(failed.items()):
            try:
                write([part])
            except pl.exceptions.PolarsError as exc:
                problems[name] = engine._first_line(exc)
                del failed[name]
    return null_keys, failed


def _rows(part: Path) -> int:
    return pq.ParquetFile(part).metadata.num_rows


def _examples(parts: dict[str, Path]) -> dict[str, list[str]]:
    """Each rule's first distinct values (in file order) of its failing rows, from its entry
    file (all rules' in one go)."""
    firsts = [
        pl.scan_parquet(part)
        .select("value")
        .drop_nulls()
        .unique(maintain_order=True)
        .head(engine.EXAMPLES)
        for part in parts.values()
    ]
    found = pl.collect_all(firsts, engine="streaming") if firsts else []
    return {name: f.get_column("value").to_list() for name, f in zip(parts, found, strict=True)}


def _repeated_lines(path: Path, shape: pl.DataFrame, rule: Rule) -> pl.Series:
    """The lines of rows whose value(s) repeat, from the rule's columns alone. DuckDB counts
    the repeats first (without holding the columns): none, as on a key Silver deduplicated,
    and no row is read. Not for floating-point columns, whose equality (0.0 and -0.0, NaN)
    DuckDB and Polars may see differently."""
    names = rule.columns or [rule.column]
    repeated = engine._repeated(shape, names)
    exact = not any(shape.schema[n].is_float() for n in names if n)
    if exact and not _repeated_keys(path, [n for n in names if n]):
        return pl.Series("_source_line", [], dtype=pl.Int64)
    columns = [c for c in dict.fromkeys(["_source_line", *names]) if c]
    frame = pl.read_parquet(path, columns=columns)
    return frame.filter(repeated).get_column("_source_line").sort()


def _sql_lines(path: Path, columns: list[str], rule: Rule) -> pl.Series:
    """Lines whose expression is false (null passes), by DuckDB scanning the file through
    Arrow (the connection itself reads no file), as `engine._sql_failing` on a frame."""
    named = engine._named(rule.expression or "", columns)
    projected = ["_source_line", *(c for c in columns if c in named and c != "_source_line")]
    names = ", ".join(quote_identifier(c) for c in projected)

    def bind(con) -> None:
        con.register("silver_file", pads.dataset(str(path), format="parquet"))
        con.execute(f"CREATE TEMP VIEW batch AS SELECT {names} FROM silver_file")

    return engine.sql_failing_lines(rule, bind)


def _batch_rule(
    path: Path, rule: Rule, total: int, previous_rows: int | None, now: datetime
) -> CheckResult:
    """row_count and freshness, on the rule's column alone (freshness needs its newest value)."""
    columns = [rule.column] if rule.column and rule.type == "freshness" else []
    if columns and rule.column not in pq.read_schema(path).names:
        columns = []
    frame = pl.read_parquet(path, columns=columns or ["_source_line"])
    assert frame.height == total
    return engine._batch_rule(frame, rule, previous_rows, now)


# DuckDB's memory for the whole-file counts below (it spills beyond): a 38M-row file's key
# sort and quarantine lookup in Polars took the service to ~1.5 GiB.
COUNT_MEMORY = "400MB"


def _repeated_keys(path: Path, key: list[str]) -> int:
    """Rows that repeat an earlier row's key (null keys left out), counted by DuckDB: the rows
    with a key less their distinct keys (5M keys: 0.23 s; grouping them was 0.46 s)."""
    columns = ", ".join(quote_identifier(k) for k in key)
    distinct = columns if len(key) == 1 else f"({columns})"
    has_key = " AND ".join(f"{quote_identifier(k)} IS NOT NULL" for k in key)
    con = warm_sandboxed([path], memory_limit=COUNT_MEMORY)
    try:
        found = con.execute(
            f"SELECT count(*) - count(DISTINCT {distinct}) FROM read_parquet("
            f"{sql_string(str(path))}) WHERE {has_key}"
        ).fetchone()
    finally:
        con.close()
    return int(found[0]) if found else 0


def _valid_count(silver: Path, quarantine: Path) -> tuple[int, int]:
    """(quarantined, valid) Silver rows as readers see them: Silver's lines, minus the lines
    of the quarantine object as written."""
    con = warm_sandboxed([silver, quarantine], memory_limit=COUNT_MEMORY)
    try:
        found = con.execute(
            f"SELECT count(*) FILTER (WHERE _source_line IN (SELECT _source_line FROM "
            f"read_parquet({sql_string(str(quarantine))}))), count(*) FROM read_parquet("
            f"{sql_string(str(silver))})"
        ).fetchone()
    finally:
        con.close()
    quarantined, rows = (int(found[0]), int(found[1])) if found else (0, 0)
    return quarantined, rows - quarantined


__all__ = ["FileEvaluation", "evaluate_file"]
