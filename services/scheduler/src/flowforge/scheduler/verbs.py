"""What the scheduler answers over request/reply (`flowforge.svc.scheduler.<verb>`): workflow
definitions, runs now and backfills, pause and resume, run history and cancelling."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from flowforge.common.errors import BadInputError, FlowForgeError, NotFoundError
from flowforge.common.lake import check_name
from flowforge.scheduler import timing, workflows
from flowforge.scheduler.actions import redact_url
from flowforge.scheduler.engine import Scheduler, finished_text
from flowforge.scheduler.store import Store
from flowforge.scheduler.workflows import Workflow

log = logging.getLogger(__name__)
PAGE_LIMIT = 200


@dataclass
class Deps:
    store: Store
    scheduler: Scheduler
    ask: Callable[..., Awaitable[Any]]


async def check_references(wf: Workflow, ask: Callable[..., Awaitable[Any]]) -> None:
    """Every dataset and model a step names exists (asked of its owner), before storing."""
    for i, step in enumerate(wf.steps):
        where = f"steps[{i}].{step.kind}"
        try:
            if step.kind == "extract":
                await ask("ingest", "source.get", {"dataset": step.target})
            elif step.kind == "quality":
                await ask("catalog", "asset.get", {"dataset": step.target, "layer": "silver"})
            elif step.kind == "build":
                for model in step.target:
                    await ask("transform", "models.get", {"name": model})
        except NotFoundError as exc:
            raise BadInputError(f"{where}: {exc}") from None


def _now(deps: Deps) -> datetime:
    return deps.scheduler.clock.now()


def _when(value: Any, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadInputError(f"{field}: an ISO 8601 date or time, not {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def put(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    name = check_name(str(request.get("name") or ""), "workflow")
    wf = workflows.parse(request.get("definition"), name)
    await check_references(wf, deps.ask)
    created = await deps.store.put_workflow(name, wf.document, "api", _now(deps))
    return {**await get({"name": name}, deps), "created": created}


async def get(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    row = await deps.store.workflow(check_name(str(request.get("name") or ""), "workflow"))
    return (await _public([row], deps))[0]


def redacted(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition as answers show it: webhook URLs without their path and query (a
    webhook's URL is often its secret). A PUT without them must give them again."""
    out = dict(definition)
    out["steps"] = [
        {**s, "webhook": redact_url(s["webhook"])} if isinstance(s, dict) and "webhook" in s
        else s for s in definition.get("steps") or []
    ]  # fmt: skip
    if definition.get("notify"):
        out["notify"] = [
            {**n, "webhook": redact_url(str(n.get("webhook")))} if isinstance(n, dict) else n
            for n in definition["notify"]
        ]
    return out


async def _public(rows: list[Any], deps: Deps) -> list[dict[str, Any]]:
    """Workflows as answers show them (their last runs asked in one query)."""
    last = await deps.store.last_runs([r["name"] for r in rows])
    return [_one(row, last.get(row["name"]), deps) for row in rows]


