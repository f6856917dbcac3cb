"""The message bus: broker factory, the stream, publishing, and the ack/retry/dead-letter wrapper.

Consumers are durable JetStream *pull* consumers with explicit ack. Every replica of a service
binds the same durable, so N replicas share the work (JetStream's work-queue pattern; this is
how "queue-grouped" is realised: a pull consumer never pushes a message to a busy replica,
whose ack timer would run out while it waited).

Handlers never ack by hand. `consume` maps their outcome:
- returned events  → published (with `Nats-Msg-Id`), then the message is acked;
- PermanentError   → a `dlq.<subject>` copy and the stage's `*.failed` event, then ack;
- anything else    → nak with exponential backoff; after `max_deliver` tries, as permanent.
Long work sends in-progress acks every ack_wait/3 so JetStream does not redeliver it mid-job.

A consumer may take a *group handler*: the messages of one dataset waiting in the process
behind the one whose turn it is are handled with it in one call (up to `group`), their
outputs published, then each acked (e.g. one Gold build for a burst of batches). A group
that fails is not retried as a group: the message whose turn it was is handled alone, the
others take their own turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faststream import AckPolicy
from faststream.nats import AckPolicy as JsAckPolicy
from faststream.nats import (
    ConsumerConfig,
    JStream,
    NatsBroker,
    NatsMessage,
    NatsUserPassword,
    PullSub,
)

from flowforge.common import lake, memory, metrics, vitals
from flowforge.common.errors import PermanentError, TransientError
from flowforge.common.events import (
    DLQ_PREFIX,
    HEALTH_SUBJECT,
    METRICS_SUBJECT,
    STAGE_FAILURES,
    STREAM_SUBJECTS,
    DeadLettered,
    Event,
    PipelineEvent,
    subject_of,
)
from flowforge.common.logs import run_id_var
from flowforge.common.settings import Settings
from flowforge.common.telemetry import annotate_message, broker_middlewares

log = logging.getLogger(__name__)

Handler = Callable[[Any], Awaitable[Sequence[Event]]]
# Events of one dataset -> each one's outputs, in the same order.
GroupHandler = Callable[[list[Any]], Awaitable[Sequence[Sequence[Event]]]]


def stream_for(settings: Settings) -> JStream:
    return JStream(
        name=settings.stream_name,
        # MinIO's bucket notifications are captured too, so its JetStream publish is acked.
        subjects=[*STREAM_SUBJECTS, settings.minio_subject],
        duplicate_window=3600.0,
        max_age=30 * 24 * 3600.0,
        # 3 on a 3-node JetStream cluster (deploy/k8s), so losing a node loses no event.
        num_replicas=settings.stream_replicas,
    )


def make_broker(settings: Settings, service: str) -> NatsBroker:
    security = None
    if settings.nats_user:
        password = settings.nats_password.get_secret_value() if settings.nats_password else ""
        security = NatsUserPassword(settings.nats_user, password)
    return NatsBroker(
        settings.nats_url,
        security=security,
        name=f"flowforge-{service}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        logger=logging.getLogger(f"faststream.{service}"),
        middlewares=broker_middlewares(service),
    )


class Claims:
    """The object store events too large for the bus are kept in (each service's own, set
    when it opens it); opened from the settings when a process has not set one."""

    store: Any = None

    @classmethod
    def of(cls, settings: Settings) -> Any:
        if cls.store is None:
            from flowforge.common.storage import open_store

            cls.store = open_store(settings)
        return cls.store


async def publish(broker: NatsBroker, event: Event, settings: Settings) -> None:
    """Publish one event to the stream; its deterministic id makes a retry a no-op. An event
    over FLOWFORGE_EVENT_INLINE_LIMIT is put in the object store first and the bus carries
    its envelope with `dataref`, the object's URI (the CloudEvents claim-check extension),
    and only the routing fields in `data`."""
    body = event.to_bytes()
    if len(body) > settings.event_inline_bytes:
        body = await asyncio.to_thread(_check_in, event, body, settings)
    await broker.publish(
        body,
        subject=subject_of(event),
        headers={"Nats-Msg-Id": event.event_id, "Content-Type": "application/cloudevents+json"},
        stream=settings.stream_name,
        timeout=10,
    )


def _check_in(event: Event, body: bytes, settings: Settings) -> bytes:
    store = Claims.of(settings)
    key = lake.event_key(event.SUBJECT, event.event_id)
    store.put_bytes(key, body)
    envelope = json.loads(body)
    envelope["data"] = {f: envelope["data"].get(f) for f in CLAIM_FIELDS}
    envelope["dataref"] = store.uri(key)
    envelope["datasize"] = len(body)
    log.info("%s of %d bytes kept at %s (claim check)", event.SUBJECT, len(body), key)
    return json.dumps(envelope).encode()


# What a claim-checked envelope keeps in `data`, so a subscriber can route without fetching.
CLAIM_FIELDS = ("run_id", "dataset", "content_hash", "filename")


async def check_out(body: bytes, settings: Settings) -> bytes:
    """The whole event of a claim-checked envelope (read from the object store); any other
    body as it is."""
    if len(body) > 64 * 1024 or b'"dataref"' not in body:
        return body
    try:
        ref = json.loads(body).get("dataref")
    except ValueError:
        return body  # malformed: the parser dead-letters it with its text
    if not isinstance(ref, str):
        return body
    store = Claims.of(settings)
    key = lake.check_data_key(store.key_of(ref), ref)
    try:
        return await asyncio.to_thread(store.get_bytes, key)
    except FileNotFoundError as exc:
        raise PermanentError(f"the event's data at {ref} is gone") from exc


TRANSIENT_RETRY_SECONDS = 15 * 60


def transient_budget(settings: Settings) -> int:
    """Deliveries that cover ~15 minutes of backoff (1, 2, 4, ... 60 s): a database or store
    restart is waited out instead of failing the runs in flight."""
    waited, delivery = 0.0, 1
    while waited < TRANSIENT_RETRY_SECONDS:
        waited += backoff_seconds(delivery)
        delivery += 1
    return max(settings.max_deliver, delivery)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientError | OSError | TimeoutError | ConnectionError):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency of common
        return False
    return isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.AdminShutdownError,
    )


def backoff_seconds(delivery: int) -> float:
    return float(min(2 ** max(delivery - 1, 0), 60))


@dataclass(frozen=True)
class Ack:
    """Done: the handler's events are published, the message is acked."""


