"""Rules every service's subscriptions keep, checked on the subscriptions each service
registers (no server needed)."""

from __future__ import annotations

import importlib

import pytest

from flowforge.common.events import EVENT_TYPES
from flowforge.common.service import new_runtime
from flowforge.common.topology import WORKERS, entry_module


@pytest.mark.parametrize("service", WORKERS)
def test_a_live_subscription_to_a_stream_subject_never_replies(service):
    """A JetStream publish is a request whose reply is the stream's ack. A core subscriber on
    the same subject that replies (FastStream answers a message with a reply subject, even
    with nothing) races that ack, and the publisher reads the empty answer as a broken ack:
    uploads and extracts failed with a JSONDecodeError while the scheduler listened."""
    module = importlib.import_module(entry_module(service))
    rt = new_runtime(service, module.register)
    live = [
        s for s in rt.broker.subscribers
        if type(s).__name__ == "CoreSubscriber" and getattr(s, "_subject", "") in EVENT_TYPES
    ]  # fmt: skip
    assert all(s._no_reply for s in live), [s._subject for s in live if not s._no_reply]
    if service == "scheduler":
        assert {s._subject for s in live} >= {"gold.ready", "schema.changed", "file.landed"}
