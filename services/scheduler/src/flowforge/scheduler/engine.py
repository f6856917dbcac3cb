"""The scheduler's loop: fire due ticks, claim runs, execute their steps, alert.

Every replica runs the same loop against the same tables (store.py says why that is safe).
The clock is a parameter, so tests move time by hand instead of sleeping for minutes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flowforge.common.errors import BadInputError
from flowforge.common.events import WorkflowAlert, WorkflowFinished
from flowforge.scheduler import timing, workflows
from flowforge.scheduler.store import TERMINAL, NewRun, Store
from flowforge.scheduler.workflows import Step, Workflow

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=20)
SKIPPED_KEPT = 100
CLAIM_BATCH = 100


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class StepFailed(Exception):
    """A step's attempt failed, with the reason people read."""


@dataclass
class StepContext:
    workflow: str
    run_id: str
    step: Step
    attempt: int
    logical_start: datetime | None
    logical_end: datetime | None
    params: dict[str, Any]
    pipeline_runs: list[str]  # started by an earlier attempt or replica: wait for those
    started: Callable[[str], Awaitable[None]]  # record a pipeline run this step started


# What a step does, by kind: returns the step's output (JSON), raises StepFailed.
Action = Callable[[StepContext], Awaitable[Any]]


class EventHub:
    """Steps waiting for an event (`wait`), woken by the events this replica hears."""

    def __init__(self) -> None:
        self._waiting: list[tuple[dict, asyncio.Future]] = []

    async def wait(self, event_filter: dict) -> dict:
        entry = (event_filter, asyncio.get_running_loop().create_future())
        self._waiting.append(entry)
        try:
            return await entry[1]
        finally:
            self._waiting.remove(entry)

    def dispatch(self, subject: str, data: dict) -> None:
        for event_filter, future in list(self._waiting):
            if not future.done() and workflows.matches(event_filter, subject, data):
                future.set_result({"subject": subject, **data})


