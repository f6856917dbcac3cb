"""Small files through the whole platform (issue 17, target 4): latency of one 50k-row file
from `file.landed` to `gold.ready`, and the rate of a burst of 1k-row files, at 1 and 2
replicas per worker.

    .venv/bin/python bench/small.py                       # both parts (about 4 minutes)
    .venv/bin/python bench/small.py --part latency --files 20
    .venv/bin/python bench/small.py --part burst --burst 500 --datasets 4 --replicas 1 2

Each platform is fresh (`python -m flowforge.cli.main up [--replicas N]`, embedded NATS and
PostgreSQL, a local-folder lake in a new /tmp FLOWFORGE_HOME, a free port) with a Gold model
(revenue per country and status) over the dataset, keyed by `order_id`. The bench listens on
the platform's own NATS (the operator's URL in run/endpoints.json) to every pipeline subject,
so each hop of a run is timed on one clock as the bus delivers it.

- latency: `--files` 50k-row orders files (bench/generate.py's shape, seeds 1..N: each file
  updates the same keys), after `--warmup` of them, landed one at a time: upload HTTP time,
  and `file.landed` -> `gold.ready` as the bus delivered them (p50/p90/max), with each hop
  (ingest, silver, quality, gold). Back to back by default: a file lands right after the
  last one's `gold.ready`, while that one's background work (the Silver table's fold, the
  analytics views, the ai profile) still runs; `--quiet-start` waits until the platform is
  idle before each upload (the latency of a file on its own). Then the same steps by hand
  in this one warm process (bench/baseline.py's DuckDB script: CSV -> Bronze Parquet,
  clean/cast/dedupe -> Silver, two rules, the Gold aggregate) and the ratio.
- burst: `--burst` 1k-row files uploaded by `--clients` concurrent HTTP clients (the fast
  path: the watched folder waits for a file to settle for 2 s), spread over `--datasets`
  datasets (a model each); files/s from the first upload to the last `gold.ready`, per
  replica count, side by side.

Every run must succeed with the counts its file was generated with (parsed, rejected,
bronze, duplicates, silver), or the figures are marked as failed. The upload rate limit is
raised for the bench (FLOWFORGE_RATE_LIMITS=upload=1000000; the default is 120 a minute per
caller). Results also go to bench/out/small-<timestamp>.json. The machine is shared: expect
run-to-run noise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import inspect
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baseline  # noqa: E402
import generate  # noqa: E402
from pipeline import (  # noqa: E402
    REPO,
    admin_headers,
    free_port,
    parse_ts,
    platform_env,
    say,
    stop_platform,
    wait_healthy,
)

GOLD_SQL = (
    "SELECT country, status, count(*) AS orders, sum(amount) AS revenue FROM {ds} GROUP BY ALL"
)
HOPS = ("file.landed", "bronze.ready", "silver.ready", "quality.checked", "gold.ready")
FAILED = ("ingest.failed", "transform.failed", "quality.failed")
BODIES: dict[Path, bytes] = {}  # each file's bytes, read before any timing
RULES_SQL = (
    "SELECT count(*) FILTER (WHERE amount IS NULL),"
    " count(*) FILTER (WHERE status NOT IN ('pending','paid','shipped','delivered',"
    "'cancelled','refunded','on_hold')) FROM read_parquet({silver})"
)


# ------------------------------------------------------------------------------------ data


def make_files(folder: Path, rows: int, count: int, first_seed: int) -> list[tuple[Path, dict]]:
    """`count` orders CSVs of `rows` rows (seeds first_seed...), each with its counts."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in range(first_seed, first_seed + count):
        path = folder / f"orders_{rows}_{seed}.csv"
        with contextlib.redirect_stderr(io.StringIO()):
            expected = generate.generate(rows, path, seed)
        out.append((path, expected))
        BODIES[path] = path.read_bytes()
    return out


