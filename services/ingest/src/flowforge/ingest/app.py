"""Ingest service: composition root."""

from __future__ import annotations

import json
from pathlib import Path

from flowforge.common.bus import consume, publish, raw_body
from flowforge.common.events import PROGRESS_SUBJECT, Event, FileLanded
from flowforge.common.service import Runtime, run_service
from flowforge.common.storage import S3ObjectStore
from flowforge.ingest.formats import Limits
from flowforge.ingest.handlers import Deps, handle_file_landed
from flowforge.ingest.landing import minio_drops
from flowforge.ingest.watcher import Ledger, Watcher

SERVICE = "ingest"
MIGRATIONS = Path(__file__).parent / "migrations"


def register(rt: Runtime) -> None:
    settings = rt.settings
    watchers: list[Watcher] = []

    def watcher() -> Watcher:
        # Resources open in the lifespan hook, after registration; bind them on first use.
        if not watchers:

            async def send(event: Event) -> None:
                await publish(rt.broker, event, settings)

            watchers.append(Watcher(rt.store, Ledger(rt.pool), send))
        return watchers[0]

    async def send_progress(run_id: str, figure: dict) -> None:
        try:
            await rt.broker.publish(figure, subject=PROGRESS_SUBJECT.format(run_id=run_id))
        except Exception:  # noqa: BLE001 - a lost progress figure is harmless
            pass

    async def on_file_landed(event: FileLanded):
        limits = Limits(settings.unpack_max_bytes, settings.unpack_max_ratio)
        deps = Deps(store=rt.store, scratch=settings.scratch_dir, limits=limits,
                    previous_columns=Ledger(rt.pool).previous_columns,
                    progress=send_progress)  # fmt: skip
        return await handle_file_landed(event, deps)

    consume(rt.broker, FileLanded, on_file_landed, service=SERVICE, settings=settings,
            stage="ingest")  # fmt: skip

    @rt.broker.subscriber(
        settings.minio_subject, queue=f"{SERVICE}-minio", decoder=raw_body, title="minio"
    )
    async def on_minio_notification(body: bytes) -> None:
        """MinIO bucket notifications (core NATS). Lost ones are caught by the sweep."""
        store = rt.store
        if not isinstance(store, S3ObjectStore):
            return
        try:
            payload = json.loads(body)
        except (ValueError, TypeError):
            return
        for drop in minio_drops(payload if isinstance(payload, dict) else {}, store.bucket):
            await watcher().announce(drop, "notification")

    async def sweep_forever() -> None:
        await watcher().run(settings.landing_sweep_seconds)

    rt.background.append(sweep_forever)


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
