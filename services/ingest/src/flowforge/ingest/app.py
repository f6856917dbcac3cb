"""Ingest service: composition root."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from flowforge.common.bus import consume, publish, raw_body
from flowforge.common.errors import BadInputError
from flowforge.common.events import (
    PROGRESS_SUBJECT,
    BronzeReady,
    DeadLettered,
    Event,
    FileLanded,
    IngestFailed,
)
from flowforge.common.secretbox import SecretBox
from flowforge.common.service import Runtime, run_service
from flowforge.common.storage import S3ObjectStore
from flowforge.ingest import samples, verbs
from flowforge.ingest.datasets import Datasets
from flowforge.ingest.formats import Limits
from flowforge.ingest.handlers import Deps, handle_file_landed
from flowforge.ingest.landing import minio_drops
from flowforge.ingest.sources import verbs as source_verbs
from flowforge.ingest.sources.config import Sources
from flowforge.ingest.sources.connections import Connections
from flowforge.ingest.watcher import Ledger, Watcher

SERVICE = "ingest"
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def _watcher(rt: Runtime) -> Watcher:
    async def send(event: Event) -> None:
        await publish(rt.broker, event, rt.settings)

    return Watcher(rt.store, Ledger(rt.pool), send, Datasets(rt.pool))


def _deps(rt: Runtime, connections: Connections) -> Deps:
    async def send_progress(run_id: str, figure: dict) -> None:
        try:
            await rt.broker.publish(figure, subject=PROGRESS_SUBJECT.format(run_id=run_id))
        except Exception:  # noqa: BLE001 - a lost progress figure is harmless
            pass

    settings = rt.settings
    datasets = Datasets(rt.pool)
    return Deps(
        store=rt.store,
        scratch=settings.scratch_dir,
        limits=Limits(settings.unpack_max_bytes, settings.unpack_max_ratio, settings.max_columns),
        previous_columns=datasets.bronze_columns,
        record_columns=datasets.record_columns,
        progress=send_progress,
        connections=connections,
        sources=Sources(rt.pool),
    )


def register(rt: Runtime) -> None:
    rt.publishes(FileLanded, BronzeReady, IngestFailed, DeadLettered)
    watcher = rt.lazy(_watcher)
    # One store of connections (its secret key read once) for the verbs and the extracts.
    connections = rt.lazy(lambda rt: Connections(rt.pool, SecretBox.from_settings(rt.settings)))
    deps = rt.lazy(lambda rt: _deps(rt, connections()))

    async def on_file_landed(event: FileLanded):
        return await handle_file_landed(event, deps())

    consume(rt.broker, FileLanded, on_file_landed, service=SERVICE, settings=rt.settings,
            stage="ingest")  # fmt: skip
    rt.serve_verbs(verbs.VERBS, rt.lazy(lambda rt: Datasets(rt.pool)))
    rt.serve_verbs(source_verbs.VERBS, connections)

    def source_deps(rt: Runtime) -> source_verbs.SourceDeps:
        async def announce(event: FileLanded) -> None:
            await publish(rt.broker, event, rt.settings)

        return source_verbs.SourceDeps(connections(), Sources(rt.pool), Datasets(rt.pool),
                                       announce)  # fmt: skip

    rt.serve_verbs(source_verbs.SOURCE_VERBS, rt.lazy(source_deps))
    # A pipeline proposal's sample (the first rows of a file or table), read as a run would.
    rt.serve_verbs(samples.VERBS, rt.lazy(lambda rt: samples.SampleDeps(
        rt.store, rt.settings.scratch_dir, deps().limits, connections())))  # fmt: skip

    async def reseal_after_rotation() -> None:
        """With FLOWFORGE_SECRET_KEY=new,old every stored secret is sealed again under the new
        key at start; then the old key can be dropped."""
        if connections().box.rotating:
            done = await connections().reseal()
            log.info("resealed %d connection password(s) under the first secret key", done)

    rt.background.append(reseal_after_rotation)

    @rt.broker.subscriber(
        rt.settings.minio_subject, queue=f"{SERVICE}-minio", decoder=raw_body, title="minio"
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

    async def pickup(request: dict) -> dict:
        """The runs of files dropped under `landing/<prefix>` in (since, until], after a
        sweep (a workflow's `pickup` step follows them)."""
        prefix = str(request.get("prefix") or "")
        if ".." in prefix or len(prefix) > 500:
            raise BadInputError("`prefix` must be a folder under landing/")
        since, until = (_when(request.get(k), k) for k in ("since", "until"))
        return {"runs": await watcher().pickup(prefix, since, until)}

    rt.serve("landing.pickup", pickup)

    async def sweep_forever() -> None:
        await watcher().run(rt.settings.landing_sweep_seconds)

    rt.background.append(sweep_forever)


def _when(value: object, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadInputError(f"`{field}` must be an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
