"""Catalog handlers: record every pipeline event as runs, stages, assets, versions, lineage."""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg

from flowforge.catalog.records import Records, node
from flowforge.common.events import (
    BronzeReady,
    CatalogUpdated,
    DeadLettered,
    Event,
    FileLanded,
    GoldReady,
    PipelineEvent,
    QualityChecked,
    SchemaChanged,
    SchemaDiff,
    SilverReady,
    StageFailed,
    subject_of,
)

log = logging.getLogger(__name__)

# The stage a dead-lettered message failed: the subject's consumer that performs that stage
# (durable `<service>--<subject>`). Another consumer of the subject (ai profiling Bronze, say)
# giving up fails no stage of the run: its own dead letter says what went wrong.
STAGE_OF_CONSUMER = {
    ("file.landed", "ingest"): "ingest",
    ("bronze.ready", "transform"): "silver",
    ("silver.ready", "quality"): "quality",
    ("quality.checked", "transform"): "gold",
}


async def record(
    event: Event, pool: asyncpg.Pool, recorded: Callable[[Event], None] | None = None
) -> list[Event]:
    """Record one event in one transaction; returns `catalog.updated` events for schema
    changes. `recorded(event)` is told of an event recorded for the first time, once its
    transaction committed (OpenLineage is made from those)."""
    async with pool.acquire() as conn, conn.transaction():
        records = Records(conn)
        if await records.seen(event.event_id, subject_of(event), event, event.to_cloudevent()):
            return []
        if isinstance(event, PipelineEvent) and not getattr(event, "job", False):
            if event.revision < await records.revision_of(event.run_id):
                return []  # an older revision's event, late: its counts are stale
            await records.touch_run(event)
        out = await _apply(event, records)
    if recorded is not None:
        recorded(event)
    return out


async def _apply(event: Event, r: Records) -> list[Event]:
    match event:
        case FileLanded():
            await r.refresh_status(
                event.run_id,
                details={"landing_uri": event.landing_uri, "size_bytes": event.size_bytes},
            )
            await r.add_object(event.dataset, "landing", event.run_id, event.landing_uri, 0)
            return []
        case BronzeReady():
            return await _bronze(event, r)
        case SilverReady():
            return await _silver(event, r)
        case QualityChecked():
            return await _quality(event, r)
        case GoldReady():
            return await _gold(event, r)
        case StageFailed():
            await r.set_stage(event.run_id, event.stage, "failed", event.timing, event.error)
            await r.skip_after(event.run_id, event.stage)
            await r.refresh_status(event.run_id, error=event.error)
            return []
        case DeadLettered():
            return await _dead_letter(event, r)
    return []


async def _bronze(event: BronzeReady, r: Records) -> list[Event]:
    await r.set_stage(event.run_id, "ingest", "succeeded", event.timing)
    await r.set_stage(event.run_id, "silver", "running")
    version, changed, diff = await r.upsert_asset(
        event.dataset,
        "bronze",
        event.bronze_uri.rsplit("/", 1)[0] + "/",
        event.columns,
        event.schema_fingerprint,
        event.run_id,
    )
    await r.add_object(
        event.dataset, "bronze", event.run_id, event.bronze_uri, event.counts.bronze or 0
    )
    if event.rejected_uri:
        await r.add_object(
            event.dataset, "rejected", event.run_id, event.rejected_uri, event.counts.rejected or 0
        )
    await r.edge(f"file:{event.filename}", node("bronze", event.dataset), event.run_id)
    await r.refresh_status(
        event.run_id,
        details={
            "bronze_uri": event.bronze_uri,
            "rejected_uri": event.rejected_uri,
            "encoding": event.encoding,
            "delimiter": event.delimiter,
            "has_header": event.has_header,
            "reading": {
                "format": event.format,
                "encoding": event.encoding if event.format == "csv" else None,
                "encoding_confidence": (
                    event.encoding_confidence if event.format == "csv" else None
                ),
                "encoding_source": event.encoding_source if event.format == "csv" else None,
                "delimiter": event.delimiter or None,
                "has_header": event.has_header,
            },
            "warnings": event.warnings,
        },
    )
    return _updated(event, "bronze", version, changed, diff)


async def _silver(event: SilverReady, r: Records) -> list[Event]:
    await r.set_stage(event.run_id, "silver", "succeeded", event.timing)
    await r.set_stage(event.run_id, "quality", "running")
    version, changed, diff = await r.upsert_asset(
        event.dataset,
        "silver",
        event.silver_uri.rsplit("/", 1)[0] + "/",
        event.columns,
        event.schema_fingerprint,
        event.run_id,
    )
    await r.add_object(
        event.dataset, "silver", event.run_id, event.silver_uri, event.counts.silver or 0
    )
    await r.edge(node("bronze", event.dataset), node("silver", event.dataset), event.run_id)
    await r.refresh_status(event.run_id, details={"silver_uri": event.silver_uri, "key": event.key})
    return _updated(event, "silver", version, changed, diff)


