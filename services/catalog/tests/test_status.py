"""A run's status derived from its stages: failed wins, succeeded once Gold is done."""

from __future__ import annotations

import pytest

from flowforge.catalog.records import derive_status


def stages(ingest="pending", silver="pending", quality="pending", gold="pending"):
    return {"ingest": ingest, "silver": silver, "quality": quality, "gold": gold}


def test_a_run_with_only_pending_stages_is_queued():
    assert derive_status(stages()) == "queued"


def test_a_run_with_no_stages_recorded_yet_is_queued():
    assert derive_status({}) == "queued"


@pytest.mark.parametrize(
    "run",
    [
        stages(ingest="running"),
        stages(ingest="succeeded"),
        stages(ingest="succeeded", silver="succeeded", quality="running"),
        stages(ingest="succeeded", silver="succeeded", quality="succeeded", gold="running"),
    ],
    ids=["ingesting", "ingested", "checking", "building-gold"],
)
def test_a_run_with_work_started_but_gold_not_done_is_running(run):
    assert derive_status(run) == "running"


def test_a_run_is_succeeded_once_gold_succeeded():
    run = stages(ingest="succeeded", silver="succeeded", quality="succeeded", gold="succeeded")
    assert derive_status(run) == "succeeded"


@pytest.mark.parametrize(
    "run",
    [
        stages(ingest="failed", silver="skipped", quality="skipped", gold="skipped"),
        stages(ingest="succeeded", silver="succeeded", quality="failed", gold="skipped"),
        # a late failure report wins even over a Gold stage recorded as done
        stages(ingest="succeeded", silver="failed", quality="succeeded", gold="succeeded"),
    ],
    ids=["ingest-failed", "quality-failed", "failed-beats-succeeded"],
)
def test_any_failed_stage_makes_the_run_failed(run):
    assert derive_status(run) == "failed"


def test_the_status_does_not_depend_on_the_order_stages_are_listed_in():
    run = stages(ingest="succeeded", silver="running")
    assert derive_status(dict(reversed(run.items()))) == derive_status(run) == "running"
