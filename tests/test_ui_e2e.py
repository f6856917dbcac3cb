"""The web UI in a real Chromium (Playwright) against the real platform: sign in, upload a
file and follow it to Gold live, its dataset and lineage, quality (a rule edited, the
quarantine changing, rows released, an AI suggestion accepted), SQL with a download, sources
and workflows. Each test fails on any console error, failed request or unexpected answer
>= 400, and on serious or critical axe-core violations of the pages it visits."""

from __future__ import annotations

import re

import pytest

from flowforge.common.testing import unique, wait_for
from tests.browser import ARGS, Watch, axe, ensure_chromium, sign_in
from tests.test_sources_e2e import pg_source  # noqa: F401 - a fixture: a database to browse

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

COUNTRIES = ("DE", "FR", "US", "N/A")
ORDERS = "order_id,customer,amount,country\n" + "".join(
    f"{i},c{i % 7},{(i * 37) % 500 + 0.5},{COUNTRIES[i % 4]}\n" for i in range(1, 41)
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
    sign_in(page, platform.home)
    yield page, watch
    context.close()
    watch.assert_clean()


def nav(page, name: str) -> None:
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


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

    nav(page, "Upload")
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
    nav(page, "Dashboard")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    accessible(page)
    watch.assert_clean()


def test_run_sql_and_download_the_result(ui, platform):
    page, _ = ui
    dataset = unique("ui_sql")
    run = platform.land(ORDERS.encode(), "orders.csv", dataset=dataset)
    assert run["status"] == "succeeded", run
    nav(page, "SQL")
    expect(page.get_by_role("heading", name="SQL explorer")).to_be_visible()
    editor = page.get_by_role("textbox", name="SQL query")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(
        f"SELECT country, count(*) AS n FROM {dataset} GROUP BY country ORDER BY country"
    )
    page.get_by_role("button", name="Run query").click()
    results = page.get_by_role("region", name="Query results")
    expect(results).to_contain_text("US")  # Silver read `N/A` as a missing value: shown as ∅
    expect(page.get_by_role("status").filter(has_text="rows in")).to_contain_text("4 rows")
    accessible(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = open(download.value.path()).read()
    assert text.splitlines()[0] == "country,n"
    assert sorted(text.splitlines()[1:]) == [",10", "DE,10", "FR,10", "US,10"]
    # A refused query shows the gateway's reason, not a blank page.
    watch = ui[1]
    watch.expect(400, "/api/v1/sql")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(f"DELETE FROM {dataset}")
    page.get_by_role("button", name="Run query").click()
    expect(page.get_by_role("alert")).to_contain_text("SELECT")


def test_create_a_connection_and_a_workflow(pg_source, ui, platform):  # noqa: F811
    page, _ = ui
    connection, workflow = unique("ui_pg"), unique("ui_flow")
    nav(page, "Sources")
    page.get_by_role("button", name="New connection").click()
    page.get_by_role("textbox", name=re.compile("^Name")).fill(connection)
    page.get_by_role("combobox", name="Kind").select_option("postgresql")
    page.get_by_role("textbox", name="Host").fill(pg_source["host"])
    page.get_by_role("spinbutton", name="Port").fill(str(pg_source["port"]))
    page.get_by_role("textbox", name="Database").fill(pg_source["database"])
    page.get_by_role("textbox", name="User").fill(pg_source["user"])
    page.get_by_label(re.compile("^Password")).fill(pg_source["password"])
    page.get_by_role("combobox", name="TLS (sslmode)").select_option("disable")
    accessible(page)
    page.get_by_role("button", name="Save connection").click()
    expect(page.get_by_text(f"Connection {connection} saved")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text(re.compile("PostgreSQL", re.I)).first).to_be_visible(timeout=30_000)
    page.get_by_role("region", name="Connections").get_by_role("link", name=connection).click()
    page.get_by_role("button", name="Browse tables").click()
    tables = page.get_by_role("region", name="Tables and views")
    expect(tables).to_contain_text("orders", timeout=30_000)
    tables.get_by_role("button", name="Preview shop.orders").click()
    expect(page.get_by_role("region", name="First rows of shop.orders")).to_contain_text("01234")
    assert pg_source["password"] not in page.content()
    accessible(page)

    nav(page, "Workflows")
    page.get_by_role("button", name="New workflow").click()
    page.get_by_role("textbox", name=re.compile("^Name")).fill(workflow)
    definition = (
        '{"description": "made in the browser", "schedule": {"every": "1h"}, "paused": true, '
        '"steps": [{"name": "notify", "wait": {"subject": "silver.ready"}, "timeout": "1m"}]}'
    )
    page.get_by_role("textbox", name="Definition (JSON)").fill(definition)
    page.get_by_role("button", name="Save workflow").click()  # then shows the workflow
    expect(page.get_by_role("list", name="Steps in order")).to_contain_text("notify")
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("button", name=re.compile("^Show run "))).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    accessible(page)
    with platform.client() as c:
        runs = c.get(f"/api/v1/workflows/{workflow}/runs").json()
        assert runs["runs"], runs


CUSTOMERS = (
    "id,email,amount,tier\n1,ann.lee@example.com,10.5,gold\n2,bob@example.com,-3,silver\n"
    "3,cy@example.org,7,gold\n4,dan@example.com,-12,bronze\n5,eve@example.net,4,gold\n"
    "6,fay@example.com,9,silver\n"
)


def test_a_dataset_its_lineage_and_quality_in_the_browser(ui, platform):
    page, _ = ui
    dataset = unique("ui_customers")
    run = platform.land(CUSTOMERS.encode(), "customers.csv", dataset=dataset, key="id")
    assert run["status"] == "succeeded", run
    nav(page, "Datasets")
    page.get_by_role("searchbox", name="Search datasets").fill(dataset)
    page.get_by_role("link", name=dataset).click()
    expect(page.get_by_role("heading", name=dataset, level=1)).to_be_visible()
    columns = page.get_by_role("table", name="Columns")
    # The AI service's reading arrives on its own event: the page refreshes by itself.
    expect(columns.get_by_text("PII: email", exact=True)).to_be_visible(timeout=60_000)
    accessible(page)

    page.get_by_role("tab", name="Lineage").click()
    edges = page.get_by_role("list", name="Lineage edges")
    expect(edges).to_contain_text(f"bronze {dataset} → silver {dataset}")
    expect(page.get_by_role("group", name=f"Lineage graph of {dataset}")).to_be_visible()
    accessible(page)

    # A rule edited as YAML, the batch replayed: the negative amounts go to quarantine.
    page.get_by_role("tab", name="Quality").click()
    page.get_by_role("tab", name="Rules").click()
    rules = page.get_by_role("textbox", name="Rules as YAML")
    expect(rules).to_be_editable()
    rules.fill(
        f"version: 1\ndataset: {dataset}\ncolumns:\n"
        "  amount:\n    - range: {min: 0, action: quarantine}\n"
    )
    page.get_by_role("button", name="Save rules").click()
    expect(page.get_by_text(re.compile("range"))).not_to_have_count(0)
    page.get_by_role("tab", name="Quarantine").click()
    page.get_by_role("button", name="Replay").click()
    quarantined = page.get_by_role("region", name=f"Quarantined rows of {dataset}")
    expect(quarantined).to_contain_text("-12", timeout=60_000)
    expect(quarantined).to_contain_text("-3")
    accessible(page)
    with platform.client() as c:
        before = c.get(f"/api/v1/datasets/{dataset}/quarantine").json()
    quarantined.get_by_role("checkbox", name=re.compile("^Select line")).first.check()
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_text(re.compile(r"1 row\(s\) left quarantine"))).to_be_visible(
        timeout=60_000
    )
    with platform.client() as c:
        after = c.get(f"/api/v1/datasets/{dataset}/quarantine").json()
    assert len(after["rows"]) == len(before["rows"]) - 1, (before, after)

    # An AI suggestion accepted becomes a rule.
    page.get_by_role("tab", name="AI suggestions").click()
    card = page.get_by_role("article", name=re.compile("Rule format on email"))
    card.get_by_role("button", name="Dry run").click()
    expect(card.get_by_role("status", name="Dry run result")).to_be_visible()
    card.get_by_role("button", name="Accept").click()
    expect(card.get_by_text(re.compile("Accepted"))).to_be_visible()
    accessible(page)
    with platform.client() as c:
        formats = [
            r.get("format") for r in c.get(f"/api/v1/datasets/{dataset}/rules").json()["rules"]
        ]
    assert "email" in formats


