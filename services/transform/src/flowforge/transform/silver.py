"""Bronze → Silver with safe defaults, in bounded memory.

The Bronze file is never loaded whole. A small file is typed from all its values, one column
at a time; a large one from a sample of rows spread over the file, and every sampled type is
checked on every value while the batches are cast (a value that breaks it sends the column
back to inference from all its values and the pass starts again: no value is ever corrupted
by a sample). Duplicates are found by DuckDB with a memory limit (spilling to disk) on a
narrow projection; with a key, from the key columns alone, before the one pass that cleans,
casts, keeps and writes each batch.

Duplicates: without a key, exact duplicate rows go (the first is kept). With a key, the last
row of each key wins (an exact duplicate is just a repeat of its key); rows with a null key
part are never merged by key (quality quarantines them), only exact repeats among them go.
Both the file path and the in-memory path use the same SQL, so they cannot disagree; it reads
only each row's hashes, key and line, so its memory does not grow with the width.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from flowforge.common.errors import BadInputError
from flowforge.common.lake import LINEAGE_COLUMNS, ValidRows, sql_string
from flowforge.common.memory import DUCKDB_CONFIG
from flowforge.common.models import quote_identifier, spill_directory
from flowforge.common.naming import normalise_names, snake_case
from flowforge.transform.inference import (
    LINEAGE,
    cast_expr,
    clean_expr,
    fits,
    fits_expr,
    infer_spec,
    layout_cast,
    misfit_expr,
    public_kind,
    settled_by_sample,
)
from flowforge.transform.limits import Deadline

__all__ = ["LINEAGE", "SilverPlan", "SilverResult", "bronze_to_silver", "dedupe", "silver_file"]
DUCKDB_MEMORY = "400MB"
COLUMN_GROUP = 64
# A file of at most EXACT_ROWS rows is typed from all its values; one of at most SAMPLE_ROWS
# from every k-th row (EXACT_ROWS of them); a larger one from SAMPLE_ROWS rows in
# SAMPLE_WINDOWS windows spread over it. Sampled types are checked on every value as they
# are cast (a 50k-row file: inference from all values ~100 ms, from the sample ~25 ms).
EXACT_ROWS = 10_000
SAMPLE_ROWS = 100_000
SAMPLE_WINDOWS = 16
# Rows with a null key part are deduplicated as whole rows while streaming (a set of their
# hashes in memory) up to this many; beyond it, by DuckDB over every row's hashes.
STREAMED_LOOSE_ROWS = 200_000
# Every Bronze/typed file is opened with pre_buffer=False: pyarrow's pre-buffering keeps what
# it read, so iterating a 40M-row file's batches grew the process by ~50 MiB per million rows
# (2.3 GiB at the end of a 5 GB file's Silver pass); without it, reading stays flat (~240 MiB).
_TYPED = "\x00typed:"  # a column name no Bronze column can have
log = logging.getLogger(__name__)


class Misfit(Exception):
    """Values of these columns break the type a sample gave them."""

    def __init__(self, columns: list[str]):
        super().__init__(", ".join(columns))
        self.columns = columns


@dataclass(frozen=True)
class SilverPlan:
    """How each Bronze column becomes a Silver column."""

    names: dict[str, str]  # bronze name → silver name
    types: dict[str, str]  # silver name → type
    casts: dict[str, pl.Expr]  # silver name → cast of the cleaned text
    key: list[str]  # in silver names
    specs: dict[str, str]  # silver name → type spec (see inference.infer_spec)
    sampled: frozenset[str] = frozenset()  # typed from a sample: checked on every value
    # Columns Parquet should dictionary-encode (None: all). Dictionaries pay off for repeated
    # values; for near-unique ones (ids, lines, free text) they cost a third of the write.
    dictionary: frozenset[str] | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.names.values())

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        cleaned = frame.with_columns(clean_expr(c) for c in self.names).rename(self.names)
        if self.casts:
            cleaned = cleaned.with_columns(e.alias(n) for n, e in self.casts.items())
        return cleaned.select(*self.columns, *LINEAGE)

    def apply_batch(
        self,
        frame: pl.DataFrame,
        deadline: Deadline | None = None,
        lineage: tuple[str, ...] = LINEAGE,
    ) -> pl.DataFrame:
        """`apply` to a frame in groups of columns: Polars plans a query in time that grows
        faster than its column count (500 columns took 5 s in one query), so a wide file is
        cleaned and cast `COLUMN_GROUP` columns at a time, in time linear in its columns.
        Raises `Misfit` when a value breaks the type of a `sampled` column."""
        items = list(self.names.items())
        parts, misfits = [], []
        for start in range(0, len(items), COLUMN_GROUP):
            if deadline is not None:
                deadline.check()
            group = dict(items[start : start + COLUMN_GROUP])
            cleaned = frame.select(clean_expr(c).alias(n) for c, n in group.items())
            casts = {
                n: cast_expr(self.specs[n], n, strict=False) if n in self.sampled else e
                for n in group.values()
                if (e := self.casts.get(n)) is not None
            }
            if not casts:
                parts.append(cleaned)
                continue
            fast = self._layout_casts(cleaned, casts)
            both = cleaned.with_columns(fast.get(n, e).alias(_TYPED + n) for n, e in casts.items())
            if fast:  # a value of another layout than the batch's first: the general cast
                missed = both.select(
                    (pl.col(n).is_not_null() & pl.col(_TYPED + n).is_null()).any().alias(n)
                    for n in fast
                ).row(0)
                redo = [n for n, miss in zip(fast, missed, strict=True) if miss]
                if redo:
                    both = both.with_columns(casts[n].alias(_TYPED + n) for n in redo)
            checks = {
                n: check
                for n in casts
                if n in self.sampled
                and (check := misfit_expr(self.specs[n], pl.col(n), pl.col(_TYPED + n))) is not None
            }
            if checks and both.height:
                found = both.select(c.any().alias(n) for n, c in checks.items()).row(0)
                misfits += [n for n, bad in zip(checks, found, strict=True) if bad]
            typed = (pl.col(_TYPED + n).alias(n) if n in casts else n for n in group.values())
            parts.append(both.select(typed))
        if misfits:
            raise Misfit(misfits)
        parts.append(frame.select(lineage))
        return pl.concat(parts, how="horizontal")

    def _layout_casts(self, cleaned: pl.DataFrame, casts: dict[str, pl.Expr]) -> dict:
        """Timestamp casts by the layout of the batch's first value (`layout_cast`)."""
        stamps = [n for n in casts if self.specs[n].startswith(("timestamp:", "timestamptz:"))]
        if not stamps or not cleaned.height:
            return {}
        firsts = cleaned.select(pl.col(n).drop_nulls().first() for n in stamps).row(0)
        return {
            n: e
            for n, first in zip(stamps, firsts, strict=True)
            if first is not None and (e := layout_cast(self.specs[n], n, first)) is not None
        }


