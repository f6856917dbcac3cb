"""Quality service: composition root."""

from __future__ import annotations

import logging
from pathlib import Path

from flowforge.common.bus import consume, publish
from flowforge.common.events import (
    DeadLettered,
    Event,
    GoldReady,
    QualityChecked,
    QualityFailed,
    QualityReconciled,
    SilverReady,
)
from flowforge.common.service import Runtime, run_service
from flowforge.common.storage import LakeFiles
from flowforge.quality import handlers, reconcile, samples, verbs
from flowforge.quality.adapters import Batches, Results, Rules
from flowforge.quality.handlers import Deps

SERVICE = "quality"
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def _deps(rt: Runtime) -> Deps:
    async def publish_event(event: Event) -> None:
        await publish(rt.broker, event, rt.settings)

    return Deps(
        files=LakeFiles(rt.store, rt.settings.home_dir / "cache" / SERVICE),
        scratch=rt.settings.scratch_dir,
        results=Results(rt.pool),
        rules=Rules(rt.pool),
        batches=Batches(rt.pool, rt.store.key_of),
        publish=publish_event,
    )


def register(rt: Runtime) -> None:
    rt.publishes(QualityChecked, QualityReconciled, QualityFailed, DeadLettered)
    deps = rt.lazy(_deps)

    async def on_silver_ready(event: SilverReady):
        return await handlers.handle_silver_ready(event, deps())

    async def on_gold_ready(event: GoldReady):
        return await reconcile.handle_gold_ready(event, deps())

    consume(rt.broker, SilverReady, on_silver_ready, service=SERVICE, settings=rt.settings,
            stage="quality")  # fmt: skip
    consume(rt.broker, GoldReady, on_gold_ready, service=SERVICE, settings=rt.settings)
    rt.serve_verbs(verbs.VERBS, deps)
    rt.serve_verbs(samples.VERBS, deps)  # a pipeline proposal's rules on its sample


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
