"""Cost independent of history (issue 15): many batches into one keyed dataset, through the
real platform (embedded, `flowforge up`), each batch timed from upload to its run finished
(Gold built). Compares a batch at the end with the 10th (issue 17: the median of the last
ten batches over the median of batches 6-15, target <= 1.5), and the median of the last 50
batches with the first 50.

    .venv/bin/python bench/history.py [--batches 500] [--rows 20000] [--updates 0.05]

Each batch: `rows` rows, `updates` of them new versions of random earlier keys, the rest new
keys. Two Gold models read the dataset: an incremental one (a row per order, merged by key)
and a table one (an aggregate, rebuilt from all rows each batch). At the end the dataset's
row count is checked against the number of distinct keys sent, and the incremental model
against a full build of its SQL. Prints the figures and writes bench/out/history-<ts>.json;
the platform's FLOWFORGE_HOME is removed after a run whose rows are exact (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import (  # noqa: E402
    REPO,
    admin_headers,
    free_port,
    platform_env,
    say,
    stop_platform,
    wait_healthy,
)

DATASET = "history_orders"
INCREMENTAL, TABLE = "history_orders_net", "history_by_country"
INC_SQL = f"SELECT id, country, amount, round(amount / 1.2, 2) AS net FROM {DATASET}"
TABLE_SQL = f"SELECT country, count(*) AS orders, sum(amount) AS revenue FROM {DATASET} GROUP BY 1"
COUNTRIES = np.array(["DE", "FR", "US", "GB", "JP", "BR", "IN", "ES"])


def batch_csv(rng: np.random.Generator, next_id: int, rows: int, updates: int) -> tuple[bytes, int]:
    old = rng.integers(1, next_id, updates) if next_id > 1 and updates else np.array([], int)
    new = np.arange(next_id, next_id + rows - len(old))
    ids = np.concatenate([old, new])
    amount = rng.integers(100, 100_000, len(ids)) / 100
    country = COUNTRIES[rng.integers(0, len(COUNTRIES), len(ids))]
    lines = [f"{i},{c},{a:.2f}" for i, c, a in zip(ids, country, amount, strict=True)]
    return ("id,country,amount\n" + "\n".join(lines) + "\n").encode(), next_id + len(new)


def land(client: httpx.Client, data: bytes, number: int, timeout: float = 300) -> dict:
    started = time.perf_counter()
    answer = client.post(
        "/api/v1/files",
        files={"file": (f"batch_{number:04d}.csv", data, "text/csv")},
        data={"dataset": DATASET, "key": "id"},
    )
    answer.raise_for_status()
    run_id = answer.json()["run_id"]
    while time.perf_counter() - started < timeout:
        run = client.get(f"/api/v1/runs/{run_id}").json()
        gold = [s for s in run.get("stages", []) if s["name"] == "gold"]
        if run["status"] in ("succeeded", "failed") and gold and gold[0]["status"] != "running":
            run["seconds"] = time.perf_counter() - started
            return run
        time.sleep(0.05)
    raise SystemExit(f"batch {number} did not finish within {timeout} s")


def stage_seconds(run: dict) -> dict[str, float]:
    out = {}
    for stage in run.get("stages", []):
        if stage.get("started_at") and stage.get("finished_at"):
            a = dt.datetime.fromisoformat(stage["started_at"])
            b = dt.datetime.fromisoformat(stage["finished_at"])
            out[stage["name"]] = (b - a).total_seconds()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=500)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--updates", type=float, default=0.05)
    ap.add_argument("--window", type=int, default=50, help="batches compared at each end")
    ap.add_argument("--keep", action="store_true",
                    help="keep the platform's FLOWFORGE_HOME (500 batches: ~6.5 GB)")  # fmt: skip
    ap.add_argument("--aggregate", choices=("table", "view"), default="table",
                    help="how the aggregate model is materialized (a table reads every row "
                    "at each build; a view at read time)")  # fmt: skip
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="flowforge-history-", dir="/tmp"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = platform_env(home, port)
    # Batches land faster than the default upload limit (120 a minute per caller) allows.
    env["FLOWFORGE_RATE_LIMITS"] = "upload=1000000"
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowforge.cli.main", "up"], cwd=REPO,
        env=env, stdout=open(home / "up.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    rng = np.random.default_rng(15)
    costs: list[float] = []
    stages: list[dict[str, float]] = []
    try:
        if not wait_healthy(url, proc, 180):
            raise SystemExit(f"platform not healthy; see {home / 'up.log'}")
        with httpx.Client(base_url=url, timeout=120, headers=admin_headers(home)) as c:
            for body in (
                {"name": INCREMENTAL, "sql": INC_SQL, "materialized": "incremental",
                 "unique_key": "id"},
                {"name": TABLE, "sql": TABLE_SQL, "materialized": args.aggregate},
            ):  # fmt: skip
                c.post("/api/v1/models", json=body).raise_for_status()
            next_id = 1
            updates = int(args.rows * args.updates)
            for number in range(args.batches):
                data, next_id = batch_csv(rng, next_id, args.rows, updates)
                run = land(c, data, number)
                if run["status"] != "succeeded":
                    raise SystemExit(f"batch {number} failed: {run.get('error')}")
                costs.append(run["seconds"])
                stages.append(stage_seconds(run))
                if number % 50 == 0 or number == args.batches - 1:
                    parts = ", ".join(f"{k} {v:.2f}" for k, v in stages[-1].items())
                    say(f"batch {number + 1}/{args.batches}: {run['seconds']:.2f} s ({parts})")
            keys = next_id - 1
            count = c.post("/api/v1/sql", json={"sql": f"SELECT count(*) FROM {DATASET}"})
            inc = c.post("/api/v1/sql", json={"sql": f"SELECT count(*) FROM {INCREMENTAL}"})
            full = f"SELECT count(*) FROM (SELECT * FROM {INCREMENTAL} EXCEPT ALL {INC_SQL})"
            differs = c.post("/api/v1/sql", json={"sql": full})
            checks = {
                "dataset_rows": count.json()["rows"][0][0],
                "keys_sent": keys,
                "incremental_rows": inc.json()["rows"][0][0],
                "incremental_rows_not_in_full_build": differs.json()["rows"][0][0],
            }
        transform_log = (home / "logs" / "transform.log").read_text()
        folds = transform_log.count('"silver table ')
        incremental_builds = transform_log.count("incremental (1 batch(es))")
    finally:
        stopped = stop_platform(proc, home)
    w = min(args.window, len(costs) // 2)
    first, last = statistics.median(costs[:w]), statistics.median(costs[-w:])
    per_stage = {
        name: (
            statistics.median(s.get(name, 0) for s in stages[:w]),
            statistics.median(s.get(name, 0) for s in stages[-w:]),
        )
        for name in ("ingest", "silver", "quality", "gold")
    }
    say(f"\n{len(costs)} batches of {args.rows:,} rows ({updates:,} updates each) into one "
        f"keyed dataset; {checks['dataset_rows']:,} rows at the end ({checks['keys_sent']:,} "
        "keys sent)")  # fmt: skip
    tenth, end = statistics.median(costs[5:15]), statistics.median(costs[-10:])
    say(f"a batch at the end vs the 10th (medians of the last 10 and of batches 6-15): "
        f"{end:.3f} s / {tenth:.3f} s = {end / tenth:.2f}x (target <= 1.5)")  # fmt: skip
    say(f"median cost, first {w}: {first:.3f} s; last {w}: {last:.3f} s; "
        f"ratio {last / first:.2f}")  # fmt: skip
    for name, (a, b) in per_stage.items():
        say(f"  {name:<8} {a:.3f} s -> {b:.3f} s")
    say(f"aggregate model: {args.aggregate}; Silver folds: {folds}; incremental model "
        f"merges: {incremental_builds}")  # fmt: skip
    say(f"checks: {checks}")
    ok = checks["dataset_rows"] == checks["keys_sent"] and checks[
        "incremental_rows"] == checks["keys_sent"] and not checks[
        "incremental_rows_not_in_full_build"]  # fmt: skip
    say("rows: exact" if ok else "ROWS DIFFER")
    if ok and not args.keep:
        shutil.rmtree(home, ignore_errors=True)  # a run's lake fills a disk in a few runs
    else:
        say(f"platform home kept: {home}")
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    (out / f"history-{stamp}.json").write_text(json.dumps({
        "batches": len(costs), "rows": args.rows, "updates": updates, "costs": costs,
        "stages": stages, "first_median": first, "last_median": last, "ratio": last / first,
        "tenth_median": tenth, "end_median": end, "ratio_to_tenth": end / tenth,
        "checks": checks, "folds": folds, "stopped": stopped, "aggregate": args.aggregate,
    }, indent=1))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
