"""Signing in and out (the web UI's session cookie), and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from flowforge.gateway.access import CSRF_COOKIE, SESSION_COOKIE, Principal
from flowforge.gateway.access_schemas import LoginRequest, MePublic
from flowforge.gateway.audit import note
from flowforge.gateway.identity import now

router = APIRouter(prefix="/api/v1/auth", tags=["access"])


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.post("/login", response_model=MePublic)
async def login(body: LoginRequest, request: Request, response: Response) -> MePublic:
    """Sign in with a name and password: sets the session cookie (HttpOnly, SameSite=Strict,
    Secure over TLS) and answers the CSRF token to send on changes (`X-CSRF-Token`)."""
    request.app.state.limiter.check("login", request.client.host if request.client else "-")
    note(request, target=body.name)
    session = await request.app.state.authenticator.login(body.name, body.password)
    request.state.principal = session.principal
    age = int((session.expires_at - now()).total_seconds())
    common = {"max_age": age, "samesite": "strict", "secure": _secure(request), "path": "/"}
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, **common)
    # Readable by the page (not HttpOnly) so it can echo it; useless to another site.
    response.set_cookie(CSRF_COOKIE, session.csrf_token, httponly=False, **common)
    return _me(session.principal, session.expires_at)


@router.post("/logout", status_code=204)
async def logout(request: Request) -> Response:
    """End the session (an API key has none: revoke it instead)."""
    await request.app.state.authenticator.logout(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/me", response_model=MePublic)
async def me(request: Request) -> MePublic:
    return _me(request.state.principal)


def _me(principal: Principal, expires_at=None) -> MePublic:
    return MePublic(
        kind=principal.kind,
        name=principal.name,
        role=principal.role,
        key_id=principal.key_id,
        csrf_token=principal.csrf_token,
        expires_at=expires_at,
    )