PAGES = ("Dashboard", "Runs", "Datasets", "Lineage", "Models", "SQL", "Upload", "Sources",
         "Workflows", "Admin")  # fmt: skip


def test_every_page_is_accessible_and_the_day_to_day_ones_fit_a_phone(ui, browser, platform):
    page, _ = ui
    run = platform.land(ORDERS.encode(), "orders.csv", dataset=unique("ui_phone"))
    for name in PAGES:
        nav(page, name)
        expect(page.locator("main h1").first).to_be_visible()
        expect(page.get_by_role("status").filter(has_text="…")).to_have_count(0)
        accessible(page)
    # A phone: the dashboard and a run's page read without sideways scrolling.
    context = browser.new_context(base_url=platform.url, viewport={"width": 390, "height": 844})
    phone = context.new_page()
    watch = Watch()
    watch.attach(phone)
    sign_in(phone, platform.home)
    for path, ready in (("/", "runs succeeded"), (f"/runs/{run['run_id']}", "Event log")):
        phone.goto(path)
        expect(phone.get_by_text(ready).first).to_be_visible()
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
        accessible(phone)
    # The menu opens the navigation on a small screen.
    phone.get_by_role("button", name="Menu").click()
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    expect(phone.get_by_role("heading", name="Runs", level=1)).to_be_visible()
    context.close()
    watch.assert_clean()