@dataclass(frozen=True)
class Nak:
    """Try again after `delay` seconds."""

    delay: float


@dataclass(frozen=True)
class DeadLetter:
    """No more tries: a `dlq.<subject>` copy and the stage's `*.failed` event, then ack."""


def decide(exc: BaseException | None, delivery: int, settings: Settings) -> Ack | Nak | DeadLetter:
    """What becomes of a message whose `delivery`-th try ended with `exc` (None: success).

    A PermanentError is never retried. An outage (database, object store, NATS) gets minutes
    of retries; an unexpected error, which retrying rarely fixes, gets `max_deliver` tries.
    """
    if exc is None:
        return Ack()
    if isinstance(exc, PermanentError):
        return DeadLetter()
    limit = transient_budget(settings) if is_transient(exc) else settings.max_deliver
    if delivery >= limit:
        return DeadLetter()
    return Nak(backoff_seconds(delivery))


@dataclass(eq=False)
class _Waiting:
    """A message lined up for its dataset's turn; `done` once a group handled and acked it."""

    event: Any
    msg: Any
    done: bool = False


class Gate:
    """How one consumer's messages share a process: up to `workers` handled at once, one at a
    time per dataset (a batch never overtakes an earlier one of its dataset), so one dataset's
    long batch holds back only its own. FastStream takes up to `held` messages at once
    (`max_workers`); those waiting for their dataset or a worker keep their ack deadline alive
    (heartbeats), so they are not redelivered meanwhile."""

    def __init__(self, workers: int, held: int | None = None, group: int = 1):
        self.workers = asyncio.Semaphore(max(workers, 1))
        self.group = max(group, 1)
        self.held_limit = held or max(max(workers, 1) * 4, self.group)
        self._datasets: dict[str, tuple[asyncio.Lock, int]] = {}
        self._waiting: dict[str, list[_Waiting]] = {}

    def join(self, dataset: str, event: Any, msg: Any) -> _Waiting | None:
        """Line a message up for its dataset's turn (None when the gate does not group)."""
        if self.group <= 1:
            return None
        entry = _Waiting(event, msg)
        self._waiting.setdefault(dataset, []).append(entry)
        return entry

    def members(self, dataset: str, entry: _Waiting) -> list[_Waiting]:
        """`entry` and the messages of its dataset lined up behind it, oldest first."""
        behind = [w for w in self._waiting.get(dataset, []) if w is not entry and not w.done]
        return [entry, *behind[: self.group - 1]]

    def leave(self, dataset: str, entry: _Waiting | None) -> None:
        queue = self._waiting.get(dataset)
        if entry is None or queue is None:
            return
        if entry in queue:
            queue.remove(entry)
        if not queue:
            del self._waiting[dataset]

    @contextlib.asynccontextmanager
    async def turn(self, dataset: str):
        lock, users = self._datasets.get(dataset, (None, 0))
        lock = lock or asyncio.Lock()
        self._datasets[dataset] = (lock, users + 1)
        try:
            async with lock, self.workers:
                yield
        finally:
            lock, users = self._datasets[dataset]
            if users <= 1:
                del self._datasets[dataset]
            else:
                self._datasets[dataset] = (lock, users - 1)


