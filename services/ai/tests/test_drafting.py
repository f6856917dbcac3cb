"""The model-draft verb with fakes for the catalog, the store, the cache and the ledger:
offline it says a key is needed, it reads only the tables it was told (an unknown one is a
404), a question asked before is answered from the cache (checked again, recorded), and an
unusable draft is refused with the reason and shown."""

from __future__ import annotations

import pytest

from flowforge.ai import drafting
from flowforge.ai.handlers import Deps
from flowforge.common.errors import NotFoundError
from flowforge.common.testing import FakeLLM

CATALOG = {
    "format": "tables",
    "tables": [
        {"name": "orders", "layer": "silver", "columns": [
            {"name": "order_id", "type": "Int64"}, {"name": "amount", "type": "Float64"},
            {"name": "email", "type": "String"}, {"name": "_ingested_at", "type": "Datetime"}],
         "description": {"description": "One row per order."},
         "columns_described": {"amount": {"description": "in euros"}}},
        {"name": "daily", "layer": "gold", "columns": [{"name": "day", "type": "Date"}],
         "description": None, "columns_described": {}},
    ],
}  # fmt: skip
SQL = "SELECT SUM(amount) AS revenue FROM orders"


class FakeStore:
    async def pii_columns(self, datasets):
        return {"orders": {"email"}} if "orders" in datasets else {}


class FakeCache:
    def __init__(self):
        self.kept: dict = {}

    async def get(self, *key):
        return self.kept.get(key)

    async def put(self, *key, source, answer, tokens):
        self.kept[key] = {"source": source, "answer": answer, "tokens": tokens}


class FakeLedger:
    def __init__(self):
        self.cached: list = []

    async def record_cached(self, purpose, dataset, source):
        self.cached.append((purpose, source))


def deps(providers=()) -> Deps:
    async def ask(service, verb, **request):
        assert (service, verb, request) == ("catalog", "docs.export", {"format": "tables"})
        return CATALOG

    return Deps(files=None, store=FakeStore(), providers=list(providers), token_budget=100_000,
                mask_pii=True, publish=None, ledger=FakeLedger(), cache=FakeCache(),
                ask=ask)  # type: ignore[arg-type]  # fmt: skip


async def test_offline_there_is_no_draft_and_the_answer_names_the_keys_to_set():
    found = await drafting.draft_model({"question": "total revenue"}, deps())
    assert found["status"] == "unavailable" and "ANTHROPIC_API_KEY" in found["reason"]
    assert found["source"] == "offline" and "sql" not in found


async def test_an_unknown_dataset_is_a_404_and_a_bad_question_a_400():
    with pytest.raises(NotFoundError, match="nope"):
        await drafting.draft_model({"question": "revenue", "datasets": ["nope"]}, deps())
    with pytest.raises(Exception, match="question"):
        await drafting.draft_model({"question": "x"}, deps())


async def test_the_catalog_metadata_becomes_tables_with_descriptions_and_pii_flags():
    tables = await drafting.catalog_tables(deps(), None)
    assert [t.name for t in tables] == ["daily", "orders"]
    orders = tables[1]
    assert orders.description == "One row per order." and orders.column_docs["amount"] == "in euros"
    assert "_ingested_at" not in [c["name"] for c in orders.brief()["columns"]]


async def test_a_question_asked_again_is_answered_from_the_cache_and_recorded():
    from flowforge.ai.llm import AnthropicProvider

    fake = FakeLLM().start()
    fake.draft_for = lambda text: {"name": "revenue", "sql": SQL, "columns_used": [],
                                   "explanation": "All revenue."}  # fmt: skip
    try:
        d = deps([AnthropicProvider("k-test", "claude-test", fake.anthropic_url, 10)])
        first = await drafting.draft_model(
            {"question": "Total  revenue", "datasets": ["orders"]}, d
        )
        assert first["status"] == "ready" and not first["cached"]
        assert first["columns_used"] == {"orders": ["amount"]}
        sent = fake.requests["anthropic"][0]["messages"][0]["content"]
        assert '"pii": true' in sent and "daily" not in sent  # only the tables named

        again = await drafting.draft_model({"question": "total revenue", "datasets": ["orders"]}, d)
        assert again["status"] == "ready" and again["cached"] and again["sql"] == SQL
        assert len(fake.requests["anthropic"]) == 1
        assert d.ledger.cached == [("model_draft", "anthropic:claude-test")]

        fake.draft_for = lambda text: {"name": "revenue", "sql": "SELECT nope FROM orders",
                                       "columns_used": []}  # fmt: skip
        refused = await drafting.draft_model(
            {"question": "total revenue", "datasets": ["orders"], "refresh": True}, d
        )
        assert refused["status"] == "refused" and "unknown column" in refused["reason"]
        assert refused["sql"] == "SELECT nope FROM orders"
    finally:
        fake.stop()
