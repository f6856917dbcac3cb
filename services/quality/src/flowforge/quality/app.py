"""Quality service: composition root."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from flowforge.common.bus import consume, publish
from flowforge.common.errors import (
    BadInputError,
)
from flowforge.common.events import (
    QUALITY_DRYRUN,
    QUALITY_RELEASE,
    QUALITY_REPLAY,
    Event,
    GoldReady,
    SilverReady,
)
from flowforge.common.lake import check_name
from flowforge.common.service import Runtime, answer_request, run_service
from flowforge.common.storage import LakeFiles
from flowforge.quality import handlers
from flowforge.quality.adapters import Config, Results
from flowforge.quality.handlers import Deps

SERVICE = "quality"
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def register(rt: Runtime) -> None:
    deps: list[Deps] = []

    async def publish_event(event: Event) -> None:
        await publish(rt.broker, event, rt.settings)

    running: set[asyncio.Task] = set()

    def spawn(work) -> None:
        task = asyncio.create_task(work)
        running.add(task)

        def done(t: asyncio.Task) -> None:
            running.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background replay failed: %s", t.exception())

        task.add_done_callback(done)

    def resolve() -> Deps:
        # Resources open in the lifespan hook, after registration; bind them on first use.
        if not deps:
            deps.append(
                Deps(
                    files=LakeFiles(rt.store, rt.settings.home_dir / "cache" / SERVICE),
                    scratch=rt.settings.scratch_dir,
                    results=Results(rt.pool),
                    config=Config(rt.pool),
                    publish=publish_event,
                    spawn=spawn,
                )
            )
        return deps[0]

    async def on_silver_ready(event: SilverReady):
        return await handlers.handle_silver_ready(event, resolve())

    async def on_gold_ready(event: GoldReady):
        return await handlers.handle_gold_ready(event, resolve())

    consume(
        rt.broker,
        SilverReady,
        on_silver_ready,
        service=SERVICE,
        settings=rt.settings,
        stage="quality",
    )
    consume(rt.broker, GoldReady, on_gold_ready, service=SERVICE, settings=rt.settings)

    # Requests from the gateway (core NATS request/reply, shared by the replicas' queue group):
    # the reply is {"ok": ...} or {"error": message, "status": http status}.
    @rt.broker.subscriber(QUALITY_REPLAY, queue=SERVICE, title="quality:replay")
    async def on_replay(body: dict) -> dict:
        async def work() -> Any:
            dataset = check_name(str(body.get("dataset", "")))
            runs = body.get("run_ids")
            return {"runs": await handlers.replay(dataset, runs or None, resolve())}

        return await _answer(work)

    @rt.broker.subscriber(QUALITY_RELEASE, queue=SERVICE, title="quality:release")
    async def on_release(body: dict) -> dict:
        async def work() -> Any:
            return await handlers.release(
                check_name(str(body.get("dataset", ""))),
                run_id=body.get("run_id"),
                rule=body.get("rule"),
                lines=[int(x) for x in body.get("lines") or []],
                reason=str(body.get("reason") or ""),
                deps=resolve(),
            )

        return await _answer(work)

    @rt.broker.subscriber(QUALITY_DRYRUN, queue=SERVICE, title="quality:dryrun")
    async def on_dry_run(body: dict) -> dict:
        async def work() -> Any:
            rule = body.get("rule")
            if not isinstance(rule, dict):
                raise BadInputError("a dry run needs `rule`, one rule as a mapping")
            return await handlers.dry_run(check_name(str(body.get("dataset", ""))), rule, resolve())

        return await _answer(work)


async def _answer(work) -> dict:
    return await answer_request(work, "the quality request")


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
