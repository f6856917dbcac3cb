"""`flowforge sql` and `flowforge workflows` against a stand-in gateway."""

from __future__ import annotations

import json

import httpx

RESULT = {
    "columns": [{"name": "state", "type": "varchar"}, {"name": "n", "type": "bigint"}],
    "rows": [["CA", 3], ["NY", 1]],
    "truncated": True,
    "seconds": 0.01,
    "tables": {"orders": "silver"},
}


def test_sql_prints_a_table_and_says_when_more_rows_matched(cli, gateway):
    gateway.on("POST", "/api/v1/sql", RESULT)
    done = cli("sql", "SELECT state, count(*) AS n FROM orders GROUP BY 1", "--limit", "2")
    assert done.code == 0, done.err
    assert "CA" in done.out and "2 row(s)" in done.out and "more than 2 matched" in done.out
    assert gateway.body() == {
        "sql": "SELECT state, count(*) AS n FROM orders GROUP BY 1",
        "limit": 2,
    }


def test_sql_writes_a_csv_file_when_asked(cli, gateway, tmp_path):
    gateway.on(
        "POST",
        "/api/v1/sql",
        httpx.Response(200, content=b"state,n\nCA,3\n", headers={"content-type": "text/csv"}),
    )
    target = tmp_path / "out.csv"
    done = cli("sql", "SELECT 1 FROM orders", "--out", str(target))
    assert done.code == 0 and target.read_bytes() == b"state,n\nCA,3\n"
    assert gateway.last.url.params["format"] == "csv"
    refused = cli("sql", "SELECT 1 FROM orders", "--out", str(tmp_path / "out.xlsx"))
    assert refused.code != 0 and ".csv or .parquet" in refused.err


def test_workflows_apply_sends_the_yaml_document_and_runs_lists_steps(cli, gateway, tmp_path):
    saved = {
        "name": "nightly",
        "definition": {"name": "nightly", "schedule": {"every": "15m"}, "steps": []},
        "origin": "api",
        "paused": False,
        "next_tick": "2026-06-01T02:15:00Z",
        "last_run": None,
        "created_at": "2026-06-01T02:00:00Z",
        "updated_at": "2026-06-01T02:00:00Z",
    }
    gateway.on("PUT", "/api/v1/workflows/nightly", saved)
    doc = tmp_path / "nightly.yaml"
    doc.write_text(
        "name: nightly\nschedule: {every: 15m}\n"
        "steps:\n  - {name: ping, webhook: 'https://hooks.example/x'}\n"
    )
    done = cli("workflows", "apply", str(doc))
    assert done.code == 0, done.err
    assert json.loads(gateway.last.content)["steps"][0]["webhook"] == "https://hooks.example/x"
    assert "every 15m" in done.err  # said on stderr, like every confirmation
    run = {
        "id": "a" * 32,
        "trigger": "schedule",
        "status": "succeeded",
        "logical_end": "2026-06-01T02:15:00Z",
        "started_at": "2026-06-01T02:15:00Z",
        "seconds": 1.5,
        "steps": [{"name": "ping", "status": "succeeded"}],
    }
    gateway.on("GET", "/api/v1/workflows/nightly/runs", {"runs": [run], "next_cursor": None})
    listed = cli("workflows", "runs", "nightly")
    assert listed.code == 0 and "ping:succeeded" in listed.out


def test_lakehouse_lists_the_tables_and_how_engines_read_them(cli, gateway):
    gateway.on(
        "GET",
        "/api/v1/lakehouse",
        {
            "format": "delta",
            "catalog": {
                "type": "path",
                "warehouse": "s3://lake/lakehouse",
                "storage_options": {"AWS_ENDPOINT_URL": "http://s3:9000"},
            },
            "tables": [
                {
                    "name": "silver.orders",
                    "layer": "silver",
                    "dataset": "orders",
                    "location": "s3://lake/lakehouse/silver/orders",
                    "version": 4,
                    "rows": 1200,
                    "updated_at": "2026-12-04T10:00:00+00:00",
                }
            ],
            "engines": {"polars": "polars.scan_delta(location, storage_options=...)"},
        },
    )
    done = cli("lakehouse")
    assert done.code == 0, done.err
    for text in ("delta", "silver.orders", "s3://lake/lakehouse/silver/orders", "scan_delta"):
        assert text in done.out, done.out
