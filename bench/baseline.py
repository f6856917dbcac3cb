"""Baseline for bench/pipeline.py: the platform's medallion steps as one hand-written script.

Usage:
    python bench/baseline.py bench/data/orders_5m.csv --out /tmp/baseline-out

The fastest plain Polars code we found for the same steps on the orders CSV
(bench/generate.py), schema hard-coded; the forms tried (DuckDB ones included) and their
seconds are in bench/README.md. One process, the frames stay in memory from step to step:
  1. Bronze (Polars): the CSV as strings, `_source_file`, `_source_line`, `_ingested_at`.
     `_source_line` is the physical line where the record starts (header = 1; lines inside a
     quoted value count), as the platform numbers them, so quarantine entries match line for
     line. Lines with a wrong field count are rejected and counted, their line numbers kept in
     rejected.parquet: a second, cheap Polars pass reads the file as physical lines and counts
     the separators outside quotes (Polars' reader pads short lines and cuts long ones, so it
     cannot tell them itself). Written to bronze.parquet.
  2. Silver (Polars): trim, null tokens -> null, cast to the known schema, then the last row
     of each order_id wins (an exact duplicate is a repeat of its key), as the platform does.
     Written to silver.parquet. With --split-duplicates, the exact duplicate rows are counted
     too (the platform does not split them; the counts are then null).
  3. Quality (Polars): the RULES below (the same JSON the platform is given by
     bench/pipeline.py), nulls passing every rule but not_null; failing rows ->
     quarantine.parquet (run id, source file, source line, rule, column, value, reason).
  4. Gold (Polars SQL): the benchmark's SQL over Silver's valid rows (quarantined lines left out,
     as the platform's Gold reads only valid rows); written to gold.parquet.

The last stdout line is a JSON object: counts, per-step seconds (wall and CPU), peak RSS
(ru_maxrss of this process). Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl

GOLD_SQL = (
    "SELECT country, status, count(*) AS orders, sum(amount) AS revenue "
    "FROM orders_bench GROUP BY ALL"
)
RUN_ID = "baseline"
NULL_TOKENS = ["", "NA", "N/A", "n/a", "null", "NULL", "Null", "None", "none", "-", "nan", "NaN"]
TRUE_TOKENS = ["true", "yes", "y", "t"]
COLUMNS = (
    "order_id customer_id zip country order_date shipped_date updated_at amount quantity"
    " discount_pct is_gift status email notes"
).split()
COMPRESSION = "snappy"  # of every Parquet file written (the cheapest to write, see README)


def _typed(c: str) -> pl.Expr:
    """Column c cleaned (trimmed, null tokens -> null) and cast (the schema a script author
    knows and hard-codes; strict casts: a value that does not fit stops the script)."""
    v = pl.col(c).str.strip_chars().replace(NULL_TOKENS, None)  # 2x when/is_in's speed
    cast = {
        "order_id": v.cast(pl.Int64),
        "customer_id": v.cast(pl.Int64),
        "order_date": v.str.to_date("%Y-%m-%d"),
        "shipped_date": v.str.to_date("%m/%d/%Y"),
        "updated_at": v.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC"),
        "amount": v.cast(pl.Decimal(38, 2)),
        "quantity": v.cast(pl.Int64),
        "discount_pct": v.cast(pl.Decimal(38, 1)),
        "is_gift": v.str.to_lowercase().is_in(TRUE_TOKENS),
    }
    return cast.get(c, v).alias(c)


# ------------------------------------------------------------------------------ quality rules

STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]  # not on_hold
ZIP = r"0[1-9][0-9]{3}|[1-9][0-9]{4}"  # no ZIP below 01000 (the data has 00501..00999)
# The platform's `format: email` pattern (flowforge.common.rules.FORMATS, as bench/quality.py).
EMAIL = (
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
LOW_DATE, HIGH_DATE = dt.date(2023, 2, 1), dt.date(2024, 12, 31)
# As a FlowForge user writes them (PUT /api/v1/datasets/orders_bench/rules, bench/pipeline.py);
# every one quarantines its failing rows.
RULES = [
    {"name": "country_not_null", "type": "not_null", "column": "country"},
    {"name": "status_accepted", "type": "accepted_values", "column": "status", "values": STATUSES},
    {"name": "amount_range", "type": "range", "column": "amount", "min": 0, "max": 1000},
    {
        "name": "order_date_range",
        "type": "range",
        "column": "order_date",
        "min": LOW_DATE.isoformat(),
        "max": HIGH_DATE.isoformat(),
    },
    {"name": "zip_regex", "type": "regex", "column": "zip", "pattern": ZIP},
    {"name": "notes_length", "type": "length", "column": "notes", "min": 1, "max": 39},
    {"name": "email_format", "type": "format", "column": "email", "format": "email"},
    {"name": "ships_after_order", "type": "sql", "expression": "shipped_date > order_date"},
]
RULES = [{**r, "action": "quarantine"} for r in RULES]
# rule -> (True where a row fails; null passes), reported column, reason (the platform's words)
CHECKS = {
    "country_not_null": (pl.col("country").is_null(), "country", "country is null"),
    "status_accepted": (
        ~pl.col("status").is_in(STATUSES),
        "status",
        "status is not one of: " + ", ".join(STATUSES),
    ),
    "amount_range": (
        ~pl.col("amount").is_between(0, 1000),
        "amount",
        "amount is outside [0, 1000]",
    ),
    "order_date_range": (
        ~pl.col("order_date").is_between(LOW_DATE, HIGH_DATE),
        "order_date",
        f"order_date is outside [{LOW_DATE}, {HIGH_DATE}]",
    ),
    "zip_regex": (~pl.col("zip").str.contains(f"^(?:{ZIP})$"), "zip", f"zip does not match {ZIP}"),
    "notes_length": (
        ~pl.col("notes").str.len_chars().is_between(1, 39),
        "notes",
        "length of notes is outside [1, 39]",
    ),
    "email_format": (
        ~pl.col("email").str.contains(f"^(?:{EMAIL})$"),
        "email",
        "email is not a valid email",
    ),
    "ships_after_order": (
        ~(pl.col("shipped_date") > pl.col("order_date")),
        None,
        "not (shipped_date > order_date)",
    ),
}
assert list(CHECKS) == [r["name"] for r in RULES]


# ------------------------------------------------------------------------------------ steps


def record_lines(csv: Path, fields: int) -> tuple[pl.Series, pl.DataFrame]:
    """The physical line (header = 1) where each data record starts, in file order, and the
    `_source_line` and field count of every record whose field count is not `fields`.

    Reads the file as physical lines (no CSV parsing), tracks whether each line starts inside
    a quoted field, and counts the commas outside quotes; only lines holding a quote go
    through a regex. (A quote inside an unquoted field would confuse it: the generator never
    writes one, and the counts are checked against its sidecar.)"""
    line = pl.col("l")
    lines = (
        pl.scan_csv(
            csv,
            has_header=False,
            separator="\x1f",  # never in the file: one field per physical line
            quote_char=None,
            schema={"l": pl.String},
            empty_string_is_null=False,
        )
        .with_row_index("_line", offset=1)
        .with_columns(quotes=line.str.count_matches('"', literal=True))
        .with_columns(inside_after=(pl.col("quotes") % 2).cum_sum() % 2 == 1)
        .with_columns(inside_before=pl.col("inside_after").shift(1, fill_value=False))
        .with_columns(
            _source_line=pl.when(pl.col("inside_before"))
            .then(None)
            .otherwise(pl.col("_line"))
            .forward_fill()
            .cast(pl.Int64)
        )
        .collect()
    )
    # A record on one line without quotes: its commas; the others (few) through the regexes,
    # only on their own rows (when/then would run them on every line).
    simple = (pl.col("quotes") == 0) & ~pl.col("inside_before") & ~pl.col("inside_after")
    plain = (
        lines.lazy()
        .filter(simple)
        .select("_source_line", fields=line.str.count_matches(",", literal=True) + 1)
    )
    quoted = (
        lines.lazy()
        .filter(~simple)
        .with_columns(
            commas=pl.when(pl.col("inside_before"))
            .then(line.str.replace(r'^[^"]*"', ""))  # the rest of a quoted value
            .otherwise(line)
            .str.replace_all(r'"[^"]*"', "")  # quoted runs ("" escapes: two adjacent runs)
            .str.replace(r'"[^"]*$', "")  # a quoted value going on on the next line
            .str.count_matches(",", literal=True)
        )
        .group_by("_source_line")
        .agg(fields=pl.col("commas").sum() + 1)
    )
    bad = (
        pl.concat([plain, quoted])
        .filter((pl.col("fields") != fields) & (pl.col("_source_line") > 1))
        .sort("_source_line")
        .collect()
    )
    starts = lines.filter(~pl.col("inside_before")).get_column("_source_line")
    return starts.slice(1), bad  # the header's line left out


def bronze_step(csv: Path, out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bronze frame (strings + lineage) and the rejected lines; `_source_line` is the physical
    line where the record starts (header = 1), as the platform numbers them."""
    starts, bad = record_lines(csv, len(COLUMNS))
    is_bad = starts.is_in(bad.get_column("_source_line").implode())
    # The rejected records are dropped by the scan itself (by position): no copy of the frame.
    bad_index = pl.Series(is_bad.arg_true(), dtype=pl.UInt32).implode()
    frame = (
        pl.scan_csv(
            csv,
            schema=dict.fromkeys(COLUMNS, pl.String),
            truncate_ragged_lines=True,  # long lines are rejected above
            row_index_name="_i",
        )
        .filter(~pl.col("_i").is_in(bad_index))
        .drop("_i")
        .collect()
    )
    good = starts.filter(~is_bad)
    if frame.height != good.len():
        raise SystemExit(f"{frame.height} records parsed, {good.len()} counted by lines")
    now = dt.datetime.now(dt.UTC)
    bronze = frame.with_columns(
        pl.lit(csv.name).alias("_source_file"),
        good.alias("_source_line"),
        pl.lit(now).dt.cast_time_unit("us").alias("_ingested_at"),
    )
    bronze.write_parquet(out / "bronze.parquet", compression=COMPRESSION)
    bad.write_parquet(out / "rejected.parquet", compression=COMPRESSION)
    return bronze, bad


