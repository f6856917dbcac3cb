"""Bronze → Silver with safe defaults, in bounded memory.

The Bronze file is never loaded whole: types are inferred one column at a time (a column of
strings is the largest thing in memory), cleaning and casting stream through Polars' streaming
engine into a typed file, and DuckDB removes duplicates with a memory limit (spilling to disk).

Duplicates: without a key, exact duplicate rows go (the first is kept). With a key, the last
row of each key wins (an exact duplicate is just a repeat of its key); rows with a null key
part are never merged by key (quality quarantines them), only exact repeats among them go.
Both the file path and the in-memory path use the same SQL, so they cannot disagree; it reads
only each row's hashes, key and line, so its memory does not grow with the width.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from flowforge.common.errors import BadInputError
from flowforge.common.lake import LINEAGE_COLUMNS, ValidRows, sql_string
from flowforge.common.models import quote_identifier
from flowforge.common.naming import normalise_names, snake_case
from flowforge.transform.inference import (
    LINEAGE,
    cast_expr,
    clean_expr,
    fits,
    infer_spec,
    public_kind,
)
from flowforge.transform.limits import Deadline

__all__ = ["LINEAGE", "SilverPlan", "SilverResult", "bronze_to_silver", "dedupe", "silver_file"]
DUCKDB_MEMORY = "600MB"
COLUMN_GROUP = 64
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SilverPlan:
    """How each Bronze column becomes a Silver column."""

    names: dict[str, str]  # bronze name → silver name
    types: dict[str, str]  # silver name → type
    casts: dict[str, pl.Expr]  # silver name → cast of the cleaned text
    key: list[str]  # in silver names
    specs: dict[str, str]  # silver name → type spec (see inference.infer_spec)

    @property
    def columns(self) -> list[str]:
        return list(self.names.values())

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        cleaned = frame.with_columns(clean_expr(c) for c in self.names).rename(self.names)
        if self.casts:
            cleaned = cleaned.with_columns(e.alias(n) for n, e in self.casts.items())
        return cleaned.select(*self.columns, *LINEAGE)

    def apply_batch(self, frame: pl.DataFrame, deadline: Deadline | None = None) -> pl.DataFrame:
        """`apply` to a frame in groups of columns: Polars plans a query in time that grows
        faster than its column count (500 columns took 5 s in one query), so a wide file is
        cleaned and cast `COLUMN_GROUP` columns at a time, in time linear in its columns."""
        if len(self.names) <= COLUMN_GROUP:
            return self.apply(frame.lazy()).collect()
        items = list(self.names.items())
        parts = []
        for start in range(0, len(items), COLUMN_GROUP):
            if deadline is not None:
                deadline.check()
            group = dict(items[start : start + COLUMN_GROUP])
            cleaned = frame.lazy().select(clean_expr(c) for c in group).rename(group)
            casts = [self.casts[n].alias(n) for n in group.values() if n in self.casts]
            if casts:
                cleaned = cleaned.with_columns(casts)
            parts.append(cleaned.collect())
        parts.append(frame.select(LINEAGE))
        return pl.concat(parts, how="horizontal")


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
) -> SilverPlan:
    """Infer every column's type; `column_values(name)` returns that Bronze column.

    `pinned` holds the dataset's type specs from earlier batches: a column keeps its pinned
    type whenever every value of this batch fits it, so one file with, say, only unambiguous
    dates or only whole amounts does not change the dataset's column types."""
    base = normalise_names([c for c in columns if c not in LINEAGE])
    names = rename(base, renames or {})
    silver_key = resolve_key(key, names, renames or {})
    pinned = pinned or {}
    types = types or {}

    def infer(item: tuple[str, str]) -> str:
        bronze_name, silver_name = item
        values = column_values(bronze_name).to_frame().select(clean_expr(bronze_name))
        series = values.to_series().rename(silver_name)
        wanted = types.get(silver_name) or types.get(base[bronze_name])  # new or old name
        return _column_spec(series, wanted, pinned)

    # Two columns at a time: Polars releases the GIL, and memory holds two columns at most.
    with ThreadPoolExecutor(max_workers=2) as pool:
        specs = dict(zip(names.values(), pool.map(infer, names.items()), strict=True))
    casts = {n: e for n, spec in specs.items() if (e := cast_expr(spec, n)) is not None}
    return SilverPlan(
        names=names,
        types={n: public_kind(spec) for n, spec in specs.items()},
        casts=casts,
        key=silver_key,
        specs=specs,
    )


def _column_spec(series: pl.Series, wanted: str | None, pinned: dict[str, str]) -> str:
    """The declared type when every value fits it; else the pinned type when every value fits
    it; else the type inferred from the values."""
    if wanted:
        declared = declared_spec(wanted, series)
        if declared is not None:
            return declared
        log.warning(
            "column %s does not fit its declared type %s in this file; inferred instead",
            series.name,
            wanted,
        )
    if series.name in pinned and fits(pinned[series.name], series):
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


