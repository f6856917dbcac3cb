"""Gateway: composition root of the HTTP API (FastAPI, OpenAPI at /docs)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from flowforge.common import metrics
from flowforge.common.bus import make_broker
from flowforge.common.db import create_pool, migrate
from flowforge.common.errors import (
    BadInputError,
    ConflictError,
    FlowForgeError,
    NotFoundError,
    TransientError,
)
from flowforge.common.events import PROGRESS_SUBJECT
from flowforge.common.logs import configure_logging
from flowforge.common.settings import Settings
from flowforge.common.storage import LakeFiles, open_store
from flowforge.common.telemetry import setup_tracing
from flowforge.gateway.deps import Gateway, ProgressBoard
from flowforge.gateway.observability import observe_http
from flowforge.gateway.routes import ai, datasets, files, models, probes, quality, runs, system
from flowforge.gateway.schemas import ErrorPublic
from flowforge.gateway.state import State

log = logging.getLogger(__name__)
SERVICE = "gateway"
MIGRATIONS = Path(__file__).parent / "migrations"
STATUS = {BadInputError: 400, NotFoundError: 404, ConflictError: 409, TransientError: 503}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await migrate(pool, SERVICE, MIGRATIONS)
        store = await asyncio.to_thread(open_store, settings)
        broker = make_broker(settings, SERVICE)
        progress = ProgressBoard()

        @broker.subscriber(PROGRESS_SUBJECT.format(run_id="*"), title="gateway:progress")
        async def on_progress(figure: dict) -> None:
            progress.update(figure)

        await broker.start()
        app.state.gateway = Gateway(
            settings=settings,
            broker=broker,
            state=State(pool),
            store=store,
            files=LakeFiles(store, settings.home_dir / "cache" / SERVICE),
            progress=progress,
        )
        log.info("gateway listening on http://%s:%d", settings.host, settings.port)
        try:
            yield
        finally:
            await broker.stop()
            await pool.close()

    app = FastAPI(
        title="FlowForge",
        version="0.1.0",
        description="Land files into a Bronze/Silver/Gold lake; follow each run; read the "
        "results. Events: see /asyncapi.json.",
        lifespan=lifespan,
    )
    errors = {
        code: {"model": ErrorPublic, "description": text}
        for code, text in (
            (400, "the request or the data is wrong; `error` says how"),
            (404, "no such run, dataset, model or endpoint"),
            (503, "a dependency is unavailable; try again"),
        )
    }
    for router in (
        files.router,
        runs.router,
        datasets.router,
        quality.router,
        ai.router,
        models.router,
        system.router,
        probes.router,
    ):
        app.include_router(router, responses=errors)
    _install_error_handlers(app)
    observe_http(app)

    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next):
        # Refused before the body is read: the limit is not applied after a disk filled up.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.upload_limit_bytes + 1024 * 1024:
            return JSONResponse(
                {
                    "error": f"the upload is {int(length)} bytes; the limit is "
                    f"{settings.upload_limit_bytes} (FLOWFORGE_UPLOAD_LIMIT)"
                },
                status_code=413,
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

    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FlowForgeError)
    async def domain_error(request: Request, exc: FlowForgeError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        return JSONResponse({"error": str(exc)}, status_code=status)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        return JSONResponse({"error": message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body') or 'request'}: "
            f"{err.get('msg')}"
            for err in exc.errors()
        ]
        return JSONResponse(
            {"error": "the request is not valid: " + "; ".join(problems)}, status_code=422
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {
                "error": "internal error; the gateway log has the details",
                "detail": type(exc).__name__,
            },
            status_code=500,
        )


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
