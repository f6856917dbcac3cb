"""Ingest's CSV -> Bronze conversion alone, against Polars' CSV -> Parquet on the same file.

Usage (from the repository root, with the workspace venv):
    .venv/bin/python bench/ingest_csv.py                         # bench/data/orders_5m.csv, 3 runs
    .venv/bin/python bench/ingest_csv.py --runs 5 --other /tmp/old/services/ingest/src

Each run is a child process (a fresh heap, so peak RSS is the conversion's own): ingest's code
path (`flowforge.ingest.formats.to_bronze`), then Polars `scan_csv -> sink_parquet` (every
column text, ragged lines truncated: a floor, not an equivalent), and with `--other` ingest's
code from another source tree (e.g. an older commit's `services/ingest/src`, made with
`git archive`), all interleaved run by run so that a busy machine slows each alike. Reports
the median and range of the conversion's wall and CPU seconds (user + system), timed from
after the imports (a service has them loaded), and of the child's peak RSS (VmHWM); writes
bench/out/ingest-csv-<timestamp>.json. The counts are checked against the file's
`.expected.json` sidecar.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from pipeline import ensure_data, size_label, vm_hwm_mib  # noqa: E402 - bench/ is no package


def child(kind: str, source: Path, work: Path) -> None:
    """One conversion, timed from after the imports (a service has them loaded already)."""
    import polars as pl

    from flowforge.ingest.formats import Limits, to_bronze

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    counts: dict[str, int] = {}
    if kind == "polars":
        lazy = pl.scan_csv(source, infer_schema=False, truncate_ragged_lines=True)
        lazy.sink_parquet(work / "polars.parquet", compression="zstd")
    else:
        result = to_bronze(
            source,
            source.name,
            work / "bronze.parquet",
            work / "rejected.parquet",
            run_id="bench",
            ingested_at=dt.datetime.now(dt.UTC),
            limits=Limits(2**62, 1e9),
            progress=lambda done: None,
        )
        counts = {"parsed": result.parsed, "bronze": result.bronze, "rejected": result.rejected}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "cpu_seconds": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
                "peak_rss_mib": vm_hwm_mib(os.getpid()),
                **counts,
            }
        )
    )


def one(kind: str, source: Path, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory(dir=BENCH / "data") as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--source", str(source), "--work", tmp],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(runs: list[dict]) -> dict:
    out = {}
    for key in ("seconds", "cpu_seconds", "peak_rss_mib"):
        values = [r[key] for r in runs]
        out[key] = {
            "median": round(statistics.median(values), 2),
            "min": round(min(values), 2),
            "max": round(max(values), 2),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--other", help="another ingest source tree to time alongside")
    ap.add_argument("--no-polars", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.source, args.work)
        return
    data = BENCH / "data" / f"orders_{size_label(args.rows)}.csv"
    expected = ensure_data(data, args.rows, args.seed)
    kinds: list[tuple[str, str, str | None]] = [("ingest", "ingest", None)]
    if not args.no_polars:
        kinds.append(("polars", "polars", None))
    if args.other:
        kinds.append(("other", "ingest", args.other))
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in kinds}
    for i in range(args.runs):
        for label, kind, path in kinds:
            result = one(kind, data, path)
            runs[label].append(result)
            print(f"run {i + 1} {label}: {json.dumps(result)}", flush=True)
            if kind == "ingest":
                wanted = (expected["records"], expected["malformed_lines"])
                if (result["parsed"], result["rejected"]) != wanted:
                    raise SystemExit(f"{label}: counts {result} differ from the sidecar")
    report = {
        "file": data.name,
        "bytes": data.stat().st_size,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "results": {label: summary(r) for label, r in runs.items()},
        "when": dt.datetime.now().isoformat(timespec="seconds"),
    }
    for label, s in report["results"].items():
        w, c, m = s["seconds"], s["cpu_seconds"], s["peak_rss_mib"]
        print(
            f"{label:7s} wall {w['median']:.2f} s [{w['min']:.2f}-{w['max']:.2f}]  "
            f"cpu {c['median']:.2f} s [{c['min']:.2f}-{c['max']:.2f}]  "
            f"peak RSS {m['median']:.0f} MiB [{m['min']:.0f}-{m['max']:.0f}]"
        )
    outdir = BENCH / "out"
    outdir.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (outdir / f"ingest-csv-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
