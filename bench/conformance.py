"""CSV conformance sweep: every data file of the shared acceptance corpus through a fresh platform.

Usage (from the repository root, with the workspace venv):
    .venv/bin/python bench/conformance.py                        # the whole corpus (~15 min)
    .venv/bin/python bench/conformance.py --only csv-spectrum    # one source folder
    .venv/bin/python bench/conformance.py --only duckdb-csv/encodings --keep
    .venv/bin/python bench/conformance.py --limit 50 --report /tmp/c.md

One run:
  1. lists every data file under the corpus (default `../shared/corpus` relative to the
     repository; every file but the *.md indexes), sorted, each numbered by its place in the
     whole corpus; `--only` keeps the files under the given sub-folder(s), `--limit` the first N;
  2. starts a fresh embedded platform (`python -m flowforge.cli.main up`, FLOWFORGE_HOME in a
     new /tmp directory, a free port, NATS_URL/DATABASE_URL/S3_* unset) and waits for /healthz;
  3. uploads each file into a dataset of its own (`c_<index>`), a few at once (`--concurrency`,
     default 4), and polls its run until it succeeds or fails, or `--timeout` (60 s) passes;
     a thread watches the service pid files ($FLOWFORGE_HOME/run/*.pid) and the processes
     behind them the whole time, remembering which files were in flight when one changed;
  4. for csv-spectrum and duckdb-csv/encodings reads the Bronze sample of each accepted file;
  5. re-polls runs that timed out, re-uploads alone each file that was in flight when a service
     died (to find which one kills it), reads every service log, stops the platform (SIGTERM);
  6. prints the Markdown summary and writes it to `--report` (default docs/conformance.md), and
     every per-file record to bench/out/conformance-<timestamp>.json.

Outcome of a file:
  accepted  the run succeeded;
  rejected  the upload was refused with 4xx, or the run failed with an error message (grouped
            by its first 60 characters, the file's own name and digits left out);
  crashed   a 5xx response (or no response), a run not finished within the timeout, an
            unhandled exception (a traceback logged for its run_id by a service), or the file
            made a service process die (reproduced when re-uploaded alone).

Exits 0 whatever the findings (1 only if the platform could not start).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil

from flowforge.common.topology import SERVICES

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from pipeline import admin_headers, free_port, platform_env, read_pid  # noqa: E402

DEFAULT_CORPUS = (REPO / ".." / "shared" / "corpus").resolve()
DEFAULT_REPORT = REPO / "docs" / "conformance.md"
LINEAGE = ("_source_file", "_source_line", "_ingested_at", "_run_id")
POLL = 0.25
WATCH = 0.3
REASON_CHARS = 60


def say(msg: str = "") -> None:
    print(msg, flush=True)


def now() -> float:
    return time.time()


# ------------------------------------------------------------------------------- platform


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def start_platform(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = open(home / "up.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowforge.cli.main", "up"],
        cwd=REPO,
        # ~1,500 uploads in a few minutes from one key: above the default per-caller rate.
        env={**platform_env(home, port), "FLOWFORGE_RATE_LIMITS": "upload=100000,lake=100000"},
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"flowforge up exited ({proc.returncode}): "
                + (home / "up.log").read_text(errors="replace")[-3000:]
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_platform(proc)
    raise RuntimeError("platform not healthy within 180 s")


def stop_platform(proc: subprocess.Popen) -> dict:
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
    return {
        "stop_seconds": round(time.perf_counter() - t, 1),
        "forced": forced,
        "exit_code": proc.returncode,
    }


class Watcher(threading.Thread):
    """Watches the service pid files and processes; records each death/restart with the files
    in flight at that moment."""

    def __init__(self, home: Path, up: subprocess.Popen, inflight: dict[str, float], lock):
        super().__init__(daemon=True)
        self.home, self.up, self.inflight, self.lock = home, up, inflight, lock
        self.stop_event = threading.Event()
        self.pids = {s: read_pid(home, s) for s in SERVICES}
        self.seen = {s: [p] for s, p in self.pids.items()}
        self.events: list[dict] = []
        self.up_exited: float | None = None

    def run(self) -> None:
        dead: dict[str, int] = {}
        while not self.stop_event.is_set():
            for service in SERVICES:
                pid = read_pid(self.home, service)
                old = self.pids[service]
                changed = pid != old and pid is not None
                died = not alive(pid) and dead.get(service) != pid
                if changed or died:
                    with self.lock:
                        flying = sorted(self.inflight)
                    self.events.append(
                        {
                            "t": now(),
                            "service": service,
                            "kind": "restarted" if changed else "died",
                            "old_pid": old,
                            "new_pid": pid,
                            "inflight": flying,
                        }
                    )
                    if changed:
                        self.pids[service] = pid
                        self.seen[service].append(pid)
                    if died:
                        dead[service] = pid
                if alive(pid):
                    dead.pop(service, None)
            if self.up.poll() is not None and self.up_exited is None:
                self.up_exited = now()
            self.stop_event.wait(WATCH)

    def count(self) -> int:
        return len(self.events)


# ----------------------------------------------------------------------------------- files


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() != ".md")


def folder_of(rel: str) -> str:
    return rel.split("/", 1)[0] if "/" in rel else "(top)"


def subfolder_of(rel: str) -> str:
    parts = rel.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else f"{parts[0]}/(top)"


def reason_key(error: str, filename: str) -> str:
    text = (error or "").strip()
    for prefix in (f"{filename}: ", f"{filename}:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.replace(filename, "<file>")
    text = re.sub(r"\b\d+\b", "N", " ".join(text.split()))
    return text[:REASON_CHARS] or "(no message)"


def short(value: Any, n: int = 240) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= n else text[: n - 1] + "…"


def md_cell(value: Any, n: int = 240) -> str:
    text = short(value, n)
    text = text.replace("|", "\\|").replace("\r", "\\r").replace("\n", "\\n")
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


# ------------------------------------------------------------------------------------ sweep


class Sweep:
    def __init__(self, url: str, home: Path, args: argparse.Namespace):
        self.url, self.home, self.args = url, home, args
        self.client = httpx.Client(
            base_url=url,
            headers=admin_headers(home),
            timeout=httpx.Timeout(30, read=120, write=120),
            limits=httpx.Limits(max_connections=args.concurrency * 2 + 2),
        )
        self.lock = threading.Lock()
        self.inflight: dict[str, float] = {}
        self.done = 0
        self.total = 0

    def upload(self, path: Path, rel: str, dataset: str) -> tuple[int | None, dict, str | None]:
        try:
            with path.open("rb") as f:
                r = self.client.post(
                    "/api/v1/files",
                    files={"file": (path.name, f, "application/octet-stream")},
                    data={"dataset": dataset},
                )
        except httpx.HTTPError as exc:
            return None, {}, f"{type(exc).__name__}: {exc}"
        try:
            body = r.json()
        except ValueError:
            body = {"_text": r.text[:2000]}
        return r.status_code, body, None

    def poll_run(self, run_id: str, deadline: float) -> tuple[dict, list[dict]]:
        """Poll until the run is finished or the deadline passes; returns (run, poll errors)."""
        run: dict = {}
        errors: list[dict] = []
        while True:
            try:
                r = self.client.get(f"/api/v1/runs/{run_id}")
                if r.status_code >= 500:
                    errors.append({"status": r.status_code, "body": r.text[:1000]})
                elif r.status_code == 200:
                    run = r.json()
                else:
                    errors.append({"status": r.status_code, "body": r.text[:1000]})
            except (httpx.HTTPError, ValueError) as exc:
                errors.append({"status": None, "body": f"{type(exc).__name__}: {exc}"})
            if run.get("status") in ("succeeded", "failed"):
                return run, errors
            if time.monotonic() > deadline:
                return run, errors
            time.sleep(POLL)

    def bronze_sample(self, dataset: str, limit: int) -> tuple[int, Any]:
        try:
            r = self.client.get(
                f"/api/v1/datasets/{dataset}/sample", params={"layer": "bronze", "limit": limit}
            )
        except httpx.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"
        try:
            body = r.json()
        except ValueError:
            body = r.text[:1000]
        return r.status_code, body

    def one(self, index: int, path: Path, rel: str) -> dict:
        dataset = f"c_{index}"
        rec: dict[str, Any] = {
            "index": index,
            "file": rel,
            "folder": folder_of(rel),
            "subfolder": subfolder_of(rel),
            "bytes": path.stat().st_size,
            "dataset": dataset,
        }
        with self.lock:
            self.inflight[rel] = now()
        t0 = time.monotonic()
        rec["start"] = now()
        try:
            status, body, exc = self.upload(path, rel, dataset)
            rec["http_status"] = status
            if exc is not None:
                rec.update(outcome="crashed", crash="no response to upload", detail=exc)
            elif status >= 500:
                rec.update(outcome="crashed", crash=f"HTTP {status} on upload", detail=body)
            elif status != 202:
                err = body.get("error") if isinstance(body, dict) else None
                rec.update(
                    outcome="rejected",
                    via="upload",
                    error=err or short(body, 500),
                    reason=f"HTTP {status}: " + reason_key(err or short(body), path.name),
                )
            else:
                run_id = body["run_id"]
                rec["run_id"] = run_id
                run, poll_errors = self.poll_run(run_id, t0 + self.args.timeout)
                self.classify(rec, run, poll_errors, path.name)
                if rec["outcome"] == "accepted" and (
                    rel.startswith("csv-spectrum/") or rel.startswith("duckdb-csv/encodings/")
                ):
                    code, sample = self.bronze_sample(dataset, 10_000)
                    rec["bronze_sample_status"] = code
                    rec["bronze_sample"] = (
                        sample.get("rows") if code == 200 and isinstance(sample, dict) else sample
                    )
                    if code >= 500:
                        rec["sample_5xx"] = short(sample, 500)
        finally:
            rec["seconds"] = round(time.monotonic() - t0, 2)
            rec["end"] = now()
            with self.lock:
                self.inflight.pop(rel, None)
                self.done += 1
                done = self.done
            tag = rec["outcome"]
            extra = rec.get("reason") or rec.get("crash") or ""
            say(
                f"[{done:>4}/{self.total}] {tag:<8} {rec['seconds']:6.1f}s  {rel}  "
                + short(extra, 90)
            )
        return rec

    @staticmethod
    def classify(rec: dict, run: dict, poll_errors: list[dict], filename: str) -> None:
        rec["status"] = run.get("status")
        rec["counts"] = run.get("counts")
        rec["stages"] = [
            {
                "name": s.get("name"),
                "status": s.get("status"),
                "error": s.get("error"),
                "seconds": span(s.get("started_at"), s.get("finished_at")),
            }
            for s in run.get("stages", [])
        ]
        starts = [iso_ts(s.get("started_at")) for s in run.get("stages", [])]
        starts = [t for t in starts if t is not None]
        created = iso_ts(run.get("created_at"))
        if starts and created is not None:
            rec["queued_seconds"] = max(0.0, round(min(starts) - created, 3))
        fivexx = [e for e in poll_errors if e["status"] is None or e["status"] >= 500]
        if fivexx:
            rec["poll_errors"] = fivexx[:3]
        if run.get("status") == "succeeded":
            rec["outcome"] = "accepted"
        elif run.get("status") == "failed":
            error = run.get("error") or next(
                (s.get("error") for s in run.get("stages", []) if s.get("error")), None
            )
            rec["error"] = error
            rec["outcome"] = "rejected"
            rec["via"] = "run"
            failed_stage = next(
                (s.get("name") for s in run.get("stages", []) if s.get("status") == "failed"), "?"
            )
            rec["failed_stage"] = failed_stage
            rec["reason"] = f"{failed_stage}: " + reason_key(error or "", filename)
        else:
            running = [s["name"] for s in run.get("stages", []) if s.get("status") == "running"]
            rec["outcome"] = "crashed"
            rec["crash"] = f"run still {run.get('status') or 'unknown'} after timeout" + (
                f" (running: {', '.join(running)})" if running else ""
            )
        if fivexx and rec["outcome"] != "crashed":
            rec["outcome"] = "crashed"
            rec["crash"] = f"HTTP {fivexx[0]['status']} polling the run"
            rec["detail"] = fivexx[0]["body"]


# ------------------------------------------------------------------------------------- logs


def iso_ts(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def settle_logs(home: Path, quiet: float, cap: float = 180) -> None:
    """Wait until no service log has grown for `quiet` seconds (at most `cap`)."""

    def sizes() -> dict[str, int]:
        return {p.name: p.stat().st_size for p in (home / "logs").glob("*.log")}

    last, since, deadline = sizes(), time.monotonic(), time.monotonic() + cap
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(1)
        now_sizes = sizes()
        if now_sizes != last:
            last, since = now_sizes, time.monotonic()


def span(start: str | None, end: str | None) -> float | None:
    a, b = iso_ts(start), iso_ts(end)
    return round(b - a, 3) if a is not None and b is not None else None


def exception_line(exc: str) -> str | None:
    """The `module.ExceptionType: message` line of a formatted traceback (the last one)."""
    found = None
    for line in exc.splitlines():
        if line[:1].isspace() or not line.strip():
            continue
        head = line.split(":", 1)[0]
        if head in ("Traceback (most recent call last)", "DETAIL", "HINT", "LINE", "CONTEXT"):
            continue
        if re.fullmatch(r"[A-Za-z_][\w.]*", head):
            found = line.strip()
    return found or (exc.strip().splitlines()[-1] if exc.strip() else None)


def read_logs(home: Path) -> dict:
    """Error lines and tracebacks of every service log, by run_id where the line has one."""
    by_run: dict[str, list[dict]] = defaultdict(list)
    unattributed: list[dict] = []
    raw: list[dict] = []
    counts: dict[str, Counter] = {}
    for path in sorted((home / "logs").glob("*.log")):
        service = path.stem
        c = Counter()
        raw_block: list[str] = []
        for line in path.read_text(errors="replace").splitlines():
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError
            except ValueError:
                # Not one of ours: an interpreter's own output (a fatal error, a traceback
                # printed by a dying process).
                if (
                    re.search(
                        r"Traceback|Fatal Python error|Segmentation fault|core dumped|"
                        r"Killed|MemoryError|Aborted",
                        line,
                    )
                    or raw_block
                ):
                    raw_block.append(line)
                    if len(raw_block) >= 40 or not line.strip():
                        raw.append({"service": service, "text": "\n".join(raw_block)})
                        raw_block = []
                continue
            level = str(item.get("level", "")).lower()
            c[level] += 1
            exc = item.get("exc") or ""
            has_tb = "Traceback" in exc
            if level in ("error", "critical") or has_tb:
                entry = {
                    "service": item.get("service", service),
                    "level": level,
                    "ts": item.get("ts"),
                    "t": iso_ts(item.get("ts")),
                    "msg": item.get("msg", ""),
                    "traceback": has_tb,
                    "exc_last": exception_line(exc),
                    "exc": exc[-4000:] if exc else None,
                }
                if item.get("run_id"):
                    by_run[item["run_id"]].append(entry)
                else:
                    unattributed.append(entry)
        if raw_block:
            raw.append({"service": service, "text": "\n".join(raw_block)})
        counts[service] = c
    return {"by_run": by_run, "unattributed": unattributed, "raw": raw, "levels": counts}


# ------------------------------------------------------------------------------ exactness


def spectrum_expected(corpus: Path, rel: str) -> tuple[Path, bool] | None:
    """(expected JSON, CRLF->LF) for a csv-spectrum data file, or None."""
    name = Path(rel).name
    base = corpus / "csv-spectrum" / "json"
    if rel.startswith("csv-spectrum/csvs/") and name.endswith(".csv"):
        stem = name[: -len(".csv")]
        return base / f"{stem}.json", stem.endswith("_crlf")
    if rel.startswith("csv-spectrum/derived/") and name.endswith(".true_crlf.csv"):
        return base / f"{name[: -len('.true_crlf.csv')]}.json", False
    return None


def compare_spectrum(rec: dict, expected_path: Path, to_lf: bool) -> dict:
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    if to_lf:
        expected = [{k: v.replace("\r\n", "\n") for k, v in row.items()} for row in expected]
    out: dict[str, Any] = {"expected": expected_path.name + (" (CRLF->LF)" if to_lf else "")}
    if rec.get("outcome") != "accepted":
        out.update(
            exact=False, lenient=False, why=f"not accepted: {rec.get('reason') or rec.get('crash')}"
        )
        return out
    rows = rec.get("bronze_sample")
    if not isinstance(rows, list):
        out.update(exact=False, lenient=False, why=f"no bronze sample: {short(rows, 200)}")
        return out
    rows = sorted(rows, key=lambda r: r.get("_source_line") or 0)
    got = [
        {k: (None if v is None else str(v)) for k, v in r.items() if k not in LINEAGE} for r in rows
    ]
    out["got_rows"] = len(got)
    out["expected_rows"] = len(expected)
    out["exact"] = got == expected
    lenient = [{k: ("" if v is None else v) for k, v in r.items()} for r in got]
    out["lenient"] = lenient == expected
    if not out["exact"]:
        if len(got) != len(expected):
            why = f"{len(got)} rows, expected {len(expected)}"
        else:
            why = "values differ"
        for i, (g, e) in enumerate(zip(got, expected, strict=False)):
            if g != e:
                why += f"; row {i + 1}: got {dumps(g)} expected {dumps(e)}"
                break
        else:
            if len(got) != len(expected):
                extra = got[len(expected) :] or expected[len(got) :]
                why += f"; first extra: {json.dumps(extra[0], ensure_ascii=False)}"
        out["why"] = why
    return out


# --------------------------------------------------------------------------- conservation


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def conservation(rec: dict) -> list[str]:
    c = rec.get("counts") or {}

    def v(name: str) -> int:
        return c.get(name) or 0

    bad = []
    if v("parsed") != v("rejected") + v("bronze"):
        bad.append(
            f"parsed {c.get('parsed')} != rejected {c.get('rejected')} + bronze {c.get('bronze')}"
        )
    if v("bronze") != v("duplicates") + v("silver"):
        bad.append(
            f"bronze {c.get('bronze')} != duplicates {c.get('duplicates')} "
            f"+ silver {c.get('silver')}"
        )
    if v("silver") != v("quarantined") + v("valid"):
        bad.append(
            f"silver {c.get('silver')} != quarantined {c.get('quarantined')} "
            f"+ valid {c.get('valid')}"
        )
    return bad


MOJIBAKE = re.compile(r"\ufffd|[\u00c2\u00c3][\u0080-\u00bf]|\x00|[\u0080-\u009f]")


# ---------------------------------------------------------------------------------- report


def build_report(res: dict, records: list[dict], corpus: Path) -> str:
    L: list[str] = []
    add = L.append
    add("# CSV conformance sweep")
    add("")
    add(
        f"Run {res['date']} on {res['machine']} — {len(records)} files from "
        f"`{res['corpus_display']}`"
        + (f" (filtered: {res['filter']})" if res.get("filter") else "")
        + f", {res['concurrency']} uploads in flight, run timeout {res['timeout']:.0f} s."
    )
    add("")
    add("Reproduce (from the repository root):")
    add("")
    add("```sh")
    add(res["command"])
    add("```")
    add("")
    add(
        "Each file goes into a dataset of its own (`c_<index>`) on one fresh embedded platform "
        "(`flowforge up`, default settings). **accepted** = the run succeeded; **rejected** = "
        "the upload was refused with 4xx or the run failed with an error message; **crashed** = "
        "a 5xx or no response, a run not finished within the timeout, an unhandled exception "
        "(a traceback logged for the run), or a service process death caused by the file. "
        "The script is `bench/conformance.py`; per-file records are written to "
        "`bench/out/conformance-<timestamp>.json`."
    )
    add("")
    wall = res["sweep_seconds"]
    add(
        f"Total wall time **{wall:,.0f} s** for the sweep ({len(records) / wall:.1f} files/s; "
        f"platform start {res['startup_seconds']:.0f} s, follow-up checks "
        f"{res['followup_seconds']:.0f} s)."
    )
    add("")

    # ------------------------------------------------------------ per folder table
    def table(group_key: str, title: str) -> None:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in records:
            groups[r[group_key]].append(r)
        add(f"## {title}")
        add("")
        add(
            "| folder | files | accepted | of which with rejected lines | rejected: upload 4xx "
            "| rejected: run failed | crashed | median s | max s |"
        )
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        totals = Counter()
        for name in sorted(groups):
            rs = groups[name]
            c = Counter()
            for r in rs:
                c[r["outcome"]] += 1
                if r["outcome"] == "accepted" and (r.get("counts") or {}).get("rejected"):
                    c["with_rejects"] += 1
                if r["outcome"] == "rejected":
                    c[f"rej_{r.get('via')}"] += 1
            secs = [r["seconds"] for r in rs]
            totals.update(c)
            totals["files"] += len(rs)
            add(
                f"| {name} | {len(rs)} | {c['accepted']} | {c['with_rejects']} | {c['rej_upload']} "
                f"| {c['rej_run']} | {c['crashed']} | {statistics.median(secs):.1f} "
                f"| {max(secs):.1f} |"
            )
        allsecs = [r["seconds"] for r in records]
        add(
            f"| **total** | **{totals['files']}** | **{totals['accepted']}** | "
            f"**{totals['with_rejects']}** | **{totals['rej_upload']}** | **{totals['rej_run']}** "
            f"| **{totals['crashed']}** | {statistics.median(allsecs):.1f} | {max(allsecs):.1f} |"
        )
        add("")

    table("folder", "Outcomes by source folder")
    if any(r["folder"] == "duckdb-csv" for r in records):
        saved = records
        records = [r for r in saved if r["folder"] == "duckdb-csv"]
        table("subfolder", "duckdb-csv by sub-folder")
        records = saved

    # ------------------------------------------------------------ rejection reasons
    add("## Rejection reasons")
    add("")
    add(
        "Grouped by where the file stopped and the first 60 characters of the message (the "
        "file's own name dropped, digits shown as N)."
    )
    add("")
    for folder in sorted({r["folder"] for r in records}):
        rej = [r for r in records if r["folder"] == folder and r["outcome"] == "rejected"]
        if not rej:
            continue
        add(f"### {folder} ({len(rej)} rejected)")
        add("")
        add("| reason | files | example file | example message |")
        add("|---|---:|---|---|")
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rej:
            groups[r["reason"]].append(r)
        for reason, rs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            add(
                f"| {md_cell(reason)} | {len(rs)} | `{rs[0]['file']}` "
                f"| {md_cell(rs[0].get('error') or '', 200)} |"
            )
        add("")

    # ------------------------------------------------------------ crashes
    crashed = [r for r in records if r["outcome"] == "crashed"]
    add(f"## Crashes ({len(crashed)} files, {len(res['deaths'])} service deaths/restarts)")
    add("")
    if not crashed and not res["deaths"]:
        add("None: no 5xx, no run past the timeout, no unhandled exception, no service death.")
        add("")
    if crashed:
        add("| what | exception / detail | files | which |")
        add("|---|---|---:|---|")
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for r in crashed:
            detail = r.get("exception") or short(r.get("detail") or "", 160)
            groups[(r.get("crash") or "?", detail)].append(r)
        for (what, detail), rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            status = Counter(r.get("status") or "-" for r in rs)
            shown = ", ".join(f"`{r['file']}`" for r in rs[:8]) + (
                f" … (+{len(rs) - 8})" if len(rs) > 8 else ""
            )
            add(
                f"| {md_cell(what)} | {md_cell(detail, 300)} | {len(rs)} | {shown}; run status: "
                + ", ".join(f"{k} {v}" for k, v in status.most_common())
                + " |"
            )
        add("")
        add("<details><summary>Every crashed file</summary>")
        add("")
        add("| file | what | detail |")
        add("|---|---|---|")
        for r in crashed:
            detail = (r.get("exception") + " — " if r.get("exception") else "") + (
                r.get("detail") or ""
            )
            if r.get("late"):
                detail = f"{detail}; later: {r['late']}"
            add(f"| `{r['file']}` | {md_cell(r.get('crash'))} | {md_cell(detail, 400)} |")
        add("")
        add("</details>")
        add("")
    if res["deaths"]:
        add("Service process deaths/restarts seen by the pid watcher:")
        add("")
        for d in res["deaths"]:
            add(
                f"- {d['when']}: **{d['service']}** "
                + (
                    f"restarted (pid {d['old_pid']} → {d['new_pid']})"
                    if d["kind"] == "restarted"
                    else f"process {d['new_pid']} gone"
                )
                + "; files in flight: "
                + (", ".join(f"`{f}`" for f in d["inflight"]) or "none")
                + (
                    f"; reproduced alone by: {', '.join(f'`{f}`' for f in d['culprits'])}"
                    if d.get("culprits")
                    else "; not reproduced alone"
                    if d.get("rechecked")
                    else ""
                )
            )
        add("")
    tb_runs = res["traceback_examples"]
    if tb_runs:
        add(
            "Tracebacks in the service logs, by service, exception and what became of the "
            "message (dead-lettered after its retries, or recovered on a retry):"
        )
        add("")
        add("| service | exception | fate | files |")
        add("|---|---|---|---|")
        for (service, last, fate), files in sorted(tb_runs.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(f"`{f}`" for f in files[:6]) + (
                f" … (+{len(files) - 6})" if len(files) > 6 else ""
            )
            add(f"| {service} | {md_cell(last, 200)} | {fate} | {shown} |")
        add("")
    if res["raw_log_blocks"]:
        add("Non-JSON output in service logs (interpreter crashes, fatal errors):")
        add("")
        add("```")
        for b in res["raw_log_blocks"][:5]:
            add(f"[{b['service']}] {b['text'][:1500]}")
        add("```")
        add("")

    # ------------------------------------------------------------ exactness
    ex = res["exactness"]
    if ex:
        n_exact = sum(1 for e in ex.values() if e["exact"])
        n_len = sum(1 for e in ex.values() if e["lenient"])
        add(f"## Exactness: csv-spectrum Bronze vs expected JSON — **{n_exact}/{len(ex)} exact**")
        add("")
        add(
            "Bronze sample rows (data columns only, values as strings, ordered by source line) "
            "against `csv-spectrum/json/`; `csvs/*_crlf.csv` have LF endings in this copy, so "
            "they are compared with `\\r\\n` → `\\n` in the expected values."
            + (
                f" Counting a null as an empty string: {n_len}/{len(ex)}."
                if n_len != n_exact
                else ""
            )
        )
        add("")
        add("| file | expected | exact | detail |")
        add("|---|---|---|---|")
        for f, e in sorted(ex.items()):
            mark = "yes" if e["exact"] else ('null≠"" only' if e["lenient"] else "**no**")
            add(f"| `{f}` | {e['expected']} | {mark} | {md_cell(e.get('why', ''), 400)} |")
        add("")

    # ------------------------------------------------------------ conservation
    cons = res["conservation"]
    add(f"## Conservation — {len(cons)} violation(s) in {res['accepted']} succeeded runs")
    add("")
    add(
        "Checked for every succeeded run: parsed = rejected + bronze, bronze = duplicates + "
        "silver, silver = quarantined + valid (a missing count read as 0)."
    )
    add("")
    if cons:
        add("| file | violation | counts |")
        add("|---|---|---|")
        for f, (bad, counts) in sorted(cons.items()):
            add(f"| `{f}` | {md_cell('; '.join(bad))} | {md_cell(counts)} |")
        add("")

    odd = res["stage_inconsistent"]
    add(
        f"Stage consistency: {len(odd)} succeeded run(s) with a stage still pending or running"
        + (":" if odd else ".")
    )
    add("")
    if odd:
        add("| file | stages |")
        add("|---|---|")
        for f, stages in sorted(odd.items())[:30]:
            add(f"| `{f}` | {md_cell(stages)} |")
        if len(odd) > 30:
            add(f"| … {len(odd) - 30} more | |")
        add("")

    # ------------------------------------------------------------ encodings
    enc = [r for r in records if r["file"].startswith("duckdb-csv/encodings/")]
    if enc:
        add("## Encodings (duckdb-csv/encodings)")
        add("")
        add(
            "Outcome and the first Bronze row (data columns), escaped; *suspect* marks U+FFFD, "
            "NUL, C1 controls or UTF-8-read-as-Latin-1 pairs (`Ã©`)."
        )
        add("")
        add("| file | outcome | first bronze row | suspect |")
        add("|---|---|---|---|")
        for r in enc:
            outcome = r["outcome"] + (
                f" ({r.get('reason') or r.get('crash')})"
                if r["outcome"] != "accepted"
                else " (parsed {parsed}, rejected {rejected}, bronze {bronze})".format(
                    **{k: (r.get("counts") or {}).get(k) for k in ("parsed", "rejected", "bronze")}
                )
            )
            first, suspect = "", ""
            rows = r.get("bronze_sample")
            if isinstance(rows, list) and rows:
                row = sorted(rows, key=lambda x: x.get("_source_line") or 0)[0]
                data = {k: v for k, v in row.items() if k not in LINEAGE}
                first = json.dumps(data, ensure_ascii=False)
                text = "".join(f"{k}{v}" for k, v in data.items())
                suspect = "yes" if MOJIBAKE.search(text) else ""
            add(
                f"| `{Path(r['file']).name}` | {md_cell(outcome, 200)} | {md_cell(first, 300)} "
                f"| {suspect} |"
            )
        add("")

    # ------------------------------------------------------------ latency
    add("## Latency along the sweep")
    add("")
    add(
        "Median seconds per file in each tenth of the sweep (in upload order; by then that many "
        "datasets exist): upload to finished, waiting before the first stage started, and each "
        "stage's own duration (server timestamps)."
    )
    add("")
    names = ["ingest", "silver", "quality", "gold"]
    add("| files | total | queued | " + " | ".join(names) + " |")
    add("|---|---:|---:|" + "---:|" * len(names))
    ordered = sorted(records, key=lambda r: r["start"])
    step = max(1, -(-len(ordered) // 10))
    for i in range(0, len(ordered), step):
        chunk = ordered[i : i + step]

        def med(values: list) -> str:
            values = [v for v in values if v is not None]
            return f"{statistics.median(values):.2f}" if values else "-"

        cells = [med([r["seconds"] for r in chunk]), med([r.get("queued_seconds") for r in chunk])]
        for n in names:
            cells.append(
                med(
                    [
                        s.get("seconds")
                        for r in chunk
                        for s in r.get("stages") or []
                        if s["name"] == n and s.get("status") == "succeeded"
                    ]
                )
            )
        add(f"| {i + 1}–{i + len(chunk)} | " + " | ".join(cells) + " |")
    add("")

    # ------------------------------------------------------------ slowest
    add("## Slowest files")
    add("")
    add("| file | seconds | outcome | bytes |")
    add("|---|---:|---|---:|")
    for r in sorted(records, key=lambda r: -r["seconds"])[:10]:
        add(f"| `{r['file']}` | {r['seconds']:.1f} | {r['outcome']} | {r['bytes']:,} |")
    add("")
    lv = res["log_levels"]
    add(
        "Service log lines by level: "
        + "; ".join(
            f"{s} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
            for s, c in sorted(lv.items())
            if c
        )
        + "."
    )
    add("")
    return "\n".join(L)


# ------------------------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        help="a sub-folder of the corpus (repeatable), e.g. csv-spectrum or duckdb-csv/afl",
    )
    ap.add_argument("--limit", type=int, default=None, help="only the first N files (after --only)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a run may take")
    ap.add_argument("--report", type=Path, default=DEFAULT_REPORT)
    ap.add_argument(
        "--settle",
        type=float,
        default=20.0,
        help="before stopping, wait until the service logs are quiet this many seconds",
    )
    ap.add_argument("--keep", action="store_true", help="keep FLOWFORGE_HOME afterwards")
    ap.add_argument(
        "--no-recheck",
        action="store_true",
        help="do not re-upload the files in flight when a service died",
    )
    args = ap.parse_args()

    corpus = args.corpus.resolve()
    all_files = corpus_files(corpus)
    if not all_files:
        say(f"no files under {corpus}")
        return 1
    indexed = [(i, p, p.relative_to(corpus).as_posix()) for i, p in enumerate(all_files)]
    if args.only:
        wanted = [o.strip("/") for o in args.only]
        indexed = [x for x in indexed if any(x[2] == w or x[2].startswith(w + "/") for w in wanted)]
    if args.limit is not None:
        indexed = indexed[: args.limit]
    if not indexed:
        say("no file matches --only/--limit")
        return 1

    home = Path(tempfile.mkdtemp(prefix="flowforge-conformance-", dir="/tmp"))
    say(f"{len(indexed)} files from {corpus}; platform home {home}")
    t_boot = time.perf_counter()
    try:
        up, url = start_platform(home)
    except RuntimeError as exc:
        say(f"platform did not start: {exc}")
        return 1
    startup = time.perf_counter() - t_boot
    say(
        f"platform healthy at {url} in {startup:.1f} s; pids "
        f"{ {s: read_pid(home, s) for s in SERVICES} }"
    )

    sweep = Sweep(url, home, args)
    sweep.total = len(indexed)
    watcher = Watcher(home, up, sweep.inflight, sweep.lock)
    watcher.start()
    t0 = time.perf_counter()
    records: list[dict] = []
    try:
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            futures = [pool.submit(sweep.one, i, p, rel) for i, p, rel in indexed]
            for fut in futures:
                records.append(fut.result())
        sweep_seconds = time.perf_counter() - t0
        say(f"sweep done in {sweep_seconds:.1f} s")

        # ---------------------------------------------------------- follow-up
        t1 = time.perf_counter()
        # Runs that timed out: where are they now?
        for r in records:
            if (
                r.get("run_id")
                and r["outcome"] == "crashed"
                and "timeout" in (r.get("crash") or "")
            ):
                run, _ = sweep.poll_run(r["run_id"], time.monotonic() + 1)
                age = now() - r["start"]
                r["late"] = f"{run.get('status')} {age:.0f} s after upload" + (
                    f" ({short(run.get('error'), 200)})" if run.get("error") else ""
                )
        # Files in flight when a service died: re-upload each alone to find the culprit.
        deaths = list(watcher.events)
        if deaths and not args.no_recheck:
            suspects = sorted({f for d in deaths for f in d["inflight"]})[:24]
            say(
                f"{len(deaths)} service death(s)/restart(s); "
                f"rechecking {len(suspects)} file(s) alone"
            )
            by_rel = {rel: (i, p) for i, p, rel in indexed}
            for rel in suspects:
                before = watcher.count()
                i, p = by_rel[rel]
                sweep.total += 1
                rec = sweep.one(10_000 + i, p, rel)
                time.sleep(2 * WATCH + 1)
                killed = watcher.events[before:]
                for d in deaths:
                    d["rechecked"] = True
                    if rel in d["inflight"] and killed:
                        d.setdefault("culprits", []).append(rel)
                if killed:
                    orig = next(r for r in records if r["file"] == rel)
                    orig["outcome"] = "crashed"
                    orig["crash"] = "service died: " + ", ".join(
                        f"{k['service']} {k['kind']}" for k in killed
                    )
                    orig["detail"] = f"reproduced alone (recheck {rec['outcome']})"
            deaths = watcher.events  # includes deaths during the rechecks
        # Let retries still in progress (backoff 1, 2, 4, 8 s ...) end before reading the logs.
        settle_logs(home, args.settle)
        followup = time.perf_counter() - t1
    finally:
        watcher.stop_event.set()
        watcher.join(5)
        sweep.client.close()
        pids_after = {s: read_pid(home, s) for s in SERVICES}
        alive_after = {s: alive(p) for s, p in pids_after.items()}
        stop = stop_platform(up)
        say(f"platform stopped: {stop}")

    # ---------------------------------------------------------- logs -> crashes
    logs = read_logs(home)
    file_of_run = {r["run_id"]: r for r in records if r.get("run_id")}
    tb_examples: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for run_id, entries in logs["by_run"].items():
        r = file_of_run.get(run_id)
        if r is None:
            continue  # a recheck's run
        r["log_errors"] = [
            {k: e[k] for k in ("service", "level", "ts", "msg", "exc_last")} for e in entries
        ][:6]
        dead = {e["service"] for e in entries if e["level"] in ("error", "critical")}
        tbs = [e for e in entries if e["traceback"]]
        for e in tbs:
            fate = "dead-lettered" if e["service"] in dead else "recovered on retry"
            key = (e["service"], e["exc_last"] or e["msg"][:120], fate)
            if r["file"] not in tb_examples[key]:
                tb_examples[key].append(r["file"])
        # An unhandled exception that used up its retries: the service logged the traceback
        # and then an error (the dead letter) for this run.
        fatal = [e for e in tbs if e["service"] in dead]
        if fatal and r["outcome"] != "crashed":
            e = fatal[-1]
            r["was"] = r["outcome"]
            r["outcome"] = "crashed"
            r["crash"] = f"unhandled exception in {e['service']}, dead-lettered"
            r["exception"] = e["exc_last"]
            r["detail"] = f"run {r.get('status')}" + (
                f" ({short(r.get('error'), 160)})" if r.get("error") else ""
            )
    for e in logs["unattributed"]:
        if e["traceback"]:
            t = e["t"] or 0
            flying = [r["file"] for r in records if r["start"] - 1 <= t <= r["end"] + 1]
            key = (e["service"], (e["exc_last"] or e["msg"][:120]) + " (no run_id)", e["level"])
            tb_examples[key].extend(f for f in flying[:8] if f not in tb_examples[key])
            if not flying:
                tb_examples[key].append("(no file in flight)")

    exactness = {}
    for r in records:
        exp = spectrum_expected(corpus, r["file"])
        if exp is not None:
            exactness[r["file"]] = compare_spectrum(r, *exp)
    cons = {}
    accepted = [r for r in records if r["outcome"] == "accepted" or r.get("status") == "succeeded"]
    for r in accepted:
        if r.get("status") == "succeeded":
            bad = conservation(r)
            if bad:
                cons[r["file"]] = (bad, r.get("counts"))

    stage_odd = {
        r["file"]: {s["name"]: s["status"] for s in r.get("stages") or []}
        for r in records
        if r.get("status") == "succeeded"
        and any(s["status"] in ("pending", "running") for s in r.get("stages") or [])
    }
    deaths_out = [
        {
            **d,
            "when": dt.datetime.fromtimestamp(d["t"]).strftime("%H:%M:%S"),
        }
        for d in watcher.events
    ]
    stamp = dt.datetime.now()
    try:
        corpus_display = os.path.relpath(corpus, REPO)
    except ValueError:
        corpus_display = str(corpus)
    cmd = [".venv/bin/python", "bench/conformance.py"]
    if args.corpus.resolve() != DEFAULT_CORPUS:
        cmd += ["--corpus", str(args.corpus)]
    for o in args.only:
        cmd += ["--only", o]
    if args.limit is not None:
        cmd += ["--limit", str(args.limit)]
    if args.concurrency != 4:
        cmd += ["--concurrency", str(args.concurrency)]
    if args.timeout != 60:
        cmd += ["--timeout", str(args.timeout)]
    if args.settle != 20:
        cmd += ["--settle", str(args.settle)]
    res = {
        "date": stamp.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM",
        "corpus_display": corpus_display,
        "filter": ", ".join(
            [f"--only {o}" for o in args.only] + ([f"--limit {args.limit}"] if args.limit else [])
        ),
        "concurrency": args.concurrency,
        "timeout": args.timeout,
        "command": shlex.join(cmd),
        "sweep_seconds": sweep_seconds,
        "startup_seconds": startup,
        "followup_seconds": followup,
        "deaths": deaths_out,
        "traceback_examples": tb_examples,
        "raw_log_blocks": logs["raw"],
        "exactness": exactness,
        "conservation": cons,
        "stage_inconsistent": stage_odd,
        "accepted": sum(1 for r in records if r.get("status") == "succeeded"),
        "log_levels": {s: dict(c) for s, c in logs["levels"].items()},
    }
    report = build_report(res, records, corpus)
    say()
    say(report)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report + "\n", encoding="utf-8")
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    out_json = out_dir / f"conformance-{stamp.strftime('%Y%m%d-%H%M%S')}.json"
    dump = {
        **{k: v for k, v in res.items() if k != "traceback_examples"},
        "traceback_examples": [
            {"service": s, "exception": e, "fate": fate, "files": f}
            for (s, e, fate), f in tb_examples.items()
        ],
        "unattributed_log_errors": logs["unattributed"][:200],
        "home": str(home),
        "stop": stop,
        "pids_at_start": {s: v[0] for s, v in watcher.seen.items()},
        "pids_seen": watcher.seen,
        "pids_after": pids_after,
        "alive_after": alive_after,
        "records": records,
    }
    out_json.write_text(json.dumps(dump, indent=1, default=str, ensure_ascii=False))
    say(f"\nreport: {args.report}\nrecords: {out_json}")
    if args.keep:
        say(f"platform home kept: {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
