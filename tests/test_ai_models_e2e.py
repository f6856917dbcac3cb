"""AI assistance end to end against a local fake of both LLM APIs (issue 18 parts 3 and 5):
a Gold model drafted from a question (checked, dry-run on a sample, saved only by a person
through the model route, then built); drafts with invalid SQL or an unknown column refused
with the reason and nothing saved; Claude failing and OpenAI answering; every call in the
ledger with tokens and cost, answers from the prompt cache, and the daily budget stopping
calls with a clear reason while the offline analysis stands."""

from __future__ import annotations

import json

import asyncpg
import pytest

from flowforge.common.testing import FakeLLM, unique, wait_for
from tests.conftest import start_platform, stop_platform
from tests.test_sources_e2e import run_coroutine

pytestmark = pytest.mark.e2e

ORDERS = "order_id,customer_id,amount,status,ordered_at,email\n" + "".join(
    f"{100 + i},{1 + i % 3},{10 * (i + 1)}.00,{'paid' if i % 4 else 'refunded'},"
    f"2024-{1 + i % 2:02d}-{10 + i:02d},buyer{i}@example.com\n"
    for i in range(8)
)
CUSTOMERS = "customer_id,country\n1,FR\n2,DE\n3,FR\n"
QUESTION = "monthly revenue by country for paid orders"


@pytest.fixture(scope="module")
def fake():
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ai_platform(fake, tmp_path_factory):
    p = start_platform(tmp_path_factory.mktemp("ai_models") / "home", {
        "ANTHROPIC_API_KEY": "test-anthropic-key", "ANTHROPIC_BASE_URL": fake.anthropic_url,
        "OPENAI_API_KEY": "test-openai-key", "OPENAI_BASE_URL": fake.openai_url,
        "FLOWFORGE_AI_MODEL": "claude-sonnet-4-5", "FLOWFORGE_AI_OPENAI_MODEL": "gpt-4.1",
    })  # fmt: skip
    yield p
    stop_platform(p)
    for service in ("ai", "gateway"):  # secrets never reach logs
        text = p.log(service)
        assert "test-anthropic-key" not in text and "test-openai-key" not in text


@pytest.fixture(scope="module")
def data(ai_platform, fake):
    orders, customers = unique("orders"), unique("customers")
    assert ai_platform.land(ORDERS.encode(), "o.csv", dataset=orders)["status"] == "succeeded"
    assert ai_platform.land(CUSTOMERS.encode(), "c.csv", dataset=customers)["status"] == "succeeded"
    with ai_platform.client() as c:  # the LLM's analyses are in before drafting starts
        for name in (orders, customers):
            wait_for(lambda n=name: c.get(f"/api/v1/datasets/{n}/suggestions").json()["llm"],
                     what="LLM analysis")  # fmt: skip
    return orders, customers


def revenue_sql(orders: str, customers: str, column: str = "c.country") -> str:
    return (
        f"SELECT strftime(o.ordered_at, '%Y-%m') AS month, {column} AS country, "
        f"SUM(o.amount) AS revenue FROM {orders} o JOIN {customers} c USING (customer_id) "
        f"WHERE o.status = 'paid' GROUP BY ALL ORDER BY month, country"
    )


def drafting(fake, name: str, sql: str) -> None:
    fake.draft_for = lambda text: {"name": name, "sql": sql, "explanation": "Paid revenue.",
                                   "columns_used": ["orders.amount"]}  # fmt: skip


