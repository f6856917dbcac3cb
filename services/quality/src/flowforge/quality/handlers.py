"""Quality's handler of `silver.ready`: evaluate a Silver batch with the dataset's rules (also
run again for a replay or a release: see `actions`), write its quarantine, publish the
verdict. Gold reconciliation is in `reconcile`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowforge.common import lake, metrics
from flowforge.common.events import (
    CheckResult,
    Event,
    QualityChecked,
    RunCounts,
    SilverReady,
    StageTiming,
    utcnow,
)
from flowforge.common.lake import ValidRows
from flowforge.common.models import quote_identifier, warm_sandboxed
from flowforge.common.rules import Rule
from flowforge.common.storage import LakeFiles
from flowforge.quality.adapters import Batches, Results, Rules
from flowforge.quality.engine import Reference
from flowforge.quality.stream import FileEvaluation, evaluate_file

log = logging.getLogger(__name__)
SERVICE = "quality"


@dataclass
class Deps:
    files: LakeFiles
    scratch: Path
    results: Results
    rules: Rules
    batches: Batches
    # Publishes events outside a subscriber (replays and releases answer a request).
    publish: Callable[[Event], Awaitable[None]] | None = None


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
    rules = await deps.rules.rules(event.dataset)
    references = await references_for(rules, deps)
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
        qkey = lake.quarantine_key(event.dataset, event.run_id, revision)
        evaluation = await asyncio.to_thread(
            _evaluate_file, event, deps, rules, references, previous, released, qkey
        )
        checked = await _checked(event, deps, evaluation, qkey, revision, started)
        await Results.save(
            conn,
            event=event,
            revision=revision,
            trigger=trigger,
            verdict=checked.verdict,
            rows=evaluation.rows,
            quarantined=checked.counts.quarantined or 0,
            quarantine_key=deps.files.store.key_of(checked.quarantine_uri)
            if checked.quarantine_uri
            else None,
            started_at=started,
            seconds=checked.timing.seconds,
            checks=checked.checks,
            examples=evaluation.examples,
            checked=checked,
        )
        if publish is not None:
            await publish(checked)
    _report(checked, trigger, len(rules), evaluation.rows)
    return checked


async def _checked(
    event: SilverReady,
    deps: Deps,
    evaluation: FileEvaluation,
    qkey: str,
    revision: int,
    started: datetime,
) -> QualityChecked:
    """Commit the revision's quarantine object (written by `_evaluate_file`) and make its
    `quality.checked`: the rules' checks, the run's row accounting, the verdict."""
    if evaluation.quarantine_rows:
        await asyncio.to_thread(deps.files.commit, qkey, deps.files.output(qkey))
    quarantined, valid = evaluation.quarantined, evaluation.valid
    checks = evaluation.checks + _reconcile_counts(
        event.counts, evaluation.rows, quarantined, valid
    )
    return QualityChecked.following(
        event,
        revision=revision,
        verdict=_verdict(checks),
        checks=checks,
        silver_uri=event.silver_uri,
        quarantine_uri=deps.files.store.uri(qkey) if quarantined else None,
        timing=StageTiming(started_at=started, finished_at=utcnow()),
        counts={"quarantined": quarantined, "valid": valid},
    )


def _report(checked: QualityChecked, trigger: str, rules: int, rows: int) -> None:
    quarantined, valid = checked.counts.quarantined, checked.counts.valid
    metrics.STAGE_SECONDS.labels(SERVICE, "quality").observe(checked.timing.seconds)
    metrics.count_rows(SERVICE, "quality", quarantined=quarantined, valid=valid)
    log.info(
        "quality (%s, revision %d): verdict %s, %d rule(s), %d of %d rows quarantined, %.2fs",
        trigger,
        checked.revision,
        checked.verdict,
        rules,
        quarantined or 0,
        rows,
        checked.timing.seconds,
    )


def _evaluate_file(
    event: SilverReady,
    deps: Deps,
    rules: list[Rule],
    references: dict[str, Reference],
    previous: int | None,
    released: list[tuple[int, str]],
    qkey: str,
) -> FileEvaluation:
    """Evaluate the Silver file in bounded memory (`stream`), its quarantine written to the
    output path of `qkey` (committed by the caller when it has entries)."""
    store = deps.files.store
    release = pl.DataFrame(
        {"_source_line": [r[0] for r in released], "rule": [r[1] for r in released]},
        schema={"_source_line": pl.Int64, "rule": pl.String},
    )
    with store.readable(store.key_of(event.silver_uri), deps.scratch) as path:
        return evaluate_file(
            path,
            rules,
            key=event.key,
            out=deps.files.output(qkey),
            scratch=deps.scratch,
            references=references,
            previous_rows=previous,
            released=release,
            # Freshness is judged as of when the batch arrived, so a replay months later
            # does not fail batches that were fresh when they landed.
            now=event.timing.started_at,
            empty_ok=event.extracted,
            renames=event.renames,
        )


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


async def references_for(rules: list[Rule], deps: Deps) -> dict[str, Reference]:
    """The values each referential rule checks against: the target dataset's valid rows."""
    out: dict[str, Reference] = {}
    for target in sorted({r.to for r in rules if r.type == "referential" and r.to}):
        dataset, column = target.split(".", 1)
        batches = await deps.batches.promoted(dataset)
        if not batches:
            out[target] = Reference(None, f"dataset {dataset!r} has no valid rows yet")
            continue
        out[target] = await asyncio.to_thread(_reference_values, deps, batches, column)
    return out


def valid_rows(deps: Deps, batches: list[Any]) -> ValidRows:
    return ValidRows(
        silver=[deps.files.path(b["silver_key"]) for b in batches],
        quarantine=[deps.files.path(b["quarantine_key"]) for b in batches if b["quarantine_key"]],
        key=list(batches[-1]["key_columns"]),
    )


def _reference_values(deps: Deps, batches: list[Any], column: str) -> Reference:
    rows = valid_rows(deps, batches)
    con = warm_sandboxed(rows.paths)
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
