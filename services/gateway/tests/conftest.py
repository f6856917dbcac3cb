"""The gateway on FastStream's in-memory broker: the owners it asks are fakes answering the same
request/reply subjects (`flowforge.svc.<service>.<verb>`) the real services answer, its own
tables are in memory, the lake is a temporary folder. No server is started; a test takes
milliseconds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker, TestNatsBroker

from flowforge.common import rpc
from flowforge.common.errors import NotFoundError
from flowforge.common.settings import Settings
from flowforge.common.storage import LakeFiles, open_store
from flowforge.gateway.app import create_app
from flowforge.gateway.deps import Gateway, ProgressBoard
from flowforge.gateway.jobs import JobRunner
from flowforge.gateway.owners import Owners


class MemoryUploads:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    async def record(self, **upload: Any) -> None:
        self.rows.append({**upload, "created_at": datetime.now(UTC)})

    async def get(self, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["run_id"] == run_id), None)

    async def same_content(self, dataset: str, content_hash: str) -> list[dict[str, Any]]:
        found = [
            r for r in self.rows if (r["dataset"], r["content_hash"]) == (dataset, content_hash)
        ]
        return list(reversed(found))


class MemoryJobs:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    async def create(self, job_id: str, kind: str, dataset: str | None, request: dict) -> None:
        self.rows[job_id] = {"id": job_id, "kind": kind, "dataset": dataset, "status": "queued",
                             "request": request, "result": None, "error": None,
                             "created_at": datetime.now(UTC), "started_at": None,
                             "finished_at": None}  # fmt: skip

    async def started(self, job_id: str) -> None:
        self.rows[job_id].update(status="running", started_at=datetime.now(UTC))

    async def finished(self, job_id: str, *, result: Any = None, error: str | None = None) -> None:
        # The real table stores JSON: what a job returns must survive a round trip.
        stored = json.loads(rpc.dumps(result))
        self.rows[job_id].update(status="failed" if error else "succeeded", result=stored,
                                 error=error, finished_at=datetime.now(UTC))  # fmt: skip

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return self.rows.get(job_id)

    async def page(self, before, limit: int) -> list[dict]:
        rows = sorted(self.rows.values(), key=lambda r: (r["created_at"], r["id"]), reverse=True)
        if before:
            rows = [r for r in rows if (r["created_at"], r["id"]) < before]
        return rows[:limit]

    async def abandon_running(self) -> int:
        return 0


@dataclass
class FakeOwners:
    """Fake owners: `answer(service, verb, fn)` makes `fn(request)` the answer; every request
    is recorded in `asked` as (service, verb, request)."""

    broker: NatsBroker
    asked: list[tuple[str, str, dict]] = field(default_factory=list)
    answers: dict[tuple[str, str], Callable[[dict], Awaitable[Any]]] = field(default_factory=dict)

    def answer(self, service: str, verb: str, fn: Callable[[dict], Any]) -> None:
        async def call(request: dict) -> Any:
            result = fn(request)
            return await result if asyncio.iscoroutine(result) else result

        self.answers[(service, verb)] = call

    def verbs(self, service: str) -> list[dict]:
        return [r for s, _, r in self.asked if s == service]

    def asked_for(self, service: str, verb: str) -> list[dict]:
        return [r for s, v, r in self.asked if (s, v) == (service, verb)]


VERBS = {
    "catalog": ["runs.get", "runs.list", "datasets.list", "asset.get", "objects.list",
                "lineage.get"],
    "ingest": ["dataset.get", "dataset.put", "datasets.list"],
    "transform": ["models.list", "models.get", "models.put", "models.build", "spec.get",
                  "spec.put", "silver.batches"],
    "quality": ["rules.get", "rules.put", "rules.add", "rules.delete", "results",
                "quarantine.batches", "replay", "release", "dryrun"],
    "ai": ["suggestions", "profile", "suggestion.get", "suggestion.claim", "suggestion.unclaim",
           "suggestion.decide", "analyze"],
}  # fmt: skip


def _register(broker: NatsBroker, fakes: FakeOwners) -> None:
    for service, verbs in VERBS.items():
        for verb in verbs:

            async def handle(request: dict, service=service, verb=verb) -> Any:
                fakes.asked.append((service, verb, request))
                fn = fakes.answers.get((service, verb))
                if fn is None:
                    raise NotFoundError(f"(fake) {service} has no answer for {verb}")
                return await fn(request)

            rpc.serve(broker, service, verb, handle)


@dataclass
class Harness:
    client: httpx.AsyncClient
    owners: FakeOwners
    uploads: MemoryUploads
    jobs: MemoryJobs
    published: list[dict]
    gateway: Gateway


@pytest.fixture
async def harness(tmp_path) -> AsyncIterator[Harness]:
    settings = Settings(FLOWFORGE_HOME=str(tmp_path), NATS_URL="nats://test:4222")
    broker = NatsBroker()
    fakes = FakeOwners(broker)
    _register(broker, fakes)
    published: list[dict] = []

    @broker.subscriber("file.landed", stream=settings.stream_name)
    async def landed(body: dict) -> None:
        published.append(body)

    uploads, jobs = MemoryUploads(), MemoryJobs()
    async with TestNatsBroker(broker) as test_broker:
        store = open_store(settings)
        gateway = Gateway(
            settings=settings,
            broker=test_broker,
            store=store,
            files=LakeFiles(store, tmp_path / "cache"),
            progress=ProgressBoard(),
            owners=Owners(test_broker),
            uploads=uploads,
            jobs=JobRunner(jobs),
        )

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            app.state.gateway = gateway

            async def checks() -> dict[str, bool]:
                return {"database": True, "nats": True, "store": True}

            app.state.checks = checks
            yield
            await gateway.jobs.stop()

        app = create_app(settings, lifespan=lifespan)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                yield Harness(client, fakes, uploads, jobs, published, gateway)