def silver_step(bronze: pl.DataFrame, out: Path, split: bool) -> tuple[pl.DataFrame, int | None]:
    """Silver frame (typed, last row per order_id, in line order) and, with `split`, the
    number of exact duplicate rows (typed data columns equal; lineage left out)."""
    typed = bronze.lazy().select(*map(_typed, COLUMNS), "_source_file", "_source_line",
                                 "_ingested_at").collect()  # fmt: skip
    silver = typed.filter(pl.col("order_id").is_last_distinct())
    silver.write_parquet(out / "silver.parquet", compression=COMPRESSION)
    if not split:
        return silver, None
    return silver, typed.height - typed.select(pl.struct(COLUMNS).hash()).n_unique()


def quality_step(silver: pl.DataFrame, out: Path) -> tuple[pl.DataFrame, dict[str, int]]:
    """Quarantine entries (a row failing two rules has two) and failing rows per rule."""
    flags = silver.select(e.alias(f"_fails_{name}") for name, (e, _, _) in CHECKS.items())
    failed = dict(zip(CHECKS, map(int, flags.sum().row(0)), strict=True))
    checked = pl.concat([silver, flags], how="horizontal").lazy()
    parts = [
        checked.filter(pl.col(f"_fails_{name}")).select(
            pl.lit(RUN_ID).alias("_run_id"),
            "_source_file",
            "_source_line",
            pl.lit(name).alias("rule"),
            pl.lit(column, pl.String).alias("column"),
            (pl.lit(None, pl.String) if column is None else pl.col(column).cast(pl.String)).alias(
                "value"
            ),
            pl.lit(reason).alias("reason"),
        )
        for name, (_, column, reason) in CHECKS.items()
        if failed[name]
    ]
    empty = {"_run_id": pl.String, "_source_file": pl.String, "_source_line": pl.Int64}
    quarantine = pl.concat(parts).collect() if parts else pl.DataFrame(schema=empty)
    quarantine.write_parquet(out / "quarantine.parquet", compression=COMPRESSION)
    return quarantine, failed