def _duckdb(scratch: Path | None = None) -> duckdb.DuckDBPyConnection:
    config = {"threads": 2, "memory_limit": DUCKDB_MEMORY, "preserve_insertion_order": False}
    if scratch is not None:
        config["temp_directory"] = str(scratch)
    return duckdb.connect(config=config)


def deleted_rows(
    before: ValidRows, snapshot: Path, key: list[str], out: Path, at: datetime, scratch: Path
) -> int:
    """Write the rows of `before` (the current rows) that a full snapshot no longer has, with
    `_deleted_at`; their count. Rows are matched by the key, or without a key by every data
    column both sides have. Nothing is written when none went."""
    con = _duckdb(scratch)
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
    columns = pq.read_schema(bronze).names
    rows = pq.ParquetFile(bronze).metadata.num_rows

    source = pq.ParquetFile(bronze)  # its metadata parsed once (O(columns) each time)
    lock = threading.Lock()

    def column(name: str) -> pl.Series:
        deadline.check()  # inference runs column by column
        with lock:
            values = source.read(columns=[name]).column(0)
        return pl.Series(name, values)

    p = plan(columns, column, key, pinned, types=types, renames=renames)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        typed, narrow, keep = (Path(tmp) / f"{n}.parquet" for n in ("typed", "narrow", "keep"))
        _cast_in_batches(bronze, typed, p, deadline=deadline, narrow=narrow)
        con = _duckdb(Path(tmp))
        try:
            query = keep_sql(f"read_parquet({sql_string(str(narrow))})", p.key)
            with deadline.interrupting(con):
                con.execute(f"COPY ({query}) TO {sql_string(str(keep))} (FORMAT parquet)")
        finally:
            con.close()
        silver = _write_kept(typed, keep, out, deadline)
    return SilverFileResult(bronze=rows, silver=silver, types=p.types, key=p.key, specs=p.specs)


def batch_rows(columns: int, cells: int = 16_000_000) -> int:
    """Rows per batch so that a batch holds about `cells` values: 256,000 rows up to 64
    columns, fewer for a wider file (memory is bounded by values, not rows)."""
    return max(1_000, min(256_000, cells // max(columns, 1)))


def _cast_in_batches(
    bronze: Path,
    typed: Path,
    p: SilverPlan,
    rows: int | None = None,
    deadline: Deadline | None = None,
    narrow: Path | None = None,
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
        source = pq.ParquetFile(bronze)
        batches = source.iter_batches(batch_size=rows)
        empty = source.metadata.num_rows == 0
        # An empty Bronze file still yields typed (empty) files, by column groups too: one
        # lazy plan over thousands of columns overflows Polars' stack.
        for batch in [source.schema_arrow.empty_table()] if empty else batches:
            if deadline is not None:
                deadline.check()
            frame = p.apply_batch(pl.from_arrow(batch), deadline)
            write(typed, frame)
            if narrow is not None:
                hashes = row_hashes(frame, p.columns)
                write(narrow, pl.concat([hashes, frame.select(*p.key, "_source_line")],
                                        how="horizontal"))  # fmt: skip
    finally:
        for writer in writers.values():
            writer.close()


def _write_kept(typed: Path, keep: Path, out: Path, deadline: Deadline | None) -> int:
    """Silver: the typed rows whose line is kept, in line order, streamed (both files are in
    line order, so each typed batch meets the next slice of kept lines)."""
    kept_lines = _sorted_lines(keep)
    pending = np.empty(0, dtype=np.int64)
    written = 0
    source = pq.ParquetFile(typed)
    with pq.ParquetWriter(out, source.schema_arrow, compression="zstd") as writer:
        for batch in source.iter_batches(batch_size=batch_rows(source.metadata.num_columns)):
            if deadline is not None:
                deadline.check()
            lines = batch.column("_source_line").to_numpy(zero_copy_only=False)
            if len(lines) == 0:
                continue
            last = lines[-1]
            while not len(pending) or pending[-1] <= last:
                more = next(kept_lines, None)
                if more is None:
                    break
                pending = np.concatenate([pending, more])
            upto = np.searchsorted(pending, last, side="right")
            mine, pending = pending[:upto], pending[upto:]
            mask = np.isin(lines, mine, assume_unique=True)
            table = batch.filter(pa.array(mask))
            if table.num_rows:
                writer.write_batch(table)
                written += table.num_rows
    return written


def _sorted_lines(keep: Path):
    for batch in pq.ParquetFile(keep).iter_batches(batch_size=1_000_000, columns=["_source_line"]):
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