@dataclass(frozen=True)
class SilverResult:
    frame: pl.DataFrame
    bronze: int
    duplicates: int
    types: dict[str, str]
    key: list[str]

    @property
    def silver(self) -> int:
        return self.frame.height


@dataclass(frozen=True)
class SilverFileResult:
    bronze: int
    silver: int
    types: dict[str, str]
    key: list[str]
    specs: dict[str, str]

    @property
    def duplicates(self) -> int:
        return self.bronze - self.silver


def plan(
    columns: list[str],
    column_values,
    key: list[str],
    pinned: dict[str, str] | None = None,
    *,
    types: dict[str, str] | None = None,
    renames: dict[str, str] | None = None,
    whole=None,
    exact: frozenset[str] = frozenset(),
) -> SilverPlan:
    """Infer every column's type; `column_values(name)` returns that Bronze column.

    `pinned` holds the dataset's type specs from earlier batches: a column keeps its pinned
    type whenever every value of this batch fits it, so one file with, say, only unambiguous
    dates or only whole amounts does not change the dataset's column types.

    With `whole` (a reader of a whole Bronze column), `column_values` gives a sample: the
    columns named in `exact` and those the sample cannot settle are typed from all their
    values; the other typed columns are `sampled` (checked as they are cast)."""
    base, names = _names(columns, renames)
    silver_key = resolve_key(key, names, renames or {})
    pinned = pinned or {}

    def wanted_type(bronze_name: str, silver_name: str) -> str | None:
        return _declared(types, base, bronze_name, silver_name)

    # The pinned types of the columns first judged by `column_values`, checked in one query
    # (`fits_expr`); their cleaned values are kept for the rest of inference.
    first = {b: n for b, n in names.items() if whole is None or n not in exact}
    pinned_first = {b: n for b, n in first.items() if n in pinned and not wanted_type(b, n)}
    cleaned: dict[str, pl.Series] = {}
    fitting: dict[str, bool] = {}
    items = list(pinned_first.items())
    for start in range(0, len(items), COLUMN_GROUP):  # a wide file: in groups (`apply_batch`)
        group = dict(items[start : start + COLUMN_GROUP])
        frame = pl.DataFrame([column_values(b) for b in group]).select(
            clean_expr(b).alias(n) for b, n in group.items()
        )
        cleaned |= {n: frame.get_column(n) for n in group.values()}
        fitting |= frame.select(fits_expr(pinned[n], n).alias(n) for n in group.values()).row(
            0, named=True
        )

    def spec(bronze_name: str, silver_name: str, values_of) -> str:
        if values_of is column_values and silver_name in cleaned:
            series, fits_pinned = cleaned[silver_name], fitting[silver_name]
        else:
            values = values_of(bronze_name).to_frame().select(clean_expr(bronze_name))
            series, fits_pinned = values.to_series().rename(silver_name), None
        found = _column_spec(series, wanted_type(bronze_name, silver_name), pinned, fits_pinned)
        if whole is None or values_of is whole or settled_by_sample(found, series):
            return found
        return spec(bronze_name, silver_name, whole)

    def infer(item: tuple[str, str]) -> tuple[str, bool]:
        bronze_name, silver_name = item
        if whole is None or silver_name in exact:
            return spec(bronze_name, silver_name, whole or column_values), False
        found = spec(bronze_name, silver_name, column_values)
        return found, found != "string"

    # Two columns at a time: Polars releases the GIL, and memory holds two columns at most.
    with ThreadPoolExecutor(max_workers=2) as pool:
        inferred = dict(zip(names.values(), pool.map(infer, names.items()), strict=True))
    specs = {n: found for n, (found, _) in inferred.items()}
    sampled = frozenset(n for n, (_, checked) in inferred.items() if checked)
    return _made(names, specs, silver_key, sampled)