def _one(row: Any, last_run: dict | None, deps: Deps) -> dict[str, Any]:
    definition = redacted(dict(row["definition"]))
    next_tick = None
    try:
        wf = workflows.parse(dict(row["definition"]))
        if wf.schedule is not None and not row["paused"]:
            next_tick = wf.schedule.next_after(max(row["last_tick"] or row["created_at"],
                                                   _now(deps)))  # fmt: skip
    except BadInputError:
        pass
    return {
        "name": row["name"],
        "definition": definition,
        "origin": row["origin"],
        "paused": row["paused"],
        "last_tick": row["last_tick"],
        "next_tick": next_tick,
        "last_run": last_run,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def list_(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    return {"workflows": await _public(await deps.store.workflows(), deps)}


async def delete(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    name = check_name(str(request.get("name") or ""), "workflow")
    row = await deps.store.workflow(name)
    if str(row["origin"]).startswith("file:"):
        raise BadInputError(f"workflow {name!r} comes from {row['origin'][5:]}: delete the file")
    await deps.store.delete_workflow(name)
    return {"deleted": name}


async def run_now(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Run now (manual), for an optional logical interval (`logical_date`: the schedule's
    interval ending at or before it; or `logical_start`/`logical_end`)."""
    wf = await _workflow(request, deps)
    logical = None
    if request.get("logical_start") or request.get("logical_end"):
        start = _when(request.get("logical_start"), "logical_start")
        end = _when(request.get("logical_end"), "logical_end")
        if end <= start:
            raise BadInputError("logical_end: after logical_start")
        logical = (start, end)
    elif request.get("logical_date"):
        when = _when(request["logical_date"], "logical_date")
        if wf.schedule is None:
            raise BadInputError("logical_date: the workflow has no schedule to place it in")
        tick = wf.schedule.previous_tick(when)
        if tick is None:
            raise BadInputError("logical_date: no tick of the schedule at or before it")
        logical = wf.schedule.interval(tick)
    params = request.get("params") or {}
    if not isinstance(params, dict):
        raise BadInputError("params: a mapping")
    run_id = await deps.scheduler.trigger(wf, "manual", logical=logical, params=params)
    return await deps.store.run(run_id or "")


async def backfill(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """One run per interval of the schedule in (start, end], queued (they run
    `max_active_runs` at a time)."""
    wf = await _workflow(request, deps)
    if wf.schedule is None:
        raise BadInputError("the workflow has no schedule: backfill needs its intervals")
    start, end = _when(request.get("start"), "start"), _when(request.get("end"), "end")
    intervals = timing.backfill(wf.schedule, start, end)
    run_ids = []
    for interval in intervals:
        run_ids.append(await deps.scheduler.trigger(wf, "backfill", logical=interval,
                                                    params={"backfill": True}))  # fmt: skip
    return {
        "workflow": wf.name,
        "runs": len(run_ids),
        "run_ids": run_ids,
        "intervals": [{"logical_start": s, "logical_end": e} for s, e in intervals],
    }


async def pause(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    name = check_name(str(request.get("name") or ""), "workflow")
    await deps.store.set_paused(name, True, _now(deps))
    return await get({"name": name}, deps)


async def resume(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    name = check_name(str(request.get("name") or ""), "workflow")
    await deps.store.set_paused(name, False, _now(deps))
    return await get({"name": name}, deps)


async def runs(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    name = check_name(str(request.get("name") or ""), "workflow")
    await deps.store.workflow(name)
    limit = max(1, min(int(request.get("limit") or 50), PAGE_LIMIT))
    return await deps.store.runs(name, limit, request.get("cursor"), request.get("status"))


async def run(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    found = await deps.store.run(str(request.get("run_id") or ""))
    if found["workflow"] != request.get("name"):
        raise NotFoundError(
            f"workflow {request.get('name')!r} has no run {request.get('run_id')!r}"
        )
    found["notifications"] = [
        {**n, "target": redact_url(n["target"])}
        for n in await deps.store.notifications(found["id"])
    ]
    return found


async def cancel(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    name = check_name(str(request.get("name") or ""), "workflow")
    return await deps.store.cancel(name, str(request.get("run_id") or ""), _now(deps))


async def alerts(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """The latest workflow alerts (failed runs, runs past their SLA), newest first, each with
    the text its `workflow.alert` carried."""
    limit = max(1, min(int(request.get("limit") or 20), PAGE_LIMIT))
    out = []
    for a in await deps.store.alerts(limit):
        if a["alert"] == "failure":
            text = finished_text(a["workflow"], "failed", a["reason"])
        else:
            text = f"workflow {a['workflow']} has been running for longer than its SLA"
        out.append({"run_id": a["id"], "workflow": a["workflow"], "alert": a["alert"],
                    "at": a["at"], "text": text})  # fmt: skip
    return {"alerts": out}


async def _workflow(request: dict[str, Any], deps: Deps) -> Workflow:
    row = await deps.store.workflow(check_name(str(request.get("name") or ""), "workflow"))
    return workflows.parse(row["definition"])


VERBS: dict[str, Callable[[dict[str, Any], Deps], Awaitable[Any]]] = {
    "workflow.put": put,
    "workflow.get": get,
    "workflows.list": list_,
    "workflow.delete": delete,
    "workflow.run": run_now,
    "workflow.backfill": backfill,
    "workflow.pause": pause,
    "workflow.resume": resume,
    "runs.list": runs,
    "run.get": run,
    "run.cancel": cancel,
    "alerts.recent": alerts,
}


# --- definitions as files ---------------------------------------------------------------------


async def load_folder(folder: Path, deps: Deps, seen: dict[str, float]) -> None:
    """Load the folder's `*.yaml`/`*.yml` files that are new or changed since `seen` (path →
    mtime); a file that does not hold a valid workflow is reported (naming the file) and the
    workflow keeps its last good definition. Workflows of files that are gone are removed."""
    found = await asyncio.to_thread(_scan, folder)
    origins = set()
    for path, mtime in found:
        origin = f"file:{path.name}"
        origins.add(origin)
        if seen.get(origin) == mtime:
            continue
        seen[origin] = mtime
        try:
            doc = yaml.safe_load(await asyncio.to_thread(path.read_text, encoding="utf-8"))
            wf = workflows.parse(doc, doc.get("name") if isinstance(doc, dict) else None)
            await check_references(wf, deps.ask)
            try:
                existing = await deps.store.workflow(wf.name)
            except NotFoundError:
                existing = None
            if existing is not None and existing["origin"] not in ("api", origin):
                raise BadInputError(f"workflow {wf.name!r} is defined by {existing['origin'][5:]}")
            await deps.store.put_workflow(wf.name, wf.document, origin, _now(deps))
            log.info("workflow %s loaded from %s", wf.name, path)
        except (yaml.YAMLError, FlowForgeError, UnicodeDecodeError, OSError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.error("workflow file %s refused: %s", path, text)
    for gone in await deps.store.delete_missing_files(origins):
        log.info("workflow %s removed: its file is gone", gone)
    for origin in [o for o in seen if o not in origins]:
        seen.pop(origin)


def _scan(folder: Path) -> list[tuple[Path, float]]:
    if not folder.is_dir():
        return []
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [(p, p.stat().st_mtime) for p in files]
