"""Quality's handlers: evaluate a Silver batch (on `silver.ready`, or again on a replay or a
release), and reconcile Gold sums against Silver's valid rows (on `gold.ready`)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from flowforge.common import lake, metrics
from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.events import (
    CheckResult,
    Event,
    GoldReady,
    QualityChecked,
    QualityReconciled,
    RunCounts,
    SilverReady,
    StageTiming,
    utcnow,
)
from flowforge.common.lake import ValidRows
from flowforge.common.models import quote_identifier, sandboxed
from flowforge.common.rules import Rule
from flowforge.common.storage import LakeFiles
from flowforge.quality.adapters import Config, Results
from flowforge.quality.engine import Evaluation, Reference, columns_needed, evaluate

log = logging.getLogger(__name__)
SERVICE = "quality"


@dataclass
class Deps:
    files: LakeFiles
    scratch: Path
    results: Results
    config: Config
    # Publishes events outside a subscriber (replays and releases answer a request).
    publish: Callable[[Event], Awaitable[None]] | None = None


# ------------------------------------------------------------------------------ evaluation


async def handle_silver_ready(event: SilverReady, deps: Deps) -> list[Event]:
    return [await evaluate_batch(event, deps, trigger="silver.ready")]


async def evaluate_batch(event: SilverReady, deps: Deps, *, trigger: str) -> QualityChecked:
    """Evaluate one batch with the dataset's rules of now. `silver.ready` (re)does the run's
    current revision, so a redelivery rewrites the same results; a replay makes the next."""
    started = utcnow()
    rules = await deps.config.rules(event.dataset)
    references = await _references(rules, deps)
    async with deps.results.run_lock(event.run_id) as conn:
        latest = await Results.latest_revision(conn, event.run_id)
        if trigger == "silver.ready":
            revision = latest or 0
        else:
            revision = 0 if latest is None else latest + 1
        previous = await Results.previous_rows(conn, event.dataset, event.run_id)
        released = await Results.released(conn, event.run_id)
        evaluation = await asyncio.to_thread(
            _evaluate_file, event, deps, rules, references, previous, released
        )
        checks = evaluation.checks + _reconcile_counts(event.counts, evaluation)
        verdict = _verdict(checks)
        quarantined = evaluation.quarantined
        qkey = lake.quarantine_key(event.dataset, event.run_id, revision)
        await asyncio.to_thread(_write_quarantine, deps, qkey, evaluation.quarantine)
        timing = StageTiming(started_at=started, finished_at=utcnow())
        await Results.save(
            conn,
            event=event,
            revision=revision,
            trigger=trigger,
            verdict=verdict,
            rows=evaluation.rows,
            quarantined=quarantined,
            quarantine_key=qkey if quarantined else None,
            started_at=started,
            seconds=timing.seconds,
            checks=checks,
            examples=evaluation.examples,
        )
    silver = evaluation.rows
    metrics.STAGE_SECONDS.labels(SERVICE, "quality").observe(timing.seconds)
    metrics.count_rows(SERVICE, "quality", quarantined=quarantined, valid=silver - quarantined)
    log.info(
        "quality (%s, revision %d): verdict %s, %d rule(s), %d of %d rows quarantined, %.2fs",
        trigger,
        revision,
        verdict,
        len(rules),
        quarantined,
        silver,
        timing.seconds,
    )
    return QualityChecked.following(
        event,
        revision=revision,
        verdict=verdict,
        checks=checks,
        silver_uri=event.silver_uri,
        quarantine_uri=deps.files.store.uri(qkey) if quarantined else None,
        timing=timing,
        counts={"quarantined": quarantined, "valid": silver - quarantined},
    )


def _evaluate_file(
    event: SilverReady,
    deps: Deps,
    rules: list[Rule],
    references: dict[str, Reference],
    previous: int | None,
    released: list[tuple[int, str]],
) -> Evaluation:
    store = deps.files.store
    with store.readable(store.key_of(event.silver_uri), deps.scratch) as path:
        available = pq.read_schema(path).names
        wanted = columns_needed(rules, event.key, available)
        # The constant lineage strings stay dictionary-coded (5M copies of one run id cost
        # nothing that way).
        dictionary = [c for c in ("_run_id", "_source_file") if wanted is None or c in wanted]
        table = pq.read_table(path, columns=wanted, read_dictionary=dictionary)
    silver = pl.from_arrow(table)
    release = pl.DataFrame(
        {"_source_line": [r[0] for r in released], "rule": [r[1] for r in released]},
        schema={"_source_line": pl.Int64, "rule": pl.String},
    )
    return evaluate(
        silver,
        rules,
        key=event.key,
        references=references,
        previous_rows=previous,
        released=release,
    )


def _write_quarantine(deps: Deps, key: str, quarantine: pl.DataFrame) -> None:
    if not quarantine.height:
        return
    out = deps.files.output(key)
    quarantine.write_parquet(out)
    deps.files.commit(key, out)


def _reconcile_counts(counts: RunCounts, evaluation: Evaluation) -> list[CheckResult]:
    """The run's row accounting, checked: every row is in exactly one place."""
    checks = []

    def check(name: str, left: int | None, parts: list[int | None], labels: str) -> None:
        if left is None or any(p is None for p in parts):
            return
        total = sum(p or 0 for p in parts)
        ok = left == total
        checks.append(
            CheckResult(
                name=name,
                status="passed" if ok else "failed",
                detail=f"{left} = {labels} ({' + '.join(str(p) for p in parts)})"
                if ok
                else f"mismatch: {left} ≠ {labels} = {total}",
                rule_type="reconciliation",
            )
        )

    quarantined = evaluation.quarantined
    check("parsed = rejected + bronze", counts.parsed, [counts.rejected, counts.bronze], "r + b")
    check(
        "bronze = duplicates + silver",
        counts.bronze,
        [counts.duplicates, counts.silver],
        "d + s",
    )
    check("silver = rows in the Silver file", counts.silver, [evaluation.rows], "file rows")
    valid = evaluation.rows - quarantined
    check("silver = quarantined + valid", evaluation.rows, [quarantined, valid], "q + v")
    return checks


