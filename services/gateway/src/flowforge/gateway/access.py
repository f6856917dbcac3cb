"""Who may do what: the roles, the table of what each route needs, and the one dependency that
enforces it on every request (`authorize`, installed on the whole app).

Roles are ordered: viewer < analyst < operator < admin, each with everything the one before
may do. A route missing from `POLICY` is refused to everyone (a test keeps the table complete).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from flowforge.common.errors import FlowForgeError

Role = Literal["viewer", "analyst", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "operator", "admin")
PUBLIC = "public"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "ff_session"
CSRF_COOKIE = "ff_csrf"
CSRF_HEADER = "x-csrf-token"

ROLE_TEXT = {
    "viewer": "read metadata, runs, schemas, quality results and samples (PII columns masked)",
    "analyst": "also samples with PII values, Gold model rows",
    "operator": "also upload, analyse, replay, release quarantine, build models",
    "admin": "also configuration (rules, contracts, Silver specs, models, descriptions), users,"
    " keys, audit",
}

_D = "/api/v1/datasets/{name}"
# (method, route path) -> the least role that may call it.
POLICY: dict[tuple[str, str], str] = {
    # Health, docs, problem types, signing in: open to all.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/livez"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/problems/{slug}"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    # The web UI's static files (its pages ask the API, which checks).
    ("GET", "/{path:path}"): PUBLIC,
    # Anyone signed in.
    ("POST", "/api/v1/auth/logout"): "viewer",
    ("GET", "/api/v1/auth/me"): "viewer",
    # Reading.
    ("GET", "/api/v1/runs"): "viewer",
    ("GET", "/api/v1/runs/{run_id}"): "viewer",
    ("GET", "/api/v1/runs/{run_id}/rejected"): "viewer",
    ("GET", "/api/v1/runs/{run_id}/events"): "viewer",
    ("GET", "/api/v1/dashboard"): "viewer",
    ("GET", "/api/v1/events/stream"): "viewer",  # the audit log's events to admins only
    ("GET", "/api/v1/datasets"): "viewer",
    ("GET", _D): "viewer",
    ("GET", f"{_D}/contract"): "viewer",
    ("GET", f"{_D}/schema"): "viewer",
    ("GET", f"{_D}/sample"): "viewer",
    ("GET", f"{_D}/lineage"): "viewer",
    ("GET", f"{_D}/rules"): "viewer",
    ("GET", f"{_D}/rules.yaml"): "viewer",
    ("GET", f"{_D}/quality"): "viewer",
    ("GET", f"{_D}/quarantine"): "viewer",
    ("GET", f"{_D}/suggestions"): "viewer",
    ("GET", f"{_D}/profile"): "viewer",
    ("GET", f"{_D}/spec"): "viewer",
    ("GET", f"{_D}/descriptions"): "viewer",
    ("GET", "/api/v1/models/{name}/descriptions"): "viewer",
    ("GET", "/api/v1/catalog/docs"): "viewer",
    ("GET", "/api/v1/models"): "viewer",
    ("GET", "/api/v1/models/{name}"): "viewer",
    ("GET", "/api/v1/models/{name}/sample"): "analyst",
    # The LLM's token use and cost per day, against the daily budget (no values, no keys).
    ("GET", "/api/v1/ai/usage"): "viewer",
    ("POST", "/api/v1/sql"): "analyst",  # reads rows (PII values too): as a Gold sample
    # Where the tables are, for another engine (which then reads their rows): as SQL.
    ("GET", "/api/v1/lakehouse"): "analyst",
    ("GET", "/api/v1/jobs"): "viewer",
    ("GET", "/api/v1/jobs/{job_id}"): "viewer",
    ("GET", "/api/v1/status"): "viewer",
    ("GET", "/api/v1/services/{service}/metrics"): "viewer",
    ("GET", "/metrics"): "viewer",
    ("GET", "/metrics/all"): "viewer",
    ("GET", "/asyncapi.json"): "viewer",
    # Running things.
    ("POST", "/api/v1/files"): "operator",
    ("POST", f"{_D}/analyze"): "operator",
    ("POST", f"{_D}/quality/replay"): "operator",
    ("POST", f"{_D}/quarantine/release"): "operator",
    ("POST", f"{_D}/suggestions/{{suggestion_id}}/dry-run"): "operator",
    ("POST", "/api/v1/models/{name}/build"): "operator",
    # Drafting a model from a question spends LLM tokens (as analysing does) and shows the
    # draft's rows on a sample (operators see rows); saving it stays POST /api/v1/models.
    ("POST", "/api/v1/models/draft"): "operator",
    ("POST", "/api/v1/lakehouse/housekeeping"): "operator",
    # Configuration.
    ("PUT", f"{_D}/contract"): "admin",
    ("PUT", f"{_D}/rules"): "admin",
    ("POST", f"{_D}/rules"): "admin",
    ("DELETE", f"{_D}/rules/{{rule}}"): "admin",
    ("PUT", f"{_D}/rules.yaml"): "admin",
    ("PUT", f"{_D}/spec"): "admin",
    ("PUT", f"{_D}/descriptions"): "admin",
    ("PUT", "/api/v1/models/{name}/descriptions"): "admin",
    ("POST", f"{_D}/suggestions/{{suggestion_id}}/accept"): "admin",
    ("POST", f"{_D}/suggestions/{{suggestion_id}}/dismiss"): "admin",
    ("POST", "/api/v1/models"): "admin",
    # Whole-pipeline proposals: everyone reads them, operators propose and dry-run, admins
    # accept (as with suggestions).
    ("GET", "/api/v1/proposals"): "viewer",
    ("GET", "/api/v1/proposals/{proposal_id}"): "viewer",
    ("POST", "/api/v1/proposals"): "operator",
    ("POST", "/api/v1/connections/{name}/proposals"): "operator",
    ("POST", "/api/v1/proposals/{proposal_id}/dry-run"): "operator",
    ("POST", "/api/v1/proposals/{proposal_id}/accept"): "admin",
    # Source databases: operators read, test and browse them; admins change them.
    ("GET", "/api/v1/connections"): "operator",
    ("GET", "/api/v1/connections/{name}"): "operator",
    ("POST", "/api/v1/connections/{name}/test"): "operator",
    ("GET", "/api/v1/connections/{name}/tables"): "operator",
    ("GET", "/api/v1/connections/{name}/preview"): "operator",
    ("POST", "/api/v1/connections"): "admin",
    ("PUT", "/api/v1/connections/{name}"): "admin",
    ("DELETE", "/api/v1/connections/{name}"): "admin",
    ("GET", f"{_D}/source"): "viewer",
    ("PUT", f"{_D}/source"): "admin",
    ("POST", f"{_D}/extract"): "operator",
    # Workflows: everyone sees them; operators run, backfill, pause, resume and cancel them;
    # admins define them.
    ("GET", "/api/v1/workflows"): "viewer",
    ("GET", "/api/v1/workflows/{name}"): "viewer",
    ("GET", "/api/v1/workflows/{name}/runs"): "viewer",
    ("GET", "/api/v1/workflows/{name}/runs/{run_id}"): "viewer",
    ("PUT", "/api/v1/workflows/{name}"): "admin",
    ("DELETE", "/api/v1/workflows/{name}"): "admin",
    ("POST", "/api/v1/workflows/{name}/runs"): "operator",
    ("POST", "/api/v1/workflows/{name}/backfill"): "operator",
    ("POST", "/api/v1/workflows/{name}/pause"): "operator",
    ("POST", "/api/v1/workflows/{name}/resume"): "operator",
    ("POST", "/api/v1/workflows/{name}/runs/{run_id}/cancel"): "operator",
    # People and machines.
    ("POST", "/api/v1/keys"): "admin",
    ("GET", "/api/v1/keys"): "admin",
    ("DELETE", "/api/v1/keys/{key_id}"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("GET", "/api/v1/users"): "admin",
    ("PATCH", "/api/v1/users/{name}"): "admin",
    ("DELETE", "/api/v1/users/{name}"): "admin",
    ("GET", "/api/v1/audit"): "admin",
}

# Expensive routes, by (method, route path) -> rate group.
RATE_GROUPS: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/files"): "upload",
    ("POST", f"{_D}/analyze"): "jobs",
    ("POST", f"{_D}/quality/replay"): "jobs",
    ("POST", f"{_D}/quarantine/release"): "jobs",
    ("POST", f"{_D}/suggestions/{{suggestion_id}}/dry-run"): "jobs",
    ("POST", "/api/v1/models/{name}/build"): "jobs",
    ("POST", f"{_D}/extract"): "jobs",
    ("POST", "/api/v1/models"): "jobs",
    ("POST", "/api/v1/models/draft"): "jobs",
    ("POST", "/api/v1/proposals"): "jobs",
    ("POST", "/api/v1/connections/{name}/proposals"): "jobs",
    ("POST", "/api/v1/proposals/{proposal_id}/dry-run"): "jobs",
    ("POST", "/api/v1/workflows/{name}/runs"): "jobs",
    ("POST", "/api/v1/workflows/{name}/backfill"): "jobs",
    ("GET", f"{_D}/sample"): "lake",
    ("GET", f"{_D}/quarantine"): "lake",
    ("GET", "/api/v1/runs/{run_id}/rejected"): "lake",
    ("GET", "/api/v1/models/{name}/sample"): "lake",
    ("POST", "/api/v1/sql"): "lake",
}


class Unauthorized(FlowForgeError):
    """No valid credentials (401)."""


class Forbidden(FlowForgeError):
    """Credentials are valid but the role (or the request's origin) does not allow it (403)."""


class RateLimited(FlowForgeError):
    """Too many requests (429); `retry_after` seconds until the next one is allowed."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (with a session) or an API key."""

    kind: Literal["user", "key"]
    name: str
    role: Role
    key_id: str | None = None
    csrf_token: str | None = None  # a browser session's; None for an API key

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}" if self.kind == "key" else f"user:{self.name}"


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def allows(role: str, required: str) -> bool:
    return required == PUBLIC or rank(role) >= rank(required)