def _names(columns: list[str], renames: dict[str, str] | None) -> tuple[dict, dict]:
    """Each Bronze data column's normalised name, and its Silver name (renames applied)."""
    base = normalise_names([c for c in columns if c not in LINEAGE])
    return base, rename(base, renames or {})


def _declared(
    types: dict[str, str] | None, base: dict[str, str], bronze_name: str, silver_name: str
) -> str | None:
    """The type declared for a column, by its new or its old name."""
    return (types or {}).get(silver_name) or (types or {}).get(base[bronze_name])


def _made(
    names: dict[str, str], specs: dict[str, str], key: list[str], sampled: frozenset[str]
) -> SilverPlan:
    return SilverPlan(
        names=names,
        types={n: public_kind(spec) for n, spec in specs.items()},
        casts={n: e for n, spec in specs.items() if (e := cast_expr(spec, n)) is not None},
        key=key,
        specs=specs,
        sampled=sampled,
    )


# The kinds whose pinned type `misfit_expr` checks on every value as a batch is cast (another
# kind, say time of day, is always inferred).
_CHECKED_KINDS = frozenset(
    {"string", "boolean", "integer", "decimal", "double", "date", "timestamp", "timestamptz"}
)


def pinned_plan(
    columns: list[str],
    key: list[str],
    pinned: dict[str, str] | None,
    *,
    types: dict[str, str] | None = None,
    renames: dict[str, str] | None = None,
) -> SilverPlan | None:
    """The plan of a batch whose every column has a pinned type and none a declared one: the
    pinned types, each checked on every value as the batch is cast (`sampled`; a value that
    breaks one raises `Misfit`, and the batch is then planned as any other). `plan` keeps a
    pinned type whenever every value fits it, which that check holds (`misfit_expr` is at least
    as strict as `fits`); this skips drawing, cleaning and judging a sample first (a 50k-row
    file: ~30 of ~110 ms). None when a column is new or declared, or its kind is not checked."""
    if not pinned:
        return None
    base, names = _names(columns, renames)
    if any(_declared(types, base, b, n) for b, n in names.items()):
        return None
    specs: dict[str, str] = {}
    for n in names.values():
        spec = pinned.get(n)
        if spec is None or spec.partition(":")[0] not in _CHECKED_KINDS:
            return None
        specs[n] = spec
    sampled = frozenset(n for n, spec in specs.items() if spec != "string")
    return _made(names, specs, resolve_key(key, names, renames or {}), sampled)


def _column_spec(
    series: pl.Series, wanted: str | None, pinned: dict[str, str], fits_pinned: bool | None = None
) -> str:
    """The declared type when every value fits it; else the pinned type when every value fits
    it (`fits_pinned`, when already known); else the type inferred from the values."""
    if wanted:
        declared = declared_spec(wanted, series)
        if declared is not None:
            return declared
        log.warning(
            "column %s does not fit its declared type %s in this file; inferred instead",
            series.name,
            wanted,
        )
    if series.name in pinned and (
        fits_pinned if fits_pinned is not None else fits(pinned[series.name], series)
    ):
        return pinned[series.name]
    return infer_spec(series)


# Two 64-bit hashes of a row's data values (128 bits: no two different rows of any real
# file share both) stand for the row in duplicate detection, so DuckDB works on a narrow
# projection (hashes, key, line) whatever the width: 4,096 columns of 2,000 rows ran out of
# its 600 MB when it read them all.
ROW_HASHES = ("_row_h1", "_row_h2")
_SEEDS = (0x5EED_0001_0B5E_55ED, 0x1357_9BDF_2468_ACE0)


def row_hashes(frame: pl.DataFrame, data_columns: list[str]) -> pl.DataFrame:
    """The frame's row hashes over `data_columns` (typed values; lineage left out)."""
    data = frame.select(data_columns) if data_columns else pl.DataFrame({"_": [0] * frame.height})
    return pl.DataFrame(
        [data.hash_rows(seed).alias(name) for name, seed in zip(ROW_HASHES, _SEEDS, strict=True)]
    )


def keep_sql(source: str, key: list[str]) -> str:
    """The `_source_line`s that stay, in order, from `source` holding the row hashes, the key
    columns and `_source_line`."""
    row = ", ".join(ROW_HASHES)
    first_of_each_row = f"QUALIFY row_number() OVER (PARTITION BY {row} ORDER BY _source_line) = 1"
    if not key:
        return f"SELECT _source_line FROM {source} {first_of_each_row} ORDER BY _source_line"
    has_key = " AND ".join(f"{quote_identifier(k)} IS NOT NULL" for k in key)
    by_key = ", ".join(quote_identifier(k) for k in key)
    return (
        f"SELECT _source_line FROM (SELECT _source_line FROM {source} WHERE {has_key} "
        f"QUALIFY row_number() OVER (PARTITION BY {by_key} ORDER BY _source_line DESC) = 1 "
        f"UNION ALL SELECT _source_line FROM {source} WHERE NOT ({has_key}) "
        f"{first_of_each_row}) ORDER BY _source_line"
    )