def wanted_counts(expected: dict) -> dict[str, int]:
    return {
        "parsed": expected["records"],
        "rejected": expected["malformed_lines"],
        "bronze": expected["records"] - expected["malformed_lines"],
        "duplicates": expected["exact_duplicate_rows"] + expected["key_duplicate_rows"],
        "silver": expected["unique_order_ids"],
    }


# -------------------------------------------------------------------------------- the bus


class Bus:
    """Every pipeline event of the platform, as delivered to a core NATS subscriber, by run."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, float]] = {}
        self.failed: dict[str, str] = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.nc = None

    async def open(self, url: str) -> None:
        self.nc = await nats.connect(url, name="bench-small")
        for subject in (*HOPS, *FAILED):
            await self.nc.subscribe(subject, cb=self._on)

    async def _on(self, msg) -> None:
        now = time.perf_counter()
        try:
            data = json.loads(msg.data)["data"]
            run_id = data["run_id"]
        except (ValueError, KeyError, TypeError):
            return
        if data.get("job"):
            return
        self.seen.setdefault(run_id, {}).setdefault(msg.subject, now)
        if msg.subject in FAILED:
            self.failed[run_id] = msg.subject
        if msg.subject in ("gold.ready", *FAILED):
            waiter = self.waiters.get(run_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    def done(self, run_id: str) -> asyncio.Future:
        waiter = self.waiters.setdefault(run_id, asyncio.get_running_loop().create_future())
        seen = self.seen.get(run_id, {})
        if not waiter.done() and ("gold.ready" in seen or run_id in self.failed):
            waiter.set_result(seen.get("gold.ready", time.perf_counter()))
        return waiter

    def hops(self, run_id: str) -> dict[str, float]:
        """Seconds between consecutive pipeline events of one run (keyed by the later one)."""
        seen = self.seen.get(run_id, {})
        out = {}
        for before, after in zip(HOPS, HOPS[1:], strict=False):
            if before in seen and after in seen:
                out[after] = seen[after] - seen[before]
        return out

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.drain()


# ------------------------------------------------------------------------------- platform


class Platform:
    def __init__(self, replicas: int, keep: bool = False):
        self.replicas = replicas
        self.keep = keep  # the FLOWFORGE_HOME (logs, lake) stays for a look afterwards
        self.home = Path(tempfile.mkdtemp(prefix="flowforge-small-", dir="/tmp"))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen | None = None
        self.bus = Bus()

    def start(self) -> str:
        """Start `flowforge up`; the operator's NATS URL once the gateway is healthy."""
        env = platform_env(self.home, int(self.url.rsplit(":", 1)[1]))
        env["FLOWFORGE_RATE_LIMITS"] = "upload=1000000"
        say(f"platform: {self.replicas} replica(s) per worker, starting in {self.home} ...")
        t = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flowforge.cli.main", "up", "--replicas", str(self.replicas)],
            cwd=REPO, env=env, stdout=open(self.home / "up.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        if not wait_healthy(self.url, self.proc, 240):
            raise SystemExit(f"platform not healthy; see {self.home / 'up.log'}")
        say(f"platform: healthy in {time.perf_counter() - t:.1f} s")
        return json.loads((self.home / "run" / "endpoints.json").read_text())["nats_url"]

    async def __aenter__(self) -> Platform:
        await self.bus.open(await asyncio.to_thread(self.start))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.bus.close()
        if self.proc is not None:
            await asyncio.to_thread(stop_platform, self.proc, self.home)
        if exc[0] is None and not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers=admin_headers(self.home),
            timeout=httpx.Timeout(120),
            limits=httpx.Limits(max_connections=64),
        )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) so far of each process of `flowforge up`, by service
        (replicas summed) or by program (nats-server, postgres, ...)."""
        by_pid = {pid: name for name, pids in self.worker_pids().items() for pid in pids}
        out: dict[str, float] = {}
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return out
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                name = by_pid.get(proc.pid) or proc.name()
                name = name.split("-")[0] if name in by_pid.values() else name
                out[name] = out.get(name, 0.0) + t.user + t.system
        return out

    async def quiet(self, limit: float = 10.0) -> float:
        """Wait until the platform is idle (all its processes together under 10% of one core
        over 200 ms: the last file's background work, folds, view refresh and profile, is
        done), at most `limit` seconds; the seconds waited."""
        began = time.perf_counter()
        before = sum(self.cpu_seconds().values())
        while time.perf_counter() - began < limit:
            await asyncio.sleep(0.2)
            now = sum(self.cpu_seconds().values())
            if now - before < 0.02:
                break
            before = now
        return time.perf_counter() - began

    def worker_pids(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for pidfile in sorted((self.home / "run").glob("*.pid")):
            with contextlib.suppress(ValueError, OSError):
                out.setdefault(pidfile.stem, []).append(int(pidfile.read_text().strip()))
        return out


async def add_model(c: httpx.AsyncClient, dataset: str) -> None:
    """The dataset's Gold model and, when bench/baseline.py has them, its quality rules (the
    by-hand steps then run the same rules)."""
    r = await c.post(
        "/api/v1/models", json={"name": f"{dataset}_gold", "sql": GOLD_SQL.format(ds=dataset)}
    )
    if r.status_code != 201:
        raise SystemExit(f"model refused ({r.status_code}): {r.text[:300]}")
    if rules := getattr(baseline, "RULES", None):
        r = await c.put(f"/api/v1/datasets/{dataset}/rules", json={"rules": rules})
        if r.status_code != 200:
            raise SystemExit(f"rules refused ({r.status_code}): {r.text[:300]}")


async def upload(c: httpx.AsyncClient, path: Path, dataset: str) -> tuple[str, float, float]:
    """(run id, perf_counter at the start, seconds until the 202)."""
    body = BODIES[path]
    t = time.perf_counter()
    r = await c.post(
        "/api/v1/files",
        files={"file": (path.name, body, "text/csv")},
        data={"dataset": dataset, "key": "order_id"},
    )
    if r.status_code != 202:
        raise SystemExit(f"upload of {path.name} refused ({r.status_code}): {r.text[:300]}")
    return r.json()["run_id"], t, time.perf_counter() - t


async def check_run(c: httpx.AsyncClient, run_id: str, expected: dict, wait: float = 30) -> dict:
    """The run as the catalog has it once it is finished, with its count mismatches."""
    deadline = time.perf_counter() + wait
    while True:
        run = (await c.get(f"/api/v1/runs/{run_id}")).json()
        if run.get("status") in ("succeeded", "failed") or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.1)
    counts = run.get("counts") or {}
    run["mismatches"] = {
        k: {"want": v, "got": counts.get(k)}
        for k, v in wanted_counts(expected).items()
        if counts.get(k) != v
    }
    return run


def stage_seconds(run: dict) -> dict[str, float]:
    out = {}
    for stage in run.get("stages", []):
        a, b = parse_ts(stage.get("started_at")), parse_ts(stage.get("finished_at"))
        if a and b:
            out[stage["name"]] = b - a
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": pct(values, 0.5),
        "p90": pct(values, 0.9),
        "max": max(values) if values else None,
    }


def ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:,.0f} ms"


# -------------------------------------------------------------------------------- latency


async def latency(args, files: list[tuple[Path, dict]]) -> dict:
    dataset = "orders_small"
    res: dict = {"rows": args.rows, "files": args.files, "warmup": args.warmup, "runs": [],
                 "quiet_start": args.quiet_start}  # fmt: skip
    async with Platform(1, args.keep) as p, p.client() as c:
        await add_model(c, dataset)
        for i, (path, expected) in enumerate(files):
            if args.quiet_start:
                await p.quiet()
            run_id, started, up_s = await upload(c, path, dataset)
            done = await asyncio.wait_for(p.bus.done(run_id), args.timeout)
            run = await check_run(c, run_id, expected)
            seen = p.bus.seen.get(run_id, {})
            entry = {
                "run_id": run_id,
                "warmup": i < args.warmup,
                "upload_s": up_s,
                "landed_to_gold_s": done - seen["file.landed"] if "file.landed" in seen else None,
                "upload_start_to_gold_s": done - started,
                "hops_s": p.bus.hops(run_id),
                "stages_s": stage_seconds(run),
                "status": run.get("status"),
                "failed_event": p.bus.failed.get(run_id),
                "mismatches": run["mismatches"],
            }
            res["runs"].append(entry)
            say(
                f"  {'warm-up' if entry['warmup'] else 'file'} {i + 1:>3}  upload "
                f"{ms(up_s):>8}  landed -> gold.ready {ms(entry['landed_to_gold_s']):>8}  "
                f"{entry['status']}"
                + (f"  MISMATCH {entry['mismatches']}" if entry["mismatches"] else "")  # fmt: skip
            )
    measured = [r for r in res["runs"] if not r["warmup"]]
    res["ok"] = all(
        r["status"] == "succeeded" and not r["mismatches"] and not r["failed_event"]
        for r in res["runs"]
    )
    res["landed_to_gold"] = summary([r["landed_to_gold_s"] for r in measured])
    res["upload"] = summary([r["upload_s"] for r in measured])
    res["hops_p50"] = {
        h: pct([r["hops_s"][h] for r in measured if h in r["hops_s"]], 0.5) for h in HOPS[1:]
    }
    res["stages_p50"] = {
        s: pct([r["stages_s"][s] for r in measured if s in r["stages_s"]], 0.5)
        for s in ("ingest", "silver", "quality", "gold")
    }
    res["by_hand"] = by_hand(files[0][0], args.hand_repeats)
    res["ratio"] = (
        res["landed_to_gold"]["p50"] / res["by_hand"]["p50"]
        if res["landed_to_gold"]["p50"] and res["by_hand"]["p50"]
        else None
    )
    return res


def by_hand(csv: Path, repeats: int) -> dict:
    """bench/baseline.py's steps repeated in this process (the first is a warm-up: imports,
    first connections). When the baseline has no quality step of its own, two rules are
    counted over its Silver file here."""
    params = inspect.signature(baseline.run).parameters
    extra = [None] * (len(params) - 2)  # an older baseline also took `threads`
    times, steps = [], []
    for _ in range(repeats + 1):
        out = Path(tempfile.mkdtemp(prefix="flowforge-small-hand-", dir="/tmp"))
        t = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            result = baseline.run(csv, out, *extra)
        step = dict(result["seconds"])
        if "quality" not in step:
            t_rules = time.perf_counter()
            silver = baseline.q(result["outputs"]["silver"])
            baseline.duckdb.sql(RULES_SQL.format(silver=silver)).fetchall()
            step["rules"] = time.perf_counter() - t_rules
        times.append(time.perf_counter() - t)
        steps.append(step)
        shutil.rmtree(out, ignore_errors=True)
    times, steps = times[1:], steps[1:]
    return {
        **summary(times),
        "steps_p50": {k: statistics.median(s[k] for s in steps) for k in steps[0]},
    }


# ---------------------------------------------------------------------------------- burst


async def burst(args, files: list[tuple[Path, dict]], replicas: int) -> dict:
    names = [f"orders_burst_{d}" for d in range(args.datasets)]
    res: dict = {"replicas": replicas, "files": len(files), "clients": args.clients}
    async with Platform(replicas, args.keep) as p, p.client() as c:
        res["pids"] = p.worker_pids()
        for name in names:
            await add_model(c, name)
        # warm-up: one file per dataset through the whole path (imports, first connections)
        for d, name in enumerate(names):
            path, _ = files[-1 - d]
            run_id, _, _ = await upload(c, path, name)
            await asyncio.wait_for(p.bus.done(run_id), args.timeout)
        todo = list(enumerate(files[: args.burst]))
        sent: list[tuple[str, float, float, dict]] = []
        queue: asyncio.Queue = asyncio.Queue()
        for item in todo:
            queue.put_nowait(item)

        async def client_loop() -> None:
            while not queue.empty():
                i, (path, expected) = queue.get_nowait()
                run_id, started, up_s = await upload(c, path, names[i % len(names)])
                sent.append((run_id, started, up_s, expected))

        cpu0, procs0 = psutil.cpu_times(), p.cpu_seconds()
        t0 = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(args.clients)))
        t_uploaded = time.perf_counter()
        ends = await asyncio.wait_for(
            asyncio.gather(*(p.bus.done(r[0]) for r in sent)), args.timeout
        )
        t_end = max(ends)
        cpu1, procs1 = psutil.cpu_times(), p.cpu_seconds()
        checks = await asyncio.gather(*(check_run(c, r[0], r[3]) for r in sent))
        bad = [
            {"run_id": r["run_id"], "status": r.get("status"), "mismatches": r["mismatches"]}
            for r in checks
            if r.get("status") != "succeeded" or r["mismatches"] or r["run_id"] in p.bus.failed
        ]
        busy = sum(
            getattr(cpu1, f) - getattr(cpu0, f) for f in ("user", "system", "nice", "softirq")
        )
        res.update(
            seconds=t_end - t0,
            upload_seconds=t_uploaded - t0,
            files_per_s=len(sent) / (t_end - t0),
            uploads_per_s=len(sent) / (t_uploaded - t0),
            upload=summary([r[2] for r in sent]),
            landed_to_gold=summary(
                [
                    p.bus.seen[r[0]]["gold.ready"] - p.bus.seen[r[0]]["file.landed"]
                    for r in sent
                    if {"gold.ready", "file.landed"} <= p.bus.seen.get(r[0], {}).keys()
                ]
            ),
            stages_p50={
                s: pct([stage_seconds(r)[s] for r in checks if s in stage_seconds(r)], 0.5)
                for s in ("ingest", "silver", "quality", "gold")
            },
            cpu_busy_fraction=busy / ((t_end - t0) * (os.cpu_count() or 1)),
            cpu_ms_per_file={
                k: round(1000 * (v - procs0.get(k, 0.0)) / len(sent), 1)
                for k, v in sorted(procs1.items(), key=lambda kv: -kv[1] + procs0.get(kv[0], 0))
                if v - procs0.get(k, 0.0) > 0.05
            },
            failures=bad[:20],
            failed_runs=len(bad),
            ok=not bad and len(sent) == len(todo),
        )
        say(
            f"  {replicas} replica(s): {len(sent)} files in {res['seconds']:.1f} s = "
            f"{res['files_per_s']:.1f} files/s (uploads alone {res['uploads_per_s']:.1f}/s; "
            f"CPU {res['cpu_busy_fraction']:.0%} busy); "
            + ("all runs succeeded with their counts" if res["ok"] else f"{len(bad)} BAD runs")
        )
    return res


# --------------------------------------------------------------------------------- report


def report(res: dict) -> None:
    say()
    say("=" * 78)
    say(f"FlowForge small files  {res['timestamp']}  ({os.cpu_count()} CPUs, shared machine)")
    say("=" * 78)
    lat = res.get("latency")
    if lat:
        h, lg, up = lat["by_hand"], lat["landed_to_gold"], lat["upload"]
        verdict = "all succeeded, counts as generated" if lat["ok"] else "FAILED RUNS"
        pace = "each on a quiet platform" if lat.get("quiet_start") else "back to back"
        say(f"latency: {lat['rows']:,}-row file, {lg['n']} measured after {lat['warmup']}"
            f" warm-up, {pace} ({verdict})")  # fmt: skip
        say(f"  file.landed -> gold.ready   p50 {ms(lg['p50'])}  p90 {ms(lg['p90'])}"
            f"  max {ms(lg['max'])}   (target p50 < 300 ms)")  # fmt: skip
        say(f"  upload HTTP (until 202)     p50 {ms(up['p50'])}  p90 {ms(up['p90'])}"
            f"  max {ms(up['max'])}")  # fmt: skip
        say("  hops p50 (bus delivery of each event after the previous one): "
            + ", ".join(f"{k} {ms(v)}" for k, v in lat["hops_p50"].items()))  # fmt: skip
        say("  stages p50 (the run's own started/finished): "
            + ", ".join(f"{k} {ms(v)}" for k, v in lat["stages_p50"].items()))  # fmt: skip
        say(f"  by hand, one warm process   p50 {ms(h['p50'])}  ("
            + ", ".join(f"{k} {ms(v)}" for k, v in h["steps_p50"].items() if k != "total")
            + ")")  # fmt: skip
        ratio = lat.get("ratio")
        say(f"  ratio platform / by hand    {ratio:.2f}x" if ratio else "  ratio -")
    bursts = res.get("burst") or []
    if bursts:
        b0 = bursts[0]
        say(f"burst: {b0['files']} files of {res['args']['burst_rows']:,} rows, "
            f"{b0['clients']} HTTP clients, {res['args']['datasets']} dataset(s)"
            " (target >= 50 files/s)")  # fmt: skip
        say(f"  {'replicas':<10}{'files/s':>9}{'uploads/s':>11}{'p50 land->gold':>16}"
            f"{'CPU busy':>10}  runs")  # fmt: skip
        for b in bursts:
            say(f"  {b['replicas']:<10}{b['files_per_s']:>9.1f}{b['uploads_per_s']:>11.1f}"
                f"{ms(b['landed_to_gold']['p50']):>16}{b['cpu_busy_fraction']:>10.0%}  "
                + ("ok" if b["ok"] else f"{b['failed_runs']} bad"))  # fmt: skip
        for b in bursts:
            say(f"  CPU ms per file at {b['replicas']} replica(s): "
                + ", ".join(f"{k} {v:,.0f}" for k, v in b["cpu_ms_per_file"].items()))  # fmt: skip
        if len(bursts) > 1:
            say(f"  scaling {bursts[-1]['replicas']} vs {bursts[0]['replicas']} replicas: "
                f"{bursts[-1]['files_per_s'] / bursts[0]['files_per_s']:.2f}x")  # fmt: skip


async def main_async(args) -> dict:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    res: dict = {"timestamp": stamp, "args": vars(args) | {"burst_rows": args.burst_rows}}
    data = Path(tempfile.mkdtemp(prefix="flowforge-small-data-", dir="/tmp"))
    try:
        if args.part in ("latency", "both"):
            files = make_files(data / "latency", args.rows, args.warmup + args.files, 1)
            say(f"latency: {len(files)} files of {args.rows:,} rows made")
            res["latency"] = await latency(args, files)
        if args.part in ("burst", "both"):
            files = make_files(data / "burst", args.burst_rows, args.burst + args.datasets, 1)
            say(f"burst: {len(files)} files of {args.burst_rows:,} rows made")
            res["burst"] = [await burst(args, files, n) for n in args.replicas]
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("latency", "burst", "both"), default="both")
    ap.add_argument("--rows", type=int, default=50_000, help="rows per latency file")
    ap.add_argument("--files", type=int, default=20, help="latency files measured")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument(
        "--quiet-start",
        action="store_true",
        help="upload each latency file once the platform is idle (the last file's background "
        "work done), not right after the last gold.ready",
    )
    ap.add_argument("--keep", action="store_true", help="keep each platform's FLOWFORGE_HOME")
    ap.add_argument("--hand-repeats", type=int, default=10)
    ap.add_argument("--burst", type=int, default=200, help="files in the burst")
    ap.add_argument("--burst-rows", type=int, default=1_000)
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    ap.add_argument("--datasets", type=int, default=1, help="datasets the burst is spread over")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    res = asyncio.run(main_async(args))
    report(res)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    path = out / f"small-{res['timestamp']}.json"
    path.write_text(json.dumps(res, indent=2, default=str) + "\n")
    say(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
