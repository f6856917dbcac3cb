"""The web UI's build: its API types match the gateway's OpenAPI document (a changed API
breaks the build, not the user), its component tests (Vitest) pass, it type-checks and
builds, and the first page's JavaScript stays under its budget (300 KB gzipped)."""

from __future__ import annotations

import gzip

import pytest

from flowforge.cli import webui

FIRST_PAGE_BUDGET = 300 * 1024


@pytest.fixture(scope="module")
def built():
    return webui.ensure_built(lambda _: None)


def test_the_api_types_are_generated_from_the_current_openapi_document():
    committed = webui.TYPES_FILE.read_text()
    assert webui.api_types() == committed, (
        "services/gateway/ui/src/api/schema.d.ts is not what the gateway's OpenAPI document "
        "gives: run `./flowforge ui types` and fix what no longer type-checks"
    )


def test_the_component_tests_pass():
    webui.install_packages(lambda _: None)
    output = webui.run_npm("run", "test", "--silent", "--", "--reporter=dot")
    assert "failed" not in output.lower(), output[-3000:]


def test_the_first_page_stays_under_its_budget(built):
    files = webui.first_page_files(built)
    assert any(f.endswith(".js") for f in files)
    sizes = {f: len(gzip.compress((built / f).read_bytes(), 9)) for f in files}
    total = sum(sizes.values())
    assert total < FIRST_PAGE_BUDGET, f"first page {total / 1024:.0f} KB gzipped: {sizes}"
    # The heavy parts of later pages are not in it.
    first = "".join((built / f).read_text(errors="replace") for f in files if f.endswith(".js"))
    for heavy in ("react-flow__", "cm-editor"):  # React Flow, CodeMirror
        assert heavy not in first, f"{heavy} is in the first page's bundle"
