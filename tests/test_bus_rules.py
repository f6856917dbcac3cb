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


def test_the_gateways_live_stream_hears_every_stream_subject_and_never_replies():
    """The UI's live stream: one subscription per subject of the stream in the gateway (shared
    by every client), none of which may answer a JetStream publish."""
    from flowforge.common.events import STREAM_SUBJECTS
    from flowforge.gateway.app import _register
    from flowforge.gateway.deps import ProgressBoard
    from flowforge.gateway.live import Hub

    rt = new_runtime("gateway", _register(ProgressBoard(), Hub()))
    live = [s for s in rt.broker.subscribers if type(s).__name__ == "CoreSubscriber"]
    subjects = [s._subject for s in live]
    assert set(STREAM_SUBJECTS) <= set(subjects)
    assert len(subjects) == len(set(subjects))  # one each, whatever the number of clients
    heard = [s for s in live if s._subject in STREAM_SUBJECTS]
    assert all(s._no_reply for s in heard), [s._subject for s in heard if not s._no_reply]
