"""Transform service: composition root."""

from __future__ import annotations

from pathlib import Path

from flowforge.common.bus import consume
from flowforge.common.events import BronzeReady, JobRequested, QualityChecked
from flowforge.common.service import Runtime, run_service
from flowforge.common.storage import LakeFiles
from flowforge.transform.adapters import Batches, GoldLock, ModelRegistry
from flowforge.transform.handlers import (
    Deps,
    handle_bronze_ready,
    handle_job_requested,
    handle_quality_checked,
)

SERVICE = "transform"
MIGRATIONS = Path(__file__).parent / "migrations"


def register(rt: Runtime) -> None:
    deps: list[Deps] = []

    def resolve() -> Deps:
        # Resources open in the lifespan hook, after registration; bind them on first use.
        if not deps:
            deps.append(
                Deps(
                    files=LakeFiles(rt.store, rt.settings.home_dir / "cache" / SERVICE),
                    batches=Batches(rt.pool),
                    models=ModelRegistry(rt.pool),
                    analytics_db=rt.settings.analytics_db_path,
                    scratch=rt.settings.scratch_dir,
                    gold_lock=GoldLock(rt.pool),
                )
            )
        return deps[0]

    async def on_bronze(event: BronzeReady):
        return await handle_bronze_ready(event, resolve())

    async def on_quality(event: QualityChecked):
        return await handle_quality_checked(event, resolve())

    async def on_job(event: JobRequested):
        return await handle_job_requested(event, resolve())

    consume(
        rt.broker, BronzeReady, on_bronze, service=SERVICE, settings=rt.settings, stage="silver"
    )
    consume(
        rt.broker, QualityChecked, on_quality, service=SERVICE, settings=rt.settings, stage="gold"
    )
    consume(rt.broker, JobRequested, on_job, service=SERVICE, settings=rt.settings)


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
