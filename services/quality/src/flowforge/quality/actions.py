"""Re-evaluations a person asks for: replay batches with today's rules, release quarantined
rows back into the valid view, and dry-run a rule on the Silver data without storing anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.events import CheckResult, SilverReady
from flowforge.common.rules import Rule
from flowforge.quality.adapters import Results
from flowforge.quality.engine import Reference, columns_needed, evaluate
from flowforge.quality.handlers import Deps, evaluate_batch, references_for

# ----------------------------------------------------------------------- replay and release


async def replay(dataset: str, run_ids: list[str] | None, deps: Deps) -> list[dict[str, Any]]:
    """Re-evaluate batches of a dataset with its rules of now (every evaluated batch when no
    run is named) and publish each new verdict, so Gold follows. The answer has each batch's
    new verdict (the gateway runs this as a job, so a long replay holds no client)."""
    if run_ids is None:
        run_ids = [r["run_id"] for r in await deps.results.latest_evaluations(dataset)]
    events = []
    for run_id in run_ids:
        async with deps.results.pool.acquire() as conn:
            event = await Results.silver_event(conn, run_id)
        if event is None or event.dataset != dataset:
            raise NotFoundError(f"run {run_id} has no evaluated Silver batch in {dataset!r}")
        events.append(event)
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
    return {
        # Rows that left quarantine: a row failing another rule too stays quarantined.
        "released_rows": sum(before[r["run_id"]] - (r["quarantined"] or 0) for r in replayed),
        "released_entries": recorded,
        "not_released": kept_back,
        "runs": replayed,
    }


async def dry_run(dataset: str, spec: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """What a rule would do to the dataset's Silver batches (promoted ones), without storing
    or quarantining anything: failing rows per batch and in all."""
    from flowforge.common.rules import parse_rules

    rule = parse_rules({"rules": [spec]}).rules[0]
    batches = await deps.batches.promoted(dataset)
    if not batches:
        raise NotFoundError(f"dataset {dataset!r} has no Silver data to try the rule on yet")
    references = await references_for([rule], deps)
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
