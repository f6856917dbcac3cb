"""Quality-step benchmark: FlowForge's rule engine vs the same rules in plain Polars and in
Great Expectations, on the Silver Parquet of one messy CSV, measured in one run.

Usage (from the repository root, with the workspace venv):
    uv sync --group bench-ge   # Great Expectations, an optional group (plain `uv sync` and
                               # ./flowforge, which runs `uv sync --frozen`, remove it again)
    .venv/bin/python bench/quality.py                  # 5,000,000 rows (bench/data/orders_5m.csv)
    .venv/bin/python bench/quality.py --rows 200000    # quick run on bench/data/orders_200k.csv
    .venv/bin/python bench/quality.py --skip-ge        # without Great Expectations

One run:
  1. makes the CSV with bench/generate.py if it is missing (as bench/pipeline.py does), then its
     Silver Parquet exactly as the platform does, without starting it: ingest's Bronze writer
     (`to_bronze`) then transform's `silver_file` with key order_id. Cached next to the CSV
     (`<csv stem>.silver.parquet` + `.silver.json`); not part of the measurement;
  2. waits (up to --wait-idle minutes, polling every 30 s) until no conformance sweep
     (bench/conformance.py) and no pytest run is on the machine;
  3. runs each engine in its own subprocess of this Python, one after the other; FlowForge and
     Polars --repeat times each (interleaved; the median is reported), Great Expectations once.
     Each child times its step from reading the Silver file to the quarantine Parquet written
     (imports excluded: a running service has them loaded), and reports its peak RSS (VmHWM)
     and its per-rule failing-row counts:
       flowforge  the quality service's own functions, called on a local-folder lake that
                  holds the Silver file (no database, no NATS): handlers._evaluate_file
                  (stream.evaluate_file: the rules batch by batch, the quarantine written as
                  it goes, its lines counted against Silver's) and the commit to the lake
       polars     hand-written: pl.read_parquet of the needed columns, every rule as one
                  expression in one `select`, failing rows -> a quarantine frame with the same
                  columns (run id, source file, source line, rule, column, value, reason) in
                  one parallel lazy concat -> write_parquet
       ge         Great Expectations 1.x (ephemeral context, pandas datasource, whole-dataframe
                  batch): pd.read_parquet of the needed columns (a GE user's conversion, timed),
                  one ExpectationSuite, result_format COMPLETE with the lineage columns as
                  unexpected_index_column_names, its unexpected_index_list -> the same
                  quarantine columns -> to_parquet;
  4. checks that the three engines agree on every rule's failing-row count and on the
     quarantine entries themselves (rule, source line), prints a table with the ratios
     flowforge/polars (target <= 1.5x) and ge/polars, and writes the same to
     bench/out/quality-<timestamp>.json.

The nine rules (RULES below) fit the generated columns, and most have a few % failing rows;
nulls pass every value rule except not_null (FlowForge's semantics; GE's column-map
expectations skip nulls the same way, and its pair expectation is told to). The sql rule
`shipped_date > order_date` is, in GE on pandas, ExpectColumnPairValuesAToBeGreaterThanB
(GE's UnexpectedRowsExpectation needs a SQL datasource).

Exit code 0 when the engines agree (whether or not the target is met), 1 when they do not.
Memory is in MiB (2^20 bytes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402 - bench/ is no package
from baseline import EMAIL, HIGH_DATE, LOW_DATE, STATUSES, ZIP  # noqa: E402
from pipeline import ensure_data, size_label, warm_cache  # noqa: E402

KEY = ["order_id"]
RUN_ID = "bench-quality"
INGESTED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # fixed: the Silver file is reproducible
TARGET_RATIO = 1.5
MIB = 1024 * 1024
LINEAGE = ["_run_id", "_source_file", "_source_line"]
# The pipeline benchmark's eight rules (baseline.RULES, as a FlowForge user writes them, all
# quarantine) and a unique rule on the key; the other engines mirror each one.
RULES = [baseline.RULES[0], {"name": "order_id_unique", "type": "unique", "column": "order_id",
         "action": "quarantine"}, *baseline.RULES[1:]]  # fmt: skip
RULE_NAMES = [r["name"] for r in RULES]
# The columns the rules read (the sql rule reads shipped_date and order_date).
COLUMNS = ["order_id", "country", "status", "amount", "order_date", "zip", "notes", "email"]
NEEDED = [*COLUMNS, "shipped_date", *LINEAGE]
# rule -> (column reported in the quarantine, reason), as FlowForge words them
REPORT = {
    "country_not_null": ("country", "country is null"),
    "order_id_unique": ("order_id", "order_id repeats in this batch"),
    "status_accepted": ("status", "status is not one of: " + ", ".join(STATUSES)),
    "amount_range": ("amount", "amount is outside [0, 1000]"),
    "order_date_range": ("order_date", f"order_date is outside [{LOW_DATE}, {HIGH_DATE}]"),
    "zip_regex": ("zip", f"zip does not match {ZIP}"),
    "notes_length": ("notes", "length of notes is outside [1, 39]"),
    "email_format": ("email", "email is not a valid email"),
    "ships_after_order": (None, "not (shipped_date > order_date)"),
}
ENGINES = ("flowforge", "polars", "ge")
IDLE_PATTERNS = ("conformance\\.py", "-m pytest", "bin/pytest")


def say(msg: str = "") -> None:
    print(msg, flush=True)


def vm_status() -> dict[str, float]:
    """This process's VmHWM (peak RSS) and VmRSS, in MiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return out