# One in-memory database per process, a cursor per use: a new database costs ~40 ms of CPU
# (of a 1k-row file's ~150 ms in Silver), a cursor well under 1 ms. Cursors share nothing but
# the settings (and scratch spills, under FLOWFORGE_SCRATCH_DIR): their views die with them.
_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()


def _duckdb() -> duckdb.DuckDBPyConnection:
    """A connection (close it after use) to the process's DuckDB for dedupe and deletes; a
    database a fatal error invalidated is replaced (its open cursors fail on their own)."""
    global _database
    with _database_lock:
        if _database is not None:
            try:
                con = _database.cursor()
                con.execute("SELECT 1").fetchall()
                return con
            except duckdb.Error:
                pass  # dropped, not closed: other threads' cursors may still hold it
        _database = duckdb.connect(
            config={
                **DUCKDB_CONFIG,
                "threads": 2,
                "memory_limit": DUCKDB_MEMORY,
                "preserve_insertion_order": False,
                "temp_directory": spill_directory(),
            }
        )
        return _database.cursor()


def deleted_rows(
    before: ValidRows, snapshot: Path, key: list[str], out: Path, at: datetime, scratch: Path
) -> int:
    """Write the rows of `before` (the current rows) that a full snapshot no longer has, with
    `_deleted_at`; their count. Rows are matched by the key, or without a key by every data
    column both sides have. Nothing is written when none went."""
    con = _duckdb()
    try:
        old = con.sql(before.sql())
        new = con.sql(f"SELECT * FROM read_parquet({sql_string(str(snapshot))})")
        if key:
            same = key
        else:
            same = [c for c in old.columns if c in new.columns and c not in LINEAGE_COLUMNS]
        if not same:
            return 0
        match = " AND ".join(
            f"n.{quote_identifier(c)} IS NOT DISTINCT FROM o.{quote_identifier(c)}" for c in same
        )
        gone = (
            f"SELECT o.*, {sql_string(at.isoformat())}::TIMESTAMPTZ AS _deleted_at"
            f" FROM ({before.sql()}) o WHERE NOT EXISTS (SELECT 1 FROM"
            f" read_parquet({sql_string(str(snapshot))}) n WHERE {match})"
        )
        count = con.execute(f"COPY ({gone}) TO {sql_string(str(out))} (FORMAT parquet)")
        written = int(count.fetchone()[0])
        if not written:
            out.unlink(missing_ok=True)
        return written
    finally:
        con.close()


def dedupe(frame: pl.DataFrame, data_columns: list[str], key: list[str]) -> pl.DataFrame:
    """Remove duplicates from an in-memory batch (the same SQL as `silver_file`)."""
    if frame.height == 0:
        return frame
    narrow = pl.concat(
        [row_hashes(frame, data_columns), frame.select(*key, "_source_line")], how="horizontal"
    )
    con = _duckdb()
    try:
        con.register("batch", narrow)
        keep = con.sql(keep_sql("batch", key)).to_arrow_table().column(0)
    finally:
        con.close()
    kept = pl.Series(keep).implode()
    return frame.filter(pl.col("_source_line").is_in(kept)).sort("_source_line")


def bronze_to_silver(bronze: pl.DataFrame, key: list[str]) -> SilverResult:
    """Clean, type and dedupe one in-memory Bronze batch. `key` may use either name."""
    p = plan(bronze.columns, bronze.get_column, key)
    typed = p.apply(bronze.lazy()).collect()
    result = dedupe(typed, p.columns, p.key)
    return SilverResult(
        frame=result,
        bronze=bronze.height,
        duplicates=bronze.height - result.height,
        types=p.types,
        key=p.key,
    )


