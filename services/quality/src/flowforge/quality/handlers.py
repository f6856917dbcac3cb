"""Quality's handlers: evaluate a Silver batch (on `silver.ready`, or again on a replay or a
release), and reconcile Gold sums against Silver's valid rows (on `gold.ready`)."""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
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
from flowforge.quality.engine import (
    Evaluation,
    Reference,
    columns_needed,
    evaluate,
    follow_renames,
)

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
    # Runs a long replay after the request is answered (None: always within the request).
    spawn: Callable[[Coroutine[Any, Any, Any]], None] | None = None


# ------------------------------------------------------------------------------ evaluation


async def handle_silver_ready(event: SilverReady, deps: Deps) -> list[Event]:
    return [await evaluate_batch(event, deps, trigger="silver.ready")]


async def evaluate_batch(
    event: SilverReady,
    deps: Deps,
    *,
    trigger: str,
    publish: Callable[[Event], Awaitable[None]] | None = None,
) -> QualityChecked:
    """Evaluate one batch with the dataset's rules of now, as the run's next revision.

    A `silver.ready` for a batch already evaluated (a redelivery) republishes what was
    published, unchanged: rules or referenced data may have changed since, and an object
    once written is never rewritten. A replay's result is published (`publish`) while the
    run's lock is held, so revisions leave in order."""
    started = utcnow()
    rules = await deps.config.rules(event.dataset)
    renames = await deps.config.renames(event.dataset)
    references = await _references(rules, deps)
    async with deps.results.run_lock(event.run_id) as conn:
        latest = await Results.latest_revision(conn, event.run_id)
        if trigger == "silver.ready" and latest is not None:
            published = await Results.published(conn, event.run_id)
            if published is not None:
                log.info("batch already evaluated (revision %d): republishing", latest)
                return QualityChecked.model_validate(published)
        revision = 0 if latest is None else latest + 1
        previous = await Results.previous_rows(conn, event.dataset, event.run_id)
        released = await Results.released(conn, event.run_id)
        evaluation, lines = await asyncio.to_thread(
            _evaluate_file, event, deps, rules, references, previous, released, renames
        )
        qkey = lake.quarantine_key(event.dataset, event.run_id, revision)
        written = await asyncio.to_thread(_write_quarantine, deps, qkey, evaluation.quarantine)
        counts = _valid_count(lines, written)
        checks = evaluation.checks + _reconcile_counts(event.counts, evaluation.rows, *counts)
        verdict = _verdict(checks)
        quarantined, valid = counts
        timing = StageTiming(started_at=started, finished_at=utcnow())
        checked = QualityChecked.following(
            event,
            revision=revision,
            verdict=verdict,
            checks=checks,
            silver_uri=event.silver_uri,
            quarantine_uri=deps.files.store.uri(qkey) if quarantined else None,
            timing=timing,
            counts={"quarantined": quarantined, "valid": valid},
        )
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
            checked=checked,
        )
        if publish is not None:
            await publish(checked)
    metrics.STAGE_SECONDS.labels(SERVICE, "quality").observe(timing.seconds)
    metrics.count_rows(SERVICE, "quality", quarantined=quarantined, valid=valid)
    log.info(
        "quality (%s, revision %d): verdict %s, %d rule(s), %d of %d rows quarantined, %.2fs",
        trigger,
        revision,
        verdict,
        len(rules),
        quarantined,
        evaluation.rows,
        timing.seconds,
    )
    return checked


def _evaluate_file(
    event: SilverReady,
    deps: Deps,
    rules: list[Rule],
    references: dict[str, Reference],
    previous: int | None,
    released: list[tuple[int, str]],
    renames: dict[str, str] | None = None,
) -> tuple[Evaluation, pl.Series]:
    store = deps.files.store
    with store.readable(store.key_of(event.silver_uri), deps.scratch) as path:
        available = pq.read_schema(path).names
        rules = follow_renames(rules, renames or {}, available)
        wanted = columns_needed(rules, event.key, available)
        # The lineage strings (one run id, one file name, 5M times) are read dictionary-coded
        # (categorical: a code per row); the rest straight into Polars, which reads Parquet
        # faster than pyarrow-then-convert and without a second copy.
        constant = [c for c in ("_run_id", "_source_file") if c in wanted]
        lineage = pl.from_arrow(pq.read_table(path, columns=constant, read_dictionary=constant))
        data = pl.read_parquet(path, columns=[c for c in wanted if c not in constant])
    silver = pl.concat([lineage, data], how="horizontal") if constant else data
    release = pl.DataFrame(
        {"_source_line": [r[0] for r in released], "rule": [r[1] for r in released]},
        schema={"_source_line": pl.Int64, "rule": pl.String},
    )
    evaluation = evaluate(
        silver,
        rules,
        key=event.key,
        references=references,
        previous_rows=previous,
        released=release,
        # Freshness is judged as of when the batch arrived, so a replay months later does
        # not fail batches that were fresh when they landed.
        now=event.timing.started_at,
    )
    return evaluation, silver.get_column("_source_line")


