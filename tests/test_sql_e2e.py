"""`POST /api/v1/sql` through the real platform: a SELECT over a dataset's valid rows and a
Gold model, as JSON, CSV and Parquet, with its limits; anything else refused before it runs."""

from __future__ import annotations

import io

import polars as pl
import pytest

from flowforge.common.testing import unique

pytestmark = pytest.mark.e2e


def test_sql_reads_valid_silver_rows_and_gold_and_refuses_the_rest(platform):
    dataset, model = unique("sqlorders"), unique("sqltotal")
    with platform.client() as c:
        sql = f"SELECT sum(amount) AS total FROM {dataset}"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
        rule = {"name": "positive", "type": "range", "column": "amount", "min": 0}
        assert c.post(f"/api/v1/datasets/{dataset}/rules", json=rule).status_code == 201
    run = platform.land(b"id,amount\n1,10\n2,-5\n3,30\n", "orders.csv", dataset=dataset)
    assert run["status"] == "succeeded" and run["counts"]["quarantined"] == 1
    with platform.client() as c:
        query = (f"SELECT o.id, o.amount, t.total FROM {dataset} o, {model} t "
                 "ORDER BY o.id")  # fmt: skip
        answer = c.post("/api/v1/sql", json={"sql": query})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [col["name"] for col in body["columns"]] == ["id", "amount", "total"]
        assert body["rows"] == [[1, 10, 40], [3, 30, 40]]  # the quarantined row is not valid
        assert body["tables"] == {dataset: "silver", model: "gold"} and not body["truncated"]

        one = c.post("/api/v1/sql", json={"sql": f"SELECT * FROM {dataset}", "limit": 1}).json()
        assert len(one["rows"]) == 1 and one["truncated"] is True

        csv = c.post("/api/v1/sql", params={"format": "csv"}, json={"sql": query})
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines() == ["id,amount,total", "1,10,40.0", "3,30,40.0"]
        parquet = c.post("/api/v1/sql", params={"format": "parquet"}, json={"sql": query})
        frame = pl.read_parquet(io.BytesIO(parquet.content))
        assert frame["id"].to_list() == [1, 3]

        for bad, why in (
            (f"DELETE FROM {dataset}", "SELECT"),
            (f"SELECT 1 FROM {dataset}; SELECT 2", "statements"),
            ("SELECT * FROM read_csv('/etc/passwd')", "read"),
            ("SELECT * FROM no_such_table_x", "neither"),
            (f"SELECT no_column FROM {dataset}", "query failed"),
        ):
            refused = c.post("/api/v1/sql", json={"sql": bad})
            assert refused.status_code in (400, 422), (bad, refused.text)
            assert why in refused.json()["detail"], (bad, refused.json())
        heavy = f"SELECT sum(hash(r.range + o.id)) FROM range(3000000000) r, {dataset} o"
        slow = c.post("/api/v1/sql", json={"sql": heavy, "timeout": 0.5})
        assert slow.status_code == 400 and "time limit" in slow.json()["detail"]
        viewer = platform.client(key=None)
        assert viewer.post("/api/v1/sql", json={"sql": query}).status_code == 401