# ---------------------------------------------------------------------------------- children
# Each returns {"phases": {...}, "failed": {rule: rows}, "quarantine_rows": n, ...}; the step
# is timed from the first byte read to the quarantine file written (imports excluded).


def child_flowforge(silver: Path, out: Path) -> dict:
    """The quality service's own functions (handlers.py) on a local-folder lake holding the
    Silver file: _evaluate_file (stream.evaluate_file: the columns the rules name read batch
    by batch, the quarantine written as it goes, its lines counted against Silver's), then
    the commit to the lake. Only the database and NATS around them are left out."""
    from types import SimpleNamespace

    import pyarrow.dataset  # noqa: F401 - pq.read_table's first call imports it (and pandas)
    import pyarrow.parquet as pq

    from flowforge.common import lake
    from flowforge.common.rules import parse_rules
    from flowforge.common.storage import LakeFiles, LocalObjectStore
    from flowforge.quality import handlers
    from flowforge.quality.engine import columns_needed

    rules = parse_rules({"rules": RULES}).rules
    store = LocalObjectStore(out.parent / "lake")
    silver_key = f"silver/orders_bench/{RUN_ID}.parquet"
    target = store.local_path(silver_key)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(silver, target)  # the lake's Silver object, without a copy
    except OSError:
        shutil.copyfile(silver, target)
    files = LakeFiles(store, out.parent / "cache")
    deps = handlers.Deps(files=files, scratch=out.parent, results=None, rules=None, batches=None)
    event = SimpleNamespace(
        silver_uri=store.uri(silver_key),
        key=KEY,
        timing=SimpleNamespace(started_at=dt.datetime.now(dt.UTC)),
        extracted=False,
        renames={},
    )
    qkey = lake.quarantine_key("orders_bench", RUN_ID)
    before = vm_status()
    t0 = time.perf_counter()
    evaluation = handlers._evaluate_file(event, deps, rules, {}, None, [], qkey)
    t1 = time.perf_counter()
    if evaluation.quarantine_rows:
        files.commit(qkey, files.output(qkey))
    t2 = time.perf_counter()
    shutil.copyfile(store.local_path(qkey), out)
    return {
        "phases": {"evaluate_and_write": t1 - t0, "commit": t2 - t1},
        "seconds": t2 - t0,
        "rows": evaluation.rows,
        "columns_read": len(columns_needed(rules, KEY, pq.read_schema(silver).names)),
        "failed": {c.name: c.failed_rows for c in evaluation.checks if c.name in RULE_NAMES},
        "structural": {
            c.name: c.failed_rows for c in evaluation.checks if c.rule_type == "structural"
        },
        "quarantine_rows": evaluation.quarantine_rows,
        "quarantined_lines": evaluation.quarantined,
        "valid": evaluation.valid,
        "verdict": evaluation.verdict,
        "rss_before_step_mib": before.get("VmRSS"),
    }


