"""`flowforge runs list|show|wait` against a fake gateway."""

from __future__ import annotations

import json

import httpx


def test_runs_list_sends_the_key_and_filters_and_prints_a_table(cli, gateway, key, monkeypatch):
    gateway.on("GET", "/api/v1/runs", {"runs": [gateway.run_body("r1"), gateway.run_body("r2")]})
    monkeypatch.setenv("FLOWFORGE_API_KEY", key)

    done = cli("runs", "list", "--dataset", "orders", "--limit", "5")

    assert done.code == 0, done.err
    request = gateway.last
    assert request.headers["authorization"] == f"Bearer {key}"
    assert request.url.params["dataset"] == "orders"
    assert request.url.params["limit"] == "5"
    assert "r1" in done.out and "r2" in done.out and "succeeded" in done.out


def test_runs_list_json_prints_the_apis_json_and_nothing_else(cli, gateway):
    body = {"runs": [gateway.run_body("r1")], "next_cursor": None, "next": None}
    gateway.on("GET", "/api/v1/runs", body)

    done = cli("--json", "runs", "list")

    assert done.code == 0
    assert done.json() == body


def test_runs_list_follows_next_links_until_the_limit(cli, gateway):
    pages = [
        {"runs": [gateway.run_body(f"a{i}") for i in range(3)], "next": "/api/v1/runs?cursor=c1"},
        {"runs": [gateway.run_body(f"b{i}") for i in range(3)], "next": "/api/v1/runs?cursor=c2"},
        {"runs": [gateway.run_body("c0")], "next": None},
    ]
    gateway.on("GET", "/api/v1/runs", *pages)

    done = cli("runs", "list", "--limit", "5", "--json")

    assert [r["run_id"] for r in done.json()["runs"]] == ["a0", "a1", "a2", "b0", "b1"]
    assert len(gateway.requests) == 2
    assert gateway.requests[1].url.params["cursor"] == "c1"


def test_runs_list_all_reads_every_page(cli, gateway):
    gateway.on(
        "GET",
        "/api/v1/runs",
        {"runs": [gateway.run_body("a")], "next": "http://127.0.0.1:8000/api/v1/runs?cursor=x"},
        {"runs": [gateway.run_body("b")], "next": None},
    )

    done = cli("runs", "list", "--all", "--json")

    assert [r["run_id"] for r in done.json()["runs"]] == ["a", "b"]


def test_a_page_without_a_next_link_is_the_last(cli, gateway):
    gateway.on("GET", "/api/v1/runs", {"runs": [gateway.run_body("only")]})  # today's shape

    done = cli("runs", "list", "--all", "--json")

    assert [r["run_id"] for r in done.json()["runs"]] == ["only"]
    assert len(gateway.requests) == 1


def test_runs_list_status_filter_holds_even_if_the_gateway_ignores_it(cli, gateway):
    runs = [gateway.run_body("ok1"), gateway.run_body("bad", status="failed")]
    gateway.on("GET", "/api/v1/runs", {"runs": runs})

    done = cli("runs", "list", "--status", "failed", "--json")

    assert gateway.last.url.params["status"] == "failed"
    assert [r["run_id"] for r in done.json()["runs"]] == ["bad"]


def test_runs_show_prints_stages_counts_and_error(cli, gateway):
    run = gateway.run_body("r9", status="failed", error="the file has no rows")
    gateway.on("GET", "/api/v1/runs/r9", run)

    done = cli("runs", "show", "r9")

    assert done.code == 0
    assert "run r9" in done.out and "ingest" in done.out
    assert "valid=4" in done.out and "the file has no rows" in done.out


def test_runs_show_of_an_unknown_run_exits_5_with_the_problem_detail(cli, gateway):
    gateway.on("GET", "/api/v1/runs/nope", gateway.problem(404, "no run nope"))

    done = cli("runs", "show", "nope", "--json")

    assert done.code == 5
    assert done.out == ""
    assert "no run nope" in done.err


def test_runs_wait_polls_until_the_run_succeeds(cli, gateway):
    gateway.on(
        "GET",
        "/api/v1/runs/r1",
        gateway.run_body("r1", status="queued"),
        gateway.run_body("r1", status="running"),
        gateway.run_body("r1", status="succeeded"),
    )

    done = cli("runs", "wait", "r1", "--json")

    assert done.code == 0
    assert done.json()["status"] == "succeeded"
    assert len(gateway.requests) == 3


def test_runs_wait_exits_1_when_the_run_failed(cli, gateway):
    gateway.on("GET", "/api/v1/runs/r1", gateway.run_body("r1", status="failed"))

    done = cli("runs", "wait", "r1")

    assert done.code == 1
    assert "failed" in done.out


def test_runs_wait_exits_7_past_its_timeout(cli, gateway):
    gateway.on("GET", "/api/v1/runs/r1", gateway.run_body("r1", status="running"))

    done = cli("runs", "wait", "r1", "--timeout", "0")

    assert done.code == 7
    assert "did not finish" in done.err


def test_a_gateway_answer_that_is_not_json_is_reported_not_crashed_on(cli, gateway):
    gateway.on("GET", "/api/v1/runs/r1", httpx.Response(200, text="<html>proxy</html>"))

    done = cli("runs", "show", "r1")

    assert done.code == 1
    assert "no JSON" in done.err


def test_a_legacy_error_body_is_shown(cli, gateway):
    gateway.on("GET", "/api/v1/runs", httpx.Response(503, json={"error": "catalog is down"}))

    done = cli("runs", "list")

    assert done.code == 1
    assert "catalog is down" in done.err
    assert json.dumps({"error": "catalog is down"}) not in done.out
