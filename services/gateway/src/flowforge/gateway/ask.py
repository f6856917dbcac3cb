"""Asking another service over NATS request/reply (the owner of the data answers)."""

from __future__ import annotations

import json
from typing import Any

from flowforge.common.errors import BadInputError, ConflictError, NotFoundError, TransientError
from flowforge.gateway.deps import Gateway


async def ask(gw: Gateway, subject: str, request: dict[str, Any], wait: float) -> Any:
    """Send `request` as JSON and return the answer's `ok` part; an `error` answer becomes
    the matching domain error (so the API answers 400/404/409/503 with the owner's message)."""
    service = subject.split(".")[-2] if subject.count(".") >= 2 else subject
    try:
        reply = await gw.broker.request(json.dumps(request).encode(), subject, timeout=wait)
    except Exception as exc:  # noqa: BLE001 - no answer (service down or NATS unreachable)
        raise TransientError(f"the {service} service did not answer: {exc}") from exc
    try:
        answer = json.loads(reply.body)
    except ValueError as exc:
        raise TransientError(f"the {service} service sent an unreadable answer") from exc
    if "error" in answer:
        code = int(answer.get("status", 400))
        kind = {404: NotFoundError, 409: ConflictError}.get(
            code, TransientError if code >= 500 else BadInputError
        )
        raise kind(answer["error"])
    return answer.get("ok", {})
