"""The web UI in a real Chromium (Playwright) against the real platform: sign in, upload a
file and follow it to Gold live, its dataset and lineage, quality (a rule edited, the
quarantine changing, rows released, an AI suggestion accepted), SQL with a download, sources
and workflows. Each test fails on any console error, failed request or unexpected answer
>= 400, and on serious or critical axe-core violations of the pages it visits."""

from __future__ import annotations

import re

import pytest

from flowforge.common.testing import unique, wait_for
from tests.browser import ARGS, Watch, axe, ensure_chromium

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ORDERS = "order_id,customer,amount,country\n" + "".join(
    f"{i},c{i % 7},{(i * 37) % 500 + 0.5},{['DE', 'FR', 'US', 'N/A'][i % 4]}\n" for i in range(1, 41)
)


@pytest.fixture(scope="module")
def browser():
    executable = ensure_chromium()
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def ui(browser, platform):
    """A signed-in page on the shared platform, watched for problems."""
    context = browser.new_context(
        base_url=platform.url, viewport={"width": 1280, "height": 800}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = Watch()
    watch.attach(page)
    page.goto("/")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill((platform.home / "admin.password").read_text().strip())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    yield page, watch
    context.close()
    watch.assert_clean()


def accessible(page) -> None:
    violations = axe(page)
    assert not violations, f"{page.url}: " + "; ".join(violations)


def test_sign_in_upload_a_file_and_follow_it_to_gold(ui, platform):
    page, watch = ui
    dataset, model = unique("ui_orders"), unique("ui_revenue")
    with platform.client() as c:
        sql = f"SELECT country, sum(amount) AS revenue FROM {dataset} GROUP BY country"
        # The model names a dataset that lands below; it is accepted now and built then.
        created = c.post("/api/v1/models", json={"name": model, "sql": sql})
        assert created.status_code in (201, 400), created.text
        model_pending = created.status_code == 400
    accessible(page)

    page.get_by_role("link", name="Upload").click()
    expect(page.get_by_role("heading", name="Upload a file")).to_be_visible()
    page.get_by_label("File to upload").set_input_files(
        {"name": "orders.csv", "mimeType": "text/csv", "buffer": ORDERS.encode()}
    )
    page.get_by_label("Dataset name").fill(dataset)
    page.get_by_label("Key columns").fill("order_id")
    accessible(page)
    page.get_by_role("button", name="Upload", exact=True).click()
    # The run's progress arrives through the live stream, no reload.
    stages = page.get_by_role("list", name="Stages")
    expect(stages).to_be_visible()
    expect(page.get_by_text("40 valid")).to_be_visible(timeout=120_000)

    if model_pending:
        with platform.client() as c:
            created = c.post("/api/v1/models", json={"name": model, "sql": sql})
            assert created.status_code == 201, created.text
            build = c.post(f"/api/v1/models/{model}/build")
            assert build.status_code == 202, build.text

    page.get_by_role("link", name="Open the run").click()
    expect(page.get_by_role("heading", name=re.compile("^Run "))).to_be_visible()
    equation = page.get_by_label("Row equation")
    expect(equation).to_contain_text("parsed 40 = rejected 0 + bronze 40")
    expect(equation).to_contain_text("silver 40 = quarantined")
    expect(page.get_by_role("table", name="Event log")).to_contain_text("file.landed")
    expect(page.get_by_role("table", name="Event log")).to_contain_text("silver.ready")
    page.get_by_label("Filter events").fill("bronze")
    expect(page.get_by_role("table", name="Event log")).not_to_contain_text("file.landed")
    accessible(page)

    # Gold: the model reads the dataset's rows.
    with platform.client() as c:
        wait_for(
            lambda: c.get(f"/api/v1/models/{model}").json()["built"],
            timeout=120,
            what="the model built",
        )
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    accessible(page)
    watch.assert_clean()
