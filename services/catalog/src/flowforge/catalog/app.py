"""Catalog service: composition root. Records every pipeline subject (read only)."""

from __future__ import annotations

from pathlib import Path

from flowforge.catalog import verbs
from flowforge.catalog.handlers import record
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


def register(rt: Runtime) -> None:
    rt.publishes(CatalogUpdated, SchemaChanged, DeadLettered)

    async def on_event(event: Event):
        return await record(event, rt.pool)

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
    rt.serve_verbs(verbs.VERBS, rt.lazy(lambda rt: Queries(rt.pool)))


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
