"""Baseline for bench/pipeline.py: the same medallion steps as FlowForge, as one plain script.

Usage:
    python bench/baseline.py bench/data/orders_5m.csv --out /tmp/baseline-out [--threads N]

What a competent hand-written DuckDB script does with the orders CSV (bench/generate.py):
  1. Bronze: read the CSV as strings (`all_varchar`), skipping lines with a wrong field count
     (`store_rejects`), add `_source_file`, `_source_line` (record number in the file, header
     = 1; a record spanning two physical lines counts once), `_ingested_at`; write Parquet.
  2. Silver: trim, null tokens -> NULL, cast to the known (hard-coded) schema, drop exact
     duplicate rows (first kept), then keep the last row of each order_id; write Parquet.
  3. Gold: the benchmark's SQL (revenue per country and status) over Silver; write Parquet.

The last stdout line is a JSON object: counts, per-step seconds, peak RSS (ru_maxrss of this
process). Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import duckdb

GOLD_SQL = (
    "SELECT country, status, count(*) AS orders, sum(amount) AS revenue "
    "FROM orders_bench GROUP BY ALL"
)
NULL_TOKENS = ["", "NA", "N/A", "n/a", "null", "NULL", "Null", "None", "none", "-", "nan", "NaN"]
COLUMNS = (
    "order_id customer_id zip country order_date shipped_date updated_at amount quantity"
    " discount_pct is_gift status email notes"
).split()
# column -> SQL over the cleaned string {v} (the schema a script author knows and hard-codes)
CASTS = {
    "order_id": "CAST({v} AS BIGINT)",
    "customer_id": "CAST({v} AS BIGINT)",
    "zip": "{v}",
    "country": "{v}",
    "order_date": "CAST({v} AS DATE)",
    "shipped_date": "CAST(strptime({v}, '%m/%d/%Y') AS DATE)",
    "updated_at": "CAST({v} AS TIMESTAMPTZ)",
    "amount": "CAST({v} AS DECIMAL(18,2))",
    "quantity": "CAST({v} AS BIGINT)",
    "discount_pct": "CAST({v} AS DECIMAL(18,1))",
    "is_gift": "CASE WHEN {v} IS NULL THEN NULL ELSE lower({v}) IN ('yes', 'true', 'y', 't') END",
    "status": "{v}",
    "email": "{v}",
    "notes": "{v}",
}


def q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run(csv: Path, out: Path, threads: int | None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    bronze, silver, gold = out / "bronze.parquet", out / "silver.parquet", out / "gold.parquet"
    con = duckdb.connect(config={"threads": threads} if threads else {})
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET TimeZone = 'UTC'")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    # 1. Bronze: strings as read + lineage columns. The rowid of an insertion-ordered table is
    #    the record's position in the file.
    t = time.perf_counter()
    con.execute(f"""
        CREATE TEMP TABLE raw AS SELECT * FROM read_csv({q(str(csv))},
            header = true, delim = ',', quote = '"', escape = '"', all_varchar = true,
            store_rejects = true, parallel = true)""")
    read = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    rejected = con.execute(
        "SELECT count(DISTINCT (scan_id, file_id, line)) FROM reject_errors"
    ).fetchone()[0]
    parsed = read + rejected  # records seen, as FlowForge counts them (bronze + rejected)
    timings["read_csv"] = time.perf_counter() - t
    t = time.perf_counter()
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    con.execute(f"""
        COPY (SELECT {cols}, {q(csv.name)} AS _source_file, rowid + 2 AS _source_line,
                     current_timestamp AS _ingested_at
              FROM raw ORDER BY rowid)
        TO {q(str(bronze))} (FORMAT parquet, COMPRESSION zstd)""")
    con.execute("DROP TABLE raw")
    timings["bronze"] = time.perf_counter() - t

    # 2. Silver: clean, cast, dedupe (exact duplicates first kept, then last row per key).
    t = time.perf_counter()
    con.execute(
        f"CREATE MACRO clean(x) AS CASE WHEN trim(x) IN ({', '.join(map(q, NULL_TOKENS))})"
        " THEN NULL ELSE trim(x) END"
    )
    typed = ", ".join(CASTS[c].format(v=f'clean("{c}")') + f' AS "{c}"' for c in COLUMNS)
    con.execute(f"""
        CREATE TEMP TABLE typed AS
        SELECT {typed}, _source_file, _source_line, _ingested_at
        FROM read_parquet({q(str(bronze))})""")
    bronze_rows = con.execute("SELECT count(*) FROM typed").fetchone()[0]
    con.execute(f"""
        CREATE TEMP TABLE distinct_rows AS
        SELECT * FROM typed
        QUALIFY row_number() OVER (PARTITION BY {cols} ORDER BY _source_line) = 1""")
    con.execute("DROP TABLE typed")
    distinct = con.execute("SELECT count(*) FROM distinct_rows").fetchone()[0]
    con.execute(f"""
        COPY (SELECT * FROM distinct_rows
              QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY _source_line DESC) = 1
              ORDER BY _source_line)
        TO {q(str(silver))} (FORMAT parquet, COMPRESSION zstd)""")
    con.execute("DROP TABLE distinct_rows")
    silver_rows = con.execute(f"SELECT count(*) FROM read_parquet({q(str(silver))})").fetchone()[0]
    timings["silver"] = time.perf_counter() - t

    # 3. Gold
    t = time.perf_counter()
    con.execute(f"CREATE VIEW orders_bench AS SELECT * FROM read_parquet({q(str(silver))})")
    con.execute(f"COPY ({GOLD_SQL}) TO {q(str(gold))} (FORMAT parquet, COMPRESSION zstd)")
    gold_rows = con.execute(f"SELECT count(*) FROM read_parquet({q(str(gold))})").fetchone()[0]
    timings["gold"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    con.close()

    return {
        "counts": {
            "parsed": parsed,
            "rejected": rejected,
            "bronze": read,
            "exact_duplicates": bronze_rows - distinct,
            "key_duplicates": distinct - silver_rows,
            "duplicates": bronze_rows - silver_rows,
            "silver": silver_rows,
            "gold": gold_rows,
        },
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outputs": {"bronze": str(bronze), "silver": str(silver), "gold": str(gold)},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="directory for the Parquet files")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    args = ap.parse_args(argv)
    result = run(args.csv.resolve(), args.out, args.threads)
    print(
        f"baseline: {result['counts']}  {result['seconds']}  peak RSS {result['peak_rss_mb']} MB",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
