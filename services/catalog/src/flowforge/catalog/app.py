"""Catalog service: composition root. Records every pipeline subject (read only)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flowforge.catalog import verbs
from flowforge.catalog.descriptions import Descriptions
from flowforge.catalog.handlers import record
from flowforge.catalog.openlineage import SUBJECT as OPENLINEAGE_SUBJECT
from flowforge.catalog.openlineage import Emitter
from flowforge.catalog.queries import Queries
from flowforge.common.bus import consume
from flowforge.common.events import (
    DLQ_PREFIX,
    BronzeReady,
    CatalogUpdated,
    DeadLettered,
    Event,
    FileLanded,
    GoldReady,
    IngestFailed,
    QualityChecked,
    QualityFailed,
    SchemaChanged,
    SilverReady,
    TransformFailed,
)
from flowforge.common.service import Runtime, run_service

SERVICE = "catalog"
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
RECORDED: tuple[type[Event], ...] = (
    FileLanded,
    BronzeReady,
    SilverReady,
    QualityChecked,
    GoldReady,
    IngestFailed,
    TransformFailed,
    QualityFailed,
)


def _lineage(rt: Runtime) -> Emitter:
    async def publish(run_event: dict) -> None:
        await rt.broker.publish(json.dumps(run_event).encode(), OPENLINEAGE_SUBJECT)

    settings = rt.settings
    docs = Descriptions(rt.pool).of
    emitter = Emitter(settings.openlineage_namespace, settings.openlineage_url, publish, docs=docs)
    where = settings.openlineage_url or "no HTTP endpoint (FLOWFORGE_OPENLINEAGE_URL)"
    log.info("openlineage: %s and NATS %s", where, OPENLINEAGE_SUBJECT)
    return emitter


def register(rt: Runtime) -> None:
    rt.publishes(CatalogUpdated, SchemaChanged, DeadLettered)
    lineage = rt.lazy(_lineage)

    async def on_event(event: Event):
        return await record(event, rt.pool, lineage().recorded)

    async def send_lineage() -> None:
        await lineage().run()

    rt.background.append(send_lineage)

    for event_type in RECORDED:
        consume(rt.broker, event_type, on_event, service=SERVICE, settings=rt.settings)
    consume(
        rt.broker,
        DeadLettered,
        on_event,
        service=SERVICE,
        settings=rt.settings,
        subject=f"{DLQ_PREFIX}>",
    )
    rt.serve_verbs(
        verbs.VERBS, rt.lazy(lambda rt: Queries(rt.pool, lambda name: lineage().forget_docs(name)))
    )


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
