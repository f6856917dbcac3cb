"""Transform service: composition root."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from flowforge.common.bus import consume, publish
from flowforge.common.events import (
    BronzeReady,
    DeadLettered,
    Event,
    GoldReady,
    JobRequested,
    QualityChecked,
    SilverReady,
    TransformFailed,
)
from flowforge.common.lakehouse import Lakehouse
from flowforge.common.service import Runtime, run_service
from flowforge.common.storage import LakeFiles
from flowforge.transform import samples, verbs
from flowforge.transform.adapters import Batches, GoldLock, ModelRegistry, SilverSpecs
from flowforge.transform.folding import FoldQueue, ViewsQueue, fold_due
from flowforge.transform.handlers import (
    Deps,
    build_requested,
    handle_bronze_ready,
    handle_job_requested,
    handle_quality_checked,
    handle_quality_checked_group,
    housekeeping,
    refresh_views,
)
from flowforge.transform.tables import SilverTables

log = logging.getLogger(__name__)
SERVICE = "transform"
MIGRATIONS = Path(__file__).parent / "migrations"


def _deps(rt: Runtime, folds: FoldQueue, views: ViewsQueue) -> Deps:
    files = LakeFiles(rt.store, rt.settings.home_dir / "cache" / SERVICE)
    return Deps(
        files=files,
        batches=Batches(rt.pool),
        models=ModelRegistry(rt.pool),
        analytics_db=rt.settings.analytics_db_path,
        scratch=rt.settings.scratch_dir,
        gold_lock=GoldLock(rt.pool),
        specs=SilverSpecs(rt.pool),
        silver_timeout=rt.settings.silver_timeout_seconds,
        model_timeout=rt.settings.model_timeout_seconds,
        tables=_tables(rt, files),
        folds=folds,
        views=views,
    )


def _tables(rt: Runtime, files: LakeFiles) -> SilverTables:
    return SilverTables(
        rt.pool,
        Lakehouse(rt.store),
        files,
        fold_ratio=rt.settings.fold_ratio,
        fold_batches=rt.settings.fold_batches,
    )


def _verb_deps(rt: Runtime, deps) -> verbs.VerbDeps:
    async def send(event: Event) -> None:
        await publish(rt.broker, event, rt.settings)

    async def build(job: JobRequested) -> list[Event]:
        return await build_requested(job, deps())

    return verbs.VerbDeps(
        models=ModelRegistry(rt.pool),
        specs=SilverSpecs(rt.pool),
        batches=Batches(rt.pool),
        tables=_tables(rt, LakeFiles(rt.store, rt.settings.home_dir / "cache" / SERVICE)),
        publish=send,
        build=build,
    )


def register(rt: Runtime) -> None:
    rt.publishes(SilverReady, GoldReady, TransformFailed, JobRequested, DeadLettered)
    folds = FoldQueue(lambda dataset: deps().tables.fold(dataset))
    views = ViewsQueue(lambda dataset, models: refresh_views(deps(), dataset, models))
    deps = rt.lazy(lambda rt: _deps(rt, folds, views))
    verb_deps = rt.lazy(lambda rt: _verb_deps(rt, deps))

    async def on_bronze(event: BronzeReady):
        return await handle_bronze_ready(event, deps())

    async def on_quality(event: QualityChecked):
        return await handle_quality_checked(event, deps())

    async def on_job(event: JobRequested):
        return await handle_job_requested(event, deps())

    settings = rt.settings
    consume(rt.broker, BronzeReady, on_bronze, service=SERVICE, settings=settings, stage="silver")

    async def on_quality_group(events: list[QualityChecked]):
        return await handle_quality_checked_group(events, deps())

    consume(rt.broker, QualityChecked, on_quality, service=SERVICE, settings=settings,
            stage="gold", group=(on_quality_group, settings.gold_group))  # fmt: skip
    consume(rt.broker, JobRequested, on_job, service=SERVICE, settings=settings)
    rt.serve_verbs(verbs.VERBS, verb_deps)
    rt.serve_verbs(samples.VERBS, deps)  # a pipeline proposal's dry run on its sample
    retention = timedelta(hours=settings.lakehouse_retention_hours)

    async def tidy(request: dict) -> dict:
        """Lakehouse housekeeping now (`retention_hours` overrides the setting)."""
        hours = request.get("retention_hours")
        keep = timedelta(hours=float(hours)) if hours is not None else retention
        return {"removed": await housekeeping(deps(), keep)}

    rt.serve("lakehouse.housekeeping", tidy)

    async def tidy_forever() -> None:
        while True:
            await asyncio.sleep(settings.housekeeping_seconds)
            try:
                await housekeeping(deps(), retention)
            except Exception:  # the next round tries again
                log.exception("lakehouse housekeeping failed")

    rt.background.append(tidy_forever)

    async def fold_forever() -> None:
        # Marks die with a process: fold what is due at start, then what the Gold stage marks.
        try:
            await fold_due(await deps().batches.datasets(), deps().tables.fold)
        except Exception:  # housekeeping tries again within the hour
            log.exception("silver folds at start-up failed")
        await folds.run()

    rt.background.append(fold_forever)
    rt.background.append(views.run)


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
