"""One file from upload to Gold, through the gateway, on both object stores."""

from __future__ import annotations

import pytest

from flowforge.common.testing import unique

pytestmark = pytest.mark.e2e

MESSY = (
    "Order ID,Customer,ZIP,Order Date,Amount,Gift,Note\n"
    "1,Ann,00501,2024-01-05,10.50,yes,\n"  # line 2
    "2,Bob,02134,2024-01-06,20.00,no,NA\n"  # line 3
    "2,Bob,02134,2024-01-06,20.00,no,NA\n"  # line 4: exact duplicate of line 3
    '3,Cid,10001,2024-02-01,5.25,Y,"multi\nline note"\n'  # lines 5-6
    "4,Dee,60601\n"  # line 7: too few fields
    "5, Eve ,94105,2024-03-01, 7.75 ,N,null\n"  # line 8: padded values, null token
    "3,Cid,10001,2024-02-02,6.25,y,updated\n"  # line 9: key 3 again, latest wins
    "6,Fay,07030,2024-03-02,1.00,no,-,extra\n"  # line 10: too many fields
    ",Gus,73301,2024-03-03,2.00,no,\n"  # line 11: null key → quarantined
)


def test_a_messy_file_lands_in_every_layer_with_every_row_accounted_for(any_platform):
    p = any_platform
    dataset, model = unique("orders"), unique("spend")
    with p.client() as c:
        created = c.post(
            "/api/v1/models",
            json={
                "name": model,
                "sql": f"SELECT customer, sum(amount) AS spend, count(*) AS n FROM {dataset} "
                "GROUP BY customer ORDER BY customer",
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["depends_on"] == [dataset]

    run = p.land(MESSY.encode(), "orders.csv", dataset=dataset, key="Order ID")

    assert run["status"] == "succeeded", run
    assert [s["status"] for s in run["stages"]] == ["succeeded"] * 4
    assert run["counts"] == {
        "parsed": 9,
        "rejected": 2,
        "bronze": 7,
        "duplicates": 2,
        "silver": 5,
        "quarantined": 1,
        "valid": 4,
        "deleted": None,  # a file is no snapshot
    }
    c = run["counts"]
    assert c["parsed"] == c["rejected"] + c["bronze"]
    assert c["bronze"] == c["duplicates"] + c["silver"]
    assert c["silver"] == c["quarantined"] + c["valid"]

    with p.client() as client:
        rejected = client.get(f"/api/v1/runs/{run['run_id']}/rejected").json()
        assert [(r["line"], r["reason"]) for r in rejected["rows"]] == [
            (7, "expected 7 fields, found 3"),
            (10, "expected 7 fields, found 8"),
        ]

        schema = client.get(f"/api/v1/datasets/{dataset}/schema", params={"layer": "silver"})
        types = {col["name"]: col["type"] for col in schema.json()["columns"]}
        assert types == {
            "order_id": "integer",
            "customer": "string",
            "zip": "string",
            "order_date": "date",
            "amount": "decimal(38,2)",
            "gift": "boolean",
            "note": "string",
        }
        bronze = client.get(f"/api/v1/datasets/{dataset}/schema", params={"layer": "bronze"})
        assert {col["type"] for col in bronze.json()["columns"]} == {"string"}

        rows = client.get(
            f"/api/v1/datasets/{dataset}/sample", params={"layer": "silver", "limit": 100}
        ).json()["rows"]
        by_id = {r["order_id"]: r for r in rows}
        assert sorted(by_id) == [1, 2, 3, 5]  # the null-key row (line 11) is quarantined
        assert len(rows) == 4
        assert by_id[1]["zip"] == "00501"
        assert by_id[3]["note"] == "updated" and by_id[3]["amount"] == 6.25
        assert by_id[3]["_source_line"] == 9
        assert by_id[5]["customer"] == "Eve" and by_id[5]["note"] is None
        assert by_id[1]["gift"] is True and by_id[5]["gift"] is False

        raw = client.get(
            f"/api/v1/datasets/{dataset}/sample", params={"layer": "bronze", "limit": 100}
        ).json()["rows"]
        assert sorted(r["_source_line"] for r in raw) == [2, 3, 4, 5, 8, 9, 11]
        assert any(r["Customer"] == " Eve " for r in raw)  # Bronze keeps the raw text

        gold = client.get(f"/api/v1/models/{model}/sample").json()["rows"]
        assert gold == [
            {"customer": "Ann", "spend": 10.5, "n": 1},
            {"customer": "Bob", "spend": 20.0, "n": 1},
            {"customer": "Cid", "spend": 6.25, "n": 1},
            {"customer": "Eve", "spend": 7.75, "n": 1},
        ]

        lineage = client.get(f"/api/v1/datasets/{dataset}/lineage").json()
        edges = {(e["source"], e["target"]) for e in lineage["edges"]}
        assert edges == {
            ("file:orders.csv", f"bronze:{dataset}"),
            (f"bronze:{dataset}", f"silver:{dataset}"),
            (f"silver:{dataset}", f"gold:{model}"),
        }

        listed = client.get("/api/v1/runs", params={"dataset": dataset}).json()["runs"]
        assert [r["run_id"] for r in listed] == [run["run_id"]]
        detail = client.get(f"/api/v1/datasets/{dataset}").json()
        assert detail["layers"]["silver"]["row_count"] == 4
        assert detail["key"] == ["Order ID"]


def test_a_model_registered_after_its_data_landed_is_built_at_once(platform):
    dataset, model = unique("late"), unique("late_total")
    run = platform.land(
        b"region,amount\nnorth,1.50\nsouth,2.25\nnorth,3.00\n", "late.csv", dataset=dataset
    )
    assert run["status"] == "succeeded"
    with platform.client() as c:
        sql = f"SELECT region, sum(amount) AS total FROM {dataset} GROUP BY region ORDER BY 1"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
        import time

        deadline = time.monotonic() + 60
        while (sample := c.get(f"/api/v1/models/{model}/sample")).status_code == 404:
            assert time.monotonic() < deadline, sample.text
            time.sleep(0.3)
        assert sample.json()["rows"] == [
            {"region": "north", "total": 4.5},
            {"region": "south", "total": 2.25},
        ]
        detail = c.get(f"/api/v1/models/{model}").json()
        assert detail["built"] is True and detail["row_count"] == 2
        runs = c.get("/api/v1/runs", params={"dataset": model}).json()["runs"]
        assert runs == []  # a rebuild on request is not a file's run


def test_a_broken_model_fails_the_gold_stage_but_not_the_other_models(platform):
    dataset, good, bad = unique("iso"), unique("good"), unique("bad")
    with platform.client() as c:
        assert (
            c.post(
                "/api/v1/models", json={"name": bad, "sql": f"SELECT no_such_column FROM {dataset}"}
            ).status_code
            == 201
        )
        assert (
            c.post(
                "/api/v1/models", json={"name": good, "sql": f"SELECT count(*) AS n FROM {dataset}"}
            ).status_code
            == 201
        )
    run = platform.land(b"a,b\n1,2\n3,4\n", "iso.csv", dataset=dataset)

    assert run["status"] == "failed"
    gold = {s["name"]: s for s in run["stages"]}["gold"]
    assert gold["status"] == "failed"
    assert bad in gold["error"] and "no_such_column" in gold["error"]
    assert run["counts"]["valid"] == 2  # the data itself landed
    with platform.client() as c:
        assert c.get(f"/api/v1/models/{good}/sample").json()["rows"] == [{"n": 2}]
        assert c.get(f"/api/v1/models/{bad}/sample").status_code == 404


def test_a_model_cannot_read_files_of_the_host(platform):
    """Refused when it is submitted, by parsing alone (nothing is opened); a model already
    stored with such SQL would meet the build's sandbox (services/transform/tests)."""
    model = unique("peek")
    with platform.client() as c:
        created = c.post(
            "/api/v1/models",
            json={"name": model, "sql": "SELECT content FROM read_text('/etc/hostname')"},
        )
        assert created.status_code == 400, created.text
        assert "read_text is not allowed" in created.json()["detail"]
        assert c.get(f"/api/v1/models/{model}").status_code == 404


def test_a_later_file_keeps_the_dataset_column_types_when_its_values_fit(platform):
    dataset, model = unique("drift"), unique("drift_sum")
    first = platform.land(
        b"id,day,amount\n1,01/13/2024,1.50\n2,02/14/2024,2.25\n", "d1.csv", dataset=dataset
    )
    # Alone, this file's dates are ambiguous (US or EU) and its amounts whole numbers.
    second = platform.land(
        b"id,day,amount\n3,03/04/2024,3\n4,05/06/2024,4\n", "d2.csv", dataset=dataset
    )
    assert first["status"] == second["status"] == "succeeded"
    with platform.client() as c:
        types = {
            col["name"]: col["type"]
            for col in c.get(f"/api/v1/datasets/{dataset}/schema").json()["columns"]
        }
        assert types == {"id": "integer", "day": "date", "amount": "decimal(38,2)"}
        sql = f"SELECT sum(amount) AS total, min(day) AS first_day FROM {dataset}"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
        import time

        deadline = time.monotonic() + 60
        while (sample := c.get(f"/api/v1/models/{model}/sample")).status_code == 404:
            assert time.monotonic() < deadline, sample.text
            time.sleep(0.3)
    assert sample.json()["rows"] == [{"total": 10.75, "first_day": "2024-01-13"}]


def test_json_and_compressed_files_land_like_csv(platform):
    import gzip
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    ndjson = b'{"id": 1, "zip": "00501", "shop": {"city": "Boston"}}\n{"id": 2, "zip": "02134"}\n'
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "amount": [1.5, 2.25]}), buffer)
    cases = [
        ("o.ndjson", ndjson, {"id": "integer", "zip": "string", "shop__city": "string"}),
        ("o.csv.gz", gzip.compress(b"id,zip\n1,00501\n"), {"id": "integer", "zip": "string"}),
        ("o.parquet", buffer.getvalue(), {"id": "integer", "amount": "decimal(38,2)"}),
    ]
    for filename, body, types in cases:
        dataset = unique("fmt")
        run = platform.land(body, filename, dataset=dataset)
        assert run["status"] == "succeeded", (filename, run)
        with platform.client() as c:
            schema = c.get(f"/api/v1/datasets/{dataset}/schema").json()
        assert {col["name"]: col["type"] for col in schema["columns"]} == types, filename


