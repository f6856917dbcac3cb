"""Scheduler service: composition root.

Owns workflow definitions, their trigger state and run history (`scheduler.*`); fires cron
and interval ticks exactly once across replicas, runs `after` dependencies, manual runs and
backfills, executes each run's steps by asking the services that own the work, and publishes
`workflow.finished` and `workflow.alert`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from pathlib import Path

import httpx

from flowforge.common.bus import publish, raw_body
from flowforge.common.events import Event, WorkflowAlert, WorkflowFinished
from flowforge.common.service import Runtime, run_service
from flowforge.scheduler import actions, verbs
from flowforge.scheduler.engine import EventHub, Scheduler
from flowforge.scheduler.store import Store
from flowforge.scheduler.workflows import EVENT_SUBJECTS

SERVICE = "scheduler"
MIGRATIONS = Path(__file__).parent / "migrations"
FOLDER_EVERY = 5.0  # seconds between looks at the workflows folder
log = logging.getLogger(__name__)


def _deps(rt: Runtime) -> verbs.Deps:
    http = httpx.AsyncClient(timeout=30, follow_redirects=False)

    async def publish_event(event: Event) -> None:
        await publish(rt.broker, event, rt.settings)

    async def notify(url: str, payload: dict) -> None:
        await actions.post_json(http, url, payload)

    store = Store(rt.pool)
    replica = f"{socket.gethostname()}-{rt.settings.replica}-{uuid.uuid4().hex[:6]}"
    hub = EventHub()
    scheduler = Scheduler(
        store=store, actions=actions.actions(rt.ask, http, hub), replica=replica,
        publish=publish_event, notify=notify, poll=rt.settings.scheduler_poll, events=hub,
    )  # fmt: skip
    return verbs.Deps(store=store, scheduler=scheduler, ask=rt.ask)


def register(rt: Runtime) -> None:
    rt.publishes(WorkflowFinished, WorkflowAlert)
    deps = rt.lazy(_deps)
    rt.serve_verbs(verbs.VERBS, deps)

    async def schedule() -> None:
        await deps().scheduler.run_forever()

    async def watch_folder() -> None:
        folder = rt.settings.workflows_dir or rt.settings.home_dir / "workflows"
        seen: dict[str, float] = {}
        log.info("workflow definitions: %s (*.yaml), and the API", folder)
        while True:
            try:
                await verbs.load_folder(folder, deps(), seen)
            except Exception:  # noqa: BLE001 - the database away: next time
                log.exception("reading the workflows folder failed; trying again")
            await asyncio.sleep(FOLDER_EVERY)

    def hear(subject: str) -> None:
        # Every replica hears every event (no queue group): a waiting step may be on any of
        # them; a workflow started by it is keyed by the event's id, so it starts once.
        # no_reply: a JetStream publish is a request whose reply is the stream's ack; a core
        # subscriber answering it (even with nothing) would race that ack and break the
        # publisher's (it read our empty reply as the ack).
        @rt.broker.subscriber(
            subject, decoder=raw_body, no_reply=True, title=f"scheduler:{subject}"
        )
        async def on_event(body: bytes) -> None:
            try:
                envelope = json.loads(body)
                data, event_id = envelope["data"], str(envelope["id"])
            except (ValueError, KeyError, TypeError):
                return
            if isinstance(data, dict):
                await deps().scheduler.on_event(subject, data, event_id)

    for subject in EVENT_SUBJECTS:
        hear(subject)

    rt.background.append(schedule)
    rt.background.append(watch_folder)


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
