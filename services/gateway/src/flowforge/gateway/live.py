"""The live event stream's hub: one set of NATS subscriptions in the gateway, fanned out to
every client of `GET /api/v1/events/stream`.

The gateway hears every subject of the pipeline's stream (and ingest's run progress) on core
NATS, live, without a consumer: the stream is for history, this is for people watching. Each
event becomes one short message (subject, run, dataset, when, a summary line: never the
payload), numbered; the hub keeps the last `history` of them (not progress figures, which the
next one replaces), so a client that reconnects with `Last-Event-ID` gets what it missed, and
puts each into the bounded queue of every client whose filters it passes. A client that reads
too slowly loses its oldest messages and is told (`event: overflow`), instead of holding
memory or the other clients back.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.sse import ServerSentEvent
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage

from flowforge.common.bus import raw_body
from flowforge.common.eventlog import PROGRESS_PREFIX, occurred_at, publisher, summarize
from flowforge.common.events import AUDIT_RECORDED, PROGRESS_SUBJECT, STREAM_SUBJECTS

# What only admins may see live (the audit log is theirs).
ADMIN_ONLY = frozenset({AUDIT_RECORDED})


@dataclass(frozen=True)
class Message:
    seq: int
    subject: str
    run_id: str | None
    dataset: str | None
    at: datetime | None
    summary: str
    service: str

    def data(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "run_id": self.run_id,
            "dataset": self.dataset,
            "at": self.at.isoformat() if self.at else None,
            "summary": self.summary,
            "service": self.service,
        }


class Busy(Exception):
    """No more streams: `status` 503 (the gateway's limit) or 429 (the caller's)."""

    def __init__(self, status: int, detail: str, retry_after: int):
        super().__init__(detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


@dataclass(eq=False)
class Client:
    owner: str
    run_id: str | None
    dataset: str | None
    admin: bool
    size: int
    queue: deque[Message] = field(default_factory=deque)
    missed: int = 0
    gap: bool = False  # messages were lost (`missed` of them, when known)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, m: Message) -> bool:
        return (
            (self.run_id is None or m.run_id == self.run_id)
            and (self.dataset is None or m.dataset == self.dataset)
            and (self.admin or m.subject not in ADMIN_ONLY)
        )

    def put(self, m: Message) -> None:
        if len(self.queue) >= self.size:
            self.queue.popleft()
            self.missed += 1 if self.missed >= 0 else 0  # -1: an unknown number already
            self.gap = True
        self.queue.append(m)
        self.wake.set()

    def lost(self, missed: int | None) -> None:
        self.gap = True
        self.missed = -1 if missed is None else self.missed + missed
        self.wake.set()

    def take(self) -> tuple[bool, int | None, list[Message]]:
        """(whether messages were lost, how many when known, the queued messages)."""
        gap, missed, items = self.gap, self.missed, list(self.queue)
        self.queue.clear()
        self.gap, self.missed = False, 0
        self.wake.clear()
        return gap, (None if missed < 0 else missed), items


class Hub:
    def __init__(
        self,
        *,
        queue_size: int = 256,
        history: int = 1000,
        max_streams: int = 200,
        per_owner: int = 10,
        lifetime: float = 1800.0,
        poll: float = 5.0,
    ):
        self.queue_size = queue_size
        self.max_streams = max_streams
        self.per_owner = per_owner
        # A stream ends after this long; the client reconnects (Last-Event-ID: nothing lost)
        # and is authenticated again, so a revoked key or an ended session stops listening.
        self.lifetime = lifetime
        # How often a quiet stream asks whether its client is still there (a closed tab frees
        # its place within seconds, not at the next keep-alive).
        self.poll = poll
        self.epoch = secrets.token_hex(4)  # this process's numbering (ids of another: a gap)
        self.seq = 0
        self.history: deque[Message] = deque(maxlen=history)
        self.clients: set[Client] = set()
        self.datasets: OrderedDict[str, str] = OrderedDict()  # run → dataset, for progress
        # Ids of the latest events: a publish retried (same id, which JetStream de-duplicates
        # but core NATS delivers again) is told once.
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.closed = False

    def position(self) -> str:
        return f"{self.epoch}-{self.seq}"

    # --- what NATS brings -------------------------------------------------------------------

    def offer(self, subject: str, body: bytes) -> None:
        """One event of the stream, as its CloudEvents envelope."""
        try:
            envelope = json.loads(body)
            data = envelope.get("data") if isinstance(envelope, dict) else None
        except ValueError:
            return
        if not isinstance(data, dict) or self._again(envelope.get("id")):
            return
        self._add(
            subject,
            data,
            at=occurred_at(data) or _when(envelope.get("time")),
            # a claim-checked envelope carries only the routing fields
            summary=summarize(subject, data, partial="dataref" in envelope),
        )

    def _again(self, event_id: Any) -> bool:
        if not isinstance(event_id, str) or not event_id:
            return False
        if event_id in self.seen:
            return True
        self.seen[event_id] = None
        while len(self.seen) > 4 * (self.history.maxlen or 1):
            self.seen.popitem(last=False)
        return False

    def progress(self, figure: dict[str, Any]) -> None:
        """A live figure of a run in flight (ingest's bytes or rows so far)."""
        run_id = str(figure.get("run_id") or "")
        if not run_id:
            return
        subject = PROGRESS_SUBJECT.format(run_id=run_id)
        data = {**figure, "dataset": figure.get("dataset") or self.datasets.get(run_id)}
        self._add(subject, data, at=datetime.now(UTC), summary=summarize(subject, figure))

    def _add(self, subject: str, data: dict[str, Any], *, at: datetime | None, summary: str):
        run_id = str(data["run_id"]) if data.get("run_id") else None
        dataset = str(data["dataset"]) if data.get("dataset") else None
        if run_id and dataset:
            self.datasets[run_id] = dataset
            self.datasets.move_to_end(run_id)
            while len(self.datasets) > self.history.maxlen:  # type: ignore[operator]
                self.datasets.popitem(last=False)
        self.seq += 1
        m = Message(self.seq, subject, run_id, dataset, at, summary, publisher(subject, data))
        if not subject.startswith(PROGRESS_PREFIX):  # a figure the next one replaces
            self.history.append(m)
        for client in self.clients:
            if client.wants(m):
                client.put(m)

    # --- clients ----------------------------------------------------------------------------

    def admit(self, owner: str) -> None:
        """Busy when one more stream (of `owner`'s) would pass the limits."""
        if len(self.clients) >= self.max_streams:
            detail = f"the gateway already serves {self.max_streams} live event streams (its "
            raise Busy(503, detail + "limit); try again shortly", retry_after=15)
        if sum(1 for c in self.clients if c.owner == owner) >= self.per_owner:
            detail = f"you have {self.per_owner} live event streams open, the most one user or "
            raise Busy(429, detail + "key may have; close one (a browser tab) first", retry_after=5)

    def connect(
        self,
        owner: str,
        *,
        run_id: str | None = None,
        dataset: str | None = None,
        admin: bool = False,
        last_event_id: str | None = None,
    ) -> Client:
        """A new client, given what it missed since `last_event_id`."""
        client = Client(owner, run_id, dataset, admin, self.queue_size)
        if last_event_id is not None:
            self._replay(client, last_event_id)
        self.clients.add(client)
        return client

    def _replay(self, client: Client, last_event_id: str) -> None:
        epoch, _, number = last_event_id.strip().partition("-")
        if epoch != self.epoch or not number.isdigit() or int(number) > self.seq:
            client.lost(None)  # numbered by another gateway process: what it missed is unknown
            return
        seen = int(number)
        oldest = self.history[0].seq if self.history else self.seq + 1
        if seen < oldest - 1:
            client.lost(oldest - 1 - seen)
        for m in self.history:
            if m.seq > seen and client.wants(m):
                client.put(m)

    def close(self) -> None:
        """End every stream (the gateway is stopping)."""
        self.closed = True
        for client in self.clients:
            client.wake.set()

    async def stream(
        self,
        owner: str,
        *,
        run_id: str | None = None,
        dataset: str | None = None,
        admin: bool = False,
        last_event_id: str | None = None,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[ServerSentEvent]:
        """A client's events until it goes (the response's end cancels this), the stream's
        lifetime ends or the gateway stops. The client joins when the stream starts, so one
        that never starts never stays; FastAPI adds a comment every 15 s (a keep-alive)."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + self.lifetime
        client = self.connect(owner, run_id=run_id, dataset=dataset, admin=admin,
                              last_event_id=last_event_id)  # fmt: skip
        try:
            # A new client learns where it starts, so a reconnection misses nothing.
            start = None if last_event_id is not None else self.position()
            yield ServerSentEvent(comment="FlowForge live events", retry=3000, id=start)
            while not self.closed:
                left = ends - loop.time()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(client.wake.wait(), min(left, self.poll))
                except TimeoutError:
                    if disconnected is not None and await disconnected():
                        break
                    continue
                gap, missed, items = client.take()
                if gap:
                    last = items[0].seq - 1 if items else self.seq
                    yield ServerSentEvent(event="overflow", id=f"{self.epoch}-{last}",
                                          data=overflow(missed))  # fmt: skip
                for m in items:
                    yield ServerSentEvent(event=m.subject, id=f"{self.epoch}-{m.seq}",
                                          data=m.data())  # fmt: skip
        finally:
            self.clients.discard(client)


def overflow(missed: int | None) -> dict[str, Any]:
    """What `event: overflow` says: messages were lost, so what the client shows may be stale."""
    lost = f"{missed} live events were" if missed is not None else "live events may have been"
    return {"subject": "overflow", "run_id": None, "dataset": None,
            "at": datetime.now(UTC).isoformat(), "service": "gateway",
            "summary": f"{lost} lost (the stream was read too slowly, or resumed too late); "
            "refetch what is shown"}  # fmt: skip


def _when(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when and when.tzinfo is None else when


def subscribe(broker: NatsBroker, hub: Hub) -> None:
    """Hear every subject of the stream live (core NATS; ANSWERS in natsauth grants it)."""
    for subject in STREAM_SUBJECTS:
        _hear(broker, hub, subject)


def _hear(broker: NatsBroker, hub: Hub, subject: str) -> None:
    # no_reply: a JetStream publish is a request whose reply is the stream's ack; a core
    # subscriber answering it (even with nothing) races that ack and breaks the publisher.
    @broker.subscriber(subject, decoder=raw_body, no_reply=True, title=f"gateway:live:{subject}")
    async def on_event(body: bytes, message: NatsMessage) -> None:
        hub.offer(message.raw_message.subject, body)


__all__ = ["Busy", "Hub", "subscribe"]
