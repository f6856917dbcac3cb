"""The catalog's records against real PostgreSQL: events of a run in any order give one state."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from flowforge.catalog.handlers import record
from flowforge.common.db import create_pool
from flowforge.common.events import (
    Column,
    QualityChecked,
    RunCounts,
    SilverReady,
    StageTiming,
)

pytestmark = pytest.mark.e2e
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TIMING = StageTiming(started_at=NOW, finished_at=NOW)


def events(dataset: str, run_id: str) -> tuple[SilverReady, QualityChecked]:
    counts = RunCounts(parsed=10, rejected=0, bronze=10, duplicates=0, silver=10)
    silver = SilverReady(
        run_id=run_id,
        dataset=dataset,
        silver_uri=f"file:///lake/silver/{dataset}/{run_id}",
        columns=[Column(name="a", type="integer")],
        schema_fingerprint="f",
        timing=TIMING,
        counts=counts,
    )
    checked = QualityChecked.following(
        silver,
        verdict="warned",
        checks=[],
        silver_uri=silver.silver_uri,
        timing=TIMING,
        counts={"quarantined": 3, "valid": 7},
    )
    return silver, checked


async def _record_in(order: str, dsn: str) -> tuple[bool, int, int]:
    dataset, run_id = f"order_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    silver, checked = events(dataset, run_id)
    pool = await create_pool(dsn, max_size=2)
    try:
        for event in (silver, checked) if order == "in order" else (checked, silver):
            await record(event, pool)
        await record(checked, pool)  # a redelivery changes nothing
        obj = await pool.fetchrow(
            "SELECT promoted, rows FROM catalog.asset_objects WHERE dataset = $1"
            " AND layer = 'silver'",
            dataset,
        )
        asset_rows = await pool.fetchval(
            "SELECT row_count FROM catalog.assets WHERE dataset = $1 AND layer = 'silver'", dataset
        )
        return obj["promoted"], obj["rows"], asset_rows
    finally:
        await pool.close()


@pytest.mark.parametrize("order", ["in order", "quality first"])
def test_a_promoted_batch_stays_promoted_whatever_order_its_events_arrive(platform, order):
    promoted, rows, asset_rows = asyncio.run(_record_in(order, platform.endpoints["database_url"]))
    assert (promoted, rows, asset_rows) == (True, 7, 7)


async def _dead_letters(dsn: str) -> dict[str, str]:
    """A run's Silver batch, then two consumers of `bronze.ready` giving up on it: ai's
    (profiling) and transform's (the Silver step)."""
    from flowforge.common.events import DeadLettered

    dataset, run_id = f"dlq_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    silver, _ = events(dataset, run_id)
    pool = await create_pool(dsn, max_size=2)
    try:
        await record(silver, pool)
        states = {}
        for consumer, error in (("ai--bronze-ready", "profile too large"),
                                ("transform--bronze-ready", "silver broke")):  # fmt: skip
            letter = DeadLettered(run_id=run_id, dataset=dataset, original_subject="bronze.ready",
                                  error=error, deliveries=5, consumer=consumer)  # fmt: skip
            await record(letter, pool)
            row = await pool.fetchrow(
                "SELECT status, error FROM catalog.stages WHERE run_id = $1 AND name = 'silver'",
                run_id,
            )
            states[consumer] = f"{row['status']}: {row['error']}"
        return states
    finally:
        await pool.close()


def test_a_dead_letter_fails_the_stage_only_of_the_consumer_that_performs_it(platform):
    states = asyncio.run(_dead_letters(platform.endpoints["database_url"]))
    assert states["ai--bronze-ready"] == "succeeded: None"  # ai's trouble is not Silver's
    assert states["transform--bronze-ready"].startswith("failed: silver broke")
