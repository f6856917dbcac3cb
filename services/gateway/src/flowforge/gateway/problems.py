"""Errors as RFC 9457 problem details, in one place: every error the API answers has a stable
`type` (a URI reference to `/problems/<slug>`, which documents it), a `title`, the `status`,
and a `detail` saying what was wrong and what to do. Never a stack trace."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from flowforge.common.bus import is_transient
from flowforge.common.errors import (
    BadInputError,
    ConflictError,
    FlowForgeError,
    NotFoundError,
    TransientError,
)
from flowforge.gateway.access import Forbidden, RateLimited, Unauthorized

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

# slug: (status, title, what it means and what to do)
KINDS: dict[str, tuple[int, str, str]] = {
    "bad-request": (400, "Bad request", "The request or the data it names is wrong; the "
                    "detail says how. Fix the request and send it again."),
    "unauthorized": (401, "Authentication required", "Send an API key as `Authorization: "
                     "Bearer <key>`, or log in."),
    "forbidden": (403, "Not allowed", "Your role does not allow this operation."),
    "not-found": (404, "Not found", "No such run, dataset, model, job or endpoint."),
    "method-not-allowed": (405, "Method not allowed", "The path exists; the `Allow` header "
                           "lists the methods it takes."),
    "conflict": (409, "Conflict", "The request conflicts with the current state (it was "
                 "already done, or something with the same name differs)."),
    "payload-too-large": (413, "Payload too large", "The body is over the configured limit."),
    "unsupported-media-type": (415, "Unsupported media type", "Send the body in a type this "
                               "endpoint takes."),
    "validation-error": (422, "The request is not valid", "A parameter or a field of the "
                         "body is missing or has the wrong form; `errors` lists each."),
    "rate-limited": (429, "Too many requests", "Slow down; `Retry-After` says when to retry."),
    "internal-error": (500, "Internal error", "Something failed inside the gateway; its log "
                       "has the details."),
    "service-unavailable": (503, "Service unavailable", "A service or dependency did not "
                            "answer; try again shortly."),
    "gateway-timeout": (504, "Request timed out", "The request took longer than the gateway's "
                        "time limit; long work runs as a job."),
}  # fmt: skip
BY_STATUS = {status: slug for slug, (status, _, _) in KINDS.items()}
DOMAIN = ((NotFoundError, "not-found"), (ConflictError, "conflict"),
          (TransientError, "service-unavailable"), (BadInputError, "bad-request"),
          (Unauthorized, "unauthorized"), (Forbidden, "forbidden"),
          (RateLimited, "rate-limited"))  # fmt: skip


def problem(
    slug: str,
    detail: str,
    request: Request | None = None,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    code, title, _ = KINDS.get(slug, KINDS["internal-error"])
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status or code,
        "detail": detail,
        "instance": request.url.path if request is not None else None,
        "error": detail,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return JSONResponse(body, status_code=status or code, media_type=MEDIA_TYPE, headers=headers)


UNSTORABLE_TEXT = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)


def allowed_methods(request: Request) -> list[str]:
    """The methods the API document lists for this path (the `Allow` header of a 405)."""
    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return sorted(m.upper() for m in operations if m.upper() in HTTP_METHODS)
    return []


HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})


UNREACHABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
)
DEPENDENCIES = (("/asyncpg/", "database"), ("/minio/", "object store"),
                ("/pyarrow/", "object store"), ("/nats/", "message bus"))  # fmt: skip


def dependency_of(exc: BaseException) -> str:
    """Which dependency failed, from the innermost library frame the error passed through."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    for filename in reversed(frames):
        for marker, name in DEPENDENCIES:
            if marker in filename:
                return name
    return "database" if "asyncpg" in type(exc).__module__ else "service it depends on"


def slug_of(exc: FlowForgeError) -> str:
    return next((slug for kind, slug in DOMAIN if isinstance(exc, kind)), "bad-request")


def parts(request: Request, exc: Exception) -> tuple[str, str, dict[str, str] | None] | None:
    """(slug, detail, headers) of the problem a route answers for `exc`; None for an
    unexpected error. The one mapping, used by the handlers and the early access check."""
    if isinstance(exc, FlowForgeError):
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(max(1, round(exc.retry_after + 0.5)))}
        elif isinstance(exc, Unauthorized):
            headers = {"WWW-Authenticate": 'Bearer realm="flowforge"'}
        return slug_of(exc), str(exc), headers
    if isinstance(exc, UNREACHABLE):
        what = dependency_of(exc)
        log.warning(
            "%s %s: %s unreachable (%s)", request.method, request.url.path, what,
            type(exc).__name__,
        )  # fmt: skip
        detail = f"the {what} is not reachable right now; try again shortly"
        return "service-unavailable", detail, {"Retry-After": "5"}
    return None


async def answer(request: Request, exc: Exception) -> JSONResponse:
    """The problem for a domain error or an unreachable dependency (see `parts`)."""
    slug, detail, headers = parts(request, exc) or ("internal-error", str(exc), None)
    return problem(slug, detail, request, headers=headers)


def install(app: FastAPI) -> None:
    """One exception handler per kind of error, for every route."""

    app.add_exception_handler(FlowForgeError, answer)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            allowed = allowed_methods(request)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            detail = f"{request.url.path} takes {', '.join(allowed)}, not {request.method}"
        slug = BY_STATUS.get(exc.status_code, "bad-request")
        return problem(slug, detail, request, status=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "where": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request",
                "problem": str(err.get("msg")),
            }
            for err in exc.errors()
        ]
        detail = "the request is not valid: " + "; ".join(
            f"{e['where']}: {e['problem']}" for e in errors
        )
        return problem("validation-error", detail, request, errors=errors)

    # Handled here, not as a 500 (whose handler runs outside everything and drops the
    # connection): the database, the store or the bus is down or restarting.
    for kind in UNREACHABLE:
        app.add_exception_handler(kind, answer)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ClientDisconnect):  # the client went away (or was cut off)
            return problem("bad-request", "the request body did not arrive whole", request)
        if isinstance(exc, UNSTORABLE_TEXT):  # a NUL or a character the database cannot keep
            return problem(
                "bad-request",
                f"the request holds text that cannot be stored: "
                f"{exc.args[0] if exc.args else type(exc).__name__}",
                request,
            )
        if is_transient(exc):
            return await answer(request, exc)
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            "internal-error",
            f"internal error ({type(exc).__name__}); the gateway log has the details",
            request,
        )

    @app.get("/problems/{slug}", tags=["system"], include_in_schema=False)
    async def describe(slug: str) -> dict[str, Any]:
        if slug not in KINDS:
            raise NotFoundError(f"no problem type {slug!r}")
        status, title, meaning = KINDS[slug]
        return {"type": f"/problems/{slug}", "title": title, "status": status,
                "description": meaning}  # fmt: skip


def responses() -> dict[int | str, dict[str, Any]]:
    """The error responses every route may give, for the OpenAPI document."""
    from flowforge.gateway.schemas import Problem

    return {
        code: {"model": Problem, "description": KINDS[slug][1],
               "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for slug in ("bad-request", "unauthorized", "forbidden", "not-found", "conflict",
                     "validation-error", "rate-limited", "service-unavailable")
        for code in [KINDS[slug][0]]
    }  # fmt: skip
