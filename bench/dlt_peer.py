"""dlt as a peer for bench/pipeline.py: the orders CSV loaded into DuckDB with a merge on
order_id (the latest row of each key wins), as a dlt user writes it.

Usage (dlt is an optional group, see bench/README.md):
    uv sync --all-packages --inexact --compile-bytecode --group bench-dlt
    python bench/dlt_peer.py bench/data/orders_5m.csv --out /tmp/dlt-out

The resource streams the file with pyarrow's CSV reader (all strings, quoted newlines
allowed, lines with a wrong field count skipped and counted), cleans and casts each block
with the baseline's Polars expressions (trim, null tokens -> null, the hard-coded schema),
adds `_source_line` (the block's record numbers: a dlt user has no physical line at hand)
and yields Arrow tables, dlt's fast path (no row-by-row normalising). dlt then writes them
as Parquet load packages and merges them into `orders` in DuckDB: primary key order_id,
`dedup_sort` desc on `_source_line`, so the last row of each key wins as on the platform.
No quality rules and no Gold: dlt is a loader; the comparison is the load.

The last stdout line is a JSON object: rows loaded, rejected lines, seconds, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import COLUMNS, _typed  # noqa: E402 - bench/ is no package

BLOCK = 32 * 1024 * 1024


def orders(csv: Path, rejected: list[int]):
    """Arrow tables of typed rows, in file order."""

    def skip(row) -> str:
        rejected.append(row.number)
        return "skip"

    reader = pacsv.open_csv(
        csv,
        read_options=pacsv.ReadOptions(block_size=BLOCK),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(COLUMNS, pa.string()), strings_can_be_null=False
        ),
    )
    record = 2  # header = 1
    for batch in reader:
        frame = pl.from_arrow(batch)
        n = frame.height
        yield (
            frame.with_row_index("_source_line", offset=record)
            .select(*map(_typed, COLUMNS), pl.col("_source_line").cast(pl.Int64))
            .to_arrow()
        )
        record += n


def run(csv: Path, out: Path) -> dict:
    import dlt

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rejected: list[int] = []
    resource_ = dlt.resource(
        orders(csv, rejected),
        name="orders",
        write_disposition="merge",
        primary_key="order_id",
        columns={"_source_line": {"dedup_sort": "desc"}},
    )
    pipeline = dlt.pipeline(
        pipeline_name="orders_bench",
        destination=dlt.destinations.duckdb(str(out / "orders.duckdb")),
        dataset_name="bench",
        pipelines_dir=str(out / "pipelines"),
    )
    info = pipeline.run(resource_)
    seconds = time.perf_counter() - t0
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM orders")[0][0]
    return {
        "rows": rows,
        "rejected": len(rejected),
        "seconds": round(seconds, 3),
        "loads": len(info.loads_ids),
        "dlt_version": dlt.__version__,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="directory for DuckDB and dlt state")
    args = ap.parse_args(argv)
    try:
        import dlt  # noqa: F401
    except ImportError:
        print(json.dumps({"error": "dlt is not installed"}))
        return 3
    result = run(args.csv.resolve(), args.out)
    print(f"dlt: {result}", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
