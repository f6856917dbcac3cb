"""The shared shape of a service process: settings, logging, broker, pool, store, lifespan.

Each service's `app.py` is its composition root: it calls `run_service` with a function that
registers its subscribers against a `Runtime` whose resources open in the lifespan hook
(nothing connects at import time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from faststream import FastStream
from faststream.nats import NatsBroker

from flowforge.common import vitals
from flowforge.common.bus import make_broker, serve_health
from flowforge.common.db import create_pool, migrate
from flowforge.common.logs import configure_logging
from flowforge.common.ops import start_ops_server
from flowforge.common.settings import Settings, redact_url
from flowforge.common.storage import ObjectStore, open_store
from flowforge.common.telemetry import setup_tracing

log = logging.getLogger(__name__)


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


def build_app(
    service: str,
    register: Callable[[Runtime], None],
    *,
    migrations: Path | None = None,
    settings: Settings | None = None,
) -> tuple[FastStream, Runtime]:
    settings = settings or Settings()
    broker = make_broker(settings, service)
    rt = Runtime(service=service, settings=settings, broker=broker)
    register(rt)

    async def checks() -> dict:
        ok_db = False
        if rt._pool is not None:
            try:
                await rt.pool.fetchval("SELECT 1")
                ok_db = True
            except Exception:  # noqa: BLE001 - a health check reports, it does not raise
                ok_db = False
        return {"nats": await broker.ping(1), "database": ok_db, "store": rt._store is not None}

    serve_health(broker, service, checks)
    rt.background.append(lambda: vitals.watch_consumer_lag(broker, service))

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        ops = await start_ops_server(service, settings, checks)  # /livez answers from now on
        rt._pool = await create_pool(settings.database_url)
        if migrations is not None:
            await migrate(rt.pool, service, migrations)
        rt._store = await asyncio.to_thread(open_store, settings)
        log.info(
            "%s started (nats %s, store %s)",
            service,
            redact_url(settings.nats_url),
            "s3" if settings.uses_s3 else "local",
        )
        try:
            yield
        finally:
            await rt.pool.close()
            if ops is not None:
                ops.close()

    app = FastStream(broker, lifespan=lifespan)
    tasks: list[asyncio.Task] = []

    @app.after_startup
    async def start_background() -> None:
        vitals.of(service).state = "running"
        tasks.extend(asyncio.create_task(job()) for job in rt.background)

    @app.on_shutdown
    async def stop_background() -> None:
        vitals.of(service).state = "stopping"
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    return app, rt


async def answer_request(work: Callable[[], Awaitable[Any]], what: str) -> dict:
    """The reply to a request/reply call: `{"ok": result}`, or `{"error": message, "status":
    HTTP status}` that the gateway turns back into the matching error (never a traceback: the
    log has it)."""
    from flowforge.common.errors import (
        ConflictError,
        FlowForgeError,
        NotFoundError,
        TransientError,
    )

    try:
        return {"ok": await work()}
    except NotFoundError as exc:
        return {"error": str(exc), "status": 404}
    except ConflictError as exc:
        return {"error": str(exc), "status": 409}
    except FlowForgeError as exc:
        return {"error": str(exc), "status": 503 if isinstance(exc, TransientError) else 400}
    except Exception as exc:  # noqa: BLE001 - the caller gets a message, the log the trace
        log.exception("%s failed", what)
        return {"error": f"{what} failed: {exc}", "status": 500}


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
