"""Gateway: composition root of the HTTP API (FastAPI, OpenAPI at /docs).

It starts like every service (`flowforge.common.service`: settings, broker, pool with its
migrations, object store), inside FastAPI's lifespan, and answers clients by asking the
services that own the data (`owners`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from flowforge.common.events import PROGRESS_SUBJECT, AuditRecorded, FileLanded
from flowforge.common.logs import configure_logging
from flowforge.common.service import Runtime, new_runtime, open_runtime
from flowforge.common.settings import Settings
from flowforge.common.storage import LakeFiles
from flowforge.common.telemetry import setup_tracing
from flowforge.gateway import audit, docs, live, openapi, problems, webui
from flowforge.gateway.access import authorize
from flowforge.gateway.accounts import PgIdentities
from flowforge.gateway.bootstrap import ensure_admin
from flowforge.gateway.deps import Gateway, ProgressBoard
from flowforge.gateway.identity import Authenticator
from flowforge.gateway.jobs import JobRunner
from flowforge.gateway.limits import (
    AuthorizeBeforeBody,
    BodyLimit,
    HeaderTimeoutProtocol,
    RateLimiter,
    TimeLimit,
    parse_rates,
)
from flowforge.gateway.observability import observe_http
from flowforge.gateway.owners import Owners
from flowforge.gateway.records import PgJobs, PgUploads
from flowforge.gateway.routes import (
    ai,
    auth,
    connections,
    dashboard,
    datasets,
    descriptions,
    events,
    files,
    jobs,
    lakehouse,
    models,
    people,
    probes,
    proposals,
    quality,
    runs,
    sources,
    sql,
    system,
    workflows,
)
from flowforge.gateway.routes import audit as audit_routes

log = logging.getLogger(__name__)
SERVICE = "gateway"
# Events the gateway itself sends: uploads, and one record per change in the audit log.
PUBLISHES = (FileLanded, AuditRecorded)
MIGRATIONS = Path(__file__).parent / "migrations"
ROUTERS = (files, runs, datasets, quality, ai, models, connections, sources, workflows, sql,
           lakehouse, jobs, auth, people, audit_routes, system, probes, dashboard,
           events, descriptions, proposals)  # fmt: skip

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _register(progress: ProgressBoard, hub: live.Hub) -> Callable[[Runtime], None]:
    def register(rt: Runtime) -> None:
        rt.publishes(*PUBLISHES)
        live.subscribe(rt.broker, hub)

        @rt.broker.subscriber(PROGRESS_SUBJECT.format(run_id="*"), title="gateway:progress")
        async def on_progress(figure: dict) -> None:
            progress.update(figure)
            hub.progress(figure)

    return register


def runtime_lifespan(settings: Settings) -> Lifespan:
    """Open the gateway's runtime (the same start-up as every service) for the app's life."""
    progress, hub = ProgressBoard(), live.Hub()
    rt = new_runtime(SERVICE, _register(progress, hub), settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(rt, MIGRATIONS, ops=False):
            await rt.broker.start()
            runner = JobRunner(PgJobs(rt.pool))
            rt.background.append(runner.watch)
            app.state.gateway = Gateway(
                settings=settings,
                broker=rt.broker,
                store=rt.store,
                files=LakeFiles(rt.store, settings.home_dir / "cache" / SERVICE),
                progress=progress,
                owners=Owners(rt.broker),
                uploads=PgUploads(rt.pool),
                jobs=runner,
                live=hub,
            )
            app.state.checks = rt.checks
            app.state.runtime = rt
            identities = PgIdentities(rt.pool)
            app.state.authenticator = Authenticator(identities, settings.session_hours)
            app.state.audit = audit.AuditLog(rt.pool)
            await ensure_admin(identities, settings)
            await rt.start_background()
            log.info("gateway listening on http://%s:%d", settings.host, settings.port)
            try:
                yield
            finally:
                hub.close()
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
        "results. Every route but health, sign-in and the docs needs an API key "
        "(`Authorization: Bearer <key>`) or a session; roles: viewer < analyst < operator < "
        "admin. Errors are RFC 9457 problem details. Events: see /asyncapi.json.",
        lifespan=lifespan or runtime_lifespan(settings),
        docs_url=None,
        redoc_url=None,
        # The one access check of every route (flowforge.gateway.access).
        dependencies=[Depends(authorize)],
    )
    app.state.limiter = RateLimiter(parse_rates(settings.rate_limits))
    app.state.cors_origins = settings.cors_origin_list
    app.state.background = set()
    for module in ROUTERS:
        app.include_router(module.router, responses=problems.responses())
    problems.install(app)
    docs.install(app)
    openapi.install(app)
    # Last: the web UI answers every GET no other route took.
    app.state.ui_dir = settings.ui_dir or webui.DEFAULT_DIST
    app.include_router(webui.router)
    _install_middleware(app, settings)
    observe_http(app)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    """Innermost first: the access check before a body is read (so its refusal reaches
    FastAPI as an HTTP error), audit, time limit; then CORS, host check and body
    limits around everything."""
    app.add_middleware(AuthorizeBeforeBody)
    audit.install(app)
    exempt = [("POST", "/api/v1/files"), (None, events.STREAM_PATH)]  # as long as they last
    app.add_middleware(TimeLimit, seconds=settings.request_timeout_seconds, exempt=exempt)

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type", "x-csrf-token", "prefer"],
        )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_host_list)

    def limit_for(path: str) -> tuple[int, str]:
        if path in ("/api/v1/files", "/api/v1/proposals"):
            return settings.upload_limit_bytes + 1024 * 1024, "FLOWFORGE_UPLOAD_LIMIT"
        return settings.body_limit_bytes, "FLOWFORGE_BODY_LIMIT"

    app.add_middleware(BodyLimit, limit_for=limit_for)


def main() -> None:
    import uvicorn

    settings = Settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    setup_tracing(SERVICE, settings)
    _warn_if_exposed(settings)
    HeaderTimeoutProtocol.header_timeout = settings.header_timeout_seconds
    tls = settings.tls_certfile is not None and settings.tls_keyfile is not None
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        http=HeaderTimeoutProtocol,
        timeout_keep_alive=5,
        ssl_certfile=str(settings.tls_certfile) if tls else None,
        ssl_keyfile=str(settings.tls_keyfile) if tls else None,
        proxy_headers=settings.behind_proxy,
        forwarded_allow_ips="*" if settings.behind_proxy else None,
    )


def _warn_if_exposed(settings: Settings) -> None:
    """Binding beyond this machine without TLS or a TLS-terminating proxy sends keys and
    passwords in clear text: say so."""
    local = settings.host in ("127.0.0.1", "localhost", "::1")
    if not local and settings.tls_certfile is None and not settings.behind_proxy:
        log.warning(
            "the gateway listens on %s without TLS: API keys and passwords would cross the "
            "network in clear text. Set FLOWFORGE_TLS_CERT/FLOWFORGE_TLS_KEY, or run it behind "
            "a TLS-terminating proxy and set FLOWFORGE_BEHIND_PROXY=true",
            settings.host,
        )


if __name__ == "__main__":
    main()