def consume(
    broker: NatsBroker,
    event_type: type[Event],
    handler: Handler,
    *,
    service: str,
    settings: Settings,
    stage: str | None = None,
    durable: str | None = None,
    subject: str | None = None,
    group: tuple[GroupHandler, int] | None = None,
) -> None:
    """Subscribe `handler` to its event's subject with the project's delivery guarantees.

    `stage` names the pipeline stage the handler performs; when it gives up on a run the
    stage's `*.failed` event is published so the run shows as failed with the reason.
    `group` (a group handler and the most messages per call) handles the messages of a
    dataset that wait behind each other together (see the module docstring).
    """
    subject = subject or event_type.SUBJECT
    gate = Gate(settings.concurrency, group=group[1] if group else 1)
    durable = durable or f"{service}--{subject.replace('.', '-').replace('>', 'all')}"

    @broker.subscriber(
        subject,
        stream=stream_for(settings),
        durable=durable,
        pull_sub=PullSub(batch_size=1, timeout=5.0),
        config=ConsumerConfig(
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=settings.ack_wait_seconds,
            # Unlimited at the server: this wrapper counts deliveries and dead-letters itself,
            # so a message whose last try crashed the process is still dead-lettered, not lost.
            max_deliver=-1,
            max_ack_pending=1000,
        ),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
        title=f"{service}:{subject}",
        # Messages taken at once; the gate lets `concurrency` of them work, one per dataset.
        max_workers=gate.held_limit,
    )
    async def _on_message(body: bytes, msg: NatsMessage) -> None:
        await _handle(broker, msg, event_type, handler, service, settings, stage, durable, gate,
                      group[0] if group else None)  # fmt: skip


async def raw_body(msg: Any) -> bytes:
    """Hand the handler wrapper the raw bytes: it parses (and dead-letters what is malformed)."""
    return msg.body


_RELEASING: set[asyncio.Task] = set()  # kept referenced until done


def _background(work) -> None:
    task = asyncio.ensure_future(work)
    _RELEASING.add(task)
    task.add_done_callback(_RELEASING.discard)


