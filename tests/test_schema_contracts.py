"""Schema evolution across files of one dataset: evolve, freeze and discard_row."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e


def name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def test_evolve_versions_the_schema_and_reports_a_probable_rename(platform):
    dataset = name("evolve")
    assert platform.land(b"id,customer_name,zip\n1,Ann,00501\n", "a.csv",
                         dataset=dataset)["status"] == "succeeded"  # fmt: skip
    run = platform.land(b"id,customerName,email\n2,Bob,b@x.io\n", "b.csv", dataset=dataset)
    assert run["status"] == "succeeded"
    with platform.client() as c:
        schema = c.get(f"/api/v1/datasets/{dataset}/schema", params={"layer": "bronze"}).json()
    assert schema["version"] == 2
    changes = schema["versions"][-1]["changes"]
    assert changes["added"] == ["customerName", "email"]
    assert changes["removed"] == ["customer_name", "zip"]
    assert changes["probable_renames"] == [{"old": "customer_name", "new": "customerName"}]


def test_freeze_refuses_a_file_whose_columns_differ_with_the_difference(platform):
    dataset = name("frozen")
    assert platform.land(b"id,zip\n1,00501\n", "a.csv", dataset=dataset,
                         schema_policy="freeze")["status"] == "succeeded"  # fmt: skip
    run = platform.land(b"id,zip,extra\n2,02134,x\n", "b.csv", dataset=dataset)
    assert run["status"] == "failed"
    error = run["stages"][0]["error"]
    assert error.startswith("b.csv: the dataset's schema is frozen") and "added extra" in error
    same = platform.land(b"id,zip\n3,10001\n", "c.csv", dataset=dataset)
    assert same["status"] == "succeeded"


def test_discard_row_rejects_rows_with_values_in_unknown_columns(platform):
    dataset = name("strict")
    with platform.client() as c:
        put = c.put(f"/api/v1/datasets/{dataset}/contract", json={"schema_policy": "discard_row"})
        assert put.status_code == 200
    assert platform.land(b"id,zip,city\n1,00501,Holtsville\n", "a.csv",
                         dataset=dataset)["status"] == "succeeded"  # fmt: skip
    run = platform.land(b"id,zip,note\n2,02134,\n3,10001,call me\n4,60601,\n", "b.csv",
                        dataset=dataset)  # fmt: skip
    assert run["status"] == "succeeded", run
    c = run["counts"]
    assert (c["parsed"], c["rejected"], c["bronze"]) == (3, 1, 2)
    with platform.client() as client:
        rejected = client.get(f"/api/v1/runs/{run['run_id']}/rejected").json()["rows"]
        schema = client.get(f"/api/v1/datasets/{dataset}/schema",
                            params={"layer": "bronze"}).json()  # fmt: skip
        rows = client.get(f"/api/v1/datasets/{dataset}/sample",
                          params={"layer": "silver", "limit": 10}).json()["rows"]  # fmt: skip
    assert [(r["line"], r["reason"]) for r in rejected] == [
        (3, "has a value in column 'note', which the dataset does not have (discard_row)")
    ]
    assert [col["name"] for col in schema["columns"]] == ["id", "zip", "city"]
    assert schema["version"] == 1
    assert {r["id"]: r["city"] for r in rows} == {1: "Holtsville", 2: None, 4: None}
