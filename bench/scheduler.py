"""The scheduler under load: N workflows with one-minute crons, timed from each tick's
scheduled time to its first step starting, with the process's peak RSS.

Usage (from the repository root; a PostgreSQL to make a scratch database in, by default the
local one with trust authentication):
    .venv/bin/python bench/scheduler.py                    # 1,000 workflows, 3 minutes
    .venv/bin/python bench/scheduler.py --workflows 200 --minutes 1
    .venv/bin/python bench/scheduler.py --url postgresql://user:pw@host:5432/postgres

It runs the scheduler's own engine (`flowforge.scheduler.engine.Scheduler`: ticks, runs,
claims, leases, step execution against PostgreSQL) in this process with the real clock; the
step is a stand-in that records when it started (the platform's steps ask other services,
which is not what is measured here). Results: bench/out/scheduler-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MIGRATIONS = ROOT / "services/scheduler/src/flowforge/scheduler/migrations"


def peak_rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(url: str, workflows: int, minutes: int) -> dict:
    import asyncpg

    from flowforge.common.db import create_pool, migrate
    from flowforge.scheduler import workflows as wfs
    from flowforge.scheduler.engine import Scheduler
    from flowforge.scheduler.store import Store

    database = f"ff_bench_sched_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE DATABASE {database}")
    await admin.close()
    pool = await create_pool(url.rsplit("/", 1)[0] + f"/{database}", max_size=10)
    await migrate(pool, "scheduler", MIGRATIONS)
    store = Store(pool)
    started: dict[str, float] = {}  # run id → when its first step started (epoch s)
    ticks: dict[str, float] = {}

    async def step(ctx) -> dict:
        started.setdefault(ctx.run_id, time.time())
        ticks[ctx.run_id] = ctx.logical_end.timestamp()
        return {}

    now = dt.datetime.now(dt.UTC)
    for i in range(workflows):
        doc = {"name": f"wf_{i:04d}", "schedule": {"cron": "* * * * *"}, "catchup": "latest",
               "steps": [{"name": "go", "webhook": "http://127.0.0.1:9/"}]}  # fmt: skip
        await store.put_workflow(doc["name"], wfs.parse(doc).document, "api", now)
    scheduler = Scheduler(store=store, actions=dict.fromkeys(wfs.STEP_KINDS, step),
                          replica="bench", poll=0.5)  # fmt: skip
    loop = asyncio.create_task(scheduler.run_forever())
    first = (now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)).timestamp()
    end = first + 60 * (minutes - 1) + 20
    print(f"{workflows} workflows; ticks from {dt.datetime.fromtimestamp(first, dt.UTC):%H:%M}"
          f" for {minutes} minute(s)", flush=True)  # fmt: skip
    while time.time() < end:
        await asyncio.sleep(1)
        print(f"  {len(started):,} runs started", end="\r", flush=True)
    loop.cancel()
    await scheduler.stop()
    latencies = sorted(started[r] - ticks[r] for r in started)
    await pool.close()
    admin = await asyncpg.connect(url)
    await admin.execute(f"DROP DATABASE {database} WITH (FORCE)")
    await admin.close()
    expected = workflows * minutes
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "workflows": workflows,
        "minutes": minutes,
        "ticks_expected": expected,
        "runs_started": len(latencies),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p99_s": round(latencies[int(len(latencies) * 0.99) - 1], 3) if latencies else None,
        "latency_max_s": round(latencies[-1], 3) if latencies else None,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workflows", type=int, default=1000)
    ap.add_argument("--minutes", type=int, default=3)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    result = asyncio.run(run(args.url, args.workflows, args.minutes))
    print()
    print(json.dumps(result, indent=2))
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"scheduler-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