def silver_file(
    bronze: Path,
    out: Path,
    key: list[str],
    scratch: Path,
    pinned: dict[str, str] | None = None,
    *,
    types: dict[str, str] | None = None,
    renames: dict[str, str] | None = None,
    deadline: Deadline | None = None,
) -> SilverFileResult:
    """Clean, type and dedupe one Bronze Parquet file into `out`, in bounded memory, within
    `deadline` (checked between columns and batches; DuckDB's dedupe is interrupted)."""
    deadline = deadline or Deadline.none()
    source = pq.ParquetFile(bronze, pre_buffer=False)  # metadata parsed once (O(columns))
    columns = source.schema_arrow.names
    rows = source.metadata.num_rows
    lock = threading.Lock()
    # A file of one batch is read once, for inference and the pass alike (a 50k-row file
    # was read three times: 16 ms of its ~150).
    loaded = pl.read_parquet(bronze) if 0 < rows <= batch_rows(len(columns)) else None

    def column(name: str) -> pl.Series:
        deadline.check()  # inference runs column by column
        if loaded is not None:
            return loaded.get_column(name)
        with lock:
            values = source.read(columns=[name]).column(0)
        return pl.Series(name, values)

    options = {"types": types, "renames": renames}
    fast = pinned_plan(columns, key, pinned, **options) if loaded is not None else None
    if fast is not None and all(loaded.schema[c] == pl.String for c in fast.names):
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            try:
                silver = _silver_pass(bronze, source.metadata, out, fast, Path(tmp), deadline,
                                      loaded)  # fmt: skip
            except Misfit as exc:
                log.info("column(s) %s of %s no longer fit their pinned types: inferred again",
                         exc, bronze.name)  # fmt: skip
            else:
                return SilverFileResult(bronze=rows, silver=silver, types=fast.types,
                                        key=fast.key, specs=fast.specs)  # fmt: skip
    if rows <= min(EXACT_ROWS, SAMPLE_ROWS):
        p = plan(columns, column, key, pinned, **options)
    else:
        data = [c for c in columns if c not in LINEAGE]
        sample = (
            loaded.select(data).gather_every(max(rows // EXACT_ROWS, 1))
            if loaded is not None and rows <= SAMPLE_ROWS  # as `_sample` takes it
            else _sample(source, data, deadline)
        )
        p = plan(columns, sample.get_column, key, pinned, **options, whole=column)
        p = replace(p, dictionary=repeated_columns(sample, p))
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        try:
            silver = _silver_pass(bronze, source.metadata, out, p, Path(tmp), deadline, loaded)
        except Misfit as exc:
            log.info(
                "column(s) %s of %s break the type their sample gave them: typed from all "
                "their values instead",
                exc,
                bronze.name,
            )
            p = plan(columns, sample.get_column, key, pinned, **options, whole=column,
                     exact=p.sampled)  # fmt: skip
            p = replace(p, dictionary=repeated_columns(sample, p))
            silver = _silver_pass(bronze, source.metadata, out, p, Path(tmp), deadline, loaded)
    return SilverFileResult(bronze=rows, silver=silver, types=p.types, key=p.key, specs=p.specs)


def repeated_columns(sample: pl.DataFrame, p: SilverPlan, share: float = 0.5) -> frozenset[str]:
    """The columns whose sampled values repeat (distinct below `share` of the present ones),
    in Silver names, and the lineage columns that are constant per file."""
    out = {"_source_file", "_ingested_at", "_run_id"}
    for bronze_name, silver_name in p.names.items():
        values = sample.get_column(bronze_name).drop_nulls()
        if values.len() == 0 or values.n_unique() < share * values.len():
            out.add(silver_name)
    return frozenset(out)


def _sample(source: pq.ParquetFile, names: list[str], deadline: Deadline) -> pl.DataFrame:
    """About EXACT_ROWS rows of `names`, every k-th, of a file up to SAMPLE_ROWS rows; of a
    larger one, about SAMPLE_ROWS rows read in windows spread evenly over its row groups (a
    file sorted by a column, or appended to over time, is not judged by its head)."""
    total = source.metadata.num_rows
    if total <= SAMPLE_ROWS:  # small enough to read whole: every k-th row
        with_all = pl.from_arrow(source.read(columns=names))
        return with_all.gather_every(max(total // EXACT_ROWS, 1))
    groups = source.metadata.num_row_groups
    picked = sorted({round(i * (groups - 1) / max(SAMPLE_WINDOWS - 1, 1))
                     for i in range(min(SAMPLE_WINDOWS, groups))})  # fmt: skip
    per_window = max(SAMPLE_ROWS // len(picked), 1)
    parts = []
    for group in picked:
        deadline.check()
        batches = source.iter_batches(batch_size=per_window, row_groups=[group], columns=names)
        first = next(batches, None)
        if first is not None:
            parts.append(pl.from_arrow(first))
    return pl.concat(parts) if parts else pl.from_arrow(source.schema_arrow.empty_table())


def _silver_pass(
    bronze: Path,
    meta: pq.FileMetaData,
    out: Path,
    p: SilverPlan,
    tmp: Path,
    deadline: Deadline,
    loaded: pl.DataFrame | None = None,
) -> int:
    """Write Silver under plan `p`; the number of rows written. With a key, the rows that
    stay are found from the key columns first, and one pass casts, keeps and writes; without
    one (or with many rows lacking a key part), each row's hashes decide, so the typed rows
    go to a scratch file first. `loaded`: the whole Bronze file, already read."""
    if p.key:
        if meta.num_rows <= batch_rows(len(p.names)):  # one batch: keys deduplicated in memory
            return _write_silver(bronze, meta, out, p, None, deadline, loaded)
        drop, loose = _dropped_by_key(bronze, meta, p, tmp, deadline)
        try:
            if loose <= STREAMED_LOOSE_ROWS:
                return _write_silver(bronze, meta, out, p, drop, deadline)
        finally:
            drop.unlink(missing_ok=True)
    typed, narrow, keep = (tmp / f"{n}.parquet" for n in ("typed", "narrow", "keep"))
    try:
        _cast_in_batches(bronze, typed, p, deadline=deadline, narrow=narrow, loaded=loaded)
        con = _duckdb()
        try:
            query = keep_sql(f"read_parquet({sql_string(str(narrow))})", p.key)
            with deadline.interrupting(con):
                con.execute(f"COPY ({query}) TO {sql_string(str(keep))} (FORMAT parquet)")
        finally:
            con.close()
        return _write_kept(typed, keep, out, deadline, p.dictionary)
    finally:
        for path in (typed, narrow, keep):
            path.unlink(missing_ok=True)


def _dropped_by_key(
    bronze: Path, meta: pq.FileMetaData, p: SilverPlan, tmp: Path, deadline: Deadline
) -> tuple[Path, int]:
    """The lines a later line of the same key replaces (the last of each key stays; rows
    with a null key part are left to `_write_silver` to deduplicate as whole rows) in a
    scratch file, in line order (no file when no key repeats), from the key columns alone;
    and how many rows have a null key part."""
    keys = {b: s for b, s in p.names.items() if s in p.key}
    sub = SilverPlan(
        names=keys,
        types={k: p.types[k] for k in p.key},
        casts={k: p.casts[k] for k in p.key if k in p.casts},
        key=p.key,
        specs={k: p.specs[k] for k in p.key},
        sampled=p.sampled & set(p.key),  # checked here, before any row is kept by its key
    )
    narrow, drop = tmp / "keys.parquet", tmp / "drop.parquet"
    writer = None
    try:
        for batch in _bronze_batches(bronze, meta, 256_000, [*keys, "_source_line"]):
            deadline.check()
            table = sub.apply_batch(batch, deadline, lineage=("_source_line",))
            arrow = table.to_arrow()
            if writer is None:  # scratch, read once in full: no dictionaries nor statistics
                writer = pq.ParquetWriter(narrow, arrow.schema, compression="lz4",
                                          use_dictionary=False, write_statistics=False)  # fmt: skip
            writer.write_table(arrow)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no rows at all
        return drop, 0
    has_key = " AND ".join(f"{quote_identifier(k)} IS NOT NULL" for k in p.key)
    by_key = ", ".join(quote_identifier(k) for k in p.key)
    same = " AND ".join(f"k.{quote_identifier(k)} = d.{quote_identifier(k)}" for k in p.key)
    src = f"read_parquet({sql_string(str(narrow))})"
    con = _duckdb()
    try:
        with deadline.interrupting(con):
            # a hash aggregate of the keys, then the few repeated ones joined back: cheaper
            # than ranking every row by its key (5M keys: 0.39 vs 0.48 s)
            dropped = con.execute(
                f"COPY (SELECT k._source_line FROM {src} k JOIN (SELECT {by_key}, "
                f"max(_source_line) AS __ff_last FROM {src} WHERE {has_key} GROUP BY ALL "
                f"HAVING count(*) > 1) d ON {same} WHERE k._source_line < d.__ff_last "
                f"ORDER BY 1) TO {sql_string(str(drop))} (FORMAT parquet)"
            ).fetchone()
            loose = con.execute(f"SELECT count(*) FROM {src} WHERE NOT ({has_key})").fetchone()
    finally:
        con.close()
        narrow.unlink(missing_ok=True)
    if dropped is not None and dropped[0] == 0:  # every key once: nothing to drop
        drop.unlink(missing_ok=True)
    return drop, int(loose[0])


def _write_silver(
    bronze: Path,
    meta: pq.FileMetaData,
    out: Path,
    p: SilverPlan,
    drop: Path | None,
    deadline: Deadline,
    loaded: pl.DataFrame | None = None,
) -> int:
    """The one pass of a keyed file: each Bronze batch cleaned and cast (sampled types checked
    on every value, dropped rows included, as inference from all values would see them), its
    kept lines taken (the lines in `drop` left out; with no `drop`, the file is one batch and
    the last row of each key stays), whole-row repeats among rows with a null key part dropped
    (the first stays), and written; Parquet encoding runs in a second thread beside the next
    batch."""
    batches = _bronze_batches(bronze, meta, batch_rows(len(p.names)))
    if meta.num_rows == 0:  # the schema still reaches Silver
        batches = iter([pl.from_arrow(meta.schema.to_arrow_schema().empty_table())])
    dropped = _Lines(drop) if drop is not None and drop.exists() else None
    seen: set[tuple[int, int]] = set()
    loose = pl.any_horizontal(pl.col(k).is_null() for k in p.key)
    last_of_key = loose | pl.struct(p.key).is_last_distinct()

    def kept(batch: pl.DataFrame) -> pl.DataFrame:
        deadline.check()
        frame = p.apply_batch(batch, deadline)
        if dropped is not None and frame.height:
            lines = frame.get_column("_source_line").to_numpy()
            frame = frame.filter(pl.Series(~dropped.among(lines)))
        elif drop is None and frame.height:  # the whole file: a key's earlier rows go
            frame = frame.filter(last_of_key)
        if frame.height and frame.select(loose.any()).item():
            frame = _first_of_loose_rows(frame, p, loose, seen)
        return frame

    if loaded is not None:  # kept once: `seen` remembers the loose rows it kept
        whole = kept(loaded)
        if write_whole(whole, out):
            return whole.height
        frames: Iterator[pl.DataFrame] = iter([whole])
    else:
        frames = (kept(batch) for batch in batches)
    written = 0
    with _BackgroundWriter(out, p.dictionary) as writer:
        for frame in frames:
            writer.write(frame.to_arrow())
            written += frame.height
    return written


# Silver types whose Parquet (physical and logical types) and Arrow forms Polars' writer
# gives as pyarrow's does (a test holds it to that).
_POLARS_WRITES = frozenset(
    {pl.Int64, pl.Float64, pl.String, pl.Boolean, pl.Date, pl.Datetime, pl.Decimal}
)


def write_whole(frame: pl.DataFrame, out: Path) -> bool:
    """Write a Silver file of one batch by Polars, which encodes its columns on every core
    (a 50k-row file: 44 -> 16 ms; zstd at pyarrow's level, within a few % of its size);
    False (nothing written) for an empty frame or a type outside `_POLARS_WRITES`: pyarrow's
    writer then writes it."""
    if not frame.height or any(t.base_type() not in _POLARS_WRITES for t in frame.dtypes):
        return False
    frame.write_parquet(out, compression="zstd", compression_level=1)
    return True


def _bronze_batches(
    bronze: Path, meta: pq.FileMetaData, rows: int, columns: list[str] | None = None
) -> Iterator[pl.DataFrame]:
    """The Bronze file's rows (or `columns` of them) about `rows` at a time, in line order:
    each batch a slice Polars reads from the row groups it covers (one batch in memory at a
    time), cut at row-group boundaries so that no row group is read twice. pyarrow's batches
    converted to Polars cost ~2.5x the CPU (5M rows: 3.0 vs 1.2 CPU-s); slices of 65,536
    rows over row groups of 64,769 read most groups twice (1.19 vs 1.00 CPU-s)."""
    lazy = pl.scan_parquet(bronze)
    if columns is not None:
        lazy = lazy.select(columns)
    for start, length in _slices(meta, rows):
        yield lazy.slice(start, length).collect()


def _slices(metadata: pq.FileMetaData, rows: int) -> Iterator[tuple[int, int]]:
    """(start, length) of consecutive slices of a file, each whole row groups up to `rows`
    rows, or one part of a row group larger than that."""
    start = length = 0
    for group in range(metadata.num_row_groups):
        size = metadata.row_group(group).num_rows
        if length and length + size > rows:
            yield start, length
            start, length = start + length, 0
        if size > rows:  # a group larger than a batch: in parts
            for offset in range(0, size, rows):
                yield start + offset, min(rows, size - offset)
            start += size
            continue
        length += size
    if length:
        yield start, length


def _first_of_loose_rows(
    frame: pl.DataFrame, p: SilverPlan, loose: pl.Expr, seen: set[tuple[int, int]]
) -> pl.DataFrame:
    """Drop rows with a null key part that repeat an earlier such row (by row hashes)."""
    mask = frame.select(loose).to_series().to_numpy().copy()
    where = np.flatnonzero(mask)
    hashes = row_hashes(frame[where], p.columns)
    keep = np.ones(frame.height, dtype=bool)
    for at, row in zip(where, hashes.iter_rows(), strict=True):
        if row in seen:
            keep[at] = False
        else:
            seen.add(row)
    return frame.filter(pl.Series(keep))


class _Lines:
    """Sorted line numbers in a file, read in order as the batches (in line order) ask."""

    def __init__(self, path: Path):
        self.lines = _sorted_lines(path)
        self.pending = np.empty(0, dtype=np.int64)

    def among(self, lines: np.ndarray) -> np.ndarray:
        """A mask of which of `lines` (ascending, after those of the last call) are here."""
        if not len(lines):
            return np.zeros(0, dtype=bool)
        last = lines[-1]
        while not len(self.pending) or self.pending[-1] <= last:
            more = next(self.lines, None)
            if more is None:
                break
            self.pending = np.concatenate([self.pending, more])
        upto = np.searchsorted(self.pending, last, side="right")
        mine, self.pending = self.pending[:upto], self.pending[upto:]
        return np.isin(lines, mine, assume_unique=True)


class _BackgroundWriter:
    """A Parquet writer (zstd) whose encoding runs in its own thread, one table queued at a
    time, so a batch is encoded while the next one is cast. Errors surface on close."""

    def __init__(self, out: Path, dictionary: frozenset[str] | None = None):
        self.out = out
        self.dictionary = True if dictionary is None else sorted(dictionary)
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="silver-writer", daemon=True)

    def __enter__(self) -> _BackgroundWriter:
        self.thread.start()
        return self

    def write(self, table: pa.Table) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(table)

    def _run(self) -> None:
        writer = None
        try:
            while (table := self.queue.get()) is not None:
                if writer is None:  # opened by the first table, empty or not: the schema
                    writer = pq.ParquetWriter(
                        self.out, table.schema, compression="zstd", use_dictionary=self.dictionary
                    )
                if table.num_rows:
                    writer.write_table(table)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc
            while self.queue.get() is not None:  # let the producer finish
                pass
        finally:
            if writer is not None:
                writer.close()

    def __exit__(self, *exc_info) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc_info[0] is None:
            raise self.error


def batch_rows(columns: int, cells: int = 4_000_000) -> int:
    """Rows per batch so that a batch holds about `cells` values: 65,536 rows up to 61
    columns, fewer for a wider file (memory is bounded by values, not rows). Measured on the
    5M-row benchmark file (14 columns): 256,000-row batches peaked at 1,118 MiB, 65,536 at
    814 MiB, in the same CPU time."""
    return max(1_000, min(65_536, cells // max(columns, 1)))


def _cast_in_batches(
    bronze: Path,
    typed: Path,
    p: SilverPlan,
    rows: int | None = None,
    deadline: Deadline | None = None,
    narrow: Path | None = None,
    loaded: pl.DataFrame | None = None,
) -> None:
    """Clean and cast batch by batch: memory is bounded by one batch, whatever the file size.
    (Polars' streaming sink held ~3 GB for a 5M-row file here; explicit batches hold ~0.3 GB.)
    `narrow` gets each row's hashes, key and line: what duplicate detection reads."""
    rows = rows or batch_rows(len(p.names))
    writers: dict[Path, pq.ParquetWriter] = {}

    def write(path: Path, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if path not in writers:
            writers[path] = pq.ParquetWriter(path, table.schema, compression="lz4")
        writers[path].write_table(table)

    try:
        source = pq.ParquetFile(bronze, pre_buffer=False)
        batches = source.iter_batches(batch_size=rows)
        empty = source.metadata.num_rows == 0
        # An empty Bronze file still yields typed (empty) files, by column groups too: one
        # lazy plan over thousands of columns overflows Polars' stack.
        if loaded is not None:
            batches = iter([loaded])
        for batch in [source.schema_arrow.empty_table()] if empty else batches:
            if deadline is not None:
                deadline.check()
            frame = p.apply_batch(
                batch if isinstance(batch, pl.DataFrame) else pl.from_arrow(batch), deadline
            )
            write(typed, frame)
            if narrow is not None:
                hashes = row_hashes(frame, p.columns)
                write(narrow, pl.concat([hashes, frame.select(*p.key, "_source_line")],
                                        how="horizontal"))  # fmt: skip
    finally:
        for writer in writers.values():
            writer.close()


def _write_kept(
    typed: Path,
    keep: Path,
    out: Path,
    deadline: Deadline | None,
    dictionary: frozenset[str] | None = None,
) -> int:
    """Silver: the typed rows whose line is kept, in line order, streamed (both files are in
    line order, so each typed batch meets the next slice of kept lines)."""
    kept = _Lines(keep)
    written = 0
    source = pq.ParquetFile(typed, pre_buffer=False)
    encode = True if dictionary is None else sorted(dictionary)
    with pq.ParquetWriter(
        out, source.schema_arrow, compression="zstd", use_dictionary=encode
    ) as writer:
        for batch in source.iter_batches(batch_size=batch_rows(source.metadata.num_columns)):
            if deadline is not None:
                deadline.check()
            lines = batch.column("_source_line").to_numpy(zero_copy_only=False)
            table = batch.filter(pa.array(kept.among(lines)))
            if table.num_rows:
                writer.write_batch(table)
                written += table.num_rows
    return written


def _sorted_lines(keep: Path):
    source = pq.ParquetFile(keep, pre_buffer=False)
    for batch in source.iter_batches(batch_size=1_000_000, columns=["_source_line"]):
        yield batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64)


def rename(names: dict[str, str], renames: dict[str, str]) -> dict[str, str]:
    """Apply the dataset's renames (Silver name → new name), the same whatever the column
    order: a rename is skipped (logged) when its new name is not snake_case, is taken by a
    column that keeps its name, or is wanted by two columns."""
    if not renames:
        return names
    moving = {s: renames[s] for s in names.values() if renames.get(s) and renames[s] != s}
    staying = set(names.values()) - set(moving)
    wanted = Counter(moving.values())
    out = {}
    for bronze_name, silver_name in names.items():
        new = moving.get(silver_name)
        if new is not None:
            if snake_case(new) != new or new in staying or wanted[new] > 1:
                log.warning("rename %s → %s skipped: not a free snake_case name", silver_name, new)
            else:
                silver_name = new
        out[bronze_name] = silver_name
    return out


def declared_spec(spec: str, values: pl.Series) -> str | None:
    """A declared type, resolved against this batch: `date` / `decimal` / `datetime` without
    detail take the detail inference finds; None when the values do not fit it (no value is
    ever lost to a declared type)."""
    kind, _, detail = spec.partition(":")
    if kind in ("date", "decimal", "datetime") and not detail:
        inferred = infer_spec(values)
        family = ("timestamp", "timestamptz") if kind == "datetime" else (kind,)
        return inferred if inferred.partition(":")[0] in family else None
    return spec if fits(spec, values) else None


def resolve_key(
    key: list[str], names: dict[str, str], renames: dict[str, str] | None = None
) -> list[str]:
    """Map declared key columns (original, snake_case or renamed names) to Silver names."""
    silver = set(names.values())
    renames = renames or {}
    out = []
    for column in key:
        if column in names:
            out.append(names[column])
        elif column in silver:
            out.append(column)
        elif snake_case(column) in silver:
            out.append(snake_case(column))
        elif renames.get(snake_case(column)) in silver:
            out.append(renames[snake_case(column)])
        else:
            raise BadInputError(
                f"key column {column!r} is not in the file; its columns are {sorted(names)}"
            )
    return out