def _verdict(checks: list[CheckResult]) -> str:
    statuses = {c.status for c in checks}
    return "failed" if "failed" in statuses else "warned" if "warned" in statuses else "passed"


async def _references(rules: list[Rule], deps: Deps) -> dict[str, Reference]:
    """The values each referential rule checks against: the target dataset's valid rows."""
    out: dict[str, Reference] = {}
    for target in sorted({r.to for r in rules if r.type == "referential" and r.to}):
        dataset, column = target.split(".", 1)
        batches = await deps.config.promoted_batches(dataset)
        if not batches:
            out[target] = Reference(None, f"dataset {dataset!r} has no valid rows yet")
            continue
        out[target] = await asyncio.to_thread(_reference_values, deps, batches, column)
    return out


def _valid_rows(deps: Deps, batches: list[Any]) -> ValidRows:
    return ValidRows(
        silver=[deps.files.path(b["silver_key"]) for b in batches],
        quarantine=[deps.files.path(b["quarantine_key"]) for b in batches if b["quarantine_key"]],
        key=list(batches[-1]["key_columns"]),
    )


def _reference_values(deps: Deps, batches: list[Any], column: str) -> Reference:
    rows = _valid_rows(deps, batches)
    con = sandboxed([*rows.silver, *rows.quarantine])
    try:
        values = con.sql(
            f"SELECT DISTINCT {quote_identifier(column)} AS v FROM ({rows.sql()}) r"
            f" WHERE {quote_identifier(column)} IS NOT NULL"
        ).pl()
    except Exception as exc:  # noqa: BLE001 - reported on the rule, never a crash
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Reference(None, f"cannot read {column!r} of the referenced dataset: {text}")
    finally:
        con.close()
    return Reference(values.get_column("v"))


# ----------------------------------------------------------------------- replay and release


async def replay(dataset: str, run_ids: list[str] | None, deps: Deps) -> list[dict[str, Any]]:
    """Re-evaluate batches of a dataset with its rules of now (every evaluated batch when no
    run is named) and publish each new verdict, so Gold follows."""
    if run_ids is None:
        run_ids = [r["run_id"] for r in await deps.results.latest_evaluations(dataset)]
    out = []
    for run_id in run_ids:
        async with deps.results.pool.acquire() as conn:
            event = await Results.silver_event(conn, run_id)
        if event is None or event.dataset != dataset:
            raise NotFoundError(f"run {run_id} has no evaluated Silver batch in {dataset!r}")
        checked = await evaluate_batch(event, deps, trigger="replay")
        if deps.publish is not None:
            await deps.publish(checked)
        out.append(
            {
                "run_id": run_id,
                "revision": checked.revision,
                "verdict": checked.verdict,
                "quarantined": checked.counts.quarantined,
                "valid": checked.counts.valid,
            }
        )
    return out


def _matching_entries(
    deps: Deps, key: str, rule: str | None, lines: list[int] | None
) -> pl.DataFrame:
    store = deps.files.store
    with store.readable(key, deps.scratch) as path:
        entries = pl.read_parquet(path, columns=["_run_id", "_source_line", "rule"])
    if rule:
        entries = entries.filter(pl.col("rule") == rule)
    if lines:
        entries = entries.filter(pl.col("_source_line").is_in(lines))
    return entries


