"""The dashboard: one page of figures asked of their owners at once. The catalog counts the
last 24 h of runs and their rows, lists the latest failed runs and each dataset's last
success; quality names the datasets whose latest evaluation failed and their freshness rules;
the scheduler lists its latest alerts. An owner that does not answer within a few seconds
costs only its own part (marked unavailable), never the page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter

from flowforge.common.errors import FlowForgeError
from flowforge.gateway.deps import GatewayDep
from flowforge.gateway.owners import Owner
from flowforge.gateway.schemas import (
    DashboardAlert,
    DashboardAlerts,
    DashboardPublic,
    FailingCheck,
    FailingChecks,
    RunFigures,
    StaleDataset,
    StaleDatasets,
)

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])
WAIT = 5.0  # seconds an owner has to answer before its part is shown as unavailable
WINDOW_HOURS = 24
ALERTS = 20
STALE_SHOWN = 50
STALE_AFTER = timedelta(hours=24)  # a dataset without a freshness rule
DEFAULT_RULE = (
    "a dataset is stale when its last successful run finished longer ago than its strictest "
    "freshness rule's max_age, or than 24 h when it has no freshness rule"
)


async def _ask(owner: Owner, verb: str, **request: Any) -> Any:
    """The owner's answer, or the error that stood for it (shown as the part's detail)."""
    try:
        return await owner.ask(verb, timeout=min(owner.quick, WAIT), **request)
    except FlowForgeError as exc:
        return exc


@router.get("", response_model=DashboardPublic)
async def get_dashboard(gw: GatewayDep) -> DashboardPublic:
    """Runs of the last 24 h by status and the rows they landed; datasets whose latest quality
    evaluation failed; stale datasets; the latest failures (runs and workflows). Each part
    says whether its owner answered (`available`)."""
    catalog, quality, scheduler = await asyncio.gather(
        _ask(gw.owners.catalog, "overview", hours=WINDOW_HOURS, failures=ALERTS),
        _ask(gw.owners.quality, "overview"),
        _ask(gw.owners.scheduler, "alerts.recent", limit=ALERTS),
    )
    now = datetime.now(UTC)
    return DashboardPublic(
        generated_at=now,
        runs=_runs(catalog),
        failing_checks=_failing(quality),
        stale_datasets=_stale(catalog, quality, now),
        alerts=_alerts(catalog, scheduler),
    )


def _runs(catalog: Any) -> RunFigures:
    if isinstance(catalog, Exception):
        return RunFigures(available=False, detail=str(catalog))
    rows = catalog["rows"]
    return RunFigures(available=True, since=catalog["since"], until=catalog["until"],
                      **catalog["runs"], rows_landed=rows["bronze"], rows_parsed=rows["parsed"],
                      rows_rejected=rows["rejected"])  # fmt: skip


def _failing(quality: Any) -> FailingChecks:
    if isinstance(quality, Exception):
        return FailingChecks(available=False, detail=str(quality))
    return FailingChecks(
        available=True,
        datasets=[FailingCheck(at=f["evaluated_at"], **f) for f in quality["failing"]],
    )


def _stale(catalog: Any, quality: Any, now: datetime) -> StaleDatasets:
    default = STALE_AFTER.total_seconds()
    if isinstance(catalog, Exception):
        return StaleDatasets(available=False, detail=str(catalog), rule=DEFAULT_RULE,
                             default_max_age_seconds=default)  # fmt: skip
    detail = None
    freshness: dict[str, dict] = {}
    if isinstance(quality, Exception):
        detail = f"freshness rules unknown, the default applies to every dataset: {quality}"
    else:
        freshness = quality["freshness"]
    stale = []
    for d in catalog["datasets"]:
        rule = freshness.get(d["dataset"])
        limit = rule["max_age_seconds"] if rule else default
        last = _dt(d["last_success_at"]) if d["last_success_at"] else None
        since = last + timedelta(seconds=limit) if last else None
        if since is not None and since >= now:
            continue
        stale.append(StaleDataset(
            dataset=d["dataset"], last_success_at=last, stale_since=since,
            last_success_run_id=d["success_run_id"], last_run_at=d["last_run_at"],
            last_run_id=d["last_run_id"], max_age_seconds=limit,
            rule=f"freshness rule {rule['rule']} (max_age {rule['max_age']})" if rule
            else "default: 24 h",
        ))  # fmt: skip
    # The latest to go stale first (what changed lately), then those that never succeeded.
    stale.sort(key=lambda s: (s.stale_since is not None, s.stale_since or now), reverse=True)
    return StaleDatasets(available=True, detail=detail, rule=DEFAULT_RULE,
                         default_max_age_seconds=default, count=len(stale),
                         datasets=stale[:STALE_SHOWN])  # fmt: skip


def _alerts(catalog: Any, scheduler: Any) -> DashboardAlerts:
    alerts: list[DashboardAlert] = []
    missing, details = [], []
    if isinstance(catalog, Exception):
        missing.append("catalog")
        details.append(str(catalog))
    else:
        for r in catalog["failed_runs"]:
            what = r["filename"] or r["run_id"]
            text = f"{r['dataset']}: {what} failed" + (f": {r['error']}" if r["error"] else "")
            alerts.append(DashboardAlert(at=r["updated_at"], kind="run_failed", text=text[:300],
                                         run_id=r["run_id"], dataset=r["dataset"]))  # fmt: skip
    if isinstance(scheduler, Exception):
        missing.append("scheduler")
        details.append(str(scheduler))
    else:
        for a in scheduler["alerts"]:
            kind = "workflow_failed" if a["alert"] == "failure" else "workflow_sla"
            alerts.append(DashboardAlert(at=a["at"], kind=kind, text=a["text"][:300],
                                         run_id=a["run_id"], workflow=a["workflow"]))  # fmt: skip
    alerts.sort(key=lambda a: a.at, reverse=True)
    return DashboardAlerts(
        available=len(missing) < 2,
        detail="; ".join(details) or None,
        alerts=alerts[:ALERTS],
        unavailable=missing,
    )


def _dt(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


__all__ = ["router"]
