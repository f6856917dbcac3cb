"""`flowforge datasets list|show` and `flowforge rules get|apply` against a fake gateway."""

from __future__ import annotations

import httpx

DATASET = {
    "name": "orders",
    "key": ["order_id"],
    "layers": {
        "silver": {
            "layer": "silver",
            "location": "silver/orders",
            "version": 3,
            "row_count": 61,
            "columns": 9,
            "updated_at": "2025-05-01T10:00:00+00:00",
        }
    },
    "runs": 2,
    "last_run": None,
}
RULES = {"dataset": "orders", "rules": [{"type": "not_null", "column": "order_id"}]}
YAML = "dataset: orders\nrules:\n  - type: not_null\n    column: order_id\n"


def test_datasets_list_prints_each_dataset_with_its_rows(cli, gateway):
    gateway.on("GET", "/api/v1/datasets", {"datasets": [DATASET]})

    done = cli("datasets", "list")

    assert done.code == 0
    assert "orders" in done.out and "61" in done.out and "order_id" in done.out


def test_datasets_list_json_is_the_apis_json(cli, gateway):
    gateway.on("GET", "/api/v1/datasets", {"datasets": [DATASET], "next": None})

    assert cli("datasets", "list", "--json").json() == {"datasets": [DATASET], "next": None}


def test_datasets_show_asks_for_the_dataset_by_name(cli, gateway):
    gateway.on("GET", "/api/v1/datasets/orders", DATASET)

    done = cli("datasets", "show", "orders")

    assert done.code == 0
    assert gateway.last.url.path == "/api/v1/datasets/orders"
    assert "silver" in done.out and "silver/orders" in done.out


def test_rules_get_prints_the_rules_as_a_table_or_as_json(cli, gateway):
    gateway.on("GET", "/api/v1/datasets/orders/rules", RULES)

    human = cli("rules", "get", "orders")
    machine = cli("rules", "get", "orders", "--json")

    assert "not_null" in human.out and "order_id" in human.out
    assert machine.json() == RULES


def test_rules_get_yaml_prints_the_file_as_the_gateway_exports_it(cli, gateway):
    answer = httpx.Response(200, text=YAML, headers={"content-type": "application/yaml"})
    gateway.on("GET", "/api/v1/datasets/orders/rules.yaml", answer)

    done = cli("rules", "get", "orders", "--yaml")

    assert done.out == YAML


def test_rules_get_refuses_yaml_and_json_together(cli, gateway):
    done = cli("--json", "rules", "get", "orders", "--yaml")

    assert done.code == 2
    assert gateway.requests == []


def test_rules_apply_puts_the_yaml_file_as_it_is(cli, gateway, tmp_path):
    gateway.on("PUT", "/api/v1/datasets/orders/rules.yaml", RULES)
    rules = tmp_path / "orders.rules.yaml"
    rules.write_text(YAML)

    done = cli("rules", "apply", "orders", str(rules))

    assert done.code == 0, done.err
    assert gateway.last.headers["content-type"] == "application/yaml"
    assert gateway.last.content == YAML.encode()
    assert "not_null" in done.out
    assert "replay orders" in done.err


def test_rules_apply_of_invalid_rules_exits_2_with_the_gateways_reason(cli, gateway, tmp_path):
    refusal = gateway.problem(422, "rule 1: unknown type 'not_nul'")
    gateway.on("PUT", "/api/v1/datasets/orders/rules.yaml", refusal)
    rules = tmp_path / "bad.yaml"
    rules.write_text("rules:\n  - type: not_nul\n")

    done = cli("rules", "apply", "orders", str(rules), "--json")

    assert done.code == 2
    assert done.out == ""
    assert "unknown type 'not_nul'" in done.err


def test_rules_apply_of_a_missing_file_exits_2_without_a_request(cli, gateway, tmp_path):
    done = cli("rules", "apply", "orders", str(tmp_path / "none.yaml"))

    assert done.code == 2
    assert gateway.requests == []
