"""The owners the gateway asks (over NATS request/reply), one small client per service.

The gateway keeps no other service's data: a question about runs goes to the catalog, about
rules and results to quality, about models and Silver specs to transform, about dataset
contracts to ingest, about analyses and suggestions to ai. Their errors come back as the
same domain errors (a 404 there is a 404 here, with the owner's message).
"""

from __future__ import annotations

from typing import Any

from faststream.nats import NatsBroker

from flowforge.common import rpc

QUICK = 30.0  # a question
LONG = 3600.0  # work the owner does before answering (a job waits for it)


class Owner:
    def __init__(self, broker: NatsBroker, service: str, quick: float = QUICK):
        self.broker = broker
        self.service = service
        self.quick = quick  # how long a question waits for its answer

    async def ask(self, verb: str, timeout: float | None = None, **request: Any) -> Any:  # noqa: ASYNC109
        wait = self.quick if timeout is None else timeout
        return await rpc.ask(self.broker, self.service, verb, request, timeout=wait)


class Owners:
    def __init__(self, broker: NatsBroker):
        self.catalog = Owner(broker, "catalog")
        self.ingest = Owner(broker, "ingest")
        self.transform = Owner(broker, "transform")
        self.quality = Owner(broker, "quality")
        self.ai = Owner(broker, "ai")
        self.scheduler = Owner(broker, "scheduler")
