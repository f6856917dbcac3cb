"""The HTTP front door: clear JSON errors, health, docs, metrics and the AsyncAPI document."""

from __future__ import annotations

import uuid

import httpx
import pytest

from flowforge.common.testing import unique

pytestmark = pytest.mark.e2e


def test_health_reports_every_service(platform):
    response = httpx.get(f"{platform.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["services"] == {
        s: "ok" for s in ("ingest", "transform", "quality", "catalog", "ai", "scheduler", "gateway")
    }


def test_unknown_things_are_404_with_a_message_not_a_trace(platform):
    with platform.client() as c:
        for path in (
            "/api/v1/runs/nope",
            "/api/v1/datasets/nope",
            "/api/v1/datasets/nope/schema",
            "/api/v1/models/nope/sample",
        ):
            response = c.get(path)
            assert response.status_code == 404, path
            body = response.json()
            assert "nope" in body["error"] and "Traceback" not in response.text


def test_an_empty_upload_is_refused_with_the_file_name(platform):
    with platform.client() as c:
        response = c.post("/api/v1/files", files={"file": ("empty.csv", b"")})
    assert response.status_code == 400
    assert response.json()["error"] == "empty.csv: the file is empty"


def test_an_upload_without_a_file_says_what_is_missing(platform):
    with platform.client() as c:
        response = c.post("/api/v1/files", data={"dataset": "x"})
    assert response.status_code == 422
    assert "file" in response.json()["error"]


def test_a_bad_model_is_refused_with_the_parser_message(platform):
    with platform.client() as c:
        bad_sql = c.post("/api/v1/models", json={"name": "broken", "sql": "SELEC oops"})
        bad_name = c.post("/api/v1/models", json={"name": "Bad Name!", "sql": "SELECT 1"})
    assert bad_sql.status_code == 400 and "does not parse" in bad_sql.json()["error"]
    assert bad_name.status_code == 400 and "invalid model name" in bad_name.json()["error"]


def test_a_rule_the_engines_refuse_is_a_400_naming_it(platform):
    """The gateway relays rules without loading Polars or DuckDB; quality's own check refuses
    a pattern Polars cannot run or an expression DuckDB cannot parse, and says which rule."""
    name = unique("engine_rules")
    regex = {"type": "regex", "column": "code", "pattern": "(?=A)[A-Z]+"}
    sql = {"type": "sql", "expression": "amount > > 0"}
    with platform.client() as c:
        bad_regex = c.put(f"/api/v1/datasets/{name}/rules", json={"rules": [regex]})
        bad_sql = c.post(f"/api/v1/datasets/{name}/rules", json=sql)
        bad_yaml = c.put(
            f"/api/v1/datasets/{name}/rules.yaml",
            content=b"rules:\n  - {type: sql, expression: 'amount > > 0'}\n",
            headers={"content-type": "application/yaml"},
        )
        kept = c.get(f"/api/v1/datasets/{name}/rules")
    assert bad_regex.status_code == 400, bad_regex.text
    assert "rules[0]" in bad_regex.json()["error"] and "look-around" in bad_regex.json()["error"]
    for bad in (bad_sql, bad_yaml):
        assert bad.status_code == 400, bad.text
        assert "does not parse as DuckDB SQL" in bad.json()["error"]
    assert kept.status_code == 200 and kept.json()["rules"] == []


def test_a_file_that_is_not_text_fails_its_run_with_a_clear_reason(platform):
    run = platform.land(bytes(range(256)) * 4 + b"\x00" * 100, "blob.csv")
    assert run["status"] == "failed"
    ingest = run["stages"][0]
    assert ingest["name"] == "ingest" and ingest["status"] == "failed"
    assert ingest["error"].startswith("blob.csv: ")
    assert [s["status"] for s in run["stages"][1:]] == ["skipped"] * 3


def test_a_header_only_file_fails_quality_and_never_reaches_gold(platform):
    run = platform.land(b"a,b,c\n", f"empty_{uuid.uuid4().hex[:6]}.csv")
    assert run["status"] == "failed"
    assert run["counts"]["parsed"] == 0 and run["counts"]["silver"] == 0
    stages = {s["name"]: s for s in run["stages"]}
    assert stages["quality"]["status"] == "failed"
    assert "row_count > 0" in stages["quality"]["error"]
    assert stages["gold"]["status"] == "skipped"


def test_the_dataset_name_defaults_to_the_normalised_file_stem(platform):
    accepted = platform.upload(b"x\n1\n", "My Sales-2024.csv")
    assert accepted["dataset"] == "my_sales_2024"
    assert platform.wait_run(accepted["run_id"])["status"] == "succeeded"
    with platform.client() as c:
        names = [d["name"] for d in c.get("/api/v1/datasets").json()["datasets"]]
    assert "my_sales_2024" in names