def child_polars(silver: Path, out: Path) -> dict:
    import polars as pl

    def value(column: str | None) -> pl.Expr:
        return pl.lit(None, pl.String) if column is None else pl.col(column).cast(pl.String)

    # True where the row fails; null (a null value) passes, as filter() and sum() skip nulls.
    failing = {
        "country_not_null": pl.col("country").is_null(),
        "order_id_unique": pl.col("order_id").is_duplicated() & pl.col("order_id").is_not_null(),
        "status_accepted": ~pl.col("status").is_in(STATUSES),
        "amount_range": ~pl.col("amount").is_between(0, 1000),
        "order_date_range": ~pl.col("order_date").is_between(LOW_DATE, HIGH_DATE),
        "zip_regex": ~pl.col("zip").str.contains(f"^(?:{ZIP})$"),
        "notes_length": ~pl.col("notes").str.len_chars().is_between(1, 39),
        "email_format": ~pl.col("email").str.contains(f"^(?:{EMAIL})$"),
        "ships_after_order": ~(pl.col("shipped_date") > pl.col("order_date")),
    }
    before = vm_status()
    t0 = time.perf_counter()
    frame = pl.read_parquet(silver, columns=NEEDED)
    t1 = time.perf_counter()
    flags = frame.select(e.alias(f"_fails_{name}") for name, e in failing.items())
    counts = flags.sum().row(0)
    t2 = time.perf_counter()
    checked = pl.concat([frame, flags], how="horizontal").lazy()
    parts = [
        checked.filter(pl.col(f"_fails_{name}")).select(
            pl.col("_run_id"),
            pl.col("_source_file"),
            pl.col("_source_line"),
            pl.lit(name).alias("rule"),
            pl.lit(REPORT[name][0], pl.String).alias("column"),
            value(REPORT[name][0]).alias("value"),
            pl.lit(REPORT[name][1]).alias("reason"),
        )
        for name, failed in zip(failing, counts, strict=True)
        if failed
    ]
    quarantine = pl.concat(parts).collect()
    quarantined = quarantine.get_column("_source_line").n_unique()
    t3 = time.perf_counter()
    quarantine.write_parquet(out)
    t4 = time.perf_counter()
    return {
        "phases": {"read": t1 - t0, "select": t2 - t1, "quarantine": t3 - t2, "write": t4 - t3},
        "seconds": t4 - t0,
        "rows": frame.height,
        "columns_read": frame.width,
        "failed": dict(zip(failing, map(int, counts), strict=True)),
        "quarantine_rows": quarantine.height,
        "quarantined_lines": quarantined,
        "rss_before_step_mib": before.get("VmRSS"),
    }


def ge_suite(gx, gxe):
    expectations = {
        "country_not_null": gxe.ExpectColumnValuesToNotBeNull(column="country"),
        "order_id_unique": gxe.ExpectColumnValuesToBeUnique(column="order_id"),
        "status_accepted": gxe.ExpectColumnValuesToBeInSet(column="status", value_set=STATUSES),
        "amount_range": gxe.ExpectColumnValuesToBeBetween(
            column="amount", min_value=0, max_value=1000
        ),
        "order_date_range": gxe.ExpectColumnValuesToBeBetween(
            column="order_date", min_value=LOW_DATE, max_value=HIGH_DATE
        ),
        "zip_regex": gxe.ExpectColumnValuesToMatchRegex(column="zip", regex=f"^(?:{ZIP})$"),
        "notes_length": gxe.ExpectColumnValueLengthsToBeBetween(
            column="notes", min_value=1, max_value=39
        ),
        "email_format": gxe.ExpectColumnValuesToMatchRegex(column="email", regex=f"^(?:{EMAIL})$"),
        # the sql rule `shipped_date > order_date` (null passes)
        "ships_after_order": gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="shipped_date",
            column_B="order_date",
            or_equal=False,
            ignore_row_if="either_value_is_missing",
        ),
    }
    suite = gx.ExpectationSuite(name="orders")
    for name, expectation in expectations.items():
        expectation.meta = {"rule": name}
        suite.add_expectation(expectation)
    return suite


