"""Descriptions proposed for the catalog: written offline from the reading and the profile
(stable from batch to batch, never a PII value), or taken from an LLM's answer."""

from __future__ import annotations

import polars as pl

from flowforge.ai import analysis, descriptions
from flowforge.ai.answers import Answer
from flowforge.ai.profile import profile_frame
from flowforge.ai.semantic import detect


def batch(rows: int, offset: int = 0) -> pl.DataFrame:
    n = range(offset, offset + rows)
    return pl.DataFrame(
        {
            "Order ID": [str(1000 + i) for i in n],
            "E-mail": [f"person{i}@example.com" for i in n],
            "Status": [("paid", "cancelled", "refunded")[i % 3] for i in n],
            "Order Date": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in n],
            "Note": [None if i % 4 else f"call before {i % 9} pm" for i in n],
        }
    )


def offline(frame: pl.DataFrame) -> dict:
    profiles = profile_frame(frame)
    return descriptions.offline("web_orders", profiles, [detect(p) for p in profiles])


def test_offline_descriptions_say_what_each_column_holds_in_silver_names():
    found = offline(batch(400))
    columns = found["columns"]
    assert set(columns) == {"order_id", "e_mail", "status", "order_date", "note"}
    assert columns["e_mail"].startswith('E-mail address (source column "E-mail").')
    assert "Personal data" in columns["e_mail"]
    assert "One of cancelled, paid, refunded." in columns["status"]
    assert columns["order_date"].startswith('Date (source column "Order Date"). Written as %Y')
    assert "Can be empty." in columns["note"]
    assert found["description"].startswith("Web orders: 5 columns.")
    assert "One row per order_id. Dated by order_date." in found["description"]
    assert "personal data in 1 column(s): e_mail" in found["description"]


def test_offline_descriptions_never_carry_a_value_of_a_pii_column():
    text = str(offline(batch(400)))
    assert "@example.com" not in text and "person1" not in text


def test_offline_descriptions_are_the_same_for_another_batch_of_the_same_data():
    # A changed text reopens an accepted suggestion: counts and ranges stay out of it.
    assert offline(batch(400)) == offline(batch(1300, offset=5000))


def test_llm_descriptions_become_one_suggestion_in_silver_names_without_unknown_columns():
    profiles = profile_frame(batch(50))
    answer = Answer.model_validate(
        {
            "columns": [
                {"name": "E-mail", "suggested_name": "email", "description": "Buyer's address",
                 "semantic_type": "email", "pii": True, "cast": "string"},
                {"name": "Ghost", "suggested_name": "ghost", "description": "not a column",
                 "semantic_type": "text", "pii": False, "cast": "string"},
            ],
            "dedupe_key": [],
            "rules": [],
            "dataset_description": " Orders of the web shop, one row per order. ",
        }
    )  # fmt: skip
    found = [
        s for s in analysis.llm_suggestions(answer, profiles, "anthropic:m")
        if s.kind == "descriptions"
    ]  # fmt: skip
    assert len(found) == 1
    assert found[0].payload == {
        "description": "Orders of the web shop, one row per order.",
        "columns": {"e_mail": "Buyer's address"},
    }
    assert found[0].reason == "written by anthropic:m"
