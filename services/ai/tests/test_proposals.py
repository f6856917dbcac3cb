"""Whole-pipeline proposals drafted from a sample: key, Silver spec, rules with their actions,
a starter Gold model, a schedule; for a table, the cursor and lookback. Pure, no service."""

from __future__ import annotations

import polars as pl

from flowforge.ai.llm import Answer
from flowforge.ai.profile import profile_frame
from flowforge.ai.proposals import draft
from flowforge.ai.semantic import detect, suggest_rules
from flowforge.common.models import model_references

ORDERS = {
    "Order ID": [str(1000 + i) for i in range(40)],
    "State": ["CA", "NY", "TX", "WA"] * 10,
    "Order Date": [f"2024-{1 + i % 3:02d}-{1 + i % 28:02d}" for i in range(40)],
    "Amount": [f"{10 + i}.50" for i in range(40)],
    "E-mail": [f"user{i}@example.com" for i in range(40)],
}


def profiled(columns: dict[str, list]):
    n = len(next(iter(columns.values())))
    lineage = {"_source_file": ["f"] * n, "_source_line": [str(i) for i in range(n)],
               "_ingested_at": ["t"] * n, "_run_id": ["r"] * n}  # fmt: skip
    frame = pl.DataFrame({**columns, **lineage}, schema=dict.fromkeys([*columns, *lineage],
                                                                       pl.String))  # fmt: skip
    profiles = profile_frame(frame)
    return profiles, [detect(p) for p in profiles]


def test_a_file_gets_a_key_rules_a_starter_model_and_a_schedule_on_landing():
    profiles, guesses = profiled(ORDERS)
    doc = draft("orders", {"kind": "file", "filename": "orders.csv"}, profiles, guesses,
                suggest_rules)  # fmt: skip
    parts = doc["parts"]
    assert parts["key"] == ["order_id"]
    assert "source" not in parts
    rules = {r["name"]: r for r in parts["rules"]}
    assert rules["not_null_order_id"]["action"] == "quarantine"
    assert rules["format_e_mail"]["action"] == "quarantine"
    assert all(r["action"] == "warn" for r in rules.values() if r["type"] == "accepted_values")
    model = parts["model"]
    assert model["name"] == "orders_by_state_month"
    assert model_references(model["sql"]) == ["orders"]
    assert '"state"' in model["sql"] and 'sum("amount")' in model["sql"]
    assert parts["schedule"]["on_event"] == {"subject": "file.landed", "dataset": "orders"}
    waits = [s["wait"] for s in parts["schedule"]["steps"]]
    assert {"subject": "gold.ready", "model": model["name"]} in waits
    assert "e_mail" in doc["pii"] and doc["source"] == "offline"


def test_the_llms_names_rename_columns_and_its_unusable_rules_are_refused_with_the_reason():
    profiles, guesses = profiled(ORDERS)
    answer = Answer.model_validate({
        "columns": [{"name": "Order ID", "suggested_name": "order_number", "semantic_type": "id"}],
        "dedupe_key": ["Order ID"],
        "rules": [{"type": "not_null", "column": "State", "action": "warn"}],
    })  # fmt: skip
    refused = ["not_null on nope: not a column rule"]
    doc = draft("orders", {"kind": "file"}, profiles, guesses, suggest_rules, answer=answer,
                source="anthropic:test", dropped=refused)  # fmt: skip
    parts = doc["parts"]
    assert parts["silver"]["renames"] == {"order_id": "order_number"}
    assert parts["key"] == ["order_number"]
    assert any(r.get("column") == "order_number" for r in parts["rules"])
    assert doc["refused"] == [{"part": "rules", "reason": "not_null on nope: not a column rule"}]


def test_a_table_is_extracted_incrementally_by_its_updated_at_time_with_an_hours_lookback():
    profiles, guesses = profiled({"id": ["1", "2", "3"], "updated_at": ["2024-01-01"] * 3})
    table = {
        "schema": "shop",
        "name": "orders",
        "primary_key": ["id"],
        "columns": [
            {"name": "id", "type": "bigint", "nullable": False},
            {"name": "updated_at", "type": "timestamptz", "nullable": False},
        ],
    }
    origin = {"kind": "table", "connection": "shop_db", "table": "shop.orders"}
    doc = draft("orders", origin, profiles, guesses, suggest_rules, table=table,
                source_types={"id": "integer", "updated_at": "timestamptz:us"})  # fmt: skip
    source = doc["parts"]["source"]
    assert source == {"connection": "shop_db", "table": "shop.orders", "mode": "incremental",
                      "cursor": "updated_at", "lookback": 3600.0}  # fmt: skip
    assert doc["parts"]["key"] == ["id"]
    schedule = doc["parts"]["schedule"]
    assert schedule["schedule"] == {"cron": "0 * * * *"}
    assert schedule["steps"][0]["extract"] == "orders"


def test_a_table_without_a_time_cursor_uses_its_whole_number_key_else_reads_it_in_full():
    profiles, guesses = profiled({"id": ["1", "2"], "name": ["a", "b"]})
    table = {"schema": "s", "name": "t", "primary_key": ["id"],
             "columns": [{"name": "id", "type": "integer", "nullable": False},
                         {"name": "name", "type": "text", "nullable": True}]}  # fmt: skip
    origin = {"kind": "table", "connection": "c", "table": "t"}
    by_id = draft("t", origin, profiles, guesses, suggest_rules, table=table,
                  source_types={"id": "integer"})["parts"]["source"]  # fmt: skip
    assert (by_id["mode"], by_id["cursor"], by_id["lookback"]) == ("incremental", "id", 0.0)
    full = draft("t", origin, profiles, guesses, suggest_rules, table={**table, "primary_key": []},
                 source_types={})["parts"]["source"]  # fmt: skip
    assert (full["mode"], full["cursor"]) == ("full", None)