def draft(c, datasets: list[str], **extra) -> dict:
    response = c.post("/api/v1/models/draft", json={"question": QUESTION, "datasets": datasets,
                                                    **extra})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def test_a_question_becomes_a_checked_draft_run_on_a_sample_then_saved_and_built(
    ai_platform, fake, data
):
    orders, customers = data
    name = unique("monthly_revenue")
    drafting(fake, name, revenue_sql(orders, customers))
    before = len(fake.requests["anthropic"])
    with ai_platform.client() as c:
        found = draft(c, [orders, customers])
        assert found["status"] == "ready", found
        assert found["source"] == "anthropic:claude-sonnet-4-5" and not found["cached"]
        assert found["tables"] == sorted([orders, customers])
        assert found["columns_used"][orders] == ["amount", "customer_id", "ordered_at", "status"]
        assert found["lineage"]["revenue"] == [f"{orders}.amount"]
        assert found["lineage"]["country"] == [f"{customers}.country"]
        shown = found["dry_run"]
        assert [col["name"] for col in shown["columns"]] == ["month", "country", "revenue"]
        assert sum(float(r[2]) for r in shown["rows"]) == 10 * (2 + 3 + 4 + 6 + 7 + 8)

        # The prompt held metadata, never a value (nor a PII one).
        body = json.dumps(fake.requests["anthropic"][before:])
        assert "buyer1@example.com" not in body and "refunded" not in body
        assert '"pii": true' in fake.requests["anthropic"][-1]["messages"][0]["content"]

        # Nothing saved until a person saves it, through the model route; then it builds.
        assert c.get(f"/api/v1/models/{name}").status_code == 404
        audit = c.get("/api/v1/audit", params={"target": f"model/{name}"}).json()["entries"]
        assert audit[0]["detail"]["status"] == "ready" and audit[0]["path"].endswith("/draft")
        saved = c.post("/api/v1/models", json={"name": name, "sql": found["sql"]})
        assert saved.status_code == 201, saved.text
        ai_platform.finish(c.post(f"/api/v1/models/{name}/build"))
        rows = c.get(f"/api/v1/models/{name}/sample").json()["rows"]
        assert sum(float(r["revenue"]) for r in rows) == 300.0

        # The same question of the same schema: from the prompt cache, no call.
        asked = len(fake.requests["anthropic"]) + len(fake.requests["openai"])
        again = draft(c, [orders, customers])
        assert again["status"] == "ready" and again["cached"] and again["sql"] == found["sql"]
        assert len(fake.requests["anthropic"]) + len(fake.requests["openai"]) == asked


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("invalid_sql", "does not parse"), ("unknown_column", "unknown column")],
)
def test_a_draft_with_invalid_sql_or_an_unknown_column_is_refused_and_nothing_saved(
    ai_platform, fake, data, kind, reason
):
    orders, customers = data
    name = unique(kind)
    bad = {"invalid_sql": f"SELECT SUM(amount) revenue FROM {orders} WHERE GROUP BY",
           "unknown_column": revenue_sql(orders, customers, column="c.region")}  # fmt: skip
    drafting(fake, name, bad[kind])
    with ai_platform.client() as c:
        found = draft(c, [orders, customers], refresh=True)
        assert found["status"] == "refused", found
        assert reason in found["reason"] and found["sql"] == bad[kind]
        assert found["dry_run"] is None
        # Each provider was asked again once with the reason, then the draft was refused.
        assert [a["outcome"] for a in found["attempts"]] == ["invalid"] * 4
        assert c.get(f"/api/v1/models/{name}").status_code == 404
        audit = c.get("/api/v1/audit", params={"target": f"model/{name}"}).json()["entries"]
        assert audit[0]["detail"]["status"] == "refused" and reason in audit[0]["detail"]["reason"]


def test_when_claude_fails_openai_drafts_the_model(ai_platform, fake, data):
    orders, customers = data
    drafting(fake, unique("revenue"), revenue_sql(orders, customers))
    fake.script["anthropic"] = ["refusal"]
    with ai_platform.client() as c:
        found = draft(c, [orders, customers], refresh=True)
    assert found["status"] == "ready", found
    assert found["source"] == "openai:gpt-4.1"
    assert [a["outcome"] for a in found["attempts"]] == ["refused", "ok"]
    assert "the model refused" in found["attempts"][0]["reason"]


def test_every_call_is_in_the_ledger_with_tokens_and_cost_and_the_daily_budget_stops_calls(
    ai_platform, fake, data
):
    orders, _ = data
    with ai_platform.client() as c:
        usage = c.get("/api/v1/ai/usage").json()
        today = usage["days"][0]
        assert set(today["purposes"]) >= {"analysis", "model_draft"}
        assert today["calls"] > 0 and today["input_tokens"] > 0 and today["cost_usd"] > 0
        assert today["cached"] >= 1 and today["failed"] >= 1
        assert usage["today"]["budget_tokens"] == 2_000_000
        outcomes = {call["outcome"] for call in usage["calls"]}
        assert {"ok", "invalid", "refused", "cached"} <= outcomes
        sonnet = next(x for x in usage["calls"] if x["model"] == "claude-sonnet-4-5"
                      and x["outcome"] == "ok")  # fmt: skip
        expected = (sonnet["input_tokens"] * 3 + sonnet["output_tokens"] * 15) / 1e6
        assert sonnet["cost_usd"] == pytest.approx(expected)

        # The day's tokens spent (a call recorded as using the whole budget): no call is made.
        spend(ai_platform, 2_000_000)
        try:
            asked = len(fake.requests["anthropic"]) + len(fake.requests["openai"])
            found = draft(c, [orders], refresh=True)
            assert found["status"] == "unavailable" and "daily LLM budget" in found["reason"]
            analysed = ai_platform.finish(
                c.post(f"/api/v1/datasets/{orders}/analyze", json={"refresh": True})
            )
            assert analysed["analysed"]["providers"] == ["offline"]  # the offline view stands
            assert len(fake.requests["anthropic"]) + len(fake.requests["openai"]) == asked
            skipped = c.get("/api/v1/ai/usage").json()["calls"][0]
            assert (
                skipped["outcome"] == "skipped" and "FLOWFORGE_AI_DAILY_TOKENS" in skipped["reason"]
            )
        finally:
            spend(ai_platform, 0)


def spend(platform, tokens: int) -> None:
    """Record (or with 0, remove) a call that used `tokens` today, as another replica would."""

    async def run() -> None:
        db = await asyncpg.connect(platform.endpoints["database_url"])
        try:
            await db.execute("DELETE FROM ai.calls WHERE purpose = 'test-spend'")
            if tokens:
                await db.execute(
                    "INSERT INTO ai.calls (purpose, provider, model, input_tokens, outcome)"
                    " VALUES ('test-spend', 'anthropic', 'claude-sonnet-4-5', $1, 'ok')",
                    tokens,
                )
        finally:
            await db.close()

    run_coroutine(run())
