"""Cross-layer reconciliation after Gold: the sums of each model's additive columns (in the
table version the build committed) against the source column's sum over the exact Silver
batches the build read (both carried by `gold.ready`), so no lock against transform's builds
is needed."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from flowforge.common.events import (
    CheckResult,
    Event,
    GoldInput,
    GoldModelBuilt,
    GoldReady,
    QualityReconciled,
)
from flowforge.common.lake import ModelRows
from flowforge.common.lakehouse import Lakehouse
from flowforge.common.models import quote_identifier, sandboxed
from flowforge.quality.handlers import Deps, valid_rows

log = logging.getLogger(__name__)

# -------------------------------------------------------------------- Gold reconciliation

TOLERANCE = 1e-9


async def handle_gold_ready(event: GoldReady, deps: Deps) -> list[Event]:
    """Reconcile every built model that declares additive columns, in the version it built."""
    models = [m for m in event.models if m.reconcile]
    if not models:
        return []
    checks: list[dict[str, Any]] = []
    for model in models:
        gold = await asyncio.to_thread(_gold_files, deps, model)
        batches = {i.dataset: _batches(deps, i) for i in model.inputs}
        for gold_column, source in sorted(model.reconcile.items()):
            checks.append(await _sum_check(deps, model.name, gold, gold_column, source, batches))
    if not checks:
        return []
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


def _batches(deps: Deps, source: GoldInput) -> list[dict[str, Any]]:
    key_of = deps.files.store.key_of
    return [
        {
            "run_id": b.run_id,
            "silver_key": key_of(b.silver_uri),
            "quarantine_key": key_of(b.quarantine_uri) if b.quarantine_uri else None,
            "key_columns": source.key,
        }
        for b in source.batches
    ]


def _gold_files(deps: Deps, model: GoldModelBuilt) -> ModelRows | None:
    """Exactly the table version this build committed and the merges it left beside it (a
    later build makes a new version or merge; these files stay)."""
    if model.version is None:
        return None
    key_of = deps.files.store.key_of
    return ModelRows(
        base=Lakehouse(deps.files.store).data_paths(deps.files, "gold", model.name, model.version),
        pending=[deps.files.path(key_of(uri)) for uri in model.pending],
        key=model.unique_key,
    )


async def _sum_check(
    deps: Deps,
    model: str,
    gold: ModelRows | None,
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
    deps: Deps, batches: list[Any], column: str, gold: ModelRows, gold_column: str
) -> tuple[float, float]:
    rows = valid_rows(deps, batches)
    con = sandboxed([*rows.paths, *gold.paths])
    try:
        expected = con.sql(
            f"SELECT coalesce(sum(CAST({quote_identifier(column)} AS DOUBLE)), 0)"
            f" FROM ({rows.sql()}) v"
        ).fetchall()[0][0]
        actual = con.sql(
            f"SELECT coalesce(sum(CAST({quote_identifier(gold_column)} AS DOUBLE)), 0)"
            f" FROM ({gold.sql()}) g"
        ).fetchall()[0][0]
    finally:
        con.close()
    return float(expected), float(actual)