async def _handle(
    broker: NatsBroker,
    msg: NatsMessage,
    event_type: type[Event],
    handler: Handler,
    service: str,
    settings: Settings,
    stage: str | None,
    durable: str,
    gate: Gate | None = None,
    group_handler: GroupHandler | None = None,
) -> None:
    subject = msg.raw_message.subject
    delivery = _delivery_count(msg)
    event: Event | None = None
    entry: _Waiting | None = None
    started = time.perf_counter()
    ack_wait = await _server_ack_wait(msg, settings.ack_wait_seconds)
    heartbeat = asyncio.create_task(_keep_alive(msg, ack_wait / 3))
    try:
        event = event_type.from_bytes(await check_out(msg.body, settings))
        annotate_message(event.run_id, event.dataset, delivery)
        token = run_id_var.set(event.run_id)
        try:
            if delivery > transient_budget(settings):
                raise PermanentError(f"gave up after {delivery - 1} deliveries")
            if gate is not None and group_handler is not None:
                entry = gate.join(event.dataset, event, msg)
            async with gate.turn(event.dataset) if gate else contextlib.nullcontext():
                if entry is not None and entry.done:  # handled, published, acked by a group
                    metrics.MESSAGES.labels(service, subject, "ok").inc()
                    return
                log.info("handling %s (delivery %d)", subject, delivery)
                if entry is not None and gate is not None and group_handler is not None:
                    await _handle_group(broker, gate, entry, handler, group_handler, settings)
                else:
                    for out in await handler(event):
                        await publish(broker, out, settings)
        finally:
            run_id_var.reset(token)
        await msg.ack()
        metrics.MESSAGES.labels(service, subject, "ok").inc()
    except asyncio.CancelledError:
        # Shutting down mid-message: hand it back now rather than after a whole ack wait.
        with contextlib.suppress(Exception):
            await msg.nack(delay=1)
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is retried or dead-lettered: `decide`
        vitals.note_error(service, subject, exc)
        outcome = decide(exc, delivery, settings)
        if isinstance(outcome, DeadLetter):
            await _dead_letter(broker, msg, event, exc, service, settings, stage, delivery, durable)
            metrics.MESSAGES.labels(service, subject, "dead_lettered").inc()
        else:
            delay = outcome.delay
            log.warning(
                "%s failed on delivery %d, retrying in %.0fs: %s",
                subject,
                delivery,
                delay,
                exc,
                exc_info=not isinstance(exc, OSError),
                extra={"run_id": event.run_id if event else None},
            )
            await msg.nack(delay=delay)
            metrics.MESSAGES.labels(service, subject, "retried").inc()
    finally:
        if gate is not None and event is not None:
            gate.leave(event.dataset, entry)
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        took = time.perf_counter() - started
        metrics.HANDLER_SECONDS.labels(service, subject).observe(took)
        if took >= memory.AFTER_SECONDS:  # a large batch: its cached memory back to the system
            _background(asyncio.to_thread(memory.release))


async def _handle_group(
    broker: NatsBroker,
    gate: Gate,
    entry: _Waiting,
    handler: Handler,
    group_handler: GroupHandler,
    settings: Settings,
) -> None:
    """This message and those of its dataset lined up behind it, in one call: every output
    published, then the others acked (this one is acked by the caller). A failed group
    leaves the others to their own turns and handles this message alone."""
    members = gate.members(entry.event.dataset, entry)
    if len(members) > 1:
        try:
            results = await group_handler([m.event for m in members])
        except Exception as exc:  # noqa: BLE001 - the message alone decides what happens next
            log.warning("a group of %d messages failed (%s); handling this one alone",
                        len(members), exc)  # fmt: skip
        else:
            for outputs in results:
                for out in outputs:
                    await publish(broker, out, settings)
            for member in members[1:]:
                try:
                    await member.msg.ack()
                except Exception:  # noqa: BLE001 - redelivered and handled again (idempotent)
                    continue
                member.done = True
            log.info("handled %d messages of %s together", len(members), entry.event.dataset)
            return
    for out in await handler(entry.event):
        await publish(broker, out, settings)