def _write_quarantine(deps: Deps, key: str, quarantine: pl.DataFrame) -> pl.Series:
    """Write the quarantine object and read back its lines (what readers will subtract)."""
    if not quarantine.height:
        return pl.Series("_source_line", [], dtype=pl.Int64)
    out = deps.files.output(key)
    quarantine.write_parquet(out)
    deps.files.commit(key, out)
    with deps.files.store.readable(key, deps.scratch) as path:
        return pl.read_parquet(path, columns=["_source_line"]).get_column("_source_line")


def _valid_count(lines: pl.Series, quarantined: pl.Series) -> tuple[int, int]:
    """(quarantined, valid) rows as readers see them: Silver's lines, minus the lines of the
    quarantine object as written."""
    out = quarantined.unique()
    valid = int((~lines.is_in(out.implode())).sum()) if out.len() else lines.len()
    return int(lines.is_in(out.implode()).sum()) if out.len() else 0, valid


def _reconcile_counts(
    counts: RunCounts, rows: int, quarantined: int, valid: int
) -> list[CheckResult]:
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

    check("parsed = rejected + bronze", counts.parsed, [counts.rejected, counts.bronze], "r + b")
    check(
        "bronze = duplicates + silver",
        counts.bronze,
        [counts.duplicates, counts.silver],
        "d + s",
    )
    check("silver = rows in the Silver file", counts.silver, [rows], "file rows")
    check("silver = quarantined + valid", rows, [quarantined, valid], "q + v")
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
    con = sandboxed(rows.paths)
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


SYNC_REPLAY_BATCHES = 10  # more than this: answered at once, replayed in the background


async def replay(dataset: str, run_ids: list[str] | None, deps: Deps) -> list[dict[str, Any]]:
    """Re-evaluate batches of a dataset with its rules of now (every evaluated batch when no
    run is named) and publish each new verdict, so Gold follows. Up to SYNC_REPLAY_BATCHES
    batches are replayed before answering (the answer has their verdicts); more are queued
    and replayed after the answer (`status: queued`; GET .../quality shows them land)."""
    if run_ids is None:
        run_ids = [r["run_id"] for r in await deps.results.latest_evaluations(dataset)]
    events = []
    for run_id in run_ids:
        async with deps.results.pool.acquire() as conn:
            event = await Results.silver_event(conn, run_id)
        if event is None or event.dataset != dataset:
            raise NotFoundError(f"run {run_id} has no evaluated Silver batch in {dataset!r}")
        events.append(event)
    if len(events) > SYNC_REPLAY_BATCHES and deps.spawn is not None:
        deps.spawn(_replay_events(events, deps))
        return [{"run_id": e.run_id, "status": "queued"} for e in events]
    return await _replay_events(events, deps)


async def _replay_events(events: list[SilverReady], deps: Deps) -> list[dict[str, Any]]:
    out = []
    for event in events:
        run_id = event.run_id
        checked = await evaluate_batch(event, deps, trigger="replay", publish=deps.publish)
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
    if rule in STRUCTURAL_RULES:
        raise BadInputError(
            f"rows quarantined by {rule} cannot be released: a row with no key cannot be "
            "matched to the rows it updates; fix the file and land it again"
        )
    entries: list[tuple[str, int, str]] = []
    kept_back = 0
    before: dict[str, int] = {}
    for e in evaluations:
        if not e["quarantine_key"]:
            continue
        found = await asyncio.to_thread(_matching_entries, deps, e["quarantine_key"], rule, lines)
        structural = found.filter(pl.col("rule").is_in(list(STRUCTURAL_RULES)))
        kept_back += structural.height
        found = found.filter(~pl.col("rule").is_in(list(STRUCTURAL_RULES)))
        if found.height:
            before[e["run_id"]] = e["quarantined"]
        entries.extend((e["run_id"], int(line), r) for _, line, r in found.iter_rows())
    recorded = await deps.results.release(dataset, entries, reason)
    replayed = await replay(dataset, sorted(before), deps) if before else []
    queued = any(r.get("status") == "queued" for r in replayed)
    released = (
        None if queued else sum(before[r["run_id"]] - (r["quarantined"] or 0) for r in replayed)
    )
    return {
        # Rows that left quarantine: a row failing another rule too stays quarantined.
        "released_rows": released,
        "released_entries": recorded,
        "not_released": kept_back,
        "runs": replayed,
        **(
            {"note": "replaying in the background; GET .../quality shows the new revisions"}
            if queued
            else {}
        ),  # fmt: skip
    }


