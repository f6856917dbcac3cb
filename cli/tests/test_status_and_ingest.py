"""`flowforge status` (endpoints, health, secrets redacted) and `flowforge ingest`."""

from __future__ import annotations

import json
import os

import httpx

HEALTHY = {"status": "ok", "services": {"ingest": "ok", "quality": "ok", "gateway": "ok"}}
PASSWORD = "pg-Pass-4711"


def write_endpoints(extra: dict | None = None) -> None:
    run = os.path.join(os.environ["FLOWFORGE_HOME"], "run")
    os.makedirs(run, exist_ok=True)
    endpoints = {
        "gateway_url": "http://127.0.0.1:8000",
        "nats_url": "nats://127.0.0.1:4222",
        "database_url": f"postgresql://flowforge:{PASSWORD}@127.0.0.1:5433/flowforge",
        "pid": 4242,
        **(extra or {}),
    }
    with open(os.path.join(run, "endpoints.json"), "w") as f:
        json.dump(endpoints, f)


def test_status_prints_every_endpoint_with_the_database_password_hidden(cli, gateway):
    write_endpoints()
    gateway.on("GET", "/healthz", HEALTHY)

    done = cli("status")

    assert done.code == 0, done.err
    assert "http://127.0.0.1:8000" in done.out and "nats://127.0.0.1:4222" in done.out
    assert "postgresql://***@127.0.0.1:5433/flowforge" in done.out
    assert "local folder" in done.out and "logs" in done.out
    assert "quality" in done.out
    assert PASSWORD not in done.out + done.err


def test_status_json_holds_health_the_workers_state_and_redacted_endpoints(cli, gateway):
    write_endpoints({"s3_secret_key": "abc"})
    workers = {"services": {"ingest": {"state": "running", "lag": 0, "last_error": None}}}
    gateway.on("GET", "/healthz", HEALTHY)
    gateway.on("GET", "/api/v1/status", workers)

    report = cli("status", "--json").json()

    assert report["health"] == HEALTHY
    assert report["status"] == workers
    assert report["endpoints"]["nats_url"] == "nats://127.0.0.1:4222"
    assert report["endpoints"]["s3_secret_key"] == "***"
    assert PASSWORD not in json.dumps(report)


def test_status_of_a_degraded_platform_exits_1(cli, gateway):
    degraded = {"status": "degraded", "services": {"ingest": "unreachable", "gateway": "ok"}}
    gateway.on("GET", "/healthz", httpx.Response(503, json=degraded))

    done = cli("status")

    assert done.code == 1
    assert "unreachable" in done.out


def test_status_without_a_gateway_still_prints_the_endpoints_and_exits_3(cli):
    write_endpoints()

    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    done = cli("status", transport=httpx.MockTransport(refuse))

    assert done.code == 3
    assert "nats://127.0.0.1:4222" in done.out
    assert "cannot reach the gateway" in done.err


def test_ingest_uploads_the_file_with_its_key_and_follows_the_run(cli, gateway, tmp_path, key):
    source = tmp_path / "orders.csv"
    source.write_text("order_id,amount\n1,2.5\n")
    upload = {"run_id": "r1", "dataset": "sales", "status": "queued"}
    gateway.on("POST", "/api/v1/files", httpx.Response(202, json=upload))
    gateway.on(
        "GET", "/api/v1/runs/r1", gateway.run_body("r1", status="running"), gateway.run_body()
    )

    done = cli("ingest", str(source), "--dataset", "sales", "--key", "order_id", "--api-key", key)

    assert done.code == 0, done.err
    posted = gateway.requests[0]
    assert posted.headers["authorization"] == f"Bearer {key}"
    assert b'name="dataset"\r\n\r\nsales' in posted.content
    assert b'name="key"\r\n\r\norder_id' in posted.content
    assert b"1,2.5" in posted.content
    assert "uploading orders.csv" in done.out and "valid=4" in done.out


def test_ingest_json_prints_only_the_final_run_on_stdout(cli, gateway, tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text("a\n1\n")
    gateway.on("POST", "/api/v1/files", httpx.Response(202, json={"run_id": "r1", "dataset": "o"}))
    gateway.on("GET", "/api/v1/runs/r1", gateway.run_body(status="failed"))

    done = cli("ingest", str(source), "--json")

    assert done.code == 1
    assert done.json()["status"] == "failed"
    assert "uploading" in done.err


def test_ingest_no_wait_json_prints_the_acceptance(cli, gateway, tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text("a\n1\n")
    accepted = {"run_id": "r1", "dataset": "orders", "status": "queued"}
    gateway.on("POST", "/api/v1/files", httpx.Response(202, json=accepted))

    done = cli("ingest", str(source), "--no-wait", "--json")

    assert done.json() == accepted
    assert len(gateway.requests) == 1


def test_ingest_of_a_missing_file_exits_2(cli, gateway, tmp_path):
    done = cli("ingest", str(tmp_path / "none.csv"))

    assert done.code == 2
    assert "no such file" in done.err
    assert gateway.requests == []


def test_an_upload_too_large_is_refused_with_the_gateways_reason(cli, gateway, tmp_path):
    source = tmp_path / "big.csv"
    source.write_text("a\n1\n")
    gateway.on("POST", "/api/v1/files", gateway.problem(413, "the upload is over the limit"))

    done = cli("ingest", str(source))

    assert done.code == 2
    assert "over the limit" in done.err