async def _quality(event: QualityChecked, r: Records) -> list[Event]:
    checks = [c.model_dump() for c in event.checks]
    # (An event of an older revision than the run's was already set aside by `record`.)
    if event.revision and await r.advance_revision(event.run_id, event.revision):
        await r.reopen(event.run_id, ["quality", "gold"])
    if event.verdict == "failed":
        failed = "; ".join(f"{c.name}: {c.detail}" for c in event.checks if c.status == "failed")
        error = f"quality checks failed, Gold not built: {failed}"
        await r.set_stage(event.run_id, "quality", "failed", event.timing, error)
        await r.skip_after(event.run_id, "quality")
        if event.revision:
            await r.demote(event.dataset, event.run_id)
    else:
        await r.set_stage(event.run_id, "quality", "succeeded", event.timing)
        await r.set_stage(event.run_id, "gold", "running")
        await r.promote(event.dataset, event.run_id, event.silver_uri, event.counts.valid or 0)
    if event.revision and not event.quarantine_uri:
        await r.drop_object(event.dataset, "quarantine", event.run_id)
    if event.quarantine_uri:
        await r.add_object(
            event.dataset,
            "quarantine",
            event.run_id,
            event.quarantine_uri,
            event.counts.quarantined or 0,
        )
    await r.refresh_status(
        event.run_id,
        verdict=event.verdict,
        details={"checks": checks, "quarantine_uri": event.quarantine_uri},
    )
    return []


async def _gold(event: GoldReady, r: Records) -> list[Event]:
    if event.revision and not event.job:
        if await r.advance_revision(event.run_id, event.revision):
            # Arrived before its quality.checked: that event finds the revision recorded
            # and leaves the stages as this one sets them.
            await r.reopen(event.run_id, ["quality", "gold"])
            await r.set_stage(event.run_id, "quality", "succeeded", None)
    if not event.job and event.failed:  # a requested rebuild belongs to no file's run
        error = "; ".join(f"gold model {f.name!r}: {f.error}" for f in event.failed)
        await r.set_stage(event.run_id, "gold", "failed", event.timing, error)
    elif not event.job:
        await r.set_stage(event.run_id, "gold", "succeeded", event.timing)
    out: list[Event] = []
    for model in event.models:
        version, changed, _ = await r.upsert_asset(
            model.name,
            "gold",
            model.uri,
            model.columns,
            _fingerprint(model.columns),
            event.run_id,
        )
        await r.set_gold_rows(model.name, model.rows)
        for dep in model.depends_on:
            layer = "gold" if await r.is_model(dep) else "silver"
            await r.edge(node(layer, dep), node("gold", model.name), event.run_id)
        await r.set_column_lineage(model.name, model.column_lineage, event.run_id)
        if changed:
            out.append(
                CatalogUpdated(
                    run_id=event.run_id,
                    dataset=model.name,
                    layer="gold",
                    version=version,
                    changed="schema",
                )
            )
    if not event.job:
        await r.refresh_status(
            event.run_id, details={"gold_models": [m.name for m in event.models]}
        )
    return out


async def _dead_letter(event: DeadLettered, r: Records) -> list[Event]:
    service = event.consumer.split("--", 1)[0]
    stage = STAGE_OF_CONSUMER.get((event.original_subject, service))
    if stage is None:
        log.warning(
            "%s gave up on %s of run %s: %s", event.consumer, event.original_subject,
            event.run_id, event.error,
        )  # fmt: skip
        return []
    error = f"{event.error} (gave up after {event.deliveries} deliveries)"
    await r.set_stage(event.run_id, stage, "failed", None, error)
    await r.skip_after(event.run_id, stage)
    await r.refresh_status(event.run_id, error=error)
    return []


def _updated(
    event: PipelineEvent, layer: str, version: int, changed: bool, diff: SchemaDiff | None
) -> list[Event]:
    if not changed:
        return []
    out: list[Event] = [
        CatalogUpdated(run_id=event.run_id, dataset=event.dataset, layer=layer,
                       version=version, changed="schema")
    ]  # fmt: skip
    if diff is not None:
        out.append(SchemaChanged(run_id=event.run_id, dataset=event.dataset, layer=layer,
                                 version=version, diff=diff))  # fmt: skip
    return out


def _fingerprint(columns) -> str:
    from flowforge.common.lake import schema_fingerprint

    return schema_fingerprint([(c.name, c.type) for c in columns])
