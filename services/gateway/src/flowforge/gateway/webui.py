"""The web UI's static files, served at `/` beside the API (same origin, so the session cookie
and CSRF token work without CORS).

The bundle is built by `./flowforge up` (flowforge.cli.webui) into `services/gateway/ui/dist`,
or wherever `FLOWFORGE_UI_DIR` points (a container image). Any GET that is not an API path
and not a file of the bundle answers `index.html`, so the UI's own routes (`/runs/<id>`)
survive a reload. Hashed assets are cached for a year; `index.html` never, so a new build is
picked up at once. Every UI answer carries a content security policy that allows only this
origin (no CDN, no inline script).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match

from flowforge.common.errors import NotFoundError

DEFAULT_DIST = Path(__file__).resolve().parents[3] / "ui" / "dist"
# Paths that belong to the API or the gateway itself: never answered with the UI.
API_PREFIXES = ("api/", "problems/", "metrics", "healthz", "livez", "readyz", "docs", "redoc",
                "openapi.json", "asyncapi.json")  # fmt: skip
CSP = (
    "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    # CodeMirror and React Flow add <style> elements at run time.
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"


class UiRoute(APIRoute):
    """The UI's catch-all never matches an API path: there the router answers as it would
    without the UI (404 for an unknown path, 405 with `Allow` for a known path's other
    methods)."""

    def matches(self, scope):  # noqa: ANN001, ANN201 - Starlette's signature
        if scope.get("path", "").lstrip("/").startswith(API_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(include_in_schema=False, route_class=UiRoute)


def _missing_page(dist: Path) -> Response:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>FlowForge</title>"
        "<main><h1>FlowForge</h1><p>The web UI is not built here. <code>./flowforge up</code> "
        f"builds it (into {dist.name}/); the API is at <a href=/docs>/docs</a>.</p></main>"
    )
    return Response(body, media_type="text/html", status_code=503, headers=HEADERS)


@router.get("/{path:path}")
def ui_file(path: str, request: Request) -> Response:
    """A file of the UI's bundle, or its index page for the UI's own routes."""
    dist: Path = request.app.state.ui_dir
    index = dist / "index.html"
    if not index.exists():
        return _missing_page(dist)
    if path:
        candidate = (dist / path).resolve()
        # Only files inside the bundle; `..` and symlinks out of it get the index page.
        if candidate.is_file() and candidate.is_relative_to(dist.resolve()):
            cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
            media = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            return FileResponse(
                candidate, media_type=media, headers={**HEADERS, "Cache-Control": cache}
            )
        if path.startswith("assets/"):
            raise NotFoundError(f"no such file in the UI: /{path}")
    return FileResponse(
        index, media_type="text/html", headers={**HEADERS, "Cache-Control": "no-cache"}
    )