@dataclass
class Scheduler:
    store: Store
    actions: dict[str, Action]
    replica: str
    clock: Clock = field(default_factory=RealClock)
    publish: Callable[[Any], Awaitable[None]] | None = None
    notify: Callable[[str, dict], Awaitable[None]] | None = None  # (url, payload), may raise
    poll: float = 1.0
    lease: timedelta = LEASE
    notify_attempts: int = 5
    _running: dict[str, asyncio.Task] = field(default_factory=dict)
    _defs: dict[str, Workflow] = field(default_factory=dict)
    _sending: set[asyncio.Task] = field(default_factory=set)
    _paused: set[str] = field(default_factory=set)
    _parsed: dict[str, tuple[datetime, Workflow]] = field(default_factory=dict)
    _next: dict[str, tuple[datetime, datetime, datetime]] = field(default_factory=dict)
    events: EventHub = field(default_factory=EventHub)

    # --- the loop ------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            try:
                await self.step_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad pass (the database away) is retried
                log.exception("scheduler pass failed; trying again")
            # Until the next pass: `poll`, or sooner when a tick is due before then.
            soonest = min((n for *_, n in self._next.values()), default=None)
            wait = self.poll
            if soonest is not None:
                wait = min(wait, max(0.005, (soonest - self.clock.now()).total_seconds()))
            await self.clock.sleep(wait)

    async def step_once(self) -> None:
        """One pass: load definitions, fire due ticks, alert late runs, start claimable runs."""
        defs, states = await self._load()
        await self._fire(defs, states, self.clock.now())
        await self._alert_late(self.clock.now())
        await self.claim_all()

    async def _load(self) -> tuple[dict[str, Workflow], dict[str, Any]]:
        """The stored definitions (parsed once per change) and their rows."""
        rows = await self.store.workflows()
        defs, states = {}, {}
        for row in rows:
            cached = self._parsed.get(row["name"])
            if cached is None or cached[0] != row["updated_at"]:
                try:
                    cached = (row["updated_at"], workflows.parse(row["definition"]))
                except BadInputError as exc:  # stored before a rule changed: reported
                    log.warning("workflow %s cannot be parsed any more: %s", row["name"], exc)
                    continue
                self._parsed[row["name"]] = cached
            defs[row["name"]], states[row["name"]] = cached[1], row
        self._defs = defs
        self._paused = {r["name"] for r in rows if r["paused"]}
        for gone in set(self._parsed) - {r["name"] for r in rows}:  # deleted workflows
            self._parsed.pop(gone, None)
            self._next.pop(gone, None)
        return defs, states

    async def _fire(self, defs: dict[str, Workflow], states: dict[str, Any], now: datetime):
        """Every workflow's due ticks as runs, in one transaction (a minute boundary with a
        thousand schedules is one insert, not a thousand)."""
        runs: list[NewRun] = []
        advance: dict[str, datetime] = {}
        active: dict[str, int] | None = None
        for name, wf in defs.items():
            row = states[name]
            if wf.schedule is None or row["paused"]:
                continue
            basis = row["last_tick"] or row["created_at"]
            cached = self._next.get(name)
            if cached is None or cached[:2] != (basis, row["updated_at"]):  # computed once
                cached = (basis, row["updated_at"], wf.schedule.next_after(basis))
                self._next[name] = cached
            if now < cached[2]:
                continue
            fire, skipped = timing.due(wf.schedule, row["last_tick"], row["created_at"], now,
                                       wf.catchup)  # fmt: skip
            # Skipped ticks are recorded as runs (history shows what did not run and why),
            # the newest SKIPPED_KEPT: a year's outage of a minutely schedule is not 500k rows.
            for tick in skipped[-SKIPPED_KEPT:]:
                runs.append(NewRun(
                    wf.name, "schedule", [], key=f"{wf.name}@{tick.isoformat()}",
                    logical=wf.schedule.interval(tick), status="skipped",
                    reason=f"missed tick (catchup: {wf.catchup})",
                ))  # fmt: skip
            for tick in fire:
                status, reason = "queued", None
                if wf.on_limit == "skip":
                    active = active if active is not None else await self.store.active_counts()
                    if active.get(wf.name, 0) >= wf.max_active_runs:
                        status = "skipped"
                        reason = f"{wf.max_active_runs} run(s) already active (on_limit: skip)"
                    active[wf.name] = active.get(wf.name, 0) + (status == "queued")
                runs.append(NewRun(
                    wf.name, "schedule", [s.name for s in wf.steps],
                    key=f"{wf.name}@{tick.isoformat()}", logical=wf.schedule.interval(tick),
                    status=status, reason=reason,
                ))  # fmt: skip
            if fire or skipped:
                advance[name] = max([*fire, *skipped])
        added = await self.store.add_runs(runs, now)
        if added:
            log.info("%d scheduled run(s) added", len(added))
        await self.store.advance_many(advance)

    async def trigger(
        self,
        wf: Workflow,
        trigger: str,
        *,
        tick: datetime | None = None,
        logical: tuple[datetime, datetime] | None = None,
        params: dict | None = None,
        key: str | None = None,
        now: datetime | None = None,
    ) -> str | None:
        """Add a run (queued, or skipped when the workflow is at `max_active_runs` and says
        `on_limit: skip`); its id, None when its key was fired already."""
        now = now or self.clock.now()
        if tick is not None:
            assert wf.schedule is not None
            key, logical = f"{wf.name}@{tick.isoformat()}", wf.schedule.interval(tick)
        status, reason = "queued", None
        # `on_limit: skip` drops automatic runs only: a run asked for (now, or a backfill)
        # always waits its turn.
        automatic = trigger in ("schedule", "after", "event")
        if (
            automatic
            and wf.on_limit == "skip"
            and await self.store.active(wf.name) >= wf.max_active_runs
        ):
            status = "skipped"
            reason = f"{wf.max_active_runs} run(s) already active (on_limit: skip)"
        run_id = await self.store.add_run(
            wf.name, trigger, [s.name for s in wf.steps], key=key, logical=logical,
            params=params, status=status, reason=reason, now=now,
        )  # fmt: skip
        if run_id is not None:
            log.info("workflow %s: run %s %s (%s)", wf.name, run_id[:8], status, trigger)
        return run_id

    async def on_event(self, subject: str, data: dict, event_id: str) -> None:
        """An event on the bus: wake the steps waiting for it, and start the workflows that
        run on it (once per event and workflow, however many replicas hear it)."""
        self.events.dispatch(subject, data)
        await self._load()  # a workflow defined a moment ago hears it too
        for wf in list(self._defs.values()):
            if (
                wf.on_event
                and wf.name not in self._paused
                and workflows.matches(wf.on_event, subject, data)
            ):
                params = {"event": subject, "event_id": event_id,
                          "dataset": data.get("dataset"), "run_id": data.get("run_id")}  # fmt: skip
                await self.trigger(wf, "event", key=f"{wf.name}@event:{event_id}", params=params)

    async def claim_all(self) -> None:
        limits = {name: wf.max_active_runs for name, wf in self._defs.items()}
        while True:
            rows = await self.store.claim(self.replica, self.clock.now(), self.lease, limits,
                                          CLAIM_BATCH)  # fmt: skip
            starting: list[tuple[Any, Workflow]] = []
            for row in rows:
                if row["id"] in self._running:
                    continue  # ours already: its lease had lapsed (this replica stalled)
                wf = self._defs.get(row["workflow"])
                if wf is None:
                    await self.store.finish(row["id"], "cancelled", "the workflow is gone",
                                            self.clock.now())  # fmt: skip
                    continue
                starting.append((row, wf))
            # The first steps of runs that were queued start in one statement (a minute's
            # ticks start together), so a step starts within a pass of its tick.
            first = [(row["id"], s.name) for row, wf in starting if row["attempts"] == 0
                     for s in wf.steps if not s.needs]  # fmt: skip
            attempts = await self.store.steps_started(first, self.clock.now())
            for row, wf in starting:
                mine = {name: a for (rid, name), a in attempts.items() if rid == row["id"]}
                task = asyncio.create_task(self._execute(wf, row, mine))
                self._running[row["id"]] = task
                task.add_done_callback(lambda _t, rid=row["id"]: self._running.pop(rid, None))
            if len(rows) < CLAIM_BATCH:
                return

    async def wait_idle(self) -> None:
        """Until the runs this replica executes and its notifications are done (tests)."""
        while self._running or self._sending:
            tasks = [*self._running.values(), *self._sending]
            await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    # --- one run -------------------------------------------------------------------------

    async def _execute(self, wf: Workflow, run: Any, started: dict[str, int]) -> None:
        run_id = run["id"]
        tasks: dict[str, asyncio.Task] = {
            name: asyncio.create_task(self._attempt(wf, run, name, [], attempt=attempt))
            for name, attempt in started.items()
        }
        try:
            while True:
                now = self.clock.now()
                cancel = await self.store.renew(run_id, self.replica, now + self.lease)
                if cancel is None:
                    # Another replica took it over while this one stalled: it does the rest.
                    log.warning("run %s was taken over by another replica", run_id[:8])
                    for t in tasks.values():
                        t.cancel()
                    return
                if cancel:
                    for t in tasks.values():
                        t.cancel()
                    await asyncio.gather(*tasks.values(), return_exceptions=True)
                    await self._cancel_steps(run_id, now)
                    await self._finish(wf, run, "cancelled", "cancelled on request")
                    return
                steps = {s["name"]: s for s in await self.store.steps(run_id)}
                states = {n: s["status"] for n, s in steps.items()}
                for name, s in steps.items():
                    if s["status"] == "pending":
                        need = wf.step(name).needs
                        blocked = [n for n in need if states.get(n) in TERMINAL
                                   and states.get(n) != "succeeded"]  # fmt: skip
                        if blocked:
                            await self.store.step_done(run_id, name, "skipped", now,
                                error=f"skipped: {blocked[0]} did not succeed")  # fmt: skip
                            states[name] = "skipped"
                            continue
                        ready = all(states.get(n) == "succeeded" for n in need)
                        due = s["retry_at"] is None or s["retry_at"] <= now
                        if ready and due and name not in tasks:
                            tasks[name] = asyncio.create_task(self._attempt(wf, run, name, []))
                    elif s["status"] == "running" and name not in tasks:
                        # Left running by a replica that died: this one takes it over.
                        tasks[name] = asyncio.create_task(
                            self._attempt(wf, run, name, list(s["pipeline_runs"] or []), True)
                        )
                for name in [n for n, t in tasks.items() if t.done()]:
                    tasks.pop(name)
                if all(states[n] in TERMINAL for n in states) and not tasks:
                    failed = [n for n in states if states[n] == "failed"]
                    status = "failed" if failed else "succeeded"
                    reason = None
                    if failed:
                        reason = f"step {failed[0]} failed: {steps[failed[0]]['error'] or ''}"
                    await self._finish(wf, run, status, reason)
                    return
                await self.clock.sleep(min(self.poll, 1.0))
        except asyncio.CancelledError:
            for t in tasks.values():
                t.cancel()
            raise

    async def _attempt(
        self,
        wf: Workflow,
        run: Any,
        name: str,
        resume: list[str],
        resumed: bool = False,
        attempt: int | None = None,
    ) -> None:
        step = wf.step(name)
        run_id = run["id"]
        now = self.clock.now()
        if attempt is None and not resumed:
            attempt = await self.store.step_started(run_id, name, now)
        if attempt is None:
            attempt = next(
                s["attempt"] for s in await self.store.steps(run_id) if s["name"] == name
            )

        async def started(pipeline_run: str) -> None:
            await self.store.step_pipeline_run(run_id, name, pipeline_run)

        ctx = StepContext(
            workflow=wf.name, run_id=run_id, step=step, attempt=attempt,
            logical_start=run["logical_start"], logical_end=run["logical_end"],
            params=dict(run["params"] or {}), pipeline_runs=resume, started=started,
        )  # fmt: skip
        try:
            async with asyncio.timeout(step.timeout.total_seconds()):
                output = await self.actions[step.kind](ctx)
        except (StepFailed, TimeoutError, Exception) as exc:  # noqa: BLE001 - each is the step's
            if isinstance(exc, TimeoutError):
                error = f"timed out after {human(step.timeout)}"
            elif isinstance(exc, StepFailed):
                error = str(exc)
            else:
                error = f"{type(exc).__name__}: {exc}"
            now = self.clock.now()
            if attempt <= step.retries:
                delay = step.retry_delay * (2 ** (attempt - 1))
                log.warning("workflow %s step %s attempt %d failed (%s); again in %s",
                            wf.name, name, attempt, error, delay)  # fmt: skip
                await self.store.step_done(run_id, name, "pending", now, error=error,
                                           retry_at=now + delay)  # fmt: skip
            else:
                log.warning("workflow %s step %s failed after %d attempt(s): %s",
                            wf.name, name, attempt, error)  # fmt: skip
                await self.store.step_done(run_id, name, "failed", now, error=error)
            return
        await self.store.step_done(run_id, name, "succeeded", self.clock.now(), output=output)

    async def _cancel_steps(self, run_id: str, now: datetime) -> None:
        for s in await self.store.steps(run_id):
            if s["status"] not in TERMINAL:
                await self.store.step_done(run_id, s["name"], "cancelled", now,
                                           error="the run was cancelled")  # fmt: skip

    async def _finish(self, wf: Workflow, run: Any, status: str, reason: str | None) -> None:
        now = self.clock.now()
        await self.store.finish(run["id"], status, reason, now)
        done = await self.store.run(run["id"])
        log.info("workflow %s: run %s %s", wf.name, run["id"][:8], status)
        event = WorkflowFinished(
            run_id=run["id"], dataset=wf.name, workflow=wf.name, status=status,
            trigger=run["trigger"], logical_start=run["logical_start"],
            logical_end=run["logical_end"], started_at=done["started_at"], finished_at=now,
            reason=reason, steps={s["name"]: s["status"] for s in done["steps"]},
            pipeline_runs=[r for s in done["steps"] for r in s["pipeline_runs"]],
        )  # fmt: skip
        if self.publish is not None:
            await self.publish(event)
        if status == "succeeded":
            await self._start_dependents(wf, run, now)
        alert = {"failed": "failure", "succeeded": "success"}.get(status)
        if alert:
            await self._alert(wf, run, alert, finished_text(wf.name, status, reason))

    async def _start_dependents(self, wf: Workflow, run: Any, now: datetime) -> None:
        """Workflows with `after: [this one]` run for the same logical interval."""
        logical = (run["logical_start"], run["logical_end"]) if run["logical_end"] else None
        for other in self._defs.values():
            if wf.name in other.after:
                await self.trigger(other, "after", logical=logical, now=now,
                                   key=f"{other.name}@after:{run['id']}",
                                   params={"after": wf.name, "after_run": run["id"]})  # fmt: skip

    async def _alert_late(self, now: datetime) -> None:
        slas = {n: wf.sla.total_seconds() for n, wf in self._defs.items() if wf.sla}
        for run in await self.store.late_runs(slas, now):
            wf = self._defs[run["workflow"]]
            assert wf.sla is not None
            text = (f"workflow {wf.name} has been running for more than "
                    f"{human(wf.sla)} (its SLA)")  # fmt: skip
            await self._alert(wf, run, "sla", text)

    async def _alert(self, wf: Workflow, run: Any, alert: str, text: str) -> None:
        if self.publish is not None:
            await self.publish(WorkflowAlert(run_id=run["id"], dataset=wf.name,
                                             workflow=wf.name, alert=alert, text=text,
                                             logical_end=run["logical_end"]))  # fmt: skip
        for target in wf.notify:
            if alert in target.on:
                nid = await self.store.notification(run["id"], wf.name, alert, target.webhook)
                if nid is not None:
                    task = asyncio.create_task(self._send(nid, target.webhook, wf, run, alert,
                                                          text))  # fmt: skip
                    self._sending.add(task)
                    task.add_done_callback(self._sending.discard)

    async def _send(self, nid: int, url: str, wf: Workflow, run: Any, alert: str, text: str):
        """Slack-compatible JSON (`text`), with the details beside it; retried with backoff,
        every attempt recorded."""
        payload = {
            "text": text, "workflow": wf.name, "run_id": run["id"], "alert": alert,
            "logical_end": run["logical_end"].isoformat() if run["logical_end"] else None,
        }  # fmt: skip
        for attempt in range(1, self.notify_attempts + 1):
            try:
                assert self.notify is not None
                await self.notify(url, payload)
            except Exception as exc:  # noqa: BLE001 - recorded, retried
                await self.store.notified(nid, False, f"{type(exc).__name__}: {exc}",
                                          self.clock.now())  # fmt: skip
                if attempt < self.notify_attempts:
                    await self.clock.sleep(min(2**attempt, 60))
                continue
            await self.store.notified(nid, True, None, self.clock.now())
            return
        await self.store.gave_up(nid)


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def finished_text(workflow: str, status: str, reason: str | None) -> str:
    """What the alert of a finished workflow run says (and the dashboard shows)."""
    return f"workflow {workflow} {status}" + (f": {reason}" if reason else "")
