"""A folder of models as a dbt user writes it: SQL files with config/ref/source, schema.yml
with descriptions and tests; read into API bodies in dependency order, or refused with the
file and line."""

from __future__ import annotations

import pytest

from flowforge.common.errors import BadInputError
from flowforge.common.modelfiles import load_project

ORDERS = """
{{ config(materialized='incremental', unique_key='order_id') }}
-- paid orders only
SELECT order_id, country, amount
FROM {{ source('shop', 'orders') }}
WHERE status = 'paid'
"""
REVENUE = """SELECT country, sum(amount) AS revenue FROM {{ ref('paid_orders') }} GROUP BY 1;"""
SCHEMA = """
version: 2
models:
  - name: paid_orders
    description: Orders that were paid.
    columns:
      - name: order_id
        description: The order's id.
        tests: [unique, not_null]
      - name: country
        data_tests:
          - accepted_values:
              values: [DE, FR]
              config: {severity: warn}
  - name: revenue
    config: {materialized: table}
    columns:
      - name: country
        tests:
          - relationships: {to: "ref('paid_orders')", field: country}
          - range: {min: 0}
"""


def test_a_dbt_style_folder_becomes_api_bodies_in_dependency_order(tmp_path):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "revenue.sql").write_text(REVENUE)
    (tmp_path / "paid_orders.sql").write_text(ORDERS)
    (tmp_path / "schema.yml").write_text(SCHEMA)
    paid, revenue = load_project(tmp_path)
    assert paid["name"] == "paid_orders" and revenue["name"] == "revenue"
    assert paid["materialized"] == "incremental" and paid["unique_key"] == "order_id"
    assert "FROM orders" in paid["sql"] and "{{" not in paid["sql"]
    assert revenue["sql"].endswith("FROM paid_orders GROUP BY 1")
    assert paid["description"] == "Orders that were paid."
    assert paid["column_docs"] == {"order_id": "The order's id."}
    assert paid["tests"] == [
        {"type": "unique", "column": "order_id", "action": "fail"},
        {"type": "not_null", "column": "order_id", "action": "fail"},
        {"type": "accepted_values", "column": "country", "values": ["DE", "FR"],
         "action": "warn"},
    ]  # fmt: skip
    assert revenue["materialized"] == "table"
    assert revenue["tests"][0] == {"type": "referential", "column": "country",
                                   "to": "paid_orders.country", "action": "fail"}  # fmt: skip
    assert revenue["tests"][1]["type"] == "range" and revenue["tests"][1]["min"] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1\n{% if is_incremental() %} WHERE 1 {% endif %}", "line 2"),
        ("SELECT {{ var('x') }}", r"not config\(\)"),
        ("{{ config(materialised='table') }} SELECT 1", r"config\(\) takes"),
        ("{{ config(materialized=open('x')) }} SELECT 1", "cannot read"),
        ("{{ config(materialized='table') }}", "no SQL"),
    ],
)
def test_jinja_beyond_config_ref_and_source_is_refused_naming_the_file_and_line(
    tmp_path, text, message
):
    (tmp_path / "m.sql").write_text(text)
    with pytest.raises(BadInputError, match=message) as raised:
        load_project(tmp_path)
    assert "m.sql" in str(raised.value)


def test_a_cycle_or_a_yaml_entry_without_sql_is_refused(tmp_path):
    (tmp_path / "a.sql").write_text("SELECT * FROM {{ ref('b') }}")
    (tmp_path / "b.sql").write_text("SELECT * FROM {{ ref('a') }}")
    with pytest.raises(BadInputError, match="cycle"):
        load_project(tmp_path)
    (tmp_path / "b.sql").write_text("SELECT 1 AS x")
    (tmp_path / "schema.yml").write_text("models:\n  - name: ghost\n")
    with pytest.raises(BadInputError, match="'ghost' has no .sql file"):
        load_project(tmp_path)
