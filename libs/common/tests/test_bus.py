"""The bus wrapper (`consume`): what becomes of a message, decided by `decide` and carried out
on FastStream's in-memory broker.

TestNatsBroker's messages are plain NATS messages whose ack/nak do nothing; a message gets its
JetStream delivery count from the ack subject it carries as `reply_to`, exactly as a real
JetStream message does, and whether it was acked or nacked is read where FastStream's own
Prometheus middleware counts it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace

import asyncpg
import pytest
from faststream.nats import NatsBroker, NatsMessage, TestNatsBroker
from hypothesis import given
from hypothesis import strategies as st
from nats.js.api import ConsumerInfo

from flowforge.common import vitals
from flowforge.common.bus import (
    Ack,
    DeadLetter,
    Nak,
    backoff_seconds,
    consume,
    decide,
    is_transient,
    make_broker,
    publish,
    raw_body,
    serve_health,
    stream_for,
    transient_budget,
)
from flowforge.common.errors import BadInputError, PermanentError, TransientError
from flowforge.common.events import (
    BronzeReady,
    Column,
    DeadLettered,
    FileLanded,
    IngestFailed,
    StageTiming,
    utcnow,
)
from flowforge.common.metrics import REGISTRY
from flowforge.common.settings import Settings
from flowforge.common.testing import unique

SETTINGS = Settings(stream_name="TESTSTREAM", max_deliver=3)


# decide(): every outcome, without a broker


def test_a_handled_message_is_acked():
    assert decide(None, 1, SETTINGS) == Ack()


@pytest.mark.parametrize("delivery", [1, 2, 50])
@pytest.mark.parametrize("error", [PermanentError("no"), BadInputError("bad file")])
def test_a_permanent_error_is_dead_lettered_on_any_delivery(delivery, error):
    assert decide(error, delivery, SETTINGS) == DeadLetter()


def test_backoff_doubles_from_one_second_up_to_a_minute():
    assert [backoff_seconds(d) for d in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_an_unexpected_error_gets_max_deliver_tries():
    error = RuntimeError("bug")
    assert [decide(error, d, SETTINGS) for d in (1, 2, 3)] == [Nak(1), Nak(2), DeadLetter()]


def test_an_outage_gets_about_fifteen_minutes_of_retries():
    budget = transient_budget(SETTINGS)
    waited = sum(backoff_seconds(d) for d in range(1, budget))
    assert budget > SETTINGS.max_deliver
    assert 15 * 60 <= waited < 15 * 60 + 60
    error = TransientError("database restarting")
    assert decide(error, budget - 1, SETTINGS) == Nak(60)
    assert decide(error, budget, SETTINGS) == DeadLetter()


@pytest.mark.parametrize(
    "error",
    [
        TransientError("x"),
        OSError("disk"),
        TimeoutError(),
        ConnectionResetError(),
        asyncpg.exceptions.CannotConnectNowError("starting"),
        asyncpg.exceptions.AdminShutdownError("stopping"),
        asyncpg.InterfaceError("pool closed"),
    ],
)
def test_outages_of_the_database_store_or_network_count_as_transient(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", [RuntimeError(), ValueError(), KeyError("k")])
def test_programming_errors_do_not_count_as_transient(error):
    assert not is_transient(error)


ERRORS = st.sampled_from([RuntimeError("bug"), TransientError("down"), OSError("io")])


@given(error=ERRORS, delivery=st.integers(min_value=1, max_value=500))
def test_a_failed_message_is_retried_within_a_minute_or_dead_lettered(error, delivery):
    outcome = decide(error, delivery, SETTINGS)
    limit = transient_budget(SETTINGS) if is_transient(error) else SETTINGS.max_deliver
    if delivery >= limit:
        assert outcome == DeadLetter()
    else:
        assert isinstance(outcome, Nak) and 1 <= outcome.delay <= 60


# consume(): the wiring, on TestNatsBroker


def landed(run_id: str = "run-1") -> FileLanded:
    return FileLanded(run_id=run_id, dataset="orders", landing_uri="file:///l/orders.csv")


def bronze_for(event: FileLanded) -> BronzeReady:
    now = utcnow()
    return BronzeReady.following(
        event, bronze_uri="file:///b.parquet", columns=[Column(name="a", type="string")],
        schema_fingerprint="f", encoding="utf-8", delimiter=",", has_header=True,
        timing=StageTiming(started_at=now, finished_at=now),
    )  # fmt: skip


def spy(broker: NatsBroker, subject: str) -> list[NatsMessage]:
    """Every message published to `subject` on the stream, as a subscriber receives it."""
    got: list[NatsMessage] = []

    @broker.subscriber(subject, stream=stream_for(SETTINGS), decoder=raw_body)
    async def _spy(body: bytes, msg: NatsMessage) -> None:
        got.append(msg)

    return got


async def deliver(broker: NatsBroker, body: bytes, service: str, delivery: int = 1) -> None:
    """A file.landed message on its `delivery`-th delivery (JetStream's ack subject says so)."""
    ack = f"$JS.ACK.{SETTINGS.stream_name}.{service}--file-landed.{delivery}.7.7.1700000000.0"
    await broker.publish(
        body, subject=FileLanded.SUBJECT, stream=SETTINGS.stream_name, reply_to=ack
    )


def settled(service: str, status: str) -> float:
    """How many file.landed messages FastStream saw settled with `status` (acked, nacked)."""
    labels = {"app_name": service, "broker": "nats", "handler": "file.landed", "status": status}
    return REGISTRY.get_sample_value("faststream_received_processed_messages_total", labels) or 0


class Handler:
    def __init__(self, error: BaseException | None = None):
        self.error = error
        self.calls = 0

    async def __call__(self, event: FileLanded):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return [bronze_for(event)]


def wired(handler: Handler) -> tuple[NatsBroker, str, dict[str, list[NatsMessage]]]:
    service = unique("svc")
    broker = make_broker(SETTINGS, service)
    consume(broker, FileLanded, handler, service=service, settings=SETTINGS, stage="ingest")
    spies = {s: spy(broker, s) for s in ("bronze.ready", "dlq.file.landed", "ingest.failed")}
    return broker, service, spies


async def test_a_handled_message_publishes_the_handlers_events_then_is_acked():
    broker, service, spies = wired(Handler())
    async with TestNatsBroker(broker):
        await publish(broker, landed(), SETTINGS)
    [out] = spies["bronze.ready"]
    assert BronzeReady.from_bytes(out.body).run_id == "run-1"
    assert out.headers["Nats-Msg-Id"] == "bronze.ready:run-1"
    assert settled(service, "acked") == 1
    assert not spies["dlq.file.landed"]


async def test_a_permanent_error_sends_a_dead_letter_and_the_stages_failed_event():
    broker, service, spies = wired(Handler(PermanentError("not a spreadsheet")))
    async with TestNatsBroker(broker):
        await deliver(broker, landed().to_bytes(), service, delivery=1)
    letter = DeadLettered.from_bytes(spies["dlq.file.landed"][0].body)
    assert (letter.error, letter.deliveries, letter.run_id) == ("not a spreadsheet", 1, "run-1")
    assert letter.consumer == f"{service}--file-landed"
    failed = IngestFailed.from_bytes(spies["ingest.failed"][0].body)
    assert (failed.stage, failed.error) == ("ingest", "not a spreadsheet")
    assert settled(service, "acked") == 1
    assert not spies["bronze.ready"]


async def test_an_unexpected_error_is_nacked_with_backoff_and_kept_as_the_last_error(caplog):
    broker, service, spies = wired(Handler(RuntimeError("division by zero")))
    with caplog.at_level(logging.WARNING, logger="flowforge.common.bus"):
        async with TestNatsBroker(broker):
            await deliver(broker, landed().to_bytes(), service, delivery=2)
    assert settled(service, "nacked") == 1
    assert "failed on delivery 2, retrying in 2s" in caplog.text
    assert not spies["dlq.file.landed"] and not spies["ingest.failed"]
    error = vitals.of(service).last_error
    assert error and error["error"] == "division by zero" and error["subject"] == "file.landed"


async def test_an_unexpected_error_on_the_last_allowed_delivery_is_dead_lettered():
    broker, service, spies = wired(Handler(RuntimeError("still broken")))
    async with TestNatsBroker(broker):
        await deliver(broker, landed().to_bytes(), service, delivery=SETTINGS.max_deliver)
    letter = DeadLettered.from_bytes(spies["dlq.file.landed"][0].body)
    assert (letter.error, letter.deliveries) == ("still broken", SETTINGS.max_deliver)
    assert len(spies["ingest.failed"]) == 1
    assert settled(service, "acked") == 1


async def test_an_outage_is_retried_past_max_deliver(caplog):
    broker, service, spies = wired(Handler(TransientError("database restarting")))
    with caplog.at_level(logging.WARNING, logger="flowforge.common.bus"):
        async with TestNatsBroker(broker):
            await deliver(broker, landed().to_bytes(), service, delivery=SETTINGS.max_deliver)
    assert settled(service, "nacked") == 1
    assert "retrying in 4s" in caplog.text
    assert not spies["dlq.file.landed"]


async def test_a_message_past_the_retry_budget_is_dead_lettered_without_running_the_handler():
    handler = Handler()
    broker, service, spies = wired(handler)
    too_many = transient_budget(SETTINGS) + 1
    async with TestNatsBroker(broker):
        await deliver(broker, landed().to_bytes(), service, delivery=too_many)
    assert handler.calls == 0
    letter = DeadLettered.from_bytes(spies["dlq.file.landed"][0].body)
    assert letter.error == f"gave up after {too_many - 1} deliveries"
    assert letter.deliveries == too_many


async def test_a_malformed_payload_is_dead_lettered_with_its_text_and_no_failed_event():
    handler = Handler()
    broker, service, spies = wired(handler)
    async with TestNatsBroker(broker):
        await deliver(broker, b"{not json", service)
    assert handler.calls == 0
    letter = DeadLettered.from_bytes(spies["dlq.file.landed"][0].body)
    assert letter.payload == "{not json"
    assert letter.error.startswith("malformed file.landed event")
    assert letter.run_id.startswith("unparsed-")
    assert not spies["ingest.failed"]


async def test_the_health_reply_carries_state_consumer_lag_and_the_last_error():
    broker, service, _ = wired(Handler(RuntimeError("boom")))

    async def checks() -> dict:
        return {"database": True, "store": True}

    serve_health(broker, service, checks)
    vitals.of(service).consumers["x"] = {"pending": 3, "ack_pending": 1, "redelivered": 0}
    async with TestNatsBroker(broker):
        await deliver(broker, landed().to_bytes(), service)
        reply = await broker.request(b"", f"flowforge.svc.health.{service}", timeout=2)
    health = await reply.decode()
    assert health["status"] == "ok" and health["state"] == "starting"
    assert health["consumers"] == {"x": {"pending": 3, "ack_pending": 1, "redelivered": 0}}
    assert health["last_error"]["error"] == "boom"


class FakeJetStream:
    """Answers consumer_info as a JetStream server would for a consumer with a backlog."""

    async def consumer_info(self, stream: str, consumer: str, **_: object):
        return ConsumerInfo.from_response(
            {"stream_name": stream, "name": consumer, "config": {"durable_name": consumer},
             "created": "2026-01-01T00:00:00Z", "num_pending": 12, "num_ack_pending": 2,
             "num_redelivered": 1}
        )  # fmt: skip


async def test_consumer_lag_is_read_for_each_durable_the_service_binds():
    broker, service, _ = wired(Handler())
    durable = f"{service}--file-landed"
    assert vitals.bound_consumers(broker) == [(SETTINGS.stream_name, durable)]
    connected = SimpleNamespace(
        subscribers=broker.subscribers,
        config=SimpleNamespace(connection_state=SimpleNamespace(stream=FakeJetStream())),
    )
    await vitals.refresh_consumer_lag(connected, service)
    assert vitals.of(service).consumers == {
        durable: {"pending": 12, "ack_pending": 2, "redelivered": 1}
    }
    labels = {"service": service, "consumer": durable}
    assert REGISTRY.get_sample_value("flowforge_consumer_pending", labels) == 12
    assert REGISTRY.get_sample_value("flowforge_consumer_ack_pending", labels) == 2
    assert REGISTRY.get_sample_value("flowforge_consumer_redelivered", labels) == 1


async def test_the_gate_runs_datasets_side_by_side_and_one_dataset_in_order():
    from flowforge.common.bus import Gate

    gate = Gate(workers=2)
    log: list[str] = []

    async def work(dataset: str, name: str, seconds: float) -> None:
        async with gate.turn(dataset):
            log.append(f"start {name}")
            await asyncio.sleep(seconds)
            log.append(f"end {name}")

    await asyncio.gather(work("a", "a1", 0.3), work("a", "a2", 0.01), work("b", "b1", 0.05))
    # b1 ran while a1 was going; a2 waited for a1 although it was short.
    assert log.index("end b1") < log.index("end a1") < log.index("start a2")
    assert not gate._datasets  # nothing kept for datasets no longer in hand


# Grouping: the messages of a dataset waiting behind the one in hand, handled in one call


class Grouped:
    """A slow one-at-a-time handler and a group handler, each recording what it was given."""

    def __init__(self, fail_group: bool = False):
        self.alone: list[str] = []
        self.groups: list[list[str]] = []
        self.fail_group = fail_group

    async def one(self, event: FileLanded):
        self.alone.append(event.run_id)
        await asyncio.sleep(0.5)  # the others line up meanwhile
        return [bronze_for(event)]

    async def many(self, events: list[FileLanded]):
        self.groups.append([e.run_id for e in events])
        if self.fail_group:
            raise RuntimeError("one of them is bad")
        return [[bronze_for(e)] for e in events]


def wired_grouped(handlers: Grouped, size: int = 10):
    service = unique("svc")
    broker = make_broker(SETTINGS, service)
    consume(broker, FileLanded, handlers.one, service=service, settings=SETTINGS,
            stage="ingest", group=(handlers.many, size))  # fmt: skip
    return broker, service, spy(broker, "bronze.ready")


async def test_messages_of_a_dataset_lined_up_behind_each_other_are_handled_in_one_call():
    handlers = Grouped()
    broker, service, out = wired_grouped(handlers)
    runs = [f"run-{i}" for i in range(5)]
    async with TestNatsBroker(broker):
        await asyncio.gather(*(publish(broker, landed(r), SETTINGS) for r in runs))
    # The first in hand went alone; those that lined up behind it went as one group (in the
    # order they arrived, which the event loop decides).
    assert len(handlers.alone) == 1 and len(handlers.groups) == 1
    assert sorted(handlers.alone + handlers.groups[0]) == runs
    assert len(handlers.groups[0]) == 4
    assert sorted(BronzeReady.from_bytes(m.body).run_id for m in out) == runs
    assert settled(service, "acked") == 5


async def test_a_group_is_at_most_its_size_and_a_failed_group_falls_back_to_one_at_a_time():
    handlers = Grouped(fail_group=True)
    broker, service, out = wired_grouped(handlers, size=3)
    runs = [f"run-{i}" for i in range(5)]
    async with TestNatsBroker(broker):
        await asyncio.gather(*(publish(broker, landed(r), SETTINGS) for r in runs))
    assert all(len(g) <= 3 for g in handlers.groups) and handlers.groups
    # Every message was handled on its own after its group failed: nothing lost or doubled.
    assert sorted(handlers.alone) == runs
    assert sorted(BronzeReady.from_bytes(m.body).run_id for m in out) == runs
    assert settled(service, "acked") == 5


# A real JetStream: a durable made with another ack wait is brought to the configured one


@pytest.fixture
def jetstream(tmp_path):
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = str(Path(sys.executable).parent / "nats-server")
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(tmp_path / "js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert process.poll() is None and time.monotonic() < deadline, "nats-server did not start"
        time.sleep(0.05)
    yield f"nats://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


async def test_a_durable_made_with_another_ack_wait_is_updated_to_the_configured_one(jetstream):
    """Redelivery after a crash comes after the consumer's ack wait: a durable made by an older
    release (60 s) must not keep it when FLOWFORGE_ACK_WAIT now says 10 s."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    settings = Settings(nats_url=jetstream, stream_name="ACKWAIT", ack_wait_seconds=10)
    service = "svc"
    durable = f"{service}--file-landed"
    client = await nats.connect(jetstream)
    js = client.jetstream()
    await js.add_stream(name="ACKWAIT", subjects=["file.landed"])
    await js.add_consumer(
        "ACKWAIT",
        ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=60,
                       filter_subject="file.landed"),
    )  # fmt: skip
    handler = Handler()
    broker = make_broker(settings, service)
    consume(broker, FileLanded, handler, service=service, settings=settings, stage="ingest")
    async with broker:
        await broker.start()
        await js.publish("file.landed", landed().to_bytes())
        for _ in range(200):
            if handler.calls:
                break
            await asyncio.sleep(0.05)
        assert handler.calls == 1
        info = await js.consumer_info("ACKWAIT", durable)
    await client.close()
    assert info.config.ack_wait == 10


async def test_an_event_too_large_for_the_bus_travels_as_a_claim_check(jetstream, tmp_path):
    """A schema of 20,000 columns (about 1.3 MB of event) is kept in the object store; the
    bus carries the CloudEvents envelope with `dataref` and the routing fields; the consumer
    gets the whole event."""
    import nats

    from flowforge.common.bus import Claims
    from flowforge.common.storage import LocalObjectStore

    settings = Settings(nats_url=jetstream, stream_name="CLAIMS", ack_wait_seconds=10)
    Claims.store = LocalObjectStore(tmp_path / "lake")
    received: list[BronzeReady] = []

    async def handler(event: BronzeReady) -> list:
        received.append(event)
        return []

    broker = make_broker(settings, "svc")
    consume(broker, BronzeReady, handler, service="svc", settings=settings, stage="silver")
    wide = bronze_for(landed("run-wide")).model_copy(
        update={"columns": [Column(name=f"column_{i:05d}", type="string") for i in range(20_000)]}
    )
    client = await nats.connect(jetstream)
    try:
        async with broker:
            await broker.start()
            await publish(broker, wide, settings)
            for _ in range(200):
                if received:
                    break
                await asyncio.sleep(0.05)
            stored = await client.jetstream().get_last_msg("CLAIMS", "bronze.ready")
    finally:
        await client.close()
        Claims.store = None
    assert received == [wide]
    envelope = json.loads(stored.data)
    assert len(stored.data) < 2048 < len(wide.to_bytes()) == envelope["datasize"]
    assert envelope["data"] == {
        "run_id": "run-wide",
        "dataset": wide.dataset,
        "content_hash": wide.content_hash,
        "filename": wide.filename,
    }
    assert envelope["dataref"].endswith(".json") and "/events/bronze.ready/" in envelope["dataref"]
    assert envelope["type"] == BronzeReady.event_type() and envelope["id"] == wide.event_id
