"""What a service process knows about itself: its state, the last error its bus wrapper saw,
and the lag of each durable consumer it binds. The health reply over NATS and the ops
server's readiness report it; the lag also feeds the `flowforge_consumer_*` gauges."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from flowforge.common import metrics

log = logging.getLogger(__name__)
LAG_REFRESH_SECONDS = 5.0


@dataclass
class Vitals:
    state: str = "starting"  # starting → running → stopping
    last_error: dict[str, str] | None = None
    consumers: dict[str, dict[str, int]] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "consumers": dict(self.consumers),
            "last_error": self.last_error,
        }


# One entry per service; a process normally runs one service (tests may run several).
_VITALS: dict[str, Vitals] = {}


def of(service: str) -> Vitals:
    return _VITALS.setdefault(service, Vitals())


def note_error(service: str, subject: str, exc: BaseException) -> None:
    """Remember a handler's failure, and mark the consumed message's span as failed."""
    of(service).last_error = {
        "subject": subject,
        "error": str(exc) or type(exc).__name__,
        "type": type(exc).__name__,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))


def bound_consumers(broker: Any) -> list[tuple[str, str]]:
    """(stream, durable) of each JetStream durable consumer the broker's subscribers bind."""
    found = []
    for sub in broker.subscribers:
        stream = getattr(getattr(sub, "stream", None), "name", None)
        durable = getattr(getattr(sub, "config", None), "durable_name", None)
        if stream and durable:
            found.append((stream, durable))
    return found


async def refresh_consumer_lag(broker: Any, service: str) -> None:
    """Read each bound durable's consumer info once: pending, in flight, redelivered."""
    js = broker.config.connection_state.stream
    vitals = of(service)
    for stream, durable in bound_consumers(broker):
        try:
            info = await js.consumer_info(stream, durable, timeout=2)
        except Exception as exc:  # noqa: BLE001 - not created yet, or NATS away: try later
            log.debug("consumer info of %s unavailable: %s", durable, exc)
            continue
        lag = {
            "pending": int(info.num_pending or 0),
            "ack_pending": int(info.num_ack_pending or 0),
            "redelivered": int(info.num_redelivered or 0),
        }
        vitals.consumers[durable] = lag
        metrics.CONSUMER_PENDING.labels(service, durable).set(lag["pending"])
        metrics.CONSUMER_ACK_PENDING.labels(service, durable).set(lag["ack_pending"])
        metrics.CONSUMER_REDELIVERED.labels(service, durable).set(lag["redelivered"])


async def watch_consumer_lag(broker: Any, service: str, every: float = LAG_REFRESH_SECONDS):
    """Keep the lag of this service's durables fresh until cancelled."""
    while True:
        try:
            await refresh_consumer_lag(broker, service)
        except Exception as exc:  # noqa: BLE001 - a monitor must outlive a NATS restart
            log.debug("consumer lag refresh failed: %s", exc)
        await asyncio.sleep(every)