def child_ge(silver: Path, out: Path, limit: int | None) -> dict:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd
    import pyarrow.dataset  # noqa: F401 - imported by pd.read_parquet's first call
    import pyarrow.parquet as pq

    before = vm_status()
    t0 = time.perf_counter()
    if limit:  # a slice of the first `limit` rows, for an extrapolation
        table = pq.ParquetFile(silver).iter_batches(batch_size=limit, columns=NEEDED)
        df = next(table).to_pandas()
    else:
        df = pd.read_parquet(silver, columns=NEEDED)
    t1 = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("silver").add_dataframe_asset(name="orders")
    batch_definition = asset.add_batch_definition_whole_dataframe("batch")
    suite = context.suites.add(ge_suite(gx, gxe))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": LINEAGE,
            "return_unexpected_index_query": False,
        },
    )
    t2 = time.perf_counter()
    failed, parts, errors = {}, [], {}
    for r in result.results:
        name = r.expectation_config.meta["rule"]
        if r.exception_info and r.exception_info.get("raised_exception"):
            errors[name] = r.exception_info.get("exception_message")
        failed[name] = int(r.result.get("unexpected_count") or 0)
        entries = r.result.get("unexpected_index_list") or []
        if not entries:
            continue
        found = pd.DataFrame(entries)
        column, reason = REPORT[name]
        values = found[column] if column else pd.Series([None] * len(found))
        values = (
            values.astype(object)
            .where(values.notna(), None)
            .map(lambda v: None if v is None else str(v))
        )
        parts.append(
            pd.DataFrame(
                {
                    "_run_id": found["_run_id"].astype("string"),
                    "_source_file": found["_source_file"].astype("string"),
                    "_source_line": found["_source_line"].astype("int64"),
                    "rule": name,
                    "column": column,
                    "value": values.astype("string"),
                    "reason": reason,
                }
            )
        )
    quarantine = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=NEEDED)
    quarantined = int(quarantine["_source_line"].nunique()) if parts else 0
    t3 = time.perf_counter()
    quarantine.to_parquet(out, index=False)
    t4 = time.perf_counter()
    return {
        "phases": {
            "read_to_pandas": t1 - t0,
            "validate": t2 - t1,
            "quarantine": t3 - t2,
            "write": t4 - t3,
        },
        "seconds": t4 - t0,
        "rows": len(df),
        "columns_read": df.shape[1],
        "failed": failed,
        "errors": errors,
        "success": bool(result.success),
        "quarantine_rows": len(quarantine),
        "quarantined_lines": quarantined,
        "version": gx.__version__,
        "rss_before_step_mib": before.get("VmRSS"),
    }


def child_prepare(csv: Path, silver: Path) -> dict:
    """CSV -> Bronze (ingest's to_bronze) -> Silver (transform's silver_file), as the platform."""
    from flowforge.ingest.formats import Limits, to_bronze
    from flowforge.transform.silver import silver_file

    with tempfile.TemporaryDirectory(prefix="flowforge-quality-", dir="/tmp") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        bronze = to_bronze(
            csv,
            csv.name,
            work / "bronze.parquet",
            work / "rejected.parquet",
            run_id=RUN_ID,
            ingested_at=INGESTED_AT,
            limits=Limits(50 * 1024**3, 100.0),  # the service's defaults
        )
        t1 = time.perf_counter()
        partial = silver.with_name(silver.name + ".partial")
        result = silver_file(work / "bronze.parquet", partial, KEY, work)
        partial.replace(silver)
        t2 = time.perf_counter()
    return {
        "bronze": bronze.bronze,
        "rejected": bronze.rejected,
        "silver": result.silver,
        "types": result.types,
        "bronze_seconds": round(t1 - t0, 2),
        "silver_seconds": round(t2 - t1, 2),
    }


def child_main(args: argparse.Namespace) -> int:
    silver, out = Path(args.silver), Path(args.out)
    if args.child == "prepare":
        result = child_prepare(Path(args.data), silver)
    elif args.child == "flowforge":
        result = child_flowforge(silver, out)
    elif args.child == "polars":
        result = child_polars(silver, out)
    else:
        try:
            import great_expectations  # noqa: F401
        except ImportError:
            print(
                json.dumps(
                    {"error": "great_expectations is not installed (uv sync --group bench-ge)"}
                )
            )
            return 3
        result = child_ge(silver, out, args.ge_rows)
    result.update(vm_status())
    print(json.dumps(result, default=str))
    return 0


# ------------------------------------------------------------------------------------ parent


