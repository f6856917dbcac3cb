"""Web UI benchmark: the dashboard's first paint with 10,000 runs in history, the runs page's
first rows, and the first page's JavaScript size.

Usage (from the repository root, with the workspace venv):
    .venv/bin/python bench/ui.py                 # 10,000 runs, 7 page loads each
    .venv/bin/python bench/ui.py --runs 50000 --loads 5

One run:
  1. starts a fresh platform (`flowforge up`, embedded NATS/PostgreSQL, a new /tmp home), which
     builds the UI if its sources changed;
  2. seeds the history straight into the catalog's tables: `--runs` runs over the last 30 days
     (300 datasets; 5% failed; each with its four stages), plus the real runs of two uploads,
     so the dashboard and the runs list read a catalog of that size through the real API;
  3. in Debian's Chromium (Playwright), signs in once, then loads `/` and `/runs` `--loads`
     times each in a fresh browser context (cold cache, the session cookie kept) and reads
     the browser's own clock: first contentful paint, and the moment the dashboard's figures
     (or the runs table's first row) are on screen (a `performance.now()` taken by polling
     for the element every animation frame);
  4. reads the bundle's manifest for the first page's files and their gzipped size;
  5. prints medians and ranges (targets: dashboard < 1 s, first page < 300 KB gzipped) and
     writes them to bench/out/ui-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import free_port, platform_env, stop_platform, wait_healthy  # noqa: E402

from flowforge.cli import webui  # noqa: E402
from tests.browser import ARGS, ensure_chromium, sign_in  # noqa: E402

STAGES = ("ingest", "silver", "quality", "gold")
VISIBLE = """async (selector) => {
  for (;;) {
    if (document.querySelector(selector)) return performance.now();
    await new Promise((r) => requestAnimationFrame(r));
  }
}"""


async def seed(database_url: str, runs: int) -> float:
    """`runs` runs (and their stages) in the catalog, spread over 30 days; seconds taken."""
    began = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    rows, stages = [], []
    for i in range(runs):
        created = now - dt.timedelta(seconds=(i * 30 * 86400) // runs + 60)
        failed = i % 20 == 0
        run_id = f"bench{i:08d}"
        parsed = 1000 + i % 500
        rows.append((run_id, f"dataset_{i % 300:03d}", f"file_{i}.csv", f"h{i}",
                     "failed" if failed else "succeeded", None if failed else "passed",
                     "bench: bad header" if failed else None, parsed, 0, parsed, 0, parsed, 0,
                     parsed, created, created + dt.timedelta(seconds=3)))  # fmt: skip
        for position, name in enumerate(STAGES):
            status = "failed" if failed and name == "silver" else "succeeded"
            if failed and position > 1:
                status = "skipped"
            stages.append((run_id, name, position, status, created, created))
    connection = await asyncpg.connect(database_url)
    try:
        await connection.copy_records_to_table(
            "runs", schema_name="catalog", records=rows,
            columns=["run_id", "dataset", "filename", "content_hash", "status", "verdict",
                     "error", "parsed", "rejected", "bronze", "duplicates", "silver",
                     "quarantined", "valid", "created_at", "updated_at"],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "stages", schema_name="catalog", records=stages,
            columns=["run_id", "name", "position", "status", "started_at", "finished_at"],
        )  # fmt: skip
        await connection.execute("ANALYZE catalog.runs; ANALYZE catalog.stages")
    finally:
        await connection.close()
    return time.perf_counter() - began


def bundle() -> dict:
    dist = webui.ensure_built(lambda _: None)
    manifest = json.loads((dist / ".vite" / "manifest.json").read_text())
    first = webui.first_page_files(dist)
    sizes = {f: len(gzip.compress((dist / f).read_bytes(), 9)) for f in first}
    lazy = sum(
        len(gzip.compress((dist / c["file"]).read_bytes(), 9))
        for c in manifest.values()
        if c["file"].endswith(".js") and c["file"] not in sizes
    )
    return {"first_page_gzip_kb": round(sum(sizes.values()) / 1024, 1), "files": sizes,
            "lazy_chunks_gzip_kb": round(lazy / 1024, 1)}  # fmt: skip


def measure(url: str, home: Path, loads: int) -> dict:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, list[float]]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ensure_chromium(), args=ARGS)
        context = browser.new_context(base_url=url)
        page = context.new_page()
        sign_in(page, home)
        state = context.storage_state()
        context.close()
        for name, path, selector in (("dashboard", "/", ".card .figure"),
                                     ("runs", "/runs", "table.grid tbody tr td a")):  # fmt: skip
            found: dict[str, list[float]] = {"fcp_ms": [], "content_ms": []}
            for _ in range(loads):
                context = browser.new_context(base_url=url, storage_state=state)
                page = context.new_page()
                page.goto(path, wait_until="commit")
                shown = page.evaluate(VISIBLE, selector)
                fcp = page.evaluate(
                    "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime"
                )
                found["content_ms"].append(round(shown, 1))
                found["fcp_ms"].append(round(fcp or 0, 1))
                context.close()
            results[name] = found
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=7)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ff-bench-ui-")) / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(home.parent / "up.log", "wb")  # noqa: SIM115 - as long as the process
    process = subprocess.Popen([sys.executable, "-m", "flowforge.cli.main", "up"],
                               env=platform_env(home, port), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        if not wait_healthy(url, process, 300):
            print(f"the platform did not start; see {home.parent / 'up.log'}")
            return 1
        endpoints = json.loads((home / "run" / "endpoints.json").read_text())
        seeded = asyncio.run(seed(endpoints["database_url"], args.runs))
        key = (home / "admin.key").read_text().strip()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            for n in range(2):
                data = b"id,amount\n" + b"".join(b"%d,%d\n" % (i, i * n) for i in range(100))
                client.post("/api/v1/files", files={"file": (f"real{n}.csv", data)},
                            data={"dataset": "real_runs"})  # fmt: skip
            time.sleep(5)
            dashboard = client.get("/api/v1/dashboard").json()
            api_began = time.perf_counter()
            for _ in range(10):
                client.get("/api/v1/dashboard").raise_for_status()
            api_ms = (time.perf_counter() - api_began) * 100
        sizes = bundle()
        timings = measure(url, home, args.loads)
    finally:
        stop_platform(process, home)
    result = {
        "runs_in_history": args.runs,
        "seed_seconds": round(seeded, 1),
        "dashboard_api_ms": round(api_ms, 1),
        "dashboard_runs_24h": {k: dashboard["runs"].get(k) for k in ("succeeded", "failed")},
        "bundle": sizes,
        "pages": {
            name: {
                m: {"median": statistics.median(v), "min": min(v), "max": max(v)}
                for m, v in found.items()
            }
            for name, found in timings.items()
        },  # fmt: skip
    }
    print(f"history: {args.runs:,} runs seeded in {seeded:.1f} s; "
          f"GET /api/v1/dashboard {api_ms:.0f} ms (mean of 10)")  # fmt: skip
    print(f"first page JS+CSS: {sizes['first_page_gzip_kb']} KB gzipped (target < 300); "
          f"lazy pages together {sizes['lazy_chunks_gzip_kb']} KB")  # fmt: skip
    for name, found in result["pages"].items():
        c, f = found["content_ms"], found["fcp_ms"]
        print(f"{name:10s} first paint {f['median']:.0f} ms ({f['min']:.0f}-{f['max']:.0f}); "
              f"content {c['median']:.0f} ms ({c['min']:.0f}-{c['max']:.0f})"
              + ("  (target < 1000 ms)" if name == "dashboard" else ""))  # fmt: skip
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"ui-{stamp}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
