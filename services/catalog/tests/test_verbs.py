"""The catalog's answers for the event log and the dashboard: what they check and pass on to
the queries (the queries themselves run against PostgreSQL in tests/)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowforge.catalog.verbs import VERBS
from flowforge.common.errors import BadInputError


class FakeQueries:
    def __init__(self) -> None:
        self.asked: list[tuple] = []

    async def events(self, run_id, subject, limit):
        self.asked.append(("events", run_id, subject, limit))
        return []

    async def overview(self, now, window, failures, datasets):
        self.asked.append(("overview", window, failures, datasets))
        return {}


async def test_the_event_log_takes_a_subject_or_its_first_tokens():
    q = FakeQueries()
    for subject in ("quality.checked", "quality", "dlq.bronze.ready", None):
        await VERBS["runs.events"]({"run_id": "r1", "subject": subject}, q)
    assert [a[2] for a in q.asked] == ["quality.checked", "quality", "dlq.bronze.ready", None]
    for bad in ("quality.*", "dlq.>", "a b", "x'; --", ".quality"):
        with pytest.raises(BadInputError, match="subject"):
            await VERBS["runs.events"]({"run_id": "r1", "subject": bad}, q)
    assert len(q.asked) == 4


async def test_the_overview_keeps_its_window_and_lists_within_bounds():
    q = FakeQueries()
    await VERBS["overview"]({}, q)
    await VERBS["overview"]({"hours": 0.01, "failures": 10_000, "datasets": 10**9}, q)
    assert q.asked[0] == ("overview", timedelta(hours=24), 20, 1000)
    assert q.asked[1] == ("overview", timedelta(hours=1), 200, 10_000)
