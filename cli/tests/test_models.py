"""`flowforge models list|show|apply` against a fake gateway."""

from __future__ import annotations

import httpx

MODEL = {
    "name": "revenue",
    "sql": "SELECT state, sum(amount) AS revenue FROM orders GROUP BY state",
    "depends_on": ["orders"],
    "built": False,
    "row_count": None,
    "columns": [],
    "updated_at": "2025-05-01T10:00:00+00:00",
    "reconcile": {"revenue": "orders.amount"},
    "error": "Binder Error: column amount not found",
}


def test_models_list_shows_each_models_state_and_error(cli, gateway):
    gateway.on("GET", "/api/v1/models", {"models": [MODEL]})

    done = cli("models", "list")

    assert done.code == 0
    assert "revenue" in done.out and "column amount not found" in done.out


def test_models_show_prints_sql_and_json_is_the_apis(cli, gateway):
    gateway.on("GET", "/api/v1/models/revenue", MODEL)

    human = cli("models", "show", "revenue")
    machine = cli("models", "show", "revenue", "--json")

    assert "sum(amount)" in human.out and "orders.amount" in human.out
    assert machine.json() == MODEL


def test_models_apply_posts_the_sql_file_and_reconcile_pairs(cli, gateway, tmp_path):
    gateway.on("POST", "/api/v1/models", httpx.Response(201, json=MODEL))
    sql = tmp_path / "revenue.sql"
    sql.write_text(MODEL["sql"])

    done = cli(
        "models", "apply", "revenue", str(sql), "--reconcile", "revenue=orders.amount", "--json"
    )

    assert done.code == 0, done.err
    assert gateway.body() == {
        "name": "revenue",
        "sql": MODEL["sql"],
        "reconcile": {"revenue": "orders.amount"},
    }
    assert done.json() == MODEL


def test_models_apply_refuses_a_malformed_reconcile_pair_before_asking(cli, gateway, tmp_path):
    sql = tmp_path / "m.sql"
    sql.write_text("SELECT 1")

    done = cli("models", "apply", "m", str(sql), "--reconcile", "revenue")

    assert done.code == 2
    assert "gold_column=dataset.column" in done.err
    assert gateway.requests == []


def test_models_apply_waits_for_the_build_job_when_the_gateway_answers_202(cli, gateway, tmp_path):
    job = {"id": "j1", "kind": "build_models", "status": "queued", "result": None, "error": None}
    accepted = httpx.Response(202, json=job, headers={"location": "/api/v1/jobs/j1"})
    gateway.on("POST", "/api/v1/models", accepted)
    gateway.on(
        "GET",
        "/api/v1/jobs/j1",
        {**job, "status": "running"},
        {**job, "status": "succeeded", "result": {**MODEL, "built": True, "error": None}},
    )
    sql = tmp_path / "m.sql"
    sql.write_text(MODEL["sql"])

    done = cli("models", "apply", "revenue", str(sql), "--wait")

    assert done.code == 0, done.err
    assert "succeeded" in done.out and "sum(amount)" in done.out