def gold_step(valid: pl.DataFrame, out: Path) -> int:
    """The benchmark's Gold SQL, as written, over the valid rows (Polars' SQL: DuckDB over the
    same Arrow data took ~10x longer here, see README)."""
    gold = pl.SQLContext(orders_bench=valid).execute(GOLD_SQL).collect()
    gold.write_parquet(out / "gold.parquet", compression=COMPRESSION)
    return gold.height


class Clock:
    """Per-step wall and CPU seconds (CPU: all threads of this process)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        self.t, self.c = self.t0, self.c0

    def lap(self, step: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        self.seconds[step], self.cpu[step] = round(t - self.t, 3), round(c - self.c, 3)
        self.t, self.c = t, c

    def total(self) -> None:
        self.seconds["total"] = round(self.t - self.t0, 3)
        self.cpu["total"] = round(self.c - self.c0, 3)


def run(csv: Path, out: Path, split: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    bronze, rejected = bronze_step(csv, out)
    clock.lap("bronze")
    silver, exact = silver_step(bronze, out, split)
    bronze_rows, silver_rows = bronze.height, silver.height
    del bronze  # written; only its count is needed from here on
    clock.lap("silver")
    quarantine, failed = quality_step(silver, out)
    lines = quarantine.get_column("_source_line").unique().implode()
    valid = silver.filter(~pl.col("_source_line").is_in(lines))
    clock.lap("quality")
    gold_rows = gold_step(valid, out)
    clock.lap("gold")
    clock.total()
    return {
        "counts": {
            "parsed": bronze_rows + rejected.height,
            "rejected": rejected.height,
            "bronze": bronze_rows,
            "exact_duplicates": exact,
            "key_duplicates": None if exact is None else bronze_rows - silver_rows - exact,
            "duplicates": bronze_rows - silver_rows,
            "silver": silver_rows,
            "quarantined": silver_rows - valid.height,
            "quarantine_entries": quarantine.height,
            "valid": valid.height,
            "gold": gold_rows,
        },
        "failed_by_rule": failed,
        "rejected_lines": rejected.get_column("_source_line").head(20).to_list(),
        "seconds": clock.seconds,
        "cpu_seconds": clock.cpu,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outputs": {
            name: str(out / f"{name}.parquet")
            for name in ("bronze", "rejected", "silver", "quarantine", "gold")
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="directory for the Parquet files")
    ap.add_argument(
        "--split-duplicates",
        action="store_true",
        help="also count exact vs key duplicates (~0.5 CPU s at 5M rows; the platform does not)",
    )
    args = ap.parse_args(argv)
    result = run(args.csv.resolve(), args.out, args.split_duplicates)
    print(
        f"baseline: {result['counts']}  {result['seconds']}  peak RSS {result['peak_rss_mb']} MB",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