async def release(
    dataset: str,
    *,
    run_id: str | None,
    rule: str | None,
    lines: list[int] | None,
    reason: str,
    deps: Deps,
) -> dict[str, Any]:
    """Release quarantined rows (all, one run's, one rule's, some lines') back into the valid
    view: record the decision, then re-evaluate the affected batches honouring it."""
    if lines and not run_id:
        raise BadInputError("line numbers belong to one file: give `run_id` with `lines`")
    evaluations = await deps.results.latest_evaluations(dataset)
    if run_id:
        evaluations = [e for e in evaluations if e["run_id"] == run_id]
        if not evaluations:
            raise NotFoundError(f"run {run_id} has no evaluated batch in dataset {dataset!r}")
    entries: list[tuple[str, int, str]] = []
    rows = 0
    for e in evaluations:
        if not e["quarantine_key"]:
            continue
        found = await asyncio.to_thread(_matching_entries, deps, e["quarantine_key"], rule, lines)
        rows += found.select(pl.col("_source_line")).n_unique() if found.height else 0
        entries.extend((e["run_id"], int(line), r) for _, line, r in found.iter_rows())
    recorded = await deps.results.release(dataset, entries, reason)
    runs = sorted({run for run, _, _ in entries})
    replayed = await replay(dataset, runs, deps) if runs else []
    return {"released_rows": rows, "released_entries": recorded, "runs": replayed}


# -------------------------------------------------------------------- Gold reconciliation

TOLERANCE = 1e-9


async def handle_gold_ready(event: GoldReady, deps: Deps) -> list[Event]:
    """Sums of each built model's additive columns against the source column's sum over
    Silver's valid rows, both read under the Gold lock (so no batch is promoted in between)."""
    declared = await deps.config.reconcile([m.name for m in event.models])
    if not declared:
        return []
    checks: list[dict[str, Any]] = []
    async with deps.results.pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", lake.GOLD_LOCK_KEY)
        try:
            for model, columns in sorted(declared.items()):
                for gold_column, source in sorted(columns.items()):
                    checks.append(await _sum_check(deps, model, gold_column, source))
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lake.GOLD_LOCK_KEY)
    await deps.results.save_reconciliation(event.run_id, event.revision, event.dataset, checks)
    status = "failed" if any(c["status"] == "failed" for c in checks) else "passed"
    for c in checks:
        if c["status"] == "failed":
            log.warning("reconciliation failed: %s", c["detail"])
    return [
        QualityReconciled.following(
            event,
            status=status,
            checks=[
                CheckResult(
                    name=f"{c['model']}.{c['name']}",
                    status=c["status"],
                    detail=c["detail"],
                    rule_type="reconciliation",
                    column=c["name"],
                )
                for c in checks
            ],
        )
    ]


async def _sum_check(deps: Deps, model: str, gold_column: str, source: str) -> dict[str, Any]:
    check = {"model": model, "name": gold_column, "expected": None, "actual": None}
    dataset, _, column = source.partition(".")
    batches = await deps.config.promoted_batches(dataset)
    if not batches:
        return check | {"status": "failed", "detail": f"{dataset!r} has no valid rows"}
    try:
        expected, actual = await asyncio.to_thread(
            _sums, deps, batches, column, lake.gold_key(model), gold_column
        )
    except Exception as exc:  # noqa: BLE001 - a check that cannot run is a failed check
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return check | {"status": "failed", "detail": f"cannot compute the sums: {text}"}
    same = math.isclose(expected, actual, rel_tol=TOLERANCE, abs_tol=1e-6)
    detail = (
        f"sum({model}.{gold_column}) = {actual:,.6g}, sum({source}) over valid rows = "
        f"{expected:,.6g}" + ("" if same else f": off by {actual - expected:+,.6g}")
    )
    return check | {
        "status": "passed" if same else "failed",
        "expected": expected,
        "actual": actual,
        "detail": detail,
    }


def _sums(
    deps: Deps, batches: list[Any], column: str, gold_key: str, gold_column: str
) -> tuple[float, float]:
    started = time.perf_counter()
    rows = _valid_rows(deps, batches)
    gold = deps.files.fresh_path(gold_key)
    con = sandboxed([*rows.silver, *rows.quarantine, gold])
    try:
        expected = con.sql(
            f"SELECT coalesce(sum(CAST({quote_identifier(column)} AS DOUBLE)), 0)"
            f" FROM ({rows.sql()}) v"
        ).fetchall()[0][0]
        actual = con.sql(
            f"SELECT coalesce(sum(CAST({quote_identifier(gold_column)} AS DOUBLE)), 0)"
            f" FROM read_parquet({lake.sql_string(str(gold))})"
        ).fetchall()[0][0]
    finally:
        con.close()
    log.debug("sums in %.2fs", time.perf_counter() - started)
    return float(expected), float(actual)
