"""The web UI's static files: served at `/` beside the API, the UI's routes answered with its
index page, hashed assets cached, API paths never answered with HTML, nothing outside the
bundle readable, a clear page when the bundle is not built."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import pytest

from flowforge.common.settings import Settings
from flowforge.gateway.app import create_app

INDEX = "<!doctype html><title>FlowForge</title><div id=root></div>"


@asynccontextmanager
async def nothing(app):
    yield


def client_for(ui_dir) -> httpx.AsyncClient:
    settings = Settings(FLOWFORGE_UI_DIR=str(ui_dir), NATS_URL="nats://test:4222")
    app = create_app(settings, lifespan=nothing)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


@pytest.fixture
def bundle(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('ui')")
    (tmp_path / "secret.txt").write_text("not for you")
    return dist


async def test_the_index_page_answers_the_root_and_every_ui_route(bundle):
    async with client_for(bundle) as client:
        for path in ("/", "/runs/20261204-abc", "/datasets/orders?tab=schema"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.text == INDEX
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["cache-control"] == "no-cache"
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


async def test_hashed_assets_are_cached_for_a_year_and_a_missing_one_is_a_404(bundle):
    async with client_for(bundle) as client:
        asset = await client.get("/assets/index-abc123.js")
        assert asset.status_code == 200
        assert asset.text == "console.log('ui')"
        assert "javascript" in asset.headers["content-type"]
        assert "immutable" in asset.headers["cache-control"]
        missing = await client.get("/assets/index-gone.js")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")


async def test_api_paths_are_never_answered_with_the_ui(bundle):
    async with client_for(bundle) as client:
        unknown = await client.get("/api/v1/no-such-thing")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")
        document = await client.get("/openapi.json")
        assert document.json()["info"]["title"] == "FlowForge"
        # The UI's catch-all route is not part of the API's document.
        assert "/{path}" not in document.json()["paths"]


async def test_nothing_outside_the_bundle_can_be_read(bundle):
    async with client_for(bundle) as client:
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
            response = await client.get(path)
            assert "not for you" not in response.text, path


async def test_without_a_built_bundle_the_page_says_how_to_build_it(tmp_path):
    async with client_for(tmp_path / "nowhere") as client:
        response = await client.get("/")
        assert response.status_code == 503
        assert "./flowforge up" in response.text
