"""What each kind of step does. The scheduler does no pipeline work itself: it asks the
service that owns it (over request/reply) and follows the pipeline runs it started through
the catalog, which records every run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from flowforge.common.errors import FlowForgeError, NotFoundError, TransientError
from flowforge.scheduler.engine import Action, EventHub, StepContext, StepFailed
from flowforge.scheduler.store import NAMESPACE

Ask = Callable[..., Awaitable[Any]]  # rt.ask(service, verb, request, timeout=...)
FOLLOW_EVERY = 2.0  # seconds between looks at a pipeline run in flight
PICKUP_WINDOW = timedelta(days=1)  # a pickup without a logical interval: the day before


def pipeline_run_id(ctx: StepContext) -> str:
    """The id of the pipeline run an attempt starts: the same if the attempt is repeated
    (a replica died after asking), so ingest's de-duplication drops the second request."""
    return uuid.uuid5(NAMESPACE, f"{ctx.run_id}/{ctx.step.name}/{ctx.attempt}").hex


def actions(
    ask: Ask, http: httpx.AsyncClient, events: EventHub | None = None, sleep=asyncio.sleep
) -> dict[str, Action]:
    async def follow(run_id: str) -> dict:
        """Until the pipeline run is over; its record."""
        while True:
            try:
                run = await ask("catalog", "runs.get", {"run_id": run_id})
            except (NotFoundError, TransientError):
                run = None  # not recorded yet, or the catalog restarting
            if run and run.get("status") in ("succeeded", "failed"):
                return run
            await sleep(FOLLOW_EVERY)

    async def extract(ctx: StepContext) -> Any:
        run_ids = list(ctx.pipeline_runs)
        if not run_ids:
            request = {
                "dataset": ctx.step.target, "run_id": pipeline_run_id(ctx),
                "requested_by": f"workflow:{ctx.workflow}/{ctx.run_id}",
                "logical_start": ctx.logical_start.isoformat() if ctx.logical_start else None,
                "logical_end": ctx.logical_end.isoformat() if ctx.logical_end else None,
            }  # fmt: skip
            if ctx.params.get("backfill") and ctx.logical_end is not None:
                request["window"] = "logical"  # re-read that interval; the watermark stays
            started = await _asked(ask, "ingest", "extract", request, wait=120)
            run_ids = [started["run_id"]]
            await ctx.started(started["run_id"])
        runs = [await follow(r) for r in run_ids]
        failed = [r for r in runs if r["status"] == "failed"]
        if failed:
            raise StepFailed(f"pipeline run {failed[0]['run_id']} failed: "
                             f"{failed[0].get('error') or 'see the run'}")  # fmt: skip
        return {"runs": [{"run_id": r["run_id"], "counts": r.get("counts")} for r in runs]}

    async def pickup(ctx: StepContext) -> Any:
        """The files dropped under landing/<prefix> in the run's interval (without one: the
        day before the run), each followed to the end of its pipeline run."""
        run_ids = list(ctx.pipeline_runs)
        if not run_ids:
            until = ctx.logical_end or datetime.now(UTC)
            since = ctx.logical_start or until - PICKUP_WINDOW
            found = await _asked(ask, "ingest", "landing.pickup", {
                "prefix": ctx.step.target, "since": since.isoformat(),
                "until": until.isoformat()}, wait=120)  # fmt: skip
            run_ids = [r["run_id"] for r in found["runs"]]
            for run_id in run_ids:
                await ctx.started(run_id)
        runs = [await follow(r) for r in run_ids]
        failed = [r for r in runs if r["status"] == "failed"]
        if failed:
            raise StepFailed(f"{len(failed)} of {len(runs)} file(s) failed, first "
                             f"{failed[0].get('filename')}: {failed[0].get('error')}")  # fmt: skip
        return {"files": len(runs), "runs": [r["run_id"] for r in runs]}

    async def wait(ctx: StepContext) -> Any:
        """Until an event matching the filter is heard (the step's timeout bounds it)."""
        assert events is not None
        heard = await events.wait(ctx.step.target)
        return {k: heard.get(k) for k in ("subject", "run_id", "dataset", "status")}

    async def build(ctx: StepContext) -> Any:
        answer = await _asked(ask, "transform", "models.build", {"names": list(ctx.step.target)},
                              wait=ctx.step.timeout.total_seconds())  # fmt: skip
        if answer.get("failed"):
            first = answer["failed"][0]
            raise StepFailed(f"model {first.get('name')} failed: {first.get('error')}")
        return answer

    async def quality(ctx: StepContext) -> Any:
        answer = await _asked(ask, "quality", "replay", {"dataset": ctx.step.target},
                              wait=ctx.step.timeout.total_seconds())  # fmt: skip
        failed = [r for r in answer.get("runs", []) if r.get("verdict") == "failed"]
        if failed:
            raise StepFailed(f"quality failed {len(failed)} batch(es) of {ctx.step.target}")
        return {"runs": len(answer.get("runs", []))}

    async def webhook(ctx: StepContext) -> Any:
        payload = {
            "workflow": ctx.workflow, "run_id": ctx.run_id, "step": ctx.step.name,
            "attempt": ctx.attempt,
            "logical_start": ctx.logical_start.isoformat() if ctx.logical_start else None,
            "logical_end": ctx.logical_end.isoformat() if ctx.logical_end else None,
            "params": ctx.params,
        }  # fmt: skip
        try:
            reply = await http.post(ctx.step.target, json=payload)
        except httpx.HTTPError as exc:
            raise StepFailed(f"webhook {redact_url(ctx.step.target)} not reached: "
                             f"{type(exc).__name__}") from None  # fmt: skip
        if reply.status_code >= 300:
            raise StepFailed(f"webhook {redact_url(ctx.step.target)} answered "
                             f"{reply.status_code}: {reply.text[:200]}")  # fmt: skip
        return {"status": reply.status_code}

    return {"extract": extract, "pickup": pickup, "build": build, "quality": quality,
            "wait": wait, "webhook": webhook}  # fmt: skip


async def _asked(ask: Ask, service: str, verb: str, request: dict, wait: float) -> Any:
    """The owner's answer (waiting up to `wait` s for it); a refusal fails the attempt."""
    try:
        return await ask(service, verb, request, timeout=wait)
    except TransientError:
        raise  # the attempt fails and is retried like any other
    except FlowForgeError as exc:
        raise StepFailed(f"{service} refused ({verb}): {exc}") from None


async def post_json(http: httpx.AsyncClient, url: str, payload: dict) -> None:
    """A notification; an error names the answer, never the URL (a Slack webhook's URL is
    its secret)."""
    try:
        reply = await http.post(url, json=payload)
    except httpx.HTTPError as exc:
        raise OSError(f"{redact_url(url)} not reached: {type(exc).__name__}") from None
    if reply.status_code >= 300:
        raise OSError(f"{redact_url(url)} answered {reply.status_code}")


def redact_url(url: str) -> str:
    """A webhook URL as people may see it: where it goes, not its path or query (which hold
    the token of a Slack or Teams webhook)."""
    parts = urlsplit(url)
    hidden = parts.path not in ("", "/") or parts.query
    return f"{parts.scheme}://{parts.netloc}/" + ("…" if hidden else "")