def run_child(engine: str, silver: Path, out: Path, extra: list[str] | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", engine, "--silver", str(silver), "--out", str(out)]
    t = time.perf_counter()
    proc = subprocess.run([*cmd, *(extra or [])], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if "error" in result:
            say(f"{engine}: {result['error']}")
            return {"ok": False, "exit_code": proc.returncode, "error": result["error"]}
    except (IndexError, ValueError):
        say(f"{engine}: failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        return {"ok": False, "exit_code": proc.returncode, "stderr": proc.stderr[-3000:]}
    result.update(ok=proc.returncode == 0, process_seconds=round(wall, 3))
    return result


def prepare_silver(csv: Path, expected: dict) -> tuple[Path, dict]:
    silver = csv.with_name(csv.stem + ".silver.parquet")
    sidecar = csv.with_name(csv.stem + ".silver.json")
    info = json.loads(sidecar.read_text()) if sidecar.exists() else None
    if info and silver.exists() and info.get("csv_sha256") == expected.get("sha256"):
        say(f"silver: cached {silver.relative_to(REPO)} ({info['silver']:,} rows)")
        return silver, info
    say(f"silver: building {silver.relative_to(REPO)} (to_bronze + silver_file, key order_id) ...")
    info = run_child("prepare", silver, silver, ["--data", str(csv)])
    if not info.get("ok"):
        raise SystemExit("silver: preparation failed")
    info["csv_sha256"] = expected.get("sha256")
    if info["silver"] != expected["unique_order_ids"]:
        say(
            f"silver: {info['silver']:,} rows; the generator expects"
            f" {expected['unique_order_ids']:,}"
        )
    sidecar.write_text(json.dumps(info, indent=2) + "\n")
    say(
        f"silver: {info['silver']:,} rows (bronze {info['bronze']:,},"
        f" rejected {info['rejected']:,})"
        f" in {info['bronze_seconds'] + info['silver_seconds']:.1f} s"
    )
    return silver, info


def busy_processes() -> list[str]:
    found = []
    for pattern in IDLE_PATTERNS:
        proc = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            pid = int(line.split()[0])
            if pid not in (os.getpid(), os.getppid()) and "pgrep" not in line:
                found.append(line[:160])
    return sorted(set(found))


def wait_idle(minutes: float) -> dict:
    """Wait until no conformance sweep and no pytest run is on the machine (at most `minutes`)."""
    t = time.monotonic()
    deadline = t + minutes * 60
    busy = busy_processes()
    last_said = 0.0
    while busy and time.monotonic() < deadline:
        if time.monotonic() - last_said >= 300 or not last_said:
            say(f"waiting for an idle machine ({len(busy)} busy): " + "; ".join(busy[:3]))
            last_said = time.monotonic()
        time.sleep(min(30.0, max(1.0, deadline - time.monotonic())))
        busy = busy_processes()
    waited = time.monotonic() - t
    if busy:
        say(f"still busy after {waited / 60:.0f} min; measuring anyway: " + "; ".join(busy[:3]))
    elif waited > 1:
        say(f"machine idle after {waited / 60:.1f} min of waiting")
    return {"waited_seconds": round(waited, 1), "busy_at_start": busy, "idle": not busy}


def compare_entries(files: dict[str, Path]) -> dict:
    """The quarantine entries themselves, per engine: the same (rule, source line) pairs?"""
    import polars as pl

    frames = {
        e: pl.read_parquet(p, columns=["rule", "_source_line"]).unique()
        for e, p in files.items()
        if p.exists()
    }
    if "polars" not in frames:
        return {"compared": False}
    base = frames["polars"]
    out: dict = {"compared": True}
    for engine, frame in frames.items():
        if engine == "polars":
            continue
        missing = base.join(frame, on=["rule", "_source_line"], how="anti").height
        extra = frame.join(base, on=["rule", "_source_line"], how="anti").height
        out[engine] = {"missing": missing, "extra": extra, "equal": missing == extra == 0}
    return out


def median_run(runs: list[dict]) -> dict:
    """The run with the median step time (its phases and RSS are reported with it)."""
    good = [r for r in runs if r.get("ok")]
    if not good:
        return runs[0] if runs else {"ok": False}
    chosen = sorted(good, key=lambda r: r["seconds"])[(len(good) - 1) // 2]
    return chosen | {
        "median_seconds": statistics.median(r["seconds"] for r in good),
        "all_seconds": [round(r["seconds"], 3) for r in good],
        "max_vm_hwm_mib": max(r.get("VmHWM", 0) for r in good),
    }


def fmt(v, spec: str = ",.2f", none: str = "-") -> str:
    return none if v is None else format(v, spec)


def report(res: dict) -> None:
    e, rows = res["engines"], res["silver"]["silver"]
    base = e["polars"].get("median_seconds")
    say()
    say("=" * 78)
    say(
        f"FlowForge quality-step benchmark  {res['timestamp']}  ({res['machine']['cpus']} CPUs,"
        f" load {res['machine']['load_before']})"
    )
    say("=" * 78)
    say(
        f"Silver: {res['silver']['path']}  {rows:,} rows (from {res['data']['records']:,} CSV rows)"
    )
    say(f"rules: {len(RULES)} ({', '.join(r['type'] for r in RULES)}), all action quarantine")
    say()
    head = (
        f"{'engine':<11}{'seconds':>9}{'rows/s':>12}{'vs polars':>11}{'peak RSS':>10}"
        f"{'at start':>10}  runs (s)"
    )
    say(head)
    say("-" * len(head))
    for name in ENGINES:
        r = e.get(name) or {}
        if not r.get("ok"):
            say(f"{name:<11}  {r.get('error') or 'failed'}")
            continue
        s = r.get("median_seconds", r.get("seconds"))
        ratio = s / base if base else None
        runs = ", ".join(f"{x:.2f}" for x in r.get("all_seconds", [r["seconds"]]))
        note = f" (extrapolated from {r['rows']:,} rows)" if r.get("extrapolated") else ""
        say(
            f"{name:<11}{s:>9.2f}{rows / s:>12,.0f}{fmt(ratio, '.2f') + 'x':>11}"
            f"{fmt(r.get('max_vm_hwm_mib', r.get('VmHWM')), ',.0f'):>6} MiB"
            f"{fmt(r.get('rss_before_step_mib'), ',.0f'):>6} MiB  {runs}{note}"
        )
    say()
    say("peak RSS: VmHWM of the engine's own process; at start: its RSS after the imports")
    say("phases of the median run (seconds)")
    for name in ENGINES:
        r = e.get(name) or {}
        if r.get("ok"):
            say(f"  {name:<10}" + "  ".join(f"{k} {v:.2f}" for k, v in r["phases"].items()))
    say()
    say(f"{'failing rows per rule':<22}" + "".join(f"{n:>12}" for n in ENGINES))
    for rule in RULE_NAMES:
        cells = []
        for name in ENGINES:
            r = e.get(name) or {}
            cells.append(fmt((r.get("failed") or {}).get(rule), ",", "-") if r.get("ok") else "-")
        mark = "" if rule not in res["disagree"] else "   MISMATCH"
        say(f"  {rule:<20}" + "".join(f"{c:>12}" for c in cells) + mark)
    say(
        f"  {'quarantine entries':<20}"
        + "".join(fmt((e.get(n) or {}).get("quarantine_rows"), ",", "-").rjust(12) for n in ENGINES)
    )
    say(
        f"  {'quarantined lines':<20}"
        + "".join(
            fmt((e.get(n) or {}).get("quarantined_lines"), ",", "-").rjust(12) for n in ENGINES
        )
    )
    entries = res.get("entries", {})
    if entries.get("compared"):
        same = [k for k, v in entries.items() if isinstance(v, dict) and v["equal"]]
        say(f"quarantine entries (rule, line) identical to polars': {', '.join(same) or 'none'}")
    say("counts agree" if not res["disagree"] else f"COUNTS DISAGREE: {res['disagree']}")
    say()
    for t in res["targets"]:
        say(f"{'PASS' if t['pass'] else 'MISS'}  {t['name']}: {t['value']} (target {t['target']})")
    if res.get("ratio_ge") is not None:
        say(f"      ge/polars: {res['ratio_ge']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument(
        "--data", type=Path, default=None, help="CSV (default bench/data/orders_<rows>.csv)"
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3, help="runs of flowforge and polars (median)")
    ap.add_argument("--skip-ge", action="store_true", help="without Great Expectations")
    ap.add_argument(
        "--ge-rows",
        type=int,
        default=None,
        help="run GE on the first N Silver rows and extrapolate its time linearly",
    )
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=60,
        help="minutes to wait for no conformance sweep / pytest run (0: do not wait)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the quarantine files")
    ap.add_argument("--child", choices=("prepare", *ENGINES), help=argparse.SUPPRESS)
    ap.add_argument("--silver", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args)

    import psutil

    from flowforge.common.rules import FORMATS

    assert EMAIL == FORMATS["email"], "bench EMAIL differs from FlowForge's format: email"
    csv = (args.data or BENCH / "data" / f"orders_{size_label(args.rows)}.csv").resolve()
    expected = ensure_data(csv, args.rows, args.seed)
    silver, silver_info = prepare_silver(csv, expected)
    idle = wait_idle(args.wait_idle) if args.wait_idle > 0 else {"waited_seconds": 0}
    warm_cache(silver)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    res: dict = {
        "timestamp": stamp,
        "machine": {
            "cpus": os.cpu_count(),
            "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "python": sys.version.split()[0],
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        },
        "idle": idle,
        "data": {"path": str(csv.relative_to(REPO)), "records": expected["records"]},
        "silver": {
            "path": str(silver.relative_to(REPO)),
            "mb": round(silver.stat().st_size / 1e6, 1),
            **silver_info,
        },
        "rules": RULES,
    }
    out_dir = Path(tempfile.mkdtemp(prefix="flowforge-quality-", dir="/tmp"))
    runs: dict[str, list[dict]] = {"flowforge": [], "polars": []}
    files = {e: out_dir / f"{e}.quarantine.parquet" for e in ENGINES}
    for i in range(args.repeat):
        for engine in ("flowforge", "polars"):
            r = run_child(engine, silver, files[engine])
            runs[engine].append(r)
            say(
                f"run {i + 1}/{args.repeat} {engine:<9} "
                + (
                    f"{r['seconds']:6.2f} s, peak RSS {r['VmHWM']:,.0f} MiB"
                    if r["ok"]
                    else "failed"
                )
            )
    engines = {e: median_run(runs[e]) for e in runs}
    if args.skip_ge:
        engines["ge"] = {"ok": False, "error": "skipped (--skip-ge)"}
    else:
        extra = ["--ge-rows", str(args.ge_rows)] if args.ge_rows else []
        say("ge: running once ...")
        r = run_child("ge", silver, files["ge"], extra)
        if r.get("ok") and args.ge_rows and r["rows"] < silver_info["silver"]:
            scale = silver_info["silver"] / r["rows"]
            r.update(
                extrapolated=True,
                measured_seconds=r["seconds"],
                seconds=r["seconds"] * scale,
                phases={k: v * scale for k, v in r["phases"].items()},
            )
        if r.get("ok"):
            say(f"ge: {r['seconds']:.2f} s, peak RSS {r['VmHWM']:,.0f} MiB")
        engines["ge"] = r
    res["engines"] = engines
    full = {e: r for e, r in engines.items() if r.get("ok") and not r.get("extrapolated")}
    res["disagree"] = {
        rule: {e: r["failed"].get(rule) for e, r in full.items()}
        for rule in RULE_NAMES
        if len({r["failed"].get(rule) for r in full.values()}) > 1
    }
    res["entries"] = compare_entries({e: files[e] for e in full})
    base = engines["polars"].get("median_seconds")
    ff = engines["flowforge"].get("median_seconds")
    res["ratio"] = round(ff / base, 3) if ff and base else None
    ge = engines["ge"]
    res["ratio_ge"] = round(ge["seconds"] / base, 3) if ge.get("ok") and base else None
    res["targets"] = [
        {
            "name": "flowforge/polars quality-step time",
            "target": f"<= {TARGET_RATIO:g}x",
            "value": fmt(res["ratio"], ".2f") + "x",
            "pass": res["ratio"] is not None and res["ratio"] <= TARGET_RATIO,
        }
    ]
    report(res)
    if args.keep:
        say(f"quarantine files kept in {out_dir}")
    else:
        shutil.rmtree(out_dir, ignore_errors=True)
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    path = out / f"quality-{stamp}.json"
    path.write_text(json.dumps(res, indent=2, default=str) + "\n")
    say(f"\nresults: {path}")
    entries_ok = all(v["equal"] for v in res["entries"].values() if isinstance(v, dict))
    return 0 if not res["disagree"] and entries_ok else 1


if __name__ == "__main__":
    sys.exit(main())
