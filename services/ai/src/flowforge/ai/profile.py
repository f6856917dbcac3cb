"""Per-column profiles of a Bronze batch: the evidence schema detection works from.

Bronze keeps every data column as text, so a profile describes strings: how many are null,
how long they are, how many distinct values there are, whether they read as numbers, and
what they look like. Values are trimmed first, and Silver's null tokens ("", NA, N/A, null,
None, -, nan, in any case) count as null, so a profile describes the values Silver will keep.

The profile is advisory and must stay cheap while Silver is built from the same batch, so
`profile_parquet` reads a bounded sample of each column (`flowforge.ai.sample`: up to
200,000 rows in 32 runs spread over the file, one column at a time) and computes every
figure but `rows` from it; `rows` comes from the Parquet metadata. A batch that fits in the
sample is read whole and its profile is exact. When it does not (`rows_profiled < rows`):

- `nulls` is the sample's null share scaled to the batch (`nulls_exact` false), so 0 means
  "none in the sample";
- `distinct` is Haas and Stokes' Duj1 estimate from the sample (the estimator PostgreSQL's
  ANALYZE uses; `distinct_exact` false): a sample of all-different values reads as a key;
- lengths, min/max, the numeric range, top values, shapes and sample values are the
  sample's.

On a frame or a series (`profile_frame`, `profile_series`) every count covers all rows
(distinct is exact below 100,000 values, HyperLogLog above); top values, shapes and the
sample come from an evenly spaced sample of at most `sample_rows` rows. Measured on
5,000,000 rows x 10 text columns, 2 cores: `profile_parquet` 1.4 to 2.1 CPU-s, peak RSS
240 to 270 MiB, the same on 40,000,000 rows (reading every row: 10 CPU-s and 620 MiB, and
81 CPU-s and 3.4 GiB); `python bench/semantic.py --profile-rows 5000000`, bench/README.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from flowforge.ai.sample import SAMPLE_ROWS, BronzeSample
from flowforge.common.lake import LINEAGE_COLUMNS

NULL_TOKENS = ["", "na", "n/a", "null", "none", "-", "nan"]  # lower-cased, as Silver's list
EXACT_DISTINCT_BELOW = 100_000
TOP = 10
SAMPLE_VALUES = 50
SHAPE_WIDTH = 24
# A number as people write it: optional sign, optional thousands commas, optional exponent.
NUMBER = r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?(?:[eE][+-]?\d+)?$|^[+-]?\.\d+$"
NUMERIC_SHARE = 0.95


def _spellings(token: str) -> list[str]:
    out = [""]
    for ch in token:
        out = [s + c for s in out for c in {ch.lower(), ch.upper()}]
    return out


_NULL_SPELLINGS = sorted({s for token in NULL_TOKENS for s in _spellings(token)})


@dataclass
class ColumnProfile:
    name: str
    rows: int
    nulls: int
    null_pct: float
    distinct: int
    min_length: int | None = None
    max_length: int | None = None
    mean_length: float | None = None
    min: str | None = None
    max: str | None = None
    numeric_min: float | None = None
    numeric_max: float | None = None
    top_values: list[tuple[str, int]] = field(default_factory=list)
    patterns: list[tuple[str, int]] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    sample_counts: list[int] = field(default_factory=list)  # each sample value's count in it
    sampled: int = 0  # non-null values of the row sample that top_values/patterns counted
    distinct_exact: bool = True
    rows_profiled: int = 0  # rows every figure but `rows` comes from (all of them: exact)
    nulls_exact: bool = True

    @property
    def present(self) -> int:
        """Non-null values."""
        return self.rows - self.nulls

    @property
    def distinct_ratio(self) -> float:
        return self.distinct / self.present if self.present else 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["top_values"] = [[v, n] for v, n in self.top_values]
        out["patterns"] = [[p, n] for p, n in self.patterns]
        return out


def profile_frame(df: pl.DataFrame, *, sample_rows: int = 100_000) -> list[ColumnProfile]:
    """A profile of every data column of a Bronze frame (lineage columns are skipped)."""
    return [
        profile_series(df.get_column(name), sample_rows=sample_rows)
        for name in df.columns
        if name not in LINEAGE_COLUMNS
    ]


def profile_parquet(path: str | Path, *, sample_rows: int = SAMPLE_ROWS) -> list[ColumnProfile]:
    """Profiles of a Bronze Parquet file from a sample of at most `sample_rows` rows per
    column, read one column at a time (see the module docstring)."""
    bronze = BronzeSample(path)
    out = []
    for name in bronze.names:
        if name in LINEAGE_COLUMNS:
            continue
        values = bronze.read(name, rows=sample_rows)
        out.append(profile_series(values, rows=bronze.rows))
    return out


def profile_series(
    values: pl.Series, *, sample_rows: int = 100_000, rows: int | None = None
) -> ColumnProfile:
    """The profile of one column, whatever its dtype (it is read as text). With `rows` above
    the number of values, the values are a sample of a batch of that many rows: null and
    distinct counts are estimates for the batch, the other figures the sample's."""
    text = values.cast(pl.String).str.strip_chars()
    read = text.len()
    total = max(rows or 0, read)
    if total == read and read <= sample_rows and read < EXACT_DISTINCT_BELOW:
        return _profile_by_counts(values.name, text)
    return _profile_by_values(values.name, text, total, sample_rows)