def test_openapi_asyncapi_and_metrics_are_served(platform):
    with platform.client() as c:
        for page in ("/docs", "/redoc"):
            html = c.get(page).text
            assert "/static/docs/" in html and "cdn." not in html, page  # works offline
        assert c.get("/static/docs/swagger-ui-bundle.js").status_code == 200
        assert c.get("/static/docs/redoc.standalone.js").status_code == 200
        paths = c.get("/openapi.json").json()["paths"]
        assert "/api/v1/files" in paths and "/api/v1/runs/{run_id}/rejected" in paths
        asyncapi = c.get("/asyncapi.json").json()
        addresses = {ch["address"] for ch in asyncapi["channels"].values()}
        assert {
            "file.landed",
            "bronze.ready",
            "silver.ready",
            "quality.checked",
            "gold.ready",
        } <= addresses
        assert "run_id" in asyncapi["components"]["schemas"]["BronzeReady"]["properties"]
        ingest_metrics = c.get("/api/v1/services/ingest/metrics").text
        assert "flowforge_messages_total" in ingest_metrics
        assert "flowforge_stage_seconds" in ingest_metrics
        assert "flowforge_http_requests_total" in c.get("/metrics").text


def test_service_logs_are_structured_and_carry_the_run_id(platform):
    import json

    run = platform.land(b"k,v\n1,a\n", "logged.csv")
    lines = [
        json.loads(line) for line in platform.log("transform").splitlines() if line.startswith("{")
    ]
    mine = [line for line in lines if line.get("run_id") == run["run_id"]]
    assert mine and all(line["service"] == "transform" for line in mine)


def test_a_chosen_dataset_name_is_used_as_given_or_refused(platform):
    """Case and separators may differ; anything else normalisation would change is refused,
    so `a;drop table x` never lands in `a_drop_table_x` (or in any existing dataset)."""
    accepted = platform.upload(b"x\n1\n", "f.csv", dataset="Chosen-Name 2")
    assert accepted["dataset"] == "chosen_name_2"
    for bad in ("a;drop table x", "2024", "x" * 64, "naïve", "../orders"):
        with platform.client() as c:
            response = c.post("/api/v1/files", files={"file": ("f.csv", b"x\n1\n")},
                              data={"dataset": bad})  # fmt: skip
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "invalid dataset name" in response.json()["detail"]


def test_unsafe_upload_names_are_made_safe(platform):
    for name in ("..", ".", "../../etc/passwd", "a\x00b.csv"):
        accepted = platform.upload(b"x\n1\n", name, dataset="unsafe_names", force="true")
        assert "/" not in accepted["filename"] and accepted["filename"] not in (".", "..")
        assert platform.wait_run(accepted["run_id"])["status"] == "succeeded"
    assert (platform.home / "uploads").is_dir()


def test_an_unknown_endpoint_answers_with_the_error_shape(platform):
    response = httpx.get(f"{platform.url}/api/v1/nothing", timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/not-found" and problem["status"] == 404
    assert "no such endpoint" in problem["detail"] and problem["error"] == problem["detail"]
    assert problem["instance"] == "/api/v1/nothing"
    described = httpx.get(f"{platform.url}{problem['type']}", timeout=10).json()
    assert described["title"] == "Not found"


def test_a_wrong_method_is_405_with_the_allowed_ones(platform):
    response = httpx.delete(f"{platform.url}/api/v1/runs", timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["type"] == "/problems/method-not-allowed"


def test_the_same_content_again_is_answered_with_the_earlier_run(platform):
    dataset = unique("again")
    first = platform.upload(b"id,v\n1,2\n", "a.csv", dataset=dataset)
    assert platform.wait_run(first["run_id"])["status"] == "succeeded"
    with platform.client() as c:
        again = c.post(
            "/api/v1/files", files={"file": ("b.csv", b"id,v\n1,2\n")}, data={"dataset": dataset}
        )
        forced = c.post(
            "/api/v1/files",
            files={"file": ("b.csv", b"id,v\n1,2\n")},
            data={"dataset": dataset, "force": "true"},
        )
        elsewhere = c.post(
            "/api/v1/files", files={"file": ("a.csv", b"id,v\n1,2\n")}, data={"dataset": "other"}
        )
    assert again.status_code == 200
    assert again.json()["run_id"] == first["run_id"] == again.json()["duplicate_of"]
    assert again.json()["status"] == "succeeded"
    assert forced.status_code == 202 and forced.json()["run_id"] != first["run_id"]
    assert elsewhere.status_code == 202 and elsewhere.json()["duplicate_of"] is None


def test_lists_are_paged_with_a_cursor_and_a_next_link(platform):
    dataset = unique("paged")
    ids = [
        platform.upload(f"id\n{i}\n".encode(), f"p{i}.csv", dataset=dataset)["run_id"]
        for i in range(3)
    ]
    for run_id in ids:
        platform.wait_run(run_id)
    with platform.client() as c:
        first = c.get("/api/v1/runs", params={"dataset": dataset, "limit": 2})
        body = first.json()
        assert len(body["runs"]) == 2 and body["next_cursor"]
        assert first.headers["link"] == f'<{body["next"]}>; rel="next"'
        rest = c.get(body["next"]).json()
        assert len(rest["runs"]) == 1 and rest["next"] is None
    seen = [r["run_id"] for r in body["runs"] + rest["runs"]]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 3


def test_an_oversized_upload_is_refused_before_it_is_read(platform):
    import json
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(platform.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(  # headers only: the promised body never comes
            b"POST /api/v1/files HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000000000000\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n\r\n"
        )
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413")
    assert "limit" in json.loads(body)["error"]
