"""Questions between services: core-NATS request/reply on `flowforge.svc.<service>.<verb>`.

A service's data is its own; another service that needs it asks the owner. The owner
registers a verb with `serve` (every replica joins the service's queue group, so one answers);
the asker calls `ask`, which returns the answer or raises the domain error the owner raised,
so a 404 in the catalog is a 404 at the gateway, with the owner's message.

The wire format is JSON both ways; an answer is `{"ok": result}` or `{"error": message,
"status": HTTP status}` (never a traceback: the owner's log has it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asyncpg.exceptions import CharacterNotInRepertoireError, UntranslatableCharacterError
from faststream.nats import NatsBroker

from flowforge.common.errors import (
    BadInputError,
    ConflictError,
    FlowForgeError,
    NotFoundError,
    TransientError,
)

log = logging.getLogger(__name__)
PREFIX = "flowforge.svc"
DEFAULT_TIMEOUT = 30.0

Verb = Callable[[dict[str, Any]], Awaitable[Any]]


def subject(service: str, verb: str) -> str:
    return f"{PREFIX}.{service}.{verb}"


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID | bytes):
        return value.hex() if isinstance(value, bytes) else str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "items"):  # asyncpg.Record
        return dict(value.items())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default).encode()


def status_of(exc: BaseException) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, TransientError):
        return 503
    return 400 if isinstance(exc, FlowForgeError) else 500


async def answer(work: Callable[[], Awaitable[Any]], what: str) -> dict[str, Any]:
    """Run `work` and shape its outcome as an answer."""
    try:
        return {"ok": await work()}
    except FlowForgeError as exc:
        return {"error": str(exc), "status": status_of(exc)}
    except (CharacterNotInRepertoireError, UntranslatableCharacterError) as exc:
        return {"error": f"text that cannot be stored: {exc}", "status": 400}
    except Exception as exc:  # noqa: BLE001 - the asker gets a message, the log the trace
        log.exception("%s failed", what)
        return {"error": f"{what} failed: {type(exc).__name__}: {exc}", "status": 500}


def serve(broker: NatsBroker, service: str, verb: str, fn: Verb) -> None:
    """Answer `flowforge.svc.<service>.<verb>` with `fn(request)`."""

    async def decode(msg: Any) -> bytes:
        return msg.body

    @broker.subscriber(
        subject(service, verb), queue=service, decoder=decode, title=f"{service}:{verb}"
    )
    async def _on_request(body: bytes) -> bytes:
        async def work() -> Any:
            try:
                request = json.loads(body) if body else {}
            except ValueError as exc:
                raise BadInputError(f"the request is not JSON: {exc}") from exc
            if not isinstance(request, dict):
                raise BadInputError("the request must be a JSON object")
            if b"\\u0000" in body:  # PostgreSQL text cannot hold NUL: refuse, not fail
                raise BadInputError("the request holds a NUL character (\\x00), which no name, "
                                    "filter or value may contain")  # fmt: skip
            return await fn(request)

        return dumps(await answer(work, f"{service}.{verb}"))


def raise_for(answer_: dict[str, Any]) -> Any:
    """The `ok` part of an answer, or the owner's error raised as the matching domain error."""
    if "error" not in answer_:
        return answer_.get("ok")
    code = int(answer_.get("status", 400))
    kind: type[FlowForgeError] = {404: NotFoundError, 409: ConflictError}.get(
        code, TransientError if code >= 500 else BadInputError
    )
    raise kind(str(answer_["error"]))


async def ask(
    broker: NatsBroker,
    service: str,
    verb: str,
    request: dict[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - NATS's own request timeout
) -> Any:
    """Ask the owner; its answer, or its error as a domain error. No answer (the service is
    down, or NATS is) is a TransientError that names the service."""
    try:
        reply = await broker.request(dumps(request or {}), subject(service, verb), timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - no answer is the answer
        raise TransientError(
            f"the {service} service did not answer ({verb}): "
            f"{type(exc).__name__}{': ' + str(exc) if str(exc) else ''}"
        ) from exc
    try:
        decoded = json.loads(reply.body)
    except ValueError as exc:
        raise TransientError(f"the {service} service sent an unreadable answer") from exc
    if not isinstance(decoded, dict):
        raise TransientError(f"the {service} service sent an unexpected answer")
    return raise_for(decoded)


__all__ = ["PREFIX", "answer", "ask", "dumps", "raise_for", "serve", "status_of", "subject"]
