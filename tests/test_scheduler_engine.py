"""The scheduler's engine against a real PostgreSQL, with a clock moved by hand: catch-up after
an outage, backfill under max_active_runs, a dependency chain with a retried failure, two
replicas firing one tick once, a dead replica's run taken over, cancelling, SLA alerts and
retried notifications. Step actions are stand-ins that record what they were asked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from flowforge.common.db import create_pool, migrate
from flowforge.scheduler import timing, workflows
from flowforge.scheduler.engine import LEASE, Scheduler, StepContext, StepFailed
from flowforge.scheduler.store import Store

pytestmark = pytest.mark.e2e
MIGRATIONS = Path(__file__).parents[1] / "services/scheduler/src/flowforge/scheduler/migrations"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, now: datetime):
        self.t = now

    def now(self) -> datetime:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0.002)  # time stands still until the test moves it

    def advance(self, **delta: float) -> None:
        self.t += timedelta(**delta)


class Recorder:
    """Stand-in step actions: record each call; `fail` maps a step to attempts that fail;
    `hold` keeps steps running until released."""

    def __init__(self):
        self.calls: list[StepContext] = []
        self.fail: dict[str, set[int]] = {}
        self.release = asyncio.Event()
        self.hold = False
        self.running = 0
        self.most = 0

    async def __call__(self, ctx: StepContext):
        self.calls.append(ctx)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            if self.hold:
                await self.release.wait()
            await asyncio.sleep(0.005)
            if ctx.attempt in self.fail.get(ctx.step.name, set()):
                raise StepFailed(f"{ctx.step.name} broke on attempt {ctx.attempt}")
            if ctx.step.kind == "extract" and not ctx.pipeline_runs:
                await ctx.started(f"pipe-{ctx.run_id[:6]}-{ctx.step.name}-{ctx.attempt}")
            return {"ok": ctx.step.name}
        finally:
            self.running -= 1


@pytest.fixture
def database(platform):
    """A fresh database with the scheduler's tables, on the platform's PostgreSQL."""
    url = platform.endpoints["database_url"]
    name = f"sched_{uuid.uuid4().hex[:10]}"

    async def make():
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()

    asyncio.run(make())
    return url.rsplit("/", 1)[0] + f"/{name}"


def scenario(dsn: str, body, replicas: int = 1, **kw):
    """Run `body(store, schedulers, clock, recorder)` with fresh engines on `dsn`."""

    async def go():
        pool = await create_pool(dsn, max_size=6)
        await migrate(pool, "scheduler", MIGRATIONS)
        store, clock, recorder = Store(pool), ManualClock(T0), Recorder()
        sent: list[tuple[str, dict]] = []

        async def notify(url, payload):
            sent.append((url, payload))
            if kw.get("notify_fails", 0) >= len(sent):
                raise OSError("webhook down")

        published: list = []

        async def publish(event):
            published.append(event)

        engines = [
            Scheduler(
                store=store,
                actions=dict.fromkeys(workflows.STEP_KINDS, recorder),
                replica=f"r{i}",
                clock=clock,
                publish=publish,
                notify=notify,
                poll=0.01,
                lease=kw.get("lease", LEASE),
            )
            for i in range(replicas)
        ]
        try:
            return await body(
                store, engines, clock, recorder, {"sent": sent, "published": published}
            )
        finally:
            for e in engines:
                await e.stop()
            await pool.close()

    return asyncio.run(go())


async def define(store: Store, doc: dict, now: datetime) -> workflows.Workflow:
    wf = workflows.parse(doc)
    await store.put_workflow(wf.name, wf.document, "api", now)
    return wf


async def drive(engines, until, passes: int = 400):
    for _ in range(passes):
        for e in engines:
            await e.step_once()
        if await until():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the scheduler did not get there")


async def statuses(store: Store, workflow: str) -> list[tuple[str, str]]:
    page = await store.runs(workflow, 200, None, None)
    return sorted(
        (r["logical_end"].isoformat() if r["logical_end"] else "", r["status"])
        for r in page["runs"]
    )


HOURLY = {"cron": "0 * * * *", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("catchup", "fired", "skipped"),
    [("all", 3, 0), ("latest", 1, 2), ("none", 0, 3)],
)
def test_missed_ticks_after_an_outage_follow_the_catchup_policy(database, catchup, fired, skipped):
    async def body(store, engines, clock, recorder, seen):
        (engine,) = engines
        wf = await define(
            store,
            {
                "name": "hourly",
                "schedule": HOURLY,
                "catchup": catchup,
                "max_active_runs": 5,
                "steps": [{"name": "go", "webhook": "http://h/x"}],
            },
            clock.t,
        )
        clock.advance(minutes=30)
        await engine.step_once()
        assert await statuses(store, wf.name) == []  # 10:30: no tick since it was made
        clock.advance(minutes=30, seconds=5)  # 11:00:05: the 11:00 tick, on time
        await drive(engines, lambda: _all_done(store, wf.name, 1))
        # The scheduler is down from 11:01 to 14:30: 12:00, 13:00 and 14:00 were missed.
        clock.t = T0.replace(hour=14, minute=30)
        await drive(engines, lambda: _all_done(store, wf.name, 1 + fired + skipped))
        runs = await statuses(store, wf.name)
        assert [s for _, s in runs].count("succeeded") == 1 + fired
        assert [s for _, s in runs].count("skipped") == skipped
        if catchup == "latest":  # the newest is run, the older two are not
            assert runs[-1] == (T0.replace(hour=14).isoformat(), "succeeded")
        # Each tick exactly once, whatever more passes run.
        for _ in range(5):
            await engine.step_once()
        assert len(await statuses(store, wf.name)) == 1 + fired + skipped

    scenario(database, body)


async def _all_done(store: Store, workflow: str, n: int) -> bool:
    runs = (await store.runs(workflow, 500, None, None))["runs"]
    return len(runs) == n and all(r["status"] in ("succeeded", "failed", "skipped") for r in runs)


def test_a_backfill_of_30_days_runs_three_at_a_time_one_run_per_interval(database):
    async def body(store, engines, clock, recorder, seen):
        daily = {"cron": "0 2 * * *", "timezone": "America/New_York"}
        wf = await define(
            store,
            {
                "name": "daily",
                "schedule": daily,
                "max_active_runs": 3,
                "steps": [
                    {"name": "load", "extract": "orders"},
                    {"name": "models", "build": ["totals"], "needs": ["load"]},
                ],
            },
            clock.t,
        )
        start, end = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC)
        intervals = timing.backfill(wf.schedule, start, end)
        assert len(intervals) == 30
        engine = engines[0]
        for interval in intervals:
            await engine.trigger(wf, "backfill", logical=interval)
        recorder.hold = True  # steps run until released: the runs pile up
        for _ in range(5):
            await engine.step_once()
        page = (await store.runs(wf.name, 100, None, None))["runs"]
        assert sorted(r["status"] for r in page).count("running") == 3
        assert sum(r["status"] == "queued" for r in page) == 27
        running = []

        async def done():
            page = (await store.runs(wf.name, 100, None, None))["runs"]
            running.append(sum(r["status"] == "running" for r in page))
            return all(r["status"] == "succeeded" for r in page)

        recorder.release.set()
        await drive(engines, done, passes=2000)
        assert max(running) <= 3 and recorder.most <= 3
        page = (await store.runs(wf.name, 100, None, None))["runs"]
        got = sorted((r["logical_start"], r["logical_end"]) for r in page)
        assert got == intervals  # one run per interval, none twice
        loads = [c for c in recorder.calls if c.step.name == "load"]
        assert sorted(c.logical_end for c in loads) == [e for _, e in intervals]

    scenario(database, body)


def test_a_dependency_chain_retries_the_step_that_failed_once(database):
    async def body(store, engines, clock, recorder, seen):
        step = {"name": "work", "webhook": "http://h/x", "retries": 2, "retry_delay": "1m"}
        a = await define(store, {"name": "wf_a", "steps": [step]}, clock.t)
        await define(
            store,
            {
                "name": "wf_b",
                "after": ["wf_a"],
                "steps": [
                    {**step, "name": "first"},
                    {**step, "name": "second", "needs": ["first"]},
                ],
            },
            clock.t,
        )
        await define(store, {"name": "wf_c", "after": ["wf_b"], "steps": [step]}, clock.t)
        recorder.fail["first"] = {1}  # B's first step fails once
        engine = engines[0]
        await engine.step_once()
        await engine.trigger(a, "manual")

        async def c_done():
            runs = (await store.runs("wf_c", 10, None, None))["runs"]
            if not runs:  # B waits for its retry: move time past it
                clock.advance(seconds=20)
            return bool(runs) and runs[0]["status"] == "succeeded"

        await drive(engines, c_done, passes=2000)
        (b_run,) = (await store.runs("wf_b", 10, None, None))["runs"]
        assert b_run["status"] == "succeeded" and b_run["trigger"] == "after"
        first = next(s for s in b_run["steps"] if s["name"] == "first")
        assert first["attempts"] == 2 and first["status"] == "succeeded"
        (c_run,) = (await store.runs("wf_c", 10, None, None))["runs"]
        assert c_run["params"]["after"] == "wf_b"
        finished = [e for e in seen["published"] if e.SUBJECT == "workflow.finished"]
        assert [e.workflow for e in finished] == ["wf_a", "wf_b", "wf_c"]

    scenario(database, body)


def test_a_step_whose_need_failed_is_skipped_and_the_run_fails_with_the_reason(database):
    async def body(store, engines, clock, recorder, seen):
        await define(
            store,
            {
                "name": "broken",
                "notify": [{"webhook": "http://alerts/x", "on": ["failure"]}],
                "steps": [
                    {"name": "load", "extract": "orders"},
                    {"name": "models", "build": ["totals"], "needs": ["load"]},
                ],
            },
            clock.t,
        )
        recorder.fail["load"] = {1}
        engine = engines[0]
        await engine.step_once()
        run_id = await engine.trigger(engine._defs["broken"], "manual")
        await drive(engines, lambda: _all_done(store, "broken", 1))
        await engine.wait_idle()
        run = await store.run(run_id)
        assert run["status"] == "failed"
        assert run["reason"] == "step load failed: load broke on attempt 1"
        steps = {s["name"]: s for s in run["steps"]}
        assert steps["models"]["status"] == "skipped"
        assert steps["load"]["pipeline_runs"] == []  # it failed before starting one
        # The failure alert: on the bus and to the webhook, Slack-shaped.
        (alert,) = [e for e in seen["published"] if e.SUBJECT == "workflow.alert"]
        assert alert.alert == "failure" and "load broke" in alert.text
        ((url, payload),) = seen["sent"]
        assert url == "http://alerts/x" and payload["text"].startswith("workflow broken failed")

    scenario(database, body)


def test_two_replicas_fire_each_tick_once(database):
    async def body(store, engines, clock, recorder, seen):
        doc = {
            "name": "minutely",
            "schedule": {"cron": "* * * * *"},
            "catchup": "all",
            "max_active_runs": 10,
            "steps": [{"name": "go", "webhook": "http://h/x"}],
        }
        wf = await define(store, doc, clock.t)
        for _ in range(5 * 6):  # five minutes, both replicas looking every 10 s
            clock.advance(seconds=10)
            await asyncio.gather(*(e.step_once() for e in engines))
        await drive(engines, lambda: _all_done(store, wf.name, 5))
        runs = await statuses(store, wf.name)
        assert len(runs) == 5 and len({t for t, _ in runs}) == 5
        calls = sorted((c.run_id[:6], c.attempt, tuple(c.pipeline_runs)) for c in recorder.calls)
        assert len(recorder.calls) == 5, calls  # each tick's step ran once, on either replica

    # Time jumps 10 s a pass here; a lease must outlast a pass waiting for a pool connection
    # (real time moves smoothly: 20 s is plenty there). Take-over has its own test.
    scenario(database, body, replicas=2, lease=timedelta(minutes=10))


def test_a_dead_replicas_run_is_taken_over_and_its_pipeline_run_followed(database):
    async def body(store, engines, clock, recorder, seen):
        first, second = engines
        wf = await define(
            store, {"name": "takeover", "steps": [{"name": "load", "extract": "orders"}]}, clock.t
        )
        recorder.hold = True
        await first.step_once()
        run_id = await first.trigger(wf, "manual")
        await first.step_once()  # first claims it and starts the step
        for _ in range(200):
            if recorder.calls:
                break
            await asyncio.sleep(0.01)
        await first.stop()  # the replica dies mid-step (no lease renewal any more)
        await store.step_pipeline_run(run_id, "load", "pipe-started-before-death")
        clock.advance(seconds=5)
        await second.step_once()
        assert (await store.run(run_id))["status"] == "running"  # the lease still holds
        clock.advance(seconds=30)
        recorder.hold = False
        recorder.release.set()
        await drive([second], lambda: _all_done(store, "takeover", 1))
        run = await store.run(run_id)
        assert run["status"] == "succeeded"
        resumed = recorder.calls[-1]
        assert resumed.pipeline_runs == ["pipe-started-before-death"]  # followed, not redone
        assert run["steps"][0]["attempts"] == 1

    scenario(database, body, replicas=2)


def test_a_running_run_can_be_cancelled(database):
    async def body(store, engines, clock, recorder, seen):
        (engine,) = engines
        steps = [
            {"name": "load", "extract": "orders"},
            {"name": "after_it", "webhook": "http://h/x", "needs": ["load"]},
        ]
        wf = await define(store, {"name": "cancelme", "steps": steps}, clock.t)
        recorder.hold = True
        await engine.step_once()
        run_id = await engine.trigger(wf, "manual")
        await engine.step_once()
        await store.cancel("cancelme", run_id, clock.t)
        await drive(engines, lambda: _all_done_or_cancelled(store, run_id))
        run = await store.run(run_id)
        assert run["status"] == "cancelled" and run["reason"] == "cancelled on request"
        assert {s["status"] for s in run["steps"]} == {"cancelled"}

    scenario(database, body)


async def _all_done_or_cancelled(store: Store, run_id: str) -> bool:
    return (await store.run(run_id))["status"] == "cancelled"


def test_a_late_run_alerts_once_and_a_failing_webhook_is_retried_and_recorded(database):
    async def body(store, engines, clock, recorder, seen):
        (engine,) = engines
        wf = await define(
            store,
            {
                "name": "slow",
                "sla": "10m",
                "notify": [{"webhook": "http://alerts/sla", "on": ["sla"]}],
                "steps": [{"name": "load", "extract": "orders"}],
            },
            clock.t,
        )
        recorder.hold = True
        await engine.step_once()
        run_id = await engine.trigger(wf, "manual")
        await engine.step_once()
        clock.advance(minutes=11)
        await engine.step_once()
        await engine.step_once()  # a second pass does not alert again
        recorder.release.set()
        await drive(engines, lambda: _all_done(store, "slow", 1))
        await engine.wait_idle()
        alerts = [e for e in seen["published"] if e.SUBJECT == "workflow.alert"]
        assert [a.alert for a in alerts] == ["sla", "success"]  # late once, then done
        assert len(seen["sent"]) == 3  # two failures, then delivered
        (note,) = await store.notifications(run_id)
        assert note["status"] == "sent" and note["attempts"] == 3
        assert note["last_error"] is None

    scenario(database, body, notify_fails=2)


def test_an_event_starts_its_workflow_once_and_wakes_a_waiting_step(database):
    async def body(store, engines, clock, recorder, seen):
        first, second = engines
        on_gold = {"subject": "gold.ready", "model": "revenue"}
        await define(
            store,
            {
                "name": "on_gold",
                "on_event": on_gold,
                "steps": [{"name": "go", "webhook": "http://h/x"}],
            },
            clock.t,
        )
        waits = await define(
            store,
            {
                "name": "waits",
                "steps": [
                    {
                        "name": "until",
                        "wait": {"subject": "schema.changed", "dataset": "orders"},
                        "timeout": "1h",
                    }
                ],
            },
            clock.t,
        )
        for e in engines:
            e.actions["wait"] = _real_wait(e)
            await e.step_once()
        data = {"run_id": "p1", "dataset": "orders", "models": [{"name": "revenue"}]}
        other = {"run_id": "p2", "dataset": "orders", "models": [{"name": "costs"}]}
        for e in engines:  # both replicas hear each event
            await e.on_event("gold.ready", data, "gold.ready:p1")
            await e.on_event("gold.ready", other, "gold.ready:p2")
        await drive(engines, lambda: _all_done(store, "on_gold", 1))
        (run,) = (await store.runs("on_gold", 10, None, None))["runs"]
        assert run["trigger"] == "event" and run["params"]["run_id"] == "p1"

        run_id = await first.trigger(waits, "manual")
        for _ in range(20):
            await first.step_once()
            await second.step_once()
        assert (await store.run(run_id))["status"] == "running"  # nothing heard yet
        for e in engines:
            await e.on_event("schema.changed", {"run_id": "p3", "dataset": "other"}, "s:p3")
            await e.on_event("schema.changed", {"run_id": "p4", "dataset": "orders"}, "s:p4")
        await drive(engines, lambda: _all_done(store, "waits", 1))
        done = await store.run(run_id)
        assert done["status"] == "succeeded" and done["steps"][0]["output"]["run_id"] == "p4"

    scenario(database, body, replicas=2)


def _real_wait(engine):
    async def wait(ctx):
        heard = await engine.events.wait(ctx.step.target)
        return {"run_id": heard["run_id"]}

    return wait


def test_on_limit_skip_drops_ticks_while_busy_but_never_a_run_asked_for(database):
    async def body(store, engines, clock, recorder, seen):
        (engine,) = engines
        doc = {
            "name": "busy",
            "schedule": {"cron": "* * * * *"},
            "on_limit": "skip",
            "catchup": "all",
            "steps": [{"name": "go", "webhook": "http://h/x"}],
        }
        wf = await define(store, doc, clock.t)
        recorder.hold = True
        clock.advance(minutes=1, seconds=1)
        await engine.step_once()  # 10:01 fires and runs (held)
        clock.advance(minutes=1)
        await engine.step_once()  # 10:02 comes while 10:01 runs: skipped
        asked = await engine.trigger(wf, "manual")  # waits, never skipped
        statuses_now = {
            r["trigger"] + ":" + r["status"]
            for r in (await store.runs("busy", 10, None, None))["runs"]
        }
        assert statuses_now == {"schedule:running", "schedule:skipped", "manual:queued"}
        recorder.release.set()
        await drive(engines, lambda: _all_done(store, "busy", 3))
        assert (await store.run(asked))["status"] == "succeeded"

    scenario(database, body)
