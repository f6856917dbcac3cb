"""Per-column profiles of a Bronze batch: the evidence schema detection works from.

Bronze keeps every data column as text, so a profile describes strings: how many are null,
how long they are, how many distinct values there are, whether they read as numbers, and
what they look like. Two costs are kept apart:

- counts (rows, nulls, distinct, lengths, min/max, numeric min/max) cover *all* rows, in one
  vectorised Polars pass per column (distinct is exact below 100,000 rows, HyperLogLog above);
- top values, shapes and the sample come from an evenly spaced sample of at most
  `sample_rows` rows, so they cost the same on a million rows as on a hundred thousand.

Values are trimmed first, and Silver's null tokens ("", NA, N/A, null, None, -, nan, in any
case) count as null, so a profile describes the values Silver will keep. `profile_parquet`
reads one column at a time: memory is bounded by the largest column, not the file. Measured
on 5,000,000 rows x 10 text columns, 2 cores: 5.8-7.2 s, peak RSS ~680 MiB
(`python bench/semantic.py --profile-rows 5000000`; bench/README.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

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


def profile_parquet(path: str | Path, *, sample_rows: int = 100_000) -> list[ColumnProfile]:
    """Profiles of a Bronze Parquet file, read one column at a time."""
    names = pq.read_schema(path).names
    return [
        profile_series(pl.read_parquet(path, columns=[name]).to_series(), sample_rows=sample_rows)
        for name in names
        if name not in LINEAGE_COLUMNS
    ]


def profile_series(values: pl.Series, *, sample_rows: int = 100_000) -> ColumnProfile:
    """The profile of one column, whatever its dtype (it is read as text)."""
    text = values.cast(pl.String).str.strip_chars()
    rows = text.len()
    stats = _stats(text, exact=rows < EXACT_DISTINCT_BELOW)
    nulls = int(stats["nulls"])
    present = rows - nulls
    numeric = (
        stats["numbers"] >= NUMERIC_SHARE * present > 0
        and math.isfinite(stats["numeric_min"])
        and math.isfinite(stats["numeric_max"])  # 1e999 parses, but is not JSON
    )
    step = -(-rows // sample_rows) if sample_rows > 0 else rows or 1
    sampled = _present(text.gather_every(max(step, 1)))
    counts = _counts(sampled)
    sample = _spread(sampled.unique(maintain_order=True), SAMPLE_VALUES)
    return ColumnProfile(
        name=values.name,
        rows=rows,
        nulls=nulls,
        null_pct=round(100.0 * nulls / rows, 4) if rows else 0.0,
        distinct=int(stats["distinct"] or 0),
        min_length=stats["min_length"],
        max_length=stats["max_length"],
        mean_length=round(stats["mean_length"], 4) if stats["mean_length"] is not None else None,
        min=stats["min"],
        max=stats["max"],
        numeric_min=float(stats["numeric_min"]) if numeric else None,
        numeric_max=float(stats["numeric_max"]) if numeric else None,
        top_values=_top(counts),
        patterns=_top(_counts(shapes(sampled))),
        sample=sample,
        sample_counts=_counts_of(sample, counts),
        sampled=sampled.len(),
        distinct_exact=rows < EXACT_DISTINCT_BELOW,
    )


def shapes(values: pl.Series) -> pl.Series:
    """Each value's shape: digits → 9, upper-case letters → A, other letters → a (any script:
    a shape must not carry a Cyrillic or Kanji name), other characters kept; runs are not
    collapsed, and a shape longer than 24 characters is cut to 23 and ends with `…`."""
    shape = (
        values.str.replace_all(r"\p{N}", "9")
        .str.replace_all(r"[\p{Ll}\p{Lt}\p{Lm}\p{Lo}]", "a")
        .str.replace_all(r"\p{Lu}", "A")
    )
    long = shape.str.len_chars() > SHAPE_WIDTH
    cut = shape.str.slice(0, SHAPE_WIDTH - 1) + "…"
    return pl.select(pl.when(long).then(cut).otherwise(shape)).to_series()


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
    """value, n: most frequent first, ties by value (deterministic)."""
    return (
        values.rename("value").value_counts(name="n").sort(["n", "value"], descending=[True, False])
    )


def _top(counts: pl.DataFrame) -> list[tuple[str, int]]:
    return [(str(v), int(n)) for v, n in counts.head(TOP).iter_rows()]


def _counts_of(sample: list[str], counts: pl.DataFrame) -> list[int]:
    found = pl.DataFrame({"value": sample}, schema={"value": pl.String}).join(
        counts, on="value", how="left", maintain_order="left"
    )
    return [int(n or 0) for n in found.get_column("n")]


def _spread(values: pl.Series, k: int) -> list[str]:
    """At most k values, evenly spaced over the series (first occurrences, in order)."""
    n = values.len()
    if n <= k:
        return values.to_list()
    return values.gather([i * n // k for i in range(k)]).to_list()