async def dry_run(dataset: str, spec: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """What a rule would do to the dataset's Silver batches (promoted ones), without storing
    or quarantining anything: failing rows per batch and in all."""
    from flowforge.common.rules import parse_rules

    rule = parse_rules({"rules": [spec]}).rules[0]
    batches = await deps.config.promoted_batches(dataset)
    if not batches:
        raise NotFoundError(f"dataset {dataset!r} has no Silver data to try the rule on yet")
    references = await _references([rule], deps)
    per_batch = []
    for b in batches:
        check, examples = await asyncio.to_thread(
            _try_rule, deps, b["silver_key"], rule, references
        )
        per_batch.append(
            {
                "run_id": b["run_id"],
                "status": check.status,
                "failed_rows": check.failed_rows,
                "total_rows": check.total_rows,
                "detail": check.detail,
                "examples": examples,
            }
        )
    failed = sum(b["failed_rows"] for b in per_batch)
    quarantining = rule.is_row_rule and rule.effective_action in ("quarantine", "fail")
    return {
        "rule": rule.spec(),
        "failed_rows": failed,
        "total_rows": sum(b["total_rows"] or 0 for b in per_batch),
        "would_quarantine": failed if quarantining else 0,
        "would_fail_batches": sum(1 for b in per_batch if b["status"] == "failed"),
        "batches": per_batch,
    }


def _try_rule(
    deps: Deps, silver_key: str, rule: Rule, references: dict[str, Reference]
) -> tuple[CheckResult, list[str]]:
    store = deps.files.store
    with store.readable(silver_key, deps.scratch) as path:
        wanted = columns_needed([rule], [], pq.read_schema(path).names)
        silver = pl.from_arrow(pq.read_table(path, columns=wanted))
    evaluation = evaluate(silver, [rule], key=[], references=references)
    check = next(c for c in evaluation.checks if c.name == rule.name)
    return check, [str(v) for v in evaluation.examples.get(rule.name, [])]


STRUCTURAL_RULES = frozenset({"key_not_null"})


# -------------------------------------------------------------------- Gold reconciliation

TOLERANCE = 1e-9


async def handle_gold_ready(event: GoldReady, deps: Deps) -> list[Event]:
    """Sums of each built model's additive columns against the source column's sum over
    Silver's valid rows. What to compare is captured under the Gold lock (the promoted
    batches, and a copy of each Gold file), so no build slips in between; the sums are then
    computed outside it, so Gold builds do not wait for them."""
    declared = await deps.config.reconcile([m.name for m in event.models])
    if not declared:
        return []
    sources = sorted({s.partition(".")[0] for cols in declared.values() for s in cols.values()})
    with tempfile.TemporaryDirectory(dir=deps.scratch) as tmp:
        async with deps.results.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", lake.GOLD_LOCK_KEY)
            try:
                batches = {d: await deps.config.promoted_batches(d) for d in sources}
                gold = {
                    m: await asyncio.to_thread(_copy_gold, deps, m, Path(tmp)) for m in declared
                }
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", lake.GOLD_LOCK_KEY)
        checks = []
        for model, columns in sorted(declared.items()):
            for gold_column, source in sorted(columns.items()):
                checks.append(
                    await _sum_check(deps, model, gold[model], gold_column, source, batches)
                )
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


def _copy_gold(deps: Deps, model: str, folder: Path) -> Path | None:
    key = lake.gold_key(model)
    if not deps.files.store.exists(key):
        return None
    copy = folder / f"{model}.parquet"
    shutil.copyfile(deps.files.fresh_path(key), copy)
    return copy


async def _sum_check(
    deps: Deps,
    model: str,
    gold: Path | None,
    gold_column: str,
    source: str,
    batches: dict[str, list[Any]],
) -> dict[str, Any]:
    check = {"model": model, "name": gold_column, "expected": None, "actual": None}
    dataset, _, column = source.partition(".")
    if gold is None:
        return check | {"status": "failed", "detail": f"model {model!r} has no Gold data"}
    if not batches.get(dataset):
        return check | {"status": "failed", "detail": f"{dataset!r} has no valid rows"}
    try:
        expected, actual = await asyncio.to_thread(
            _sums, deps, batches[dataset], column, gold, gold_column
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
    deps: Deps, batches: list[Any], column: str, gold: Path, gold_column: str
) -> tuple[float, float]:
    rows = _valid_rows(deps, batches)
    con = sandboxed([*rows.paths, gold])
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
    return float(expected), float(actual)
