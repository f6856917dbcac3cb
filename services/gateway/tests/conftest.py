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
from flowforge.gateway.access import ROLES
from flowforge.gateway.app import create_app
from flowforge.gateway.deps import Gateway, ProgressBoard
from flowforge.gateway.identity import Authenticator, new_key
from flowforge.gateway.jobs import JobRunner
from flowforge.gateway.live import Hub, subscribe
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


class MemoryIdentities:
    """Users, keys and sessions in dicts, behaving like `accounts.PgIdentities`."""

    def __init__(self) -> None:
        self.users_: dict[str, dict[str, Any]] = {}
        self.keys_: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}

    async def user(self, name: str) -> dict[str, Any] | None:
        return dict(self.users_[name]) if name in self.users_ else None

    async def users(self) -> list[dict[str, Any]]:
        return [dict(u) for _, u in sorted(self.users_.items())]

    async def add_user(self, name: str, password_hash: str, role: str) -> dict[str, Any]:
        if name in self.users_:
            return {}
        at = datetime.now(UTC)
        self.users_[name] = {"name": name, "password_hash": password_hash, "role": role,
                             "disabled": False, "failed_logins": 0, "locked_until": None,
                             "last_login_at": None, "created_at": at, "updated_at": at}  # fmt: skip
        return dict(self.users_[name])

    async def update_user(self, name: str, **fields: Any) -> dict[str, Any] | None:
        if name not in self.users_:
            return None
        self.users_[name].update(fields, updated_at=datetime.now(UTC))
        return dict(self.users_[name])

    async def delete_user(self, name: str) -> bool:
        return self.users_.pop(name, None) is not None

    async def admins(self) -> int:
        return sum(1 for u in self.users_.values() if u["role"] == "admin" and not u["disabled"])

    async def key(self, key_id: str) -> dict[str, Any] | None:
        return dict(self.keys_[key_id]) if key_id in self.keys_ else None

    async def keys(self) -> list[dict[str, Any]]:
        return [dict(k) for k in self.keys_.values()]

    async def add_key(self, **key: Any) -> dict[str, Any]:
        self.keys_[key["id"]] = {"expires_at": None, **key, "created_at": datetime.now(UTC),
                                 "revoked_at": None, "last_used_at": None}  # fmt: skip
        return dict(self.keys_[key["id"]])

    async def revoke_key(self, key_id: str) -> bool:
        if self.keys_[key_id]["revoked_at"] is not None:
            return False
        self.keys_[key_id]["revoked_at"] = datetime.now(UTC)
        return True

    async def touch_key(self, key_id: str) -> None:
        self.keys_[key_id]["last_used_at"] = datetime.now(UTC)

    async def add_session(self, token_hash: str, user: str, csrf: str, expires) -> None:
        self.sessions[token_hash] = {"user_name": user, "csrf_token": csrf, "expires_at": expires}

    async def session(self, token_hash: str) -> dict[str, Any] | None:
        found = self.sessions.get(token_hash)
        if found is None or found["user_name"] not in self.users_:
            return None
        user = self.users_[found["user_name"]]
        return {**found, "role": user["role"], "disabled": user["disabled"]}

    async def drop_session(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    async def drop_sessions_of(self, user: str) -> None:
        for token, found in list(self.sessions.items()):
            if found["user_name"] == user:
                del self.sessions[token]


class MemoryAudit:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        row = {**entry, "id": len(self.entries) + 1, "at": datetime.now(UTC)}
        self.entries.append(row)
        return row

    async def page(self, filters, before, limit: int) -> list[dict[str, Any]]:
        rows = [
            e
            for e in reversed(self.entries)
            if all(filters.get(f) in (None, e.get(f)) for f in ("actor", "action", "target"))
        ]
        return rows[:limit]  # fmt: skip


class MemoryJobs:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    async def create(self, job_id: str, kind: str, dataset: str | None, request: dict) -> None:
        self.rows[job_id] = {"id": job_id, "kind": kind, "dataset": dataset, "status": "queued",
                             "request": request, "result": None, "error": None,
                             "created_at": datetime.now(UTC), "started_at": None,
                             "finished_at": None}  # fmt: skip

    async def started(self, job_id: str, owner: str) -> None:
        self.rows[job_id].update(status="running", started_at=datetime.now(UTC), owner=owner)

    async def heartbeat(self, owner: str) -> None:
        return None

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

    async def abandon_stale(self) -> int:
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
                "lineage.get", "runs.events", "overview", "descriptions.get", "descriptions.put",
                "docs.export"],
    "ingest": ["dataset.get", "dataset.put", "datasets.list", "source.put", "sample.bronze",
               "extract"],
    "transform": ["models.list", "models.get", "models.put", "models.build", "spec.get",
                  "spec.put", "silver.batches", "sample.silver", "sample.model"],
    "quality": ["rules.get", "rules.put", "rules.add", "rules.delete", "results",
                "quarantine.batches", "replay", "release", "dryrun", "overview", "sample.rules"],
    "ai": ["suggestions", "profile", "suggestion.get", "suggestion.claim", "suggestion.unclaim",
           "suggestion.decide", "analyze", "proposal.draft", "proposal.get", "proposal.list",
           "proposal.dry_run", "proposal.claim", "proposal.decide"],
    "scheduler": ["alerts.recent", "workflow.put"],
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
    identities: MemoryIdentities
    audit: MemoryAudit
    keys: dict[str, str]  # role -> an API key of that role

    def as_role(self, role: str | None) -> dict[str, str]:
        """Headers of a caller with `role` (None: anonymous)."""
        return {"authorization": f"Bearer {self.keys[role]}"} if role else {"authorization": ""}


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

    # Live streams end after a second here (a client reconnects), so a request reads to the end.
    hub = Hub(lifetime=1.0)
    subscribe(broker, hub)

    uploads, jobs = MemoryUploads(), MemoryJobs()
    identities, audit_log = MemoryIdentities(), MemoryAudit()
    keys = {}
    for role in ROLES:
        key_id, key, secret_hash = new_key()
        await identities.add_key(id=key_id, name=f"{role} key", role=role,
                                 secret_hash=secret_hash, created_by="test")  # fmt: skip
        keys[role] = key
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
            live=hub,
        )

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            app.state.gateway = gateway

            async def checks() -> dict[str, bool]:
                return {"database": True, "nats": True, "store": True}

            app.state.checks = checks
            app.state.authenticator = Authenticator(identities)
            app.state.audit = audit_log
            yield
            await gateway.jobs.stop()

        app = create_app(settings, lifespan=lifespan)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            admin = {"authorization": f"Bearer {keys['admin']}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost", headers=admin
            ) as client:
                yield Harness(client, fakes, uploads, jobs, published, gateway, identities,
                              audit_log, keys)  # fmt: skip
