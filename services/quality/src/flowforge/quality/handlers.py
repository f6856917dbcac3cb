"""Quality's handler: structural checks of a Silver batch, quarantine, and the verdict."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from flowforge.common import lake, metrics
from flowforge.common.events import Event, QualityChecked, SilverReady, StageTiming, utcnow
from flowforge.common.storage import ObjectStore
from flowforge.quality.structural import Verdict, check_batch

log = logging.getLogger(__name__)
SERVICE = "quality"


@dataclass
class Deps:
    store: ObjectStore
    scratch: Path


def _check(event: SilverReady, deps: Deps) -> Verdict:
    store = deps.store
    with store.readable(store.key_of(event.silver_uri), deps.scratch) as path:
        # Only the key and lineage columns; the constant lineage strings stay dictionary-coded.
        table = pq.read_table(
            path, columns=_needed(path, event.key), read_dictionary=["_run_id", "_source_file"]
        )
        silver = pl.from_arrow(table)
    verdict = check_batch(silver, event.key)  # Silver names, resolved by transform
    key = lake.quarantine_key(event.dataset, event.run_id)
    if verdict.quarantine.height:
        with tempfile.TemporaryDirectory(dir=deps.scratch) as tmp:
            out = Path(tmp) / "quarantine.parquet"
            verdict.quarantine.write_parquet(out)
            store.put_file(key, out)
    elif store.exists(key):
        store.delete(key)  # a replay whose rules now pass leaves no stale quarantine
    return verdict


def _needed(path: Path, key: list[str]) -> list[str]:
    wanted = {*lake.LINEAGE_COLUMNS, *key}
    return [n for n in pq.read_schema(path).names if n in wanted]


async def handle_silver_ready(event: SilverReady, deps: Deps) -> list[Event]:
    started = utcnow()
    verdict = await asyncio.to_thread(_check, event, deps)
    silver = event.counts.silver or 0
    quarantined = verdict.quarantined
    timing = StageTiming(started_at=started, finished_at=utcnow())
    metrics.STAGE_SECONDS.labels(SERVICE, "quality").observe(timing.seconds)
    metrics.count_rows(SERVICE, "quality", quarantined=quarantined, valid=silver - quarantined)
    log.info("quality: verdict %s, %d quarantined", verdict.verdict, quarantined)
    quarantine_uri = (
        deps.store.uri(lake.quarantine_key(event.dataset, event.run_id)) if quarantined else None
    )
    return [
        QualityChecked.following(
            event,
            verdict=verdict.verdict,
            checks=verdict.checks,
            silver_uri=event.silver_uri,
            quarantine_uri=quarantine_uri,
            timing=timing,
            counts={"quarantined": quarantined, "valid": silver - quarantined},
        )
    ]
