"""Gateway: composition root of the HTTP API (FastAPI, OpenAPI at /docs).

It starts like every service (`flowforge.common.service`: settings, broker, pool with its
migrations, object store), inside FastAPI's lifespan, and answers clients by asking the
services that own the data (`owners`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request

from flowforge.common import metrics
from flowforge.common.events import PROGRESS_SUBJECT, FileLanded
from flowforge.common.logs import configure_logging
from flowforge.common.service import Runtime, new_runtime, open_runtime
from flowforge.common.settings import Settings
from flowforge.common.storage import LakeFiles
from flowforge.common.telemetry import setup_tracing
from flowforge.gateway import docs, problems
from flowforge.gateway.deps import Gateway, ProgressBoard
from flowforge.gateway.jobs import JobRunner
from flowforge.gateway.observability import observe_http
from flowforge.gateway.owners import Owners
from flowforge.gateway.records import PgJobs, PgUploads
from flowforge.gateway.routes import (
    ai,
    datasets,
    files,
    jobs,
    models,
    probes,
    quality,
    runs,
    system,
)

log = logging.getLogger(__name__)
SERVICE = "gateway"
MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (files, runs, datasets, quality, ai, models, jobs, system, probes)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _register(progress: ProgressBoard) -> Callable[[Runtime], None]:
    def register(rt: Runtime) -> None:
        rt.publishes(FileLanded)

        @rt.broker.subscriber(PROGRESS_SUBJECT.format(run_id="*"), title="gateway:progress")
        async def on_progress(figure: dict) -> None:
            progress.update(figure)

    return register


def runtime_lifespan(settings: Settings) -> Lifespan:
    """Open the gateway's runtime (the same start-up as every service) for the app's life."""
    progress = ProgressBoard()
    rt = new_runtime(SERVICE, _register(progress), settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(rt, MIGRATIONS, ops=False):
            await rt.broker.start()
            runner = JobRunner(PgJobs(rt.pool))
            abandoned = await runner.jobs.abandon_running()
            if abandoned:
                log.warning("%d job(s) of a previous gateway process marked failed", abandoned)
            app.state.gateway = Gateway(
                settings=settings,
                broker=rt.broker,
                store=rt.store,
                files=LakeFiles(rt.store, settings.home_dir / "cache" / SERVICE),
                progress=progress,
                owners=Owners(rt.broker),
                uploads=PgUploads(rt.pool),
                jobs=runner,
            )
            app.state.checks = rt.checks
            app.state.runtime = rt
            await rt.start_background()
            log.info("gateway listening on http://%s:%d", settings.host, settings.port)
            try:
                yield
            finally:
                await rt.stop_background()
                await runner.stop()
                await rt.broker.stop()

    return lifespan


def create_app(settings: Settings | None = None, *, lifespan: Lifespan | None = None) -> FastAPI:
    """The API. `lifespan` replaces the real resources (tests pass fakes)."""
    settings = settings or Settings()
    app = FastAPI(
        title="FlowForge",
        version="0.1.0",
        description="Land files into a Bronze/Silver/Gold lake; follow each run; read the "
        "results. Errors are RFC 9457 problem details. Events: see /asyncapi.json.",
        lifespan=lifespan or runtime_lifespan(settings),
        docs_url=None,
        redoc_url=None,
    )
    for module in ROUTERS:
        app.include_router(module.router, responses=problems.responses())
    problems.install(app)
    docs.install(app)
    _install_middleware(app, settings)
    observe_http(app)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next):
        # Refused before the body is read: the limit is not applied after a disk filled up.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.upload_limit_bytes + 1024 * 1024:
            return problems.problem(
                "payload-too-large",
                f"the upload is {int(length)} bytes; the limit is "
                f"{settings.upload_limit_bytes} (FLOWFORGE_UPLOAD_LIMIT)",
                request,
            )
        return await call_next(request)

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        response = await call_next(request)
        route = request.scope.get("route")
        metrics.HTTP_REQUESTS.labels(
            getattr(route, "path", "unmatched"), request.method, str(response.status_code)
        ).inc()
        return response


def main() -> None:
    import uvicorn

    settings = Settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    setup_tracing(SERVICE, settings)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
