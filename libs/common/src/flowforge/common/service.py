"""The shared shape of a service process: settings, logging, broker, pool, store, lifespan.

Each service's `app.py` is its composition root: it calls `run_service` with a function that
registers its subscribers and request/reply verbs against a `Runtime` whose resources open in
the lifespan hook (nothing connects at import time). The gateway opens the same `Runtime`
inside FastAPI's lifespan (`open_runtime`), so every service starts, checks its health and
stops the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from faststream import FastStream
from faststream.nats import NatsBroker

from flowforge.common import rpc, vitals
from flowforge.common.asyncapi import declare_publishers, service_document
from flowforge.common.bus import Claims, make_broker, serve_health
from flowforge.common.db import create_pool, migrate
from flowforge.common.events import Event
from flowforge.common.logs import configure_logging
from flowforge.common.ops import start_ops_server
from flowforge.common.settings import Settings, redact_url
from flowforge.common.storage import ObjectStore, open_store
from flowforge.common.telemetry import setup_tracing

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Runtime:
    """Resources of one service process; filled in by the lifespan hook."""

    service: str
    settings: Settings
    broker: NatsBroker
    _pool: asyncpg.Pool | None = None
    _store: ObjectStore | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Long-running tasks started once the broker is connected, cancelled at shutdown.
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet")
        return self._pool

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            raise RuntimeError("the object store is not open yet")
        return self._store

    def lazy(self, factory: Callable[[Runtime], T]) -> Callable[[], T]:
        """`factory(rt)` made on first call and kept: handlers are registered before the
        lifespan opens the pool and store, and bind them when the first message arrives."""
        made: list[T] = []

        def get() -> T:
            if not made:
                made.append(factory(self))
            return made[0]

        return get

    def publishes(self, *events: type[Event]) -> None:
        """Declare the events this service publishes (for the AsyncAPI document)."""
        declare_publishers(self.broker, self.service, list(events))

    def serve(self, verb: str, fn: rpc.Verb) -> None:
        """Answer `flowforge.svc.<service>.<verb>` (the owner answering a question)."""
        rpc.serve(self.broker, self.service, verb, fn)

    def serve_verbs(
        self, verbs: dict[str, Callable[[dict, T], Awaitable[Any]]], deps: Callable[[], T]
    ) -> None:
        """Answer each verb as `verbs[name](request, deps())`."""
        for name, verb in verbs.items():

            async def answer(request: dict, verb=verb) -> Any:
                return await verb(request, deps())

            self.serve(name, answer)

    async def ask(self, service: str, verb: str, request: dict | None = None, **kw: Any) -> Any:
        return await rpc.ask(self.broker, service, verb, request, **kw)

    async def start_background(self) -> None:
        """Start the long-running tasks (once the broker is connected)."""
        vitals.of(self.service).state = "running"
        self._tasks = [asyncio.create_task(job()) for job in self.background]

    async def stop_background(self) -> None:
        vitals.of(self.service).state = "stopping"
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def checks(self) -> dict[str, bool]:
        ok_db = False
        if self._pool is not None:
            try:
                await self._pool.fetchval("SELECT 1")
                ok_db = True
            except Exception:  # noqa: BLE001 - a health check reports, it does not raise
                ok_db = False
        return {
            "nats": await self.broker.ping(1),
            "database": ok_db,
            "store": self._store is not None,
        }


def build_app(
    service: str,
    register: Callable[[Runtime], None],
    *,
    migrations: Path | None = None,
    settings: Settings | None = None,
) -> tuple[FastStream, Runtime]:
    rt = new_runtime(service, register, settings=settings)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with open_runtime(rt, migrations):
            yield

    app = FastStream(rt.broker, lifespan=lifespan)
    app.after_startup(rt.start_background)
    app.on_shutdown(rt.stop_background)
    return app, rt


def new_runtime(
    service: str,
    register: Callable[[Runtime], None],
    *,
    settings: Settings | None = None,
) -> Runtime:
    """The runtime of a service with its subscribers, verbs and health answer registered
    (nothing is connected yet)."""
    settings = settings or Settings()
    rt = Runtime(service=service, settings=settings, broker=make_broker(settings, service))
    register(rt)
    serve_health(rt.broker, service, rt.checks)

    async def asyncapi(_: dict) -> dict:
        return service_document(rt.broker, service)

    rt.serve("asyncapi", asyncapi)
    rt.background.append(lambda: vitals.watch_consumer_lag(rt.broker, service))
    return rt


@asynccontextmanager
async def open_runtime(
    rt: Runtime, migrations: Path | None, *, ops: bool = True
) -> AsyncIterator[Runtime]:
    """Open the ops endpoints (when configured, and `ops`: the gateway serves its own), the
    pool (migrating the service's schema) and the object store; close them on the way out."""
    settings = rt.settings
    server = await start_ops_server(rt.service, settings, rt.checks) if ops else None
    try:
        rt._pool = await create_pool(settings.database_url)
    except BaseException:
        if server is not None:
            server.close()
        raise
    try:
        if migrations is not None:
            await migrate(rt.pool, rt.service, migrations)
        rt._store = await asyncio.to_thread(open_store, settings)
        Claims.store = rt._store  # where events too large for the bus are kept
        log.info(
            "%s started (nats %s, store %s)",
            rt.service,
            redact_url(settings.nats_url),
            "s3" if settings.uses_s3 else "local",
        )
        yield rt
    finally:
        await rt.pool.close()
        if server is not None:
            server.close()


def run_service(
    service: str,
    register: Callable[[Runtime], None],
    *,
    migrations: Path | None = None,
) -> None:
    settings = Settings()
    configure_logging(service, settings.log_level, settings.log_format)
    setup_tracing(service, settings)
    app, _ = build_app(service, register, migrations=migrations, settings=settings)
    asyncio.run(app.run())