async def _dead_letter(
    broker: NatsBroker,
    msg: NatsMessage,
    event: Event | None,
    exc: BaseException,
    service: str,
    settings: Settings,
    stage: str | None,
    delivery: int,
    durable: str,
) -> None:
    subject = msg.raw_message.subject
    error = str(exc) or type(exc).__name__
    if subject.startswith(DLQ_PREFIX):
        # A dead letter that cannot be recorded is logged, never dead-lettered again (that
        # would nest dlq.dlq.… letters for as long as the fault lasts).
        log.error("could not record dead letter %s: %s", subject, error)
        await msg.ack()
        return
    run_id = event.run_id if event else f"unparsed-{_stream_seq(msg)}"
    log.error(
        "%s dead-lettered after %d deliveries: %s",
        subject,
        delivery,
        error,
        extra={"run_id": run_id, "consumer": durable},
    )
    letter = DeadLettered(
        run_id=run_id,
        dataset=event.dataset if event else "",
        content_hash=event.content_hash if event else "",
        original_subject=subject,
        error=error,
        deliveries=delivery,
        payload=msg.body.decode("utf-8", "replace")[:100_000],
        consumer=durable,
    )
    await publish(broker, letter, settings)
    if stage and isinstance(event, PipelineEvent):
        failed = STAGE_FAILURES[stage].following(event, stage=stage, error=error)
        await publish(broker, failed, settings)
    await msg.ack()


_ACK_WAITS: dict[tuple[str, str], float] = {}


async def _server_ack_wait(msg: NatsMessage, configured: float) -> float:
    """The consumer's ack wait as the server has it. A durable keeps the config it was made
    with (the client does not update one that exists), so one made with another
    FLOWFORGE_ACK_WAIT is updated here, once per process."""
    try:
        meta = msg.raw_message.metadata
        key = (meta.stream, meta.consumer)
        if key not in _ACK_WAITS:
            js = msg.raw_message._client.jetstream()
            info = await js.consumer_info(meta.stream, meta.consumer)
            _ACK_WAITS[key] = float(info.config.ack_wait or configured)
            if abs(_ACK_WAITS[key] - configured) > 0.5:
                await js._jsm.add_consumer(  # create-or-update: ack_wait is editable
                    meta.stream, info.config.evolve(ack_wait=configured)
                )
                log.info(
                    "consumer %s: ack_wait %.0fs -> %.0fs (FLOWFORGE_ACK_WAIT)",
                    meta.consumer, _ACK_WAITS[key], configured,
                )  # fmt: skip
                _ACK_WAITS[key] = configured
        return _ACK_WAITS[key]
    except Exception:  # noqa: BLE001 - fall back to the configured value
        log.warning("could not read or update the ack wait of a consumer", exc_info=True)
        return configured


async def _keep_alive(msg: NatsMessage, every: float) -> None:
    while True:
        await asyncio.sleep(max(every, 0.5))
        with contextlib.suppress(Exception):
            await msg.in_progress()


def _delivery_count(msg: NatsMessage) -> int:
    try:
        return int(msg.raw_message.metadata.num_delivered)
    except Exception:  # noqa: BLE001 - a core (non-JetStream) message has no metadata
        return 1


def _stream_seq(msg: NatsMessage) -> int:
    try:
        return int(msg.raw_message.metadata.sequence.stream)
    except Exception:  # noqa: BLE001
        return 0


def serve_health(broker: NatsBroker, service: str, checks: Callable[[], Awaitable[dict]]) -> None:
    """Answer `flowforge.svc.health.<service>` and `...metrics.<service>` over core NATS."""

    @broker.subscriber(HEALTH_SUBJECT.format(service=service), title=f"{service}:health")
    async def _health() -> dict:
        detail = await checks()
        return {
            "service": service,
            "status": "ok" if all(detail.values()) else "degraded",
            "checks": detail,
            **vitals.of(service).snapshot(),  # state, lag per durable, last error
        }

    @broker.subscriber(METRICS_SUBJECT.format(service=service), title=f"{service}:metrics")
    async def _metrics() -> str:
        return metrics.render()


__all__ = [
    "DLQ_PREFIX",
    "Ack",
    "DeadLetter",
    "Nak",
    "backoff_seconds",
    "consume",
    "decide",
    "make_broker",
    "publish",
    "serve_health",
    "stream_for",
]