def _profile_by_values(name: str, text: pl.Series, total: int, sample_rows: int) -> ColumnProfile:
    """`profile_series` of a column whose figures need the values themselves: a sample of a
    larger batch (estimates), or more values than are counted exactly."""
    read = text.len()
    exact = total == read
    stats = _stats(text, exact=read < EXACT_DISTINCT_BELOW)
    nulls = int(stats["nulls"]) if exact else round(stats["nulls"] * total / read)
    present = total - nulls
    numeric = (
        stats["numbers"] >= NUMERIC_SHARE * (read - stats["nulls"]) > 0
        and math.isfinite(stats["numeric_min"])
        and math.isfinite(stats["numeric_max"])  # 1e999 parses, but is not JSON
    )
    step = -(-read // sample_rows) if sample_rows > 0 else read or 1
    sampled = _present(text.gather_every(max(step, 1)))
    counts = _counts(sampled)
    if exact:
        distinct = int(stats["distinct"] or 0)
    else:
        distinct = estimate_distinct(_present(text).value_counts(name="n")["n"], present)
    sample = _spread(sampled.unique(maintain_order=True), SAMPLE_VALUES)
    return _assemble(
        name, stats, counts, sample, total=total, nulls=nulls, distinct=distinct,
        mean=stats["mean_length"], numeric=numeric, sampled=sampled.len(),
        distinct_exact=exact and read < EXACT_DISTINCT_BELOW, rows_profiled=read,
        nulls_exact=exact,
    )  # fmt: skip


def _profile_by_counts(name: str, text: pl.Series) -> ColumnProfile:
    """`profile_series` of a whole batch counted exactly, from its distinct values and their
    counts: every figure is the one `_profile_by_values` gives, but each distinct value is
    tested once (a status column of 50,000 rows: 7 values parsed, not 50,000), in a few
    queries instead of ~25 (a 50k-row, 14-column profile: 388 -> 184-215 CPU-ms)."""
    v, n = pl.col("value"), pl.col("n")
    present = ~(v.is_null() | v.is_in(_NULL_SPELLINGS))
    counts = text.rename("value").value_counts(name="n").filter(present)
    number = pl.when(v.str.contains(NUMBER)).then(
        v.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    )
    stats = (
        counts.lazy()
        .with_columns(length=v.str.len_chars().cast(pl.Int64), number=number)
        .select(
            present=n.sum(),
            min_length=pl.col("length").min(),
            max_length=pl.col("length").max(),
            length_sum=(pl.col("length") * n).sum(),
            min=v.min(),
            max=v.max(),
            numbers=n.filter(pl.col("number").is_not_null()).sum(),
            numeric_min=pl.col("number").min(),
            numeric_max=pl.col("number").max(),
        )
        .collect()
        .row(0, named=True)
    )
    total, count = text.len(), int(stats["present"])
    nulls = total - count
    numeric = (
        stats["numbers"] >= NUMERIC_SHARE * count > 0
        and math.isfinite(stats["numeric_min"])
        and math.isfinite(stats["numeric_max"])
    )
    mean = stats["length_sum"] / count if count else None
    first_seen = text.unique(maintain_order=True).rename("value").to_frame().filter(present)
    sample = _spread(first_seen.get_column("value"), SAMPLE_VALUES)
    return _assemble(
        name, stats, counts, sample, total=total, nulls=nulls, distinct=counts.height,
        mean=mean, numeric=numeric, sampled=count, distinct_exact=True, rows_profiled=total,
        nulls_exact=True,
    )  # fmt: skip


def _assemble(
    name: str, stats: dict, counts: pl.DataFrame, sample: list[str], *, total: int, nulls: int,
    distinct: int, mean: float | None, numeric: bool, sampled: int, distinct_exact: bool,
    rows_profiled: int, nulls_exact: bool,
) -> ColumnProfile:  # fmt: skip
    """A column's profile from its figures, its values' counts and its sample."""
    return ColumnProfile(
        name=name,
        rows=total,
        nulls=nulls,
        null_pct=round(100.0 * nulls / total, 4) if total else 0.0,
        distinct=distinct,
        min_length=stats["min_length"],
        max_length=stats["max_length"],
        mean_length=round(mean, 4) if mean is not None else None,
        min=stats["min"],
        max=stats["max"],
        numeric_min=float(stats["numeric_min"]) if numeric else None,
        numeric_max=float(stats["numeric_max"]) if numeric else None,
        top_values=_top(counts),
        patterns=_top(_shape_counts(counts)),
        sample=sample,
        sample_counts=_counts_of(sample, counts),
        sampled=sampled,
        distinct_exact=distinct_exact,
        rows_profiled=rows_profiled,
        nulls_exact=nulls_exact,
    )


def estimate_distinct(counts: pl.Series, population: int) -> int:
    """Distinct values among `population` from a random sample's value counts: Haas and
    Stokes' Duj1, n·d / (n − f1 + f1·n/N), d distinct and f1 seen once among n sampled.
    A sample of all-different values gives N (a key), one without singletons gives d."""
    n, d = int(counts.sum() or 0), counts.len()
    if n == 0 or n >= population:
        return d
    once = int((counts == 1).sum())
    estimate = n * d / (n - once + once * n / population)
    return min(max(round(estimate), d), population)


def shapes(values: pl.Series) -> pl.Series:
    """Each value's shape: digits → 9, upper-case letters → A, other letters → a (any script:
    a shape must not carry a Cyrillic or Kanji name), other characters kept; runs are not
    collapsed, and a shape longer than 24 characters is cut to 23 and ends with `…`.

    ASCII values are shaped byte by byte through a table (a key column's 50k distinct values:
    11 → 1 ms); the others by `_script_shapes`' Unicode classes."""
    shape, longest = _uncut_shapes(values)
    return _cut(shape) if longest > SHAPE_WIDTH else shape


def _uncut_shapes(values: pl.Series) -> tuple[pl.Series, int]:
    """`shapes` before long ones are cut, and the most bytes of a value (no value has more
    characters: none needs a cut when that is at most SHAPE_WIDTH)."""
    shape, ascii_only, longest = _ascii_shapes(values)
    if not ascii_only:
        other = (values.str.len_bytes() != values.str.len_chars()).fill_null(False).arg_true()
        if other.len():
            shape = shape.scatter(other, _script_shapes(values.gather(other)))
    return shape, longest


def _cut(shape: pl.Series) -> pl.Series:
    long = shape.str.len_chars() > SHAPE_WIDTH
    cut = shape.str.slice(0, SHAPE_WIDTH - 1) + "…"
    return pl.select(pl.when(long).then(cut).otherwise(shape)).to_series()


def _script_shapes(values: pl.Series) -> pl.Series:
    """Shapes (uncut) by the Unicode classes: any script's digits and letters."""
    return (
        values.str.replace_all(r"\p{N}", "9")
        .str.replace_all(r"[\p{Ll}\p{Lt}\p{Lm}\p{Lo}]", "a")
        .str.replace_all(r"\p{Lu}", "A")
    )


# Byte → its shape for ASCII (the classes above restricted to it); bytes of other characters
# pass unchanged (a value holding one is shaped by `_script_shapes` instead).
_ASCII_SHAPE = np.arange(256, dtype=np.uint8)
_ASCII_SHAPE[ord("0") : ord("9") + 1] = ord("9")
_ASCII_SHAPE[ord("a") : ord("z") + 1] = ord("a")
_ASCII_SHAPE[ord("A") : ord("Z") + 1] = ord("A")


def _ascii_shapes(values: pl.Series) -> tuple[pl.Series, bool, int]:
    """Shapes (uncut) that are right for the ASCII values: the text's bytes mapped through
    `_ASCII_SHAPE` at once (the offsets and nulls kept); whether every byte is ASCII, and the
    most bytes of a value."""
    text = values.cast(pl.String).to_arrow().cast(pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    validity, offsets, data = text.buffers()
    if data is None or not data.size:
        return values.cast(pl.String), True, 0
    raw = np.frombuffer(data, dtype=np.uint8)
    mapped = pa.py_buffer(_ASCII_SHAPE[raw].tobytes())
    shaped = pa.LargeStringArray.from_buffers(
        len(text), offsets, mapped, validity, text.null_count, text.offset
    )
    ends = np.frombuffer(offsets, dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    ascii_only = not (raw[ends[0] : ends[-1]] >= 0x80).any()
    longest = int(np.diff(ends).max()) if len(text) else 0
    return pl.Series(values.name, shaped, dtype=pl.String), ascii_only, longest


def _present(text: pl.Series) -> pl.Series:
    return text.filter(~_null_mask(text))


def _null_mask(text: pl.Series) -> pl.Series:
    # Every spelling of the tokens, so no lower-casing of the whole column is needed.
    return text.is_null() | text.is_in(_NULL_SPELLINGS)


def _stats(text: pl.Series, *, exact: bool) -> dict:
    null = _null_mask(text)
    present = text.filter(~null)
    p = pl.col("v")
    lengths = p.str.len_chars()
    number = pl.when(p.str.contains(NUMBER)).then(
        p.str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    )
    row = (
        pl.DataFrame({"v": present})
        .lazy()
        .select(
            distinct=p.n_unique() if exact else p.approx_n_unique(),
            min_length=lengths.min(),
            max_length=lengths.max(),
            mean_length=lengths.mean(),
            min=p.min(),
            max=p.max(),
            numbers=number.count(),
            numeric_min=number.min(),
            numeric_max=number.max(),
        )
        .collect()
        .row(0, named=True)
    )
    row["nulls"] = int(null.sum())
    row["distinct"] = min(int(row["distinct"] or 0), present.len())
    return row


def _counts(values: pl.Series) -> pl.DataFrame:
    """value, n: each value's count, in no particular order."""
    return values.rename("value").value_counts(name="n")


def _shape_counts(counts: pl.DataFrame) -> pl.DataFrame:
    # Each distinct value is shaped once (the regexes cost more than the grouping), and long
    # shapes are cut once grouped: fewer of them (an e-mail column: 9 -> 3 ms).
    shape, longest = _uncut_shapes(counts.get_column("value"))
    grouped = counts.group_by(shape.alias("value")).agg(pl.col("n").sum())
    if longest <= SHAPE_WIDTH:
        return grouped
    return grouped.group_by(_cut(grouped.get_column("value"))).agg(pl.col("n").sum())


def _top(counts: pl.DataFrame) -> list[tuple[str, int]]:
    """The TOP most frequent, ties by value (deterministic)."""
    by, order = ["n", "value"], [True, False]
    top = counts.top_k(TOP, by=by, reverse=[not d for d in order]).sort(by, descending=order)
    return [(str(v), int(n)) for v, n in top.iter_rows()]


def _counts_of(sample: list[str], counts: pl.DataFrame) -> list[int]:
    found = dict(counts.filter(pl.col("value").is_in(sample)).iter_rows())
    return [int(found.get(value) or 0) for value in sample]


def _spread(values: pl.Series, k: int) -> list[str]:
    """At most k values, evenly spaced over the series (first occurrences, in order)."""
    n = values.len()
    if n <= k:
        return values.to_list()
    return values.gather([i * n // k for i in range(k)]).to_list()