def required_role(request: Request) -> str | None:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return POLICY.get((request.method, path)) if path else None


async def authorize(request: Request) -> None:
    """The one access check of every route: who is asking, and may they."""
    if getattr(request.state, "authorized", False):
        return  # checked before the body was read (AuthorizeBeforeBody)
    required = required_role(request)
    if required is None:
        raise Forbidden("no access rule covers this route; it is refused to everyone")
    if required == PUBLIC:
        return
    authenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(request)
    if principal.csrf_token is not None and request.method not in SAFE_METHODS:
        check_csrf(request, principal.csrf_token)
    request.state.principal = principal
    if not allows(principal.role, required):
        raise Forbidden(
            f"{request.method} {request.url.path} needs the {required} role; "
            f"{principal.actor} has {principal.role}"
        )
    group = rate_group(request)
    if group is not None:
        request.app.state.limiter.check(group, principal.actor)
    request.state.authorized = True


def rate_group(request: Request) -> str | None:
    route = request.scope.get("route")
    return RATE_GROUPS.get((request.method, getattr(route, "path", "")))


def check_csrf(request: Request, expected: str) -> None:
    """A browser session's unsafe request must echo its CSRF token in `X-CSRF-Token` (a page
    of another site cannot read it), and come from our own origin when the browser says."""
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(request, origin):
        raise Forbidden(f"a request from {origin} cannot use this session (cross-site)")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "a signed-in browser request that changes something must send the session's CSRF "
            f"token in {CSRF_HEADER} (it is in the `{CSRF_COOKIE}` cookie and in "
            "GET /api/v1/auth/me)"
        )


def _same_origin(request: Request, origin: str) -> bool:
    allowed = set(getattr(request.app.state, "cors_origins", ()) or ())
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin in allowed or origin == own
