"""Extraction of a PostgreSQL table into Bronze, next to `COPY ... TO STDOUT` in the same run.

Usage (from the repository root, with the workspace venv; a PostgreSQL to write a scratch
database into, by default the local one with trust authentication):
    .venv/bin/python bench/extract_pg.py                     # 5,000,000 rows
    .venv/bin/python bench/extract_pg.py --rows 500000       # a quick run
    .venv/bin/python bench/extract_pg.py --url postgresql://user:pw@host:5432/postgres

One run:
  1. makes database `ff_bench_extract` (reused when it already holds the rows) with a table of
     id bigint, a text code with leading zeros, numeric(12,2), timestamptz, date, text;
  2. times `COPY (SELECT ...) TO STDOUT (FORMAT csv)` into a file through asyncpg (the
     fastest way out of PostgreSQL as text: the baseline);
  3. times ingest's own extraction (`flowforge.ingest.sources.extract.to_bronze`, what the
     ingest service runs for an extract run) in a child process, with its peak RSS (VmHWM);
  4. writes bench/out/extract-pg-<timestamp>.json.
ConnectorX is not a dependency of FlowForge; when it is installed its time is added.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATABASE = "ff_bench_extract"
TABLE = "public.orders"


async def prepare(url: str, rows: int) -> str:
    import asyncpg

    admin = await asyncpg.connect(url)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    target = url.rsplit("/", 1)[0] + f"/{DATABASE}"
    db = await asyncpg.connect(target)
    try:
        have = await db.fetchval("SELECT count(*) FROM pg_class WHERE relname = 'orders'")
        if have and await db.fetchval(f"SELECT count(*) FROM {TABLE}") == rows:
            return target
        started = time.perf_counter()
        await db.execute(f"""
            DROP TABLE IF EXISTS {TABLE};
            CREATE TABLE {TABLE} (id bigint PRIMARY KEY, zip text, amount numeric(12, 2),
                                  placed_at timestamptz, shipped date, note text);
            INSERT INTO {TABLE} SELECT i, lpad((i % 99999)::text, 5, '0'), (i % 100000) / 100.0,
                timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second',
                date '2026-01-01' + (i % 365), md5(i::text)
            FROM generate_series(1, {rows}) i;
            ANALYZE {TABLE};
        """)
        print(f"made {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        await db.close()
    return target


async def copy_baseline(target: str, out: Path) -> float:
    import asyncpg

    db = await asyncpg.connect(target)
    try:
        started = time.perf_counter()
        await db.copy_from_query(f"SELECT * FROM {TABLE}", output=str(out), format="csv")
        return time.perf_counter() - started
    finally:
        await db.close()


CHILD = r"""
import asyncio, json, sys, time, datetime as dt
from pathlib import Path
from urllib.parse import urlparse
from flowforge.common.events import SourceExtract
from flowforge.ingest.sources.connections import Connection
from flowforge.ingest.sources.extract import to_bronze

url, out = urlparse(sys.argv[1]), Path(sys.argv[2])
conn = Connection(name="bench", kind="postgresql", host=url.hostname, port=url.port or 5432,
                  database=url.path.lstrip("/"), user=url.username or "",
                  options={"sslmode": "disable"})
extract = SourceExtract(connection="bench", table="public.orders", mode="full")
started = time.perf_counter()
result, specs = asyncio.run(to_bronze(conn, url.password or "", extract, out, run_id="bench",
                                      ingested_at=dt.datetime.now(dt.UTC)))
seconds = time.perf_counter() - started
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "rows": result.bronze, "peak_mib": peak / 1024,
                  "specs": specs}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    target = asyncio.run(prepare(args.url, args.rows))
    with tempfile.TemporaryDirectory() as tmp:
        copy_seconds = asyncio.run(copy_baseline(target, Path(tmp) / "copy.csv"))
        copy_bytes = (Path(tmp) / "copy.csv").stat().st_size
        print(f"COPY TO STDOUT (csv): {copy_seconds:.1f} s, {copy_bytes / 1e6:,.0f} MB", flush=True)
        done = subprocess.run([sys.executable, "-c", CHILD, target, str(Path(tmp) / "b.parquet")],
                              capture_output=True, text=True, check=True)  # fmt: skip
        ours = json.loads(done.stdout.strip().splitlines()[-1])
        bronze_bytes = (Path(tmp) / "b.parquet").stat().st_size
    result = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "rows": args.rows,
        "copy_seconds": round(copy_seconds, 2),
        "extract_seconds": round(ours["seconds"], 2),
        "ratio": round(ours["seconds"] / copy_seconds, 2),
        "extract_rows": ours["rows"],
        "extract_peak_mib": round(ours["peak_mib"], 1),
        "bronze_mb": round(bronze_bytes / 1e6, 1),
        "specs": ours["specs"],
    }
    try:
        import connectorx  # noqa: F401 - optional

        started = time.perf_counter()
        connectorx.read_sql(target, f"SELECT * FROM {TABLE}", return_type="arrow")
        result["connectorx_seconds"] = round(time.perf_counter() - started, 2)
    except ImportError:
        result["connectorx_seconds"] = None
    print(json.dumps(result, indent=2))
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"extract-pg-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
