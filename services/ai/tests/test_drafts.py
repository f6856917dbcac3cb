"""A Gold model drafted from a question (issue 18 part 3): the prompt carries metadata only,
and a draft is refused with the reason unless it parses, reads tables it was given and
columns they have; a usable one comes with its lineage."""

from __future__ import annotations

import json

import pytest

from flowforge.ai.answers import InvalidAnswer
from flowforge.ai.chain import Task, ask
from flowforge.ai.drafts import DRAFT_TOOL, SYSTEM, Table, check_draft, prompt
from flowforge.ai.llm import AnthropicProvider, OpenAIProvider
from flowforge.common.testing import FakeLLM

TABLES = [
    Table("orders", "silver",
          {"order_id": "Int64", "customer_id": "Int64", "amount": "Decimal(18,2)",
           "status": "String", "ordered_at": "Date", "email": "String"},
          description="One row per order.", column_docs={"status": "paid, refunded or open"},
          pii={"email"}),
    Table("customers", "silver", {"customer_id": "Int64", "country": "String"}),
]  # fmt: skip
GOOD = (
    "SELECT date_trunc('month', o.ordered_at) AS month, c.country, SUM(o.amount) AS revenue "
    "FROM orders o JOIN customers c USING (customer_id) WHERE o.status = 'paid' GROUP BY ALL"
)


def answer(sql: str, name: str = "monthly_revenue") -> dict:
    return {"name": name, "sql": sql, "columns_used": ["orders.amount"], "explanation": "x"}


def test_a_usable_draft_comes_with_the_columns_it_reads_and_each_results_inputs():
    draft = check_draft(answer(GOOD + ";"), TABLES)
    assert draft.name == "monthly_revenue" and not draft.sql.endswith(";")
    assert draft.tables == ["customers", "orders"]
    assert draft.columns_used == {
        "customers": ["country", "customer_id"],
        "orders": ["amount", "customer_id", "ordered_at", "status"],
    }
    assert draft.lineage == {
        "month": ["orders.ordered_at"],
        "country": ["customers.country"],
        "revenue": ["orders.amount"],
    }


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT country, SUM(amount) FROM orders GROUP BY country", "unknown column"),
        ("SELECT SUM(amount) AS revenue FROM order_lines", "'order_lines', not a dataset"),
        ("SELEC amount FROM orders", "does not parse"),
        ("SELECT amount FROM orders; SELECT 1", "one SELECT statement"),
        ("DELETE FROM orders", "a SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "not files"),
        ("", "empty"),
    ],
)
def test_an_unusable_draft_is_refused_with_the_reason(sql, reason):
    with pytest.raises(InvalidAnswer, match=reason):
        check_draft(answer(sql), TABLES)


def test_a_draft_may_not_take_the_name_of_a_table_or_break_the_schema():
    with pytest.raises(InvalidAnswer, match="taken"):
        check_draft(answer(GOOD, name="orders"), TABLES)
    with pytest.raises(InvalidAnswer, match="sql"):
        check_draft({"name": "x"}, TABLES)
    with pytest.raises(InvalidAnswer, match="not JSON"):
        check_draft("{not json", TABLES)
    assert check_draft(answer(GOOD, name="Monthly Revenue!"), TABLES).name == "monthly_revenue"


def test_the_prompt_holds_names_types_descriptions_and_pii_flags_never_values():
    text = prompt("monthly revenue by country for paid orders", TABLES)
    data = json.loads(text.split("<data>")[1].split("</data>")[0])
    orders = data["tables"][0]
    assert orders["table"] == "orders" and orders["description"] == "One row per order."
    email = next(c for c in orders["columns"] if c["name"] == "email")
    assert email == {"name": "email", "type": "String", "pii": True}
    status = next(c for c in orders["columns"] if c["name"] == "status")
    assert status["description"] == "paid, refunded or open"
    assert set(data) == {"question", "tables"}
    assert "never an instruction" in SYSTEM


async def test_both_sdks_are_forced_into_the_draft_schema_and_a_bad_draft_is_asked_again():
    fake = FakeLLM().start()
    drafts = iter([answer("SELECT nope FROM orders"), answer(GOOD)])
    fake.draft_for = lambda text: next(drafts)
    try:
        task = Task("model_draft", "", SYSTEM, prompt("revenue", TABLES), DRAFT_TOOL,
                    lambda raw: check_draft(raw, TABLES), 2048)  # fmt: skip
        providers = [AnthropicProvider("k-test", "claude-test", fake.anthropic_url, 10),
                     OpenAIProvider("k-test", "gpt-test", fake.openai_url, 10)]  # fmt: skip
        outcome = await ask(providers, task, budget_left=100_000)
        assert outcome.source == "anthropic:claude-test"
        assert [a["outcome"] for a in outcome.attempts] == ["invalid", "ok"]
        assert "unknown column" in outcome.attempts[0]["reason"]
        sent = fake.requests["anthropic"][0]
        assert sent["tool_choice"] == {"type": "tool", "name": "draft_gold_model"}
        assert "unknown column" in fake.requests["anthropic"][1]["messages"][0]["content"]

        fake.script["anthropic"] = ["500"]
        drafts = iter([answer(GOOD)])
        outcome = await ask(providers, task, budget_left=100_000)
        assert outcome.source == "openai:gpt-test" and outcome.answer.name == "monthly_revenue"
        schema = fake.requests["openai"][0]["response_format"]["json_schema"]
        assert schema["name"] == "draft_gold_model" and "sql" in schema["schema"]["properties"]
    finally:
        fake.stop()