def test_arrays_land_as_the_datasets_array_policy_says(platform):
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    ndjson = (
        b'{"id": 1, "tags": ["a", "b"], "items": [{"sku": "X1", "qty": 2}]}\n'
        b'{"id": 2, "tags": ["c"], "items": []}\n'
    )
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "tags": [["a", "b"], None]}), buffer)
    as_json, as_columns = unique("arr_json"), unique("arr_cols")
    with platform.client() as c:
        for dataset, policy in ((as_json, "json"), (as_columns, "columns")):
            response = c.put(f"/api/v1/datasets/{dataset}/contract", json={"array_policy": policy})
            assert response.status_code == 200, response.text
    assert platform.land(ndjson, "a.ndjson", dataset=as_json)["status"] == "succeeded"
    assert platform.land(ndjson, "a.ndjson", dataset=as_columns)["status"] == "succeeded"
    with platform.client() as c:
        rows = c.get(f"/api/v1/datasets/{as_json}/sample", params={"layer": "bronze"}).json()
        assert [r["tags"] for r in rows["rows"]] == ['["a", "b"]', '["c"]']
        rows = c.get(f"/api/v1/datasets/{as_columns}/sample", params={"layer": "bronze"}).json()
        first, second = rows["rows"]
        assert (first["tags__0"], first["tags__1"], first["items__0__sku"]) == ("a", "b", "X1")
        assert (second["tags__0"], second["tags__1"], second["items__0__qty"]) == ("c", None, None)
        assert c.get(f"/api/v1/datasets/{as_columns}/contract").json()["array_policy"] == "columns"
    parquet = unique("arr_pq")
    with platform.client() as c:
        c.put(f"/api/v1/datasets/{parquet}/contract", json={"array_policy": "columns"})
    assert platform.land(buffer.getvalue(), "t.parquet", dataset=parquet)["status"] == "succeeded"
    with platform.client() as c:
        schema = c.get(f"/api/v1/datasets/{parquet}/schema", params={"layer": "bronze"}).json()
    names = [col["name"] for col in schema["columns"]]
    assert "tags__0" in names and "tags__1" in names and "tags" not in names


def test_each_sheet_of_a_workbook_lands_as_its_own_dataset(platform):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Orders"
    for row in (["id", "zip"], [1, "00501"], [2, "02134"]):
        book.active.append(row)
    refunds = book.create_sheet("Refunds")
    for row in (["id", "amount"], [1, 0.5]):
        refunds.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    dataset = unique("book")
    run = platform.land(buffer.getvalue(), "book.xlsx", dataset=dataset)
    assert run["status"] == "succeeded" and run["counts"]["valid"] == 2
    with platform.client() as c:
        import time

        deadline = time.monotonic() + 60
        while not (
            runs := c.get("/api/v1/runs", params={"dataset": f"{dataset}_refunds"}).json()["runs"]
        ):
            assert time.monotonic() < deadline, "the second sheet never landed"
            time.sleep(0.3)
    other = platform.wait_run(runs[0]["run_id"])
    assert other["status"] == "succeeded" and other["counts"]["valid"] == 1
