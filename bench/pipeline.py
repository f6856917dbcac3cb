"""End-to-end benchmark: FlowForge (embedded platform) vs a hand-written Polars + DuckDB script
(and dlt, when installed), on one messy CSV.

Usage (from the repository root, with the workspace venv):
    .venv/bin/python bench/pipeline.py                 # 5,000,000 rows (bench/data/orders_5m.csv)
    .venv/bin/python bench/pipeline.py --rows 200000   # quick run on bench/data/orders_200k.csv

One run:
  1. makes the CSV with bench/generate.py if it is missing (plus its .expected.json sidecar);
  2. starts a fresh platform (`python -m flowforge.cli.main up`, embedded NATS/PostgreSQL and
     the local-folder lake, FLOWFORGE_HOME in a new /tmp directory, a free port), registers a
     Gold model and the dataset's eight quality rules (baseline.RULES, all `quarantine`),
     uploads the file (streamed), and times upload start -> run `succeeded` (polling every
     0.2 s); reads each stage's duration, checks the run's counts against the sidecar, reads
     the rules' failing rows, and each service's peak RSS (VmHWM) before stopping it with
     SIGTERM;
  3. runs bench/baseline.py in a subprocess (the same Bronze/Silver/quality/Gold steps,
     hand-written in Polars and DuckDB) under /usr/bin/time -v;
  4. runs bench/dlt_peer.py (dlt loading the CSV into DuckDB, merge on order_id) the same way
     when dlt is installed (`uv sync --all-packages --inexact --compile-bytecode
     --group bench-dlt`; --skip-dlt);
  5. checks that the platform and the baseline quarantine the same rows (per rule, and in all)
     and build the same Gold (quarantined rows are not in Gold);
  6. prints a results table with the targets (platform/baseline <= 1.25x, platform faster
     than dlt, every service < 1 GiB peak RSS) and writes the same to
     bench/out/pipeline-<timestamp>.json.

It exits 0 whether targets are met or not (1 only on a usage error or if nothing could run).
Memory is in MiB (2^20 bytes); file size in MB (10^6 bytes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from flowforge.common.topology import SERVICES

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from baseline import RULES  # noqa: E402 - bench/ is no package

STAGES = ("ingest", "silver", "quality", "gold")
DATASET, KEY, MODEL = "orders_bench", "order_id", "revenue_by_country_status"
GOLD_SQL = (
    "SELECT country, status, count(*) AS orders, sum(amount) AS revenue "
    "FROM orders_bench GROUP BY ALL"
)
TARGET_RATIO, TARGET_RSS_MIB = 1.25, 1024
POLL, SAMPLE = 0.2, 0.5
MIB = 1024 * 1024


def say(msg: str = "") -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------------- data


def size_label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def ensure_data(csv: Path, rows: int, seed: int) -> dict:
    sidecar = csv.with_name(csv.name + ".expected.json")
    expected = json.loads(sidecar.read_text()) if sidecar.exists() else None
    ok = (
        csv.exists()
        and expected is not None
        and expected.get("records") == rows
        and expected.get("seed") == seed
        and csv.stat().st_size == expected.get("bytes")
    )
    if not ok:
        say(f"generating {csv} ({rows:,} rows, seed {seed}) ...")
        subprocess.run(
            [
                sys.executable,
                str(BENCH / "generate.py"),
                "--rows",
                str(rows),
                "--out",
                str(csv),
                "--seed",
                str(seed),
            ],
            check=True,
        )
        expected = json.loads(sidecar.read_text())
    return expected


def warm_cache(path: Path) -> float:
    """Read the file once so both contenders start with it in the page cache."""
    t = time.perf_counter()
    with path.open("rb") as f:
        while f.read(16 * MIB):
            pass
    return time.perf_counter() - t


# ------------------------------------------------------------------------------- platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Never passed to a benchmark's platform: it runs embedded servers and the offline analysis
# only (an LLM key would send the data out and time the provider, not FlowForge).
NOT_PASSED = ("NATS_URL", "DATABASE_URL", "FLOWFORGE_HOME", "FLOWFORGE_PORT")
NOT_PASSED_PREFIXES = ("S3_", "ANTHROPIC_", "OPENAI_")


def platform_env(home: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in NOT_PASSED and not k.startswith(NOT_PASSED_PREFIXES)
    }
    env.update(FLOWFORGE_HOME=str(home), FLOWFORGE_PORT=str(port), PYTHONUNBUFFERED="1")
    return env


def admin_headers(home: Path) -> dict[str, str]:
    """The admin key the platform's gateway made at its first start (`admin.key`)."""
    return {"authorization": f"Bearer {(home / 'admin.key').read_text().strip()}"}


