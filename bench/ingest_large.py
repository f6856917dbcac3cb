"""Ingest of a very large CSV in bounded memory: the 5 GB target of the landing issue.

Usage (from the repository root, with the workspace venv):
    .venv/bin/python bench/ingest_large.py                  # 38M rows, ~4.9 GB (~2 min to make)
    .venv/bin/python bench/ingest_large.py --rows 2000000   # a quick run

One run:
  1. makes the file with bench/generate.py (deterministic; reused when it already exists);
  2. runs ingest's own code path (`flowforge.ingest.formats.to_bronze`, what the ingest service
     runs on `file.landed`) in a child process, with a progress callback like the service's;
  3. reports wall seconds, MB/s, rows/s, the child's peak RSS (VmHWM), the counts, and the
     progress figures seen; writes bench/out/ingest-large-<timestamp>.json.

The service adds only the object-store download (a local file is read in place) and the
event around this call, so its memory is this figure plus its idle size (~60 MiB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from pipeline import ensure_data, size_label, vm_hwm_mib  # noqa: E402 - bench/ is no package


def child(source: Path, work: Path) -> None:
    from flowforge.common.settings import Settings
    from flowforge.ingest.formats import Limits, to_bronze

    settings = Settings()
    seen: list[tuple[float, int]] = []
    started = time.perf_counter()

    def progress(done: int) -> None:
        seen.append((round(time.perf_counter() - started, 1), done))

    result = to_bronze(
        source,
        source.name,
        work / "bronze.parquet",
        work / "rejected.parquet",
        run_id="bench",
        ingested_at=dt.datetime.now(dt.UTC),
        limits=Limits(settings.unpack_max_bytes, settings.unpack_max_ratio),
        progress=progress,
    )
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "peak_rss_mib": round(vm_hwm_mib(os.getpid()) or float("nan"), 0),
                "parsed": result.parsed,
                "bronze": result.bronze,
                "rejected": result.rejected,
                "bronze_bytes": (work / "bronze.parquet").stat().st_size,
                "progress_reports": len(seen),
                "progress_sample": seen[:: max(len(seen) // 8, 1)],
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=38_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.work)
        return
    data = BENCH / "data" / f"orders_{size_label(args.rows)}.csv"
    expected = ensure_data(data, args.rows, args.seed)
    size = data.stat().st_size
    with tempfile.TemporaryDirectory(dir=BENCH / "data") as tmp:
        print(f"ingesting {data.name}: {size / 1e9:.2f} GB ...", flush=True)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(data), "--work", tmp],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(
        file=data.name,
        bytes=size,
        rows=args.rows,
        mb_per_s=round(size / 1e6 / result["seconds"], 1),
        rows_per_s=round(result["parsed"] / result["seconds"]),
        expected=expected,
        when=dt.datetime.now().isoformat(timespec="seconds"),
    )
    print(
        f"{size / 1e9:.2f} GB, {result['parsed']:,} records in {result['seconds']} s "
        f"({result['mb_per_s']} MB/s, {result['rows_per_s']:,} rows/s); peak RSS "
        f"{result['peak_rss_mib']:.0f} MiB; bronze {result['bronze']:,}, rejected "
        f"{result['rejected']:,}; {result['progress_reports']} progress reports"
    )
    outdir = BENCH / "out"
    outdir.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (outdir / f"ingest-large-{stamp}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
