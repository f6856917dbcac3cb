"""The rule engine on a Silver file, in bounded memory: the same results as `engine.evaluate`
on the whole file in one frame (checks, examples, quarantine entries row for row and in the
same order), without holding the file's columns.

- Row-local rules (not_null, accepted_values, range, regex, length, format, referential) are
  evaluated batch by batch (`BATCH_ROWS` rows at a time); each rule's failing rows go to a
  part file of its own as they are found.
- Cross-row rules find their failing lines once, over the whole file, on narrow data: `unique`
  on its own column(s) and `_source_line`; `sql` in DuckDB scanning the file (memory-limited).
  In the batches they are a membership test on the line.
- The structural checks stream too (null keys) but for key repeats: a sort of the key columns
  alone, skipped when a `unique` rule on the key already counted none.
- The quarantine object is the parts in `evaluate`'s order (structural, then rule by rule in
  file order), copied into one Parquet file by Polars' streaming sink.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
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

BATCH_ROWS = 65_536
FLUSH_ROWS = 131_072  # quarantine entries of one rule held before they are written
LINEAGE = ["_run_id", "_source_file", "_source_line"]


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


@dataclass
class _Part:
    """One rule's (or the structural checks') quarantine entries, buffered up to `FLUSH_ROWS`
    rows and written to files of their own (in order) as they come."""

    folder: Path
    paths: list[Path] = field(default_factory=list)
    buffer: list[pl.DataFrame] = field(default_factory=list)
    buffered: int = 0
    rows: int = 0

    def write(self, entries: pl.DataFrame) -> None:
        if not entries.height:
            return
        self.buffer.append(entries)
        self.buffered += entries.height
        self.rows += entries.height
        if self.buffered >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            path = self.folder / f"{len(self.paths)}.parquet"
            pl.concat(self.buffer, how="vertical").write_parquet(path, compression="lz4")
            self.paths.append(path)
            self.buffer, self.buffered = [], 0


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
    shape = pl.DataFrame(schema=pl.scan_parquet(path).select(wanted).collect_schema())
    row_rules = [r for r in rules if r.is_row_rule]
    problems: dict[str, str] = {}
    lines: dict[str, pl.Series] = {}  # cross-row rules: their failing lines, sorted
    masks: dict[str, pl.Expr] = {}  # row-local rules
    for rule in row_rules:
        try:
            if rule.type == "sql":
                lines[rule.name] = _sql_lines(path, shape.columns, rule)
            elif rule.type == "unique":
                lines[rule.name] = _repeated_lines(path, shape, rule)
            else:
                masks[rule.name] = engine._failing(shape, rule, references or {})
        except RuleError as exc:
            problems[rule.name] = str(exc)
    keyed = bool(key) and all(k in available for k in key)
    counts = dict.fromkeys([*masks, *lines], 0)
    examples: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="quality-", dir=scratch) as tmp:
        parts = {name: _Part(_folder(tmp, str(i))) for i, name in enumerate(counts)}
        null_keys = _Part(_folder(tmp, "structural"))
        for batch in _batches(path, wanted):
            if keyed:
                null_keys.write(structural._null_keys(batch, key))
            _evaluate_batch(
                batch, row_rules, masks, lines, released, problems, counts, examples, parts
            )
        repeats = engine._key_repeats(row_rules, key, counts, released)
        if keyed and repeats is None:
            repeats = _repeated_keys(path, key)
        for part in [null_keys, *parts.values()]:
            part.flush()
        checks = structural.batch_checks(
            total, key, available, null_keys.rows, repeats, empty_ok=empty_ok
        )
        for rule in rules:
            if rule.name in problems:
                checks.append(engine._unevaluated(rule, problems[rule.name], total))
            elif not rule.is_row_rule:
                checks.append(_batch_rule(path, rule, total, previous_rows, now))
            else:
                checks.append(engine._row_result(rule, counts[rule.name], total))
        kept = [parts[r.name] for r in row_rules if r.name in parts and r.name not in problems]
        written = [p for p in [null_keys, *kept] if p.rows]
        entries = sum(p.rows for p in written)
        quarantined, valid = 0, total
        if entries:
            pl.scan_parquet([f for p in written for f in p.paths]).sink_parquet(out)
            quarantined, valid = _valid_count(path, out)
    return FileEvaluation(
        verdict=structural.verdict_of(checks),
        checks=checks,
        rows=total,
        seconds=time.perf_counter() - started,
        examples={name: examples[name] for name in examples if name not in problems},
        quarantine_rows=entries,
        quarantined=quarantined,
        valid=valid,
    )


def _folder(tmp: str, name: str) -> Path:
    folder = Path(tmp) / name
    folder.mkdir()
    return folder


def _batches(path: Path, columns: list[str]) -> Iterator[pl.DataFrame]:
    """The file's columns, `BATCH_ROWS` rows at a time in file order (Polars' streaming
    reader, read ahead on its own threads while a batch is evaluated)."""
    yield from pl.scan_parquet(path).select(columns).collect_batches(chunk_size=BATCH_ROWS)


def _evaluate_batch(
    batch: pl.DataFrame,
    row_rules: list[Rule],
    masks: dict[str, pl.Expr],
    lines: dict[str, pl.Series],
    released: pl.DataFrame | None,
    problems: dict[str, str],
    counts: dict[str, int],
    examples: dict[str, list],
    parts: dict[str, _Part],
) -> None:
    """One batch: every rule's mask in one select, its failing rows to the rule's part."""
    span = batch.select(pl.col("_source_line").min().alias("lo"), pl.col("_source_line").max())
    low, high = span.row(0)
    exprs: dict[str, pl.Expr] = {}
    for rule in row_rules:
        name = rule.name
        if name in problems or name not in counts:
            continue
        mask = masks.get(name)
        if mask is None:
            mask = pl.col("_source_line").is_in(_within(lines[name], low, high).implode())
        exprs[name] = engine._without_released(mask, rule, released)
    before = set(problems)
    flags = engine._flags(batch, exprs, problems)
    for name in set(problems) - before:
        counts.pop(name, None)  # broke on this batch: the rule is unevaluated
    if not flags.width:
        return
    found = flags.select(pl.col(n).fill_null(False).sum() for n in flags.columns).row(0, named=True)
    for rule in row_rules:
        failed = found.get(rule.name) or 0
        if not failed or rule.name in problems:
            continue
        counts[rule.name] += int(failed)
        rows, values = engine._failed_rows(batch, rule, flags)
        shown = examples.setdefault(rule.name, [])
        if len(shown) < engine.EXAMPLES:
            for value in values.drop_nulls().unique(maintain_order=True).to_list():
                if len(shown) >= engine.EXAMPLES:
                    break
                if value not in shown:
                    shown.append(value)
        if rule.effective_action in ("quarantine", "fail"):
            parts[rule.name].write(engine._entries(rows, values, rule))


def _within(lines: pl.Series, low: int | None, high: int | None) -> pl.Series:
    """The sorted `lines` between low and high (a batch's lines), by binary search."""
    if low is None or not lines.len():
        return lines.clear()
    start = int(lines.search_sorted(low, side="left"))
    end = int(lines.search_sorted(high, side="right"))
    return lines.slice(start, end - start)


def _repeated_lines(path: Path, shape: pl.DataFrame, rule: Rule) -> pl.Series:
    """The lines of rows whose value(s) repeat, from the rule's columns alone."""
    names = rule.columns or [rule.column]
    repeated = engine._repeated(shape, names)
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


__all__ = ["BATCH_ROWS", "FileEvaluation", "evaluate_file"]