def read_pid(home: Path, service: str) -> int | None:
    try:
        return int((home / "run" / f"{service}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set size of a live process (Linux /proc/<pid>/status VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """Every SAMPLE seconds: RSS of each service (by its current pid file) and of the whole
    process tree of `flowforge up` (NATS, PostgreSQL and the supervisor included), as the sum
    of RSS and as the sum of PSS. A sum of RSS counts every shared page (the Python, Polars,
    pyarrow and DuckDB libraries mapped by seven processes; PostgreSQL's shared buffers) once
    per process that touched it; PSS divides each shared page among its sharers, so the sum of
    PSS is the memory the tree takes from the machine (for one process, as dlt, PSS ~ RSS)."""

    def __init__(self, home: Path, root_pid: int):
        super().__init__(daemon=True)
        self.home, self.root_pid = home, root_pid
        self.stop_event = threading.Event()
        self.peak: dict[str, float] = dict.fromkeys(SERVICES, 0.0)
        self.pids: dict[str, list[int]] = {s: [] for s in SERVICES}
        self.tree_peak = 0.0
        self.tree_pss_peak = 0.0
        self.timeline: list[dict] = []
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(SAMPLE)

    def sample(self) -> None:
        point: dict = {"t": round(time.perf_counter() - self.t0, 2)}
        for service in SERVICES:
            pid = read_pid(self.home, service)
            if pid is None:
                continue
            if pid not in self.pids[service]:
                self.pids[service].append(pid)
            try:
                rss = psutil.Process(pid).memory_info().rss / MIB
            except psutil.Error:
                continue
            self.peak[service] = max(self.peak[service], rss)
            point[service] = round(rss, 1)
        try:
            root = psutil.Process(self.root_pid)
            total = pss = 0.0
            for p in [root, *root.children(recursive=True)]:
                try:
                    full = p.memory_full_info()
                except psutil.Error:
                    continue
                total += full.rss / MIB
                pss += full.pss / MIB
            self.tree_peak = max(self.tree_peak, total)
            self.tree_pss_peak = max(self.tree_pss_peak, pss)
            point["tree"] = round(total, 1)
            point["tree_pss"] = round(pss, 1)
        except psutil.Error:
            pass
        self.timeline.append(point)


def parse_ts(value: str | None) -> float | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def stage_table(run: dict, upload_wall: float) -> dict[str, dict]:
    out = {}
    for stage in run.get("stages", []):
        start, end = parse_ts(stage.get("started_at")), parse_ts(stage.get("finished_at"))
        out[stage["name"]] = {
            "status": stage.get("status"),
            "seconds": round(end - start, 3) if start and end else None,
            "starts_at": round(start - upload_wall, 3) if start else None,
            "ends_at": round(end - upload_wall, 3) if end else None,
            "error": stage.get("error"),
        }
    return out


def check_counts(counts: dict, expected: dict, who: str) -> list[dict]:
    wanted = {
        "parsed": expected["records"],
        "rejected": expected["malformed_lines"],
        "bronze": expected["records"] - expected["malformed_lines"],
        "duplicates": expected["exact_duplicate_rows"] + expected["key_duplicate_rows"],
        "silver": expected["unique_order_ids"],
    }
    checks = []
    for name, want in wanted.items():
        got = counts.get(name)
        ok = got == want
        checks.append({"count": name, "expected": want, "got": got, "ok": ok})
        if not ok:
            say(f"MISMATCH [{who}] {name}: expected {want:,}, got {got}")
    return checks


def log_summary(home: Path) -> dict[str, dict]:
    """Per service log: counts of ERROR/WARNING lines and the last few of them."""
    out = {}
    for path in sorted((home / "logs").glob("*.log")):
        errors, warnings, tail = 0, 0, []
        for line in path.read_text(errors="replace").splitlines():
            level = None
            try:
                level = str(json.loads(line).get("level", "")).upper()
            except (ValueError, AttributeError):
                if "Traceback" in line or "Error" in line:
                    level = "ERROR"
            if level in ("ERROR", "CRITICAL"):
                errors += 1
                tail.append(line[:600])
            elif level in ("WARNING", "WARN"):
                warnings += 1
                tail.append(line[:600])
        out[path.stem] = {"errors": errors, "warnings": warnings, "last": tail[-5:]}
    return out


def run_platform(csv: Path, expected: dict, timeout: float, keep: bool) -> dict:
    home = Path(tempfile.mkdtemp(prefix="flowforge-bench-", dir="/tmp"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    result: dict = {"home": str(home), "url": url, "ok": False}
    up_log = open(home / "up.log", "wb")  # noqa: SIM115 - closed below
    say(f"platform: starting in {home} on port {port} ...")
    t_boot = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowforge.cli.main", "up"],
        cwd=REPO,
        env=platform_env(home, port),
        stdout=up_log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    sampler = None
    try:
        if not wait_healthy(url, proc, 180):
            result["error"] = "platform not healthy within 180 s"
            return result
        result["startup_seconds"] = round(time.perf_counter() - t_boot, 2)
        result["pids_at_start"] = {s: read_pid(home, s) for s in SERVICES}
        say(f"platform: healthy in {result['startup_seconds']} s; pids {result['pids_at_start']}")
        sampler = Sampler(home, proc.pid)
        sampler.start()
        http_timeout = httpx.Timeout(60, read=600, write=600)
        with httpx.Client(base_url=url, timeout=http_timeout, headers=admin_headers(home)) as c:
            r = c.post("/api/v1/models", json={"name": MODEL, "sql": GOLD_SQL})
            if r.status_code != 201:
                result["error"] = f"model refused ({r.status_code}): {r.text[:500]}"
                return result
            r = c.put(f"/api/v1/datasets/{DATASET}/rules", json={"rules": RULES})
            if r.status_code != 200:
                result["error"] = f"rules refused ({r.status_code}): {r.text[:500]}"
                return result
            result["rules"] = [rule["name"] for rule in r.json()["rules"]]
            run = upload_and_wait(c, csv, proc, timeout, result)
            if run is not None:
                result["run"] = run
                result["stages"] = stage_table(run, result["upload_wall_start"])
                result["counts"] = run.get("counts", {})
                result["status"] = run.get("status")
                result["count_checks"] = check_counts(result["counts"], expected, "platform")
                result["ok"] = run.get("status") == "succeeded"
                if result["ok"]:
                    g = c.get(f"/api/v1/models/{MODEL}/sample", params={"limit": 10000})
                    result["gold_rows"] = g.json().get("rows") if g.status_code == 200 else None
                    result["failed_by_rule"] = failed_by_rule(c)
        # Peak RSS of each service from the kernel, while the processes are still alive.
        result["vm_hwm_mib"] = {}
        for service in SERVICES:
            pid = read_pid(home, service)
            hwm = vm_hwm_mib(pid) if pid else None
            result["vm_hwm_mib"][service] = round(hwm, 1) if hwm is not None else None
    finally:
        if sampler is not None:
            sampler.stop_event.set()
            sampler.join(5)
            sampler.sample()
            result["sampled_peak_rss_mib"] = {s: round(v, 1) for s, v in sampler.peak.items()}
            result["tree_peak_rss_mib"] = round(sampler.tree_peak, 1)
            result["tree_peak_pss_mib"] = round(sampler.tree_pss_peak, 1)
            result["service_pids_seen"] = sampler.pids
            result["restarted"] = [s for s, pids in sampler.pids.items() if len(pids) > 1]
            result["rss_timeline"] = sampler.timeline
        result.update(stop_platform(proc, home))
        up_log.close()
        result["logs"] = log_summary(home)
        result["up_log_tail"] = (home / "up.log").read_text(errors="replace")[-2000:]
        if result["ok"] and not keep:
            shutil.rmtree(home, ignore_errors=True)
            result["home_removed"] = True
    return result


def failed_by_rule(c: httpx.Client) -> dict[str, int] | None:
    """Failing rows per rule of the dataset's latest evaluation (GET .../quality)."""
    r = c.get(f"/api/v1/datasets/{DATASET}/quality")
    latest = r.json().get("latest") if r.status_code == 200 else None
    if not latest:
        return None
    return {check["name"]: check["failed_rows"] for check in latest.get("checks", [])}


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def upload_and_wait(
    c: httpx.Client, csv: Path, proc: subprocess.Popen, timeout: float, result: dict
) -> dict | None:
    result["upload_wall_start"] = time.time()
    t0 = time.perf_counter()
    with csv.open("rb") as f:  # httpx streams a file object in chunks (no full read)
        r = c.post(
            "/api/v1/files",
            files={"file": (csv.name, f, "text/csv")},
            data={"dataset": DATASET, "key": KEY},
        )
    result["upload_seconds"] = round(time.perf_counter() - t0, 3)
    if r.status_code != 202:
        result["error"] = f"upload refused ({r.status_code}): {r.text[:500]}"
        say(f"platform: {result['error']}")
        return None
    run_id = r.json()["run_id"]
    result["run_id"] = run_id
    say(f"platform: upload accepted in {result['upload_seconds']} s, run {run_id}")
    seen: dict[str, str] = {}
    run: dict = {}
    deadline = t0 + timeout
    while True:
        try:
            run = c.get(f"/api/v1/runs/{run_id}").json()
        except (httpx.HTTPError, ValueError) as exc:
            run = {"status": "unknown", "poll_error": str(exc)}
        for stage in run.get("stages", []):
            if seen.get(stage["name"]) != stage["status"]:
                seen[stage["name"]] = stage["status"]
                say(
                    f"  {time.perf_counter() - t0:8.1f} s  {stage['name']:<8} {stage['status']}"
                    + (f"  ({stage['error']})" if stage.get("error") else "")
                )
        if run.get("status") in ("succeeded", "failed"):
            break
        if proc.poll() is not None:
            result["error"] = f"flowforge up exited with code {proc.returncode} during the run"
            break
        if time.perf_counter() > deadline:
            result["error"] = f"run still {run.get('status')} after {timeout:.0f} s"
            break
        time.sleep(POLL)
    result["platform_seconds"] = round(time.perf_counter() - t0, 3)
    if "error" in result:
        say(f"platform: {result['error']}")
    say(f"platform: run {run.get('status')} after {result['platform_seconds']} s")
    return run


def stop_platform(proc: subprocess.Popen, home: Path) -> dict:
    pids = [p for p in (read_pid(home, s) for s in SERVICES) if p]
    t = time.perf_counter()
    forced = False
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            forced = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    return {
        "stop_seconds": round(time.perf_counter() - t, 2),
        "stop_forced": forced,
        "up_exit_code": proc.returncode,
        "services_left_running": left,
    }


# ------------------------------------------------------------------------------- baseline


def measured(script: str, csv: Path, out: Path) -> tuple[dict, dict | None, str]:
    """Run bench/<script> on csv under /usr/bin/time -v: wall seconds, exit code, the kernel's
    max RSS of the process; its last stdout line (JSON) and its stderr."""
    cmd = [sys.executable, str(BENCH / script), str(csv), "--out", str(out)]
    time_v = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if time_v:
        cmd = [time_v, "-v", *cmd]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - t
    result: dict = {"seconds": round(seconds, 3), "exit_code": proc.returncode, "ok": False}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if m:
        result["time_v_max_rss_mib"] = round(int(m.group(1)) / 1024, 1)
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        report = None
    return result, report, proc.stderr


def run_baseline(csv: Path, expected: dict) -> dict:
    out = Path(tempfile.mkdtemp(prefix="flowforge-baseline-", dir="/tmp"))
    say("baseline: running bench/baseline.py ...")
    result, report, stderr = measured("baseline.py", csv, out)
    if report is None:
        result["error"] = stderr[-3000:]
        say(f"baseline: failed (exit {result['exit_code']}): {stderr[-1500:]}")
        shutil.rmtree(out, ignore_errors=True)
        return result
    result.update(
        ok=result["exit_code"] == 0,
        counts=report["counts"],
        steps=report["seconds"],
        steps_cpu=report.get("cpu_seconds"),
        failed_by_rule=report.get("failed_by_rule"),
        self_peak_rss_mib=report["peak_rss_mb"],
    )
    result["peak_rss_mib"] = result.get("time_v_max_rss_mib", report["peak_rss_mb"])
    result["count_checks"] = check_counts(report["counts"], expected, "baseline")
    try:
        import duckdb

        gold = duckdb.sql(f"SELECT * FROM read_parquet('{report['outputs']['gold']}')")
        result["gold_rows"] = [dict(zip(gold.columns, row, strict=True)) for row in gold.fetchall()]
    except Exception as exc:  # noqa: BLE001 - a comparison aid only
        result["gold_error"] = str(exc)
    shutil.rmtree(out, ignore_errors=True)
    say(f"baseline: done in {result['seconds']} s, peak RSS {result['peak_rss_mib']} MiB")
    return result


def run_dlt(csv: Path, expected: dict) -> dict:
    try:
        import dlt  # noqa: F401
    except ImportError:
        say(
            "dlt: not installed, skipped (install it with `uv sync --all-packages --inexact"
            " --compile-bytecode --group bench-dlt`; ./flowforge's `uv sync --frozen` removes it"
            " again)"
        )
        return {"ok": False, "error": "dlt not installed"}
    out = Path(tempfile.mkdtemp(prefix="flowforge-dlt-", dir="/tmp"))
    say("dlt: running bench/dlt_peer.py ...")
    result, report, stderr = measured("dlt_peer.py", csv, out)
    shutil.rmtree(out, ignore_errors=True)
    if report is None or "error" in report:
        result["error"] = (report or {}).get("error") or stderr[-3000:]
        say(f"dlt: failed (exit {result['exit_code']}): {result['error'][-1500:]}")
        return result
    result.update(ok=result["exit_code"] == 0, report=report)
    result["peak_rss_mib"] = result.get("time_v_max_rss_mib", report["peak_rss_mb"])
    result["rows_ok"] = report["rows"] == expected["unique_order_ids"]
    result["rejected_ok"] = report["rejected"] == expected["malformed_lines"]
    if not (result["rows_ok"] and result["rejected_ok"]):
        say(f"MISMATCH [dlt] rows {report['rows']:,}, rejected {report['rejected']:,}")
    say(f"dlt: done in {result['seconds']} s, peak RSS {result['peak_rss_mib']} MiB")
    return result


def compare_quarantine(p: dict, b: dict) -> dict:
    """Quarantined rows (run counts vs the baseline's) and failing rows per rule."""
    pq_rows = (p.get("counts") or {}).get("quarantined")
    bq_rows = (b.get("counts") or {}).get("quarantined")
    pr, br = p.get("failed_by_rule") or {}, b.get("failed_by_rule") or {}
    rules = {r: {"platform": pr.get(r), "baseline": br.get(r)} for r in (br or pr)}
    compared = pq_rows is not None and bq_rows is not None
    equal = (
        compared
        and pq_rows == bq_rows
        and all(v["platform"] == v["baseline"] for v in rules.values())
    )
    return {
        "compared": compared,
        "platform_quarantined": pq_rows,
        "baseline_quarantined": bq_rows,
        "platform_valid": (p.get("counts") or {}).get("valid"),
        "baseline_valid": (b.get("counts") or {}).get("valid"),
        "rules": rules,
        "equal": equal,
    }


def compare_gold(platform_rows: list[dict] | None, baseline_rows: list[dict] | None) -> dict:
    if not platform_rows or not baseline_rows:
        return {"compared": False}

    def index(rows):
        return {
            (r.get("country"), r.get("status")): (int(r["orders"]), float(r["revenue"]))
            for r in rows
        }

    p, b = index(platform_rows), index(baseline_rows)
    diffs = []
    for k in sorted(set(p) | set(b), key=str):
        pv, bv = p.get(k), b.get(k)
        if pv is None or bv is None or pv[0] != bv[0] or abs(pv[1] - bv[1]) > 0.005:
            diffs.append({"group": list(k), "platform": pv, "baseline": bv})
    return {
        "compared": True,
        "groups": len(b),
        "platform_groups": len(p),
        "equal": not diffs,
        "differences": diffs[:20],
    }


# --------------------------------------------------------------------------------- report


def fmt(v, spec: str = ",.1f", none: str = "-") -> str:
    return none if v is None else format(v, spec)


def report(res: dict) -> None:
    p, b, d, lt = res["platform"], res["baseline"], res["data"], res["dlt"]
    rows, ps, bs, ls = d["records"], p.get("platform_seconds"), b.get("seconds"), lt.get("seconds")
    say()
    say("=" * 72)
    say(
        f"FlowForge pipeline benchmark  {res['timestamp']}  ({res['machine']['cpus']} CPUs, "
        f"{res['machine']['ram_gib']} GiB RAM)"
    )
    say("=" * 72)
    lines = [
        ("file", d["path"]),
        ("rows (records)", f"{rows:,}"),
        ("file size", f"{d['mb']:,.1f} MB"),
        ("platform status", p.get("status") or p.get("error")),
        ("platform seconds (upload start -> succeeded)", fmt(ps, ",.2f")),
        ("  of which upload (until 202)", fmt(p.get("upload_seconds"), ",.2f")),
        ("baseline seconds (subprocess wall)", fmt(bs, ",.2f")),
        ("dlt seconds (subprocess wall)", fmt(ls, ",.2f") if lt.get("ok") else lt.get("error")),
        ("platform rows/s", fmt(rows / ps if ps else None, ",.0f")),
        ("baseline rows/s", fmt(rows / bs if bs else None, ",.0f")),
        ("dlt rows/s", fmt(rows / ls if ls and lt.get("ok") else None, ",.0f")),
        ("ratio platform/baseline", fmt(res.get("ratio"), ",.2f")),
        ("ratio platform/dlt", fmt(res.get("ratio_dlt"), ",.2f")),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        say(f"{k:<{width}}  {v}")
    say()
    say("platform stages (server timestamps; 'starts at' relative to upload start)")
    say(f"  {'stage':<9}{'status':<11}{'seconds':>10}{'starts at':>11}{'ends at':>10}")
    for name, st in p.get("stages", {}).items():
        say(
            f"  {name:<9}{st['status']:<11}{fmt(st['seconds'], ',.2f'):>10}"
            f"{fmt(st['starts_at'], ',.2f'):>11}{fmt(st['ends_at'], ',.2f'):>10}"
            + (f"  error: {st['error']}" if st.get("error") else "")
        )
    steps, cpu = b.get("steps") or {}, b.get("steps_cpu") or {}
    say("baseline steps (seconds): " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    if cpu:
        say("baseline steps (CPU s):   " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    say()
    say("peak RSS, MiB (VmHWM at the end; sampled max every 0.5 s as a cross-check)")
    hwm, sampled = p.get("vm_hwm_mib") or {}, p.get("sampled_peak_rss_mib") or {}
    for s in SERVICES:
        extra = " (restarted!)" if s in p.get("restarted", []) else ""
        say(f"  {s:<10}{fmt(hwm.get(s)):>10}   sampled {fmt(sampled.get(s)):>9}{extra}")
    say(
        f"  {'all of up':<10}{'':>10}   sampled {fmt(p.get('tree_peak_rss_mib')):>9}"
        "  (whole process tree incl. NATS + PostgreSQL, sum of RSS)"
    )
    say(
        f"  {'all of up':<10}{'':>10}   sampled {fmt(p.get('tree_peak_pss_mib')):>9}"
        "  (the same, sum of PSS: shared library pages counted once)"
    )
    say(f"  {'baseline':<10}{fmt(b.get('peak_rss_mib')):>10}   (one process)")
    say(f"  {'dlt':<10}{fmt(lt.get('peak_rss_mib')):>10}   (one process)")
    say()
    say("counts            expected      platform      baseline")
    pc = {c["count"]: c for c in p.get("count_checks", [])}
    bc = {c["count"]: c for c in b.get("count_checks", [])}
    for name in ("parsed", "rejected", "bronze", "duplicates", "silver"):
        want = (pc.get(name) or bc.get(name) or {}).get("expected")
        cells = []
        for src in (pc, bc):
            c = src.get(name)
            cells.append(
                "-"
                if c is None
                else f"{fmt(c['got'], ',', 'None')}" + ("" if c["ok"] else " MISMATCH")
            )
        say(f"  {name:<12}{fmt(want, ','):>12}  {cells[0]:>12}  {cells[1]:>12}")
    qc = res.get("quarantine_comparison", {})
    if qc.get("compared"):
        say(
            f"quarantined rows: platform {fmt(qc['platform_quarantined'], ',')},"
            f" baseline {fmt(qc['baseline_quarantined'], ',')}"
            f" ({'equal' if qc['equal'] else 'MISMATCH'}); valid: platform"
            f" {fmt(qc['platform_valid'], ',')}, baseline {fmt(qc['baseline_valid'], ',')}"
        )
        for rule, v in qc["rules"].items():
            same = "" if v["platform"] == v["baseline"] else "  MISMATCH"
            say(
                f"  {rule:<20}{fmt(v['platform'], ',', 'None'):>12}"
                f"{fmt(v['baseline'], ',', 'None'):>12}{same}"
            )
    g = res.get("gold_comparison", {})
    if g.get("compared"):
        say(
            f"gold: {g['platform_groups']} groups on the platform, {g['groups']} in the baseline:"
            f" {'identical' if g['equal'] else 'MISMATCH ' + json.dumps(g['differences'][:3])}"
        )
    say()
    say("targets")
    for t in res["targets"]:
        verdict = "PASS" if t["pass"] else "MISS"
        say(f"  {verdict}  {t['name']}: {t['value']} (target {t['target']})")
    if not p.get("ok"):
        say()
        say("platform problems (from $FLOWFORGE_HOME/logs, kept at " + p["home"] + "):")
        for svc, info in (p.get("logs") or {}).items():
            if info["errors"] or info["warnings"]:
                say(f"  {svc}: {info['errors']} errors, {info['warnings']} warnings")
                for line in info["last"]:
                    say(f"    {line[:300]}")


def targets(res: dict) -> list[dict]:
    p = res["platform"]
    out = [
        {
            "name": "platform/baseline time ratio",
            "target": f"<= {TARGET_RATIO:g}x",
            "value": fmt(res.get("ratio"), ".2f") + "x",
            "pass": res.get("ratio") is not None and p.get("ok") and res["ratio"] <= TARGET_RATIO,
        },
        {
            "name": "platform/dlt time ratio",
            "target": "< 1x (platform faster than dlt)",
            "value": fmt(res.get("ratio_dlt"), ".2f") + "x",
            "pass": res.get("ratio_dlt") is not None and p.get("ok") and res["ratio_dlt"] < 1,
        },
        {
            "name": "same quarantine as the baseline",
            "target": "equal",
            "value": "equal" if res["quarantine_comparison"].get("equal") else "not equal",
            "pass": bool(res["quarantine_comparison"].get("equal")),
        },
    ]
    hwm, sampled = p.get("vm_hwm_mib") or {}, p.get("sampled_peak_rss_mib") or {}
    for s in SERVICES:
        v = max(x for x in (hwm.get(s), sampled.get(s), 0.0) if x is not None)
        out.append(
            {
                "name": f"{s} peak RSS",
                "target": f"< {TARGET_RSS_MIB:,.0f} MiB",
                "value": f"{v:,.1f} MiB",
                "pass": 0 < v < TARGET_RSS_MIB,
            }
        )
    dlt_peak = (res.get("dlt") or {}).get("peak_rss_mib")
    for key, how in (("tree_peak_rss_mib", "sum of RSS"), ("tree_peak_pss_mib", "sum of PSS")):
        total = p.get(key)
        out.append(
            {
                "name": f"whole platform peak ({how})",
                "target": f"< dlt's peak ({fmt(dlt_peak)} MiB)" if dlt_peak else "< dlt's peak",
                "value": f"{fmt(total)} MiB",
                "pass": bool(total and dlt_peak and total < dlt_peak),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="CSV path (default bench/data/orders_<rows>.csv, e.g. orders_5m.csv)",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the run")
    ap.add_argument("--keep", action="store_true", help="keep the platform's FLOWFORGE_HOME")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-platform", action="store_true")
    ap.add_argument("--skip-dlt", action="store_true", help="do not run dlt (bench/dlt_peer.py)")
    args = ap.parse_args(argv)

    csv = (args.data or BENCH / "data" / f"orders_{size_label(args.rows)}.csv").resolve()
    expected = ensure_data(csv, args.rows, args.seed)
    warm = warm_cache(csv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    res: dict = {
        "timestamp": stamp,
        "machine": {
            "cpus": os.cpu_count(),
            "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "python": sys.version.split()[0],
        },
        "data": {
            "path": str(csv.relative_to(REPO) if csv.is_relative_to(REPO) else csv),
            "records": expected["records"],
            "bytes": expected["bytes"],
            "mb": round(expected["bytes"] / 1e6, 1),
            "expected": expected,
            "warm_read_seconds": round(warm, 2),
        },
        "gold_sql": GOLD_SQL,
    }
    say(
        f"data: {csv} ({expected['records']:,} rows, {expected['bytes'] / 1e6:,.1f} MB;"
        f" read in {warm:.1f} s to warm the page cache)"
    )
    res["platform"] = (
        {"ok": False, "error": "skipped", "home": "-"}
        if args.skip_platform
        else run_platform(csv, expected, args.timeout, args.keep)
    )
    res["baseline"] = (
        {"ok": False, "error": "skipped"} if args.skip_baseline else run_baseline(csv, expected)
    )
    res["dlt"] = {"ok": False, "error": "skipped"} if args.skip_dlt else run_dlt(csv, expected)
    ps, bs = res["platform"].get("platform_seconds"), res["baseline"].get("seconds")
    ls = res["dlt"].get("seconds") if res["dlt"].get("ok") else None
    res["ratio"] = round(ps / bs, 3) if ps and bs and res["platform"].get("ok") else None
    res["ratio_dlt"] = round(ps / ls, 3) if ps and ls and res["platform"].get("ok") else None
    res["throughput_rows_per_s"] = {
        "platform": round(expected["records"] / ps) if ps else None,
        "baseline": round(expected["records"] / bs) if bs else None,
        "dlt": round(expected["records"] / ls) if ls else None,
    }
    res["quarantine_comparison"] = compare_quarantine(res["platform"], res["baseline"])
    res["gold_comparison"] = compare_gold(
        res["platform"].get("gold_rows"), res["baseline"].get("gold_rows")
    )
    res["targets"] = targets(res)
    report(res)
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"pipeline-{stamp}.json"
    path.write_text(json.dumps(res, indent=2, default=str) + "\n")
    say(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
