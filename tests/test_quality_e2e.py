"""The data-quality rule engine end to end, through the gateway: rules of every kind on a file
with known bad rows, exact quarantine counts per rule, a `fail` rule blocking Gold, a release
putting rows back, a replay after a rule change, and reconciliation numbers."""

from __future__ import annotations

import pytest

from flowforge.common.testing import unique, wait_for

pytestmark = pytest.mark.e2e

CUSTOMERS = "id,name\nc1,Ann\nc2,Bob\nc3,Cid\n"

# Each bad row is bad in one known way (the line numbers are the file's physical lines).
ORDERS = (
    "order_id,customer,email,sku,status,amount,qty,ordered_at\n"
    "1,c1,a@x.com,ABC-001,new,10.00,1,2024-01-01\n"  # 2 valid
    "2,c2,bad-email,ABC-002,paid,20.00,1,2024-01-02\n"  # 3 format_email
    "3,c9,c@x.com,ABC-003,paid,30.00,1,2024-01-03\n"  # 4 referential_customer
    "4,c1,d@x.com,abc-4,new,40.00,1,2024-01-04\n"  # 5 regex_sku (+ length_sku, warn)
    "5,c2,e@x.com,ABC-005,lost,50.00,1,2024-01-05\n"  # 6 valid (accepted_values warns)
    "6,c3,f@x.com,ABC-006,new,-5.00,1,2024-01-06\n"  # 7 range_amount
    "7,c3,g@x.com,ABC-007,new,900.00,10,2024-01-07\n"  # 8 big_order (sql) + unique
    "7,c1,h@x.com,ABC-008,paid,15.00,1,2024-01-08\n"  # 9 unique_order_id
    ",c1,i@x.com,ABC-009,new,12.00,1,2024-01-09\n"  # 10 not_null_order_id
    "10,c2,j@x.com,ABC-010,shipped,25.00,2,2024-01-10\n"  # 11 valid
)

RULES_YAML = """\
dataset: {dataset}
columns:
  order_id: [not_null, unique]
  email:
    - format: {{format: email}}
  sku:
    - regex: {{pattern: "[A-Z]{{3}}-[0-9]{{3}}"}}
    - length: {{min: 7, max: 7, severity: warn}}
  status:
    - accepted_values: {{values: [new, paid, shipped], action: warn}}
  amount:
    - range: {{min: 0, max: 1000}}
  customer:
    - referential: {{to: {customers}.id}}
  ordered_at:
    - freshness: {{max_age: 1d, action: warn}}
rules:
  - name: big_order
    type: sql
    expression: amount * qty < 5000
  - {{type: row_count, min: 1, max_change_pct: 50, action: warn}}
"""


def analytics_count(platform, view: str) -> int:
    """Rows of a view of $FLOWFORGE_HOME/analytics.duckdb, retried while transform writes the
    file and until the view is there: views are refreshed after `gold.ready` (up to about a
    second later)."""
    import duckdb

    def attempt():
        try:
            con = duckdb.connect(str(platform.home / "analytics.duckdb"), read_only=True)
        except duckdb.Error:
            return None
        try:
            return [con.execute(f'SELECT count(*) FROM "{view}"').fetchall()[0][0]]
        except duckdb.CatalogException:  # not refreshed yet
            return None
        finally:
            con.close()

    return wait_for(attempt, 30, f"analytics view {view}")[0]


def gold_sum(client, model: str) -> float:
    rows = client.get(f"/api/v1/models/{model}/sample", params={"limit": 100}).json()["rows"]
    return round(sum(r["revenue"] for r in rows), 2)


def test_rules_of_every_kind_quarantine_release_replay_and_reconcile(any_platform):
    p = any_platform
    customers, orders, model = unique("customers"), unique("orders"), unique("revenue")
    assert p.land(CUSTOMERS.encode(), "customers.csv", dataset=customers)["status"] == "succeeded"

    with p.client() as c:
        imported = c.put(
            f"/api/v1/datasets/{orders}/rules.yaml",
            content=RULES_YAML.format(dataset=orders, customers=customers),
            headers={"content-type": "application/yaml"},
        )
        assert imported.status_code == 200, imported.text
        names = [r["name"] for r in imported.json()["rules"]]
        assert names == [
            "big_order",
            "row_count",
            "not_null_order_id",
            "unique_order_id",
            "format_email",
            "regex_sku",
            "length_sku",
            "accepted_values_status",
            "range_amount",
            "referential_customer",
            "freshness_ordered_at",
        ]
        created = c.post(
            "/api/v1/models",
            json={
                "name": model,
                "sql": f"SELECT customer, sum(amount) AS revenue FROM {orders} GROUP BY customer",
                "reconcile": {"revenue": f"{orders}.amount"},
            },
        )
        assert created.status_code == 201, created.text
        # Declared additive, but it drops rows: reconciliation must catch the difference.
        leaky = c.post(
            "/api/v1/models",
            json={
                "name": f"{model}_big",
                "sql": f"SELECT customer, sum(amount) AS revenue FROM {orders} "
                "WHERE amount > 20 GROUP BY customer",
                "reconcile": {"revenue": f"{orders}.amount"},
            },
        )
        assert leaky.status_code == 201, leaky.text

    run = p.land(ORDERS.encode(), "orders.csv", dataset=orders)
    assert run["status"] == "succeeded", run  # warnings do not block Gold
    # 10 rows; lines 3,4,5,7,8,9,10 quarantined; 2, 6 and 11 valid.
    assert run["counts"] == {
        "parsed": 10,
        "rejected": 0,
        "bronze": 10,
        "duplicates": 0,
        "silver": 10,
        "quarantined": 7,
        "valid": 3,
        "deleted": None,  # a file is no snapshot
    }

    with p.client() as c:
        quality = c.get(f"/api/v1/datasets/{orders}/quality").json()
        latest = quality["latest"]
        assert latest["run_id"] == run["run_id"] and latest["verdict"] == "warned"
        checks = {k["name"]: k for k in latest["checks"]}
        failed = {
            name: k["failed_rows"] for name, k in checks.items() if k["rule_type"] != "structural"
        }
        assert {
            n: v for n, v in failed.items() if not n.startswith(("parsed", "bronze", "silver"))
        } == {
            "big_order": 1,
            "row_count": 0,
            "not_null_order_id": 1,
            "unique_order_id": 2,
            "format_email": 1,
            "regex_sku": 1,
            "length_sku": 1,
            "accepted_values_status": 1,
            "range_amount": 1,
            "referential_customer": 1,
            "freshness_ordered_at": 0,
        }
        assert checks["freshness_ordered_at"]["status"] == "warned"  # 2024 data, max 1 day
        assert checks["accepted_values_status"]["status"] == "warned"
        assert checks["accepted_values_status"]["examples"] == ["lost"]
        assert checks["row_count"]["status"] == "passed"
        assert checks["format_email"]["examples"] == ["bad-email"]
        reconciled = [k for k in latest["checks"] if k["rule_type"] == "reconciliation"]
        assert {k["name"] for k in reconciled} == {
            "parsed = rejected + bronze",
            "bronze = duplicates + silver",
            "silver = rows in the Silver file",
            "silver = quarantined + valid",
        }
        assert all(k["status"] == "passed" for k in reconciled), reconciled

        # Browse the quarantine: 8 entries (line 8 failed two rules), filterable by rule.
        q = c.get(f"/api/v1/datasets/{orders}/quarantine").json()
        assert q["total"] == 8
        assert sorted({r["line"] for r in q["rows"]}) == [3, 4, 5, 7, 8, 9, 10]
        dupes = c.get(f"/api/v1/datasets/{orders}/quarantine", params={"rule": "unique_order_id"})
        rows = dupes.json()["rows"]
        assert [(r["line"], r["value"]) for r in rows] == [(8, "7"), (9, "7")]
        assert rows[0]["row"]["email"] == "g@x.com" and rows[0]["file"] == "orders.csv"

        # Gold has only the valid rows, and its sum reconciles with Silver's valid rows.
        assert gold_sum(c, model) == 85.0  # 10 + 50 + 25
        recon = wait_for(
            lambda: (
                len(r := c.get(f"/api/v1/datasets/{orders}/quality").json()["reconciliation"]) == 2
                and r
            ),
            what="gold reconciliation",
        )
        by_model = {r["model"]: r for r in recon}
        good, leaky = by_model[model], by_model[f"{model}_big"]
        assert good["status"] == "passed" and good["expected"] == 85.0, good["detail"]
        assert good["actual"] == 85.0
        assert leaky["status"] == "failed", leaky["detail"]  # 50 + 25 of the valid 85
        assert (leaky["expected"], leaky["actual"]) == (85.0, 75.0)
        assert "off by -10" in leaky["detail"]

        # The analytics file has views of both datasets (each made when its batch landed).
        assert analytics_count(p, f"silver_{orders}") == 3
        assert analytics_count(p, f"bronze_{orders}") == 10
        assert analytics_count(p, f"silver_{customers}") == 3

        # Release: customer c9 was onboarded late; line 4 re-enters the valid view.
        released = p.finish(
            c.post(
                f"/api/v1/datasets/{orders}/quarantine/release",
                json={"rule": "referential_customer", "reason": "c9 onboarded late"},
            )
        )
        assert released["released_rows"] == 1
        assert released["runs"][0]["quarantined"] == 6

    after = wait_for(
        lambda: (
            (r := p.wait_run(run["run_id"]))["counts"]["valid"] == 4
            and r["status"] == "succeeded"
            and r
        ),
        what="release reflected in the run",
    )
    assert after["counts"]["quarantined"] == 6
    with p.client() as c:
        wait_for(lambda: gold_sum(c, model) == 115.0, what="Gold rebuilt after the release")
        q = c.get(f"/api/v1/datasets/{orders}/quarantine").json()
        assert 4 not in {r["line"] for r in q["rows"]} and q["total"] == 7

        # A fail rule blocks Gold for the batch that breaks it.
        added = c.post(
            f"/api/v1/datasets/{orders}/rules",
            json={"name": "qty_cap", "type": "range", "column": "qty", "max": 5, "action": "fail"},
        )
        assert added.status_code == 201, added.text

    second = (
        "order_id,customer,email,sku,status,amount,qty,ordered_at\n"
        "20,c1,k@x.com,ABC-020,new,100.00,6,2024-02-01\n"
        "21,c2,l@x.com,ABC-021,new,200.00,1,2024-02-02\n"
    )
    blocked = p.land(second.encode(), "orders2.csv", dataset=orders)
    assert blocked["status"] == "failed"
    stages = {s["name"]: s for s in blocked["stages"]}
    assert stages["quality"]["status"] == "failed" and "qty_cap" in stages["quality"]["error"]
    assert stages["gold"]["status"] == "skipped"
    assert blocked["counts"]["quarantined"] == 1 and blocked["counts"]["valid"] == 1
    with p.client() as c:
        assert gold_sum(c, model) == 115.0  # unchanged: the failed batch is not in Gold
        checks = {
            k["name"]: k
            for k in c.get(f"/api/v1/datasets/{orders}/quality").json()["latest"]["checks"]
        }
        assert checks["row_count"]["status"] == "warned"  # 2 rows after 10: -80%
        assert "-80.0%" in checks["row_count"]["detail"]

        # Drop the rule and replay that batch: it passes now and Gold takes its valid row.
        assert c.delete(f"/api/v1/datasets/{orders}/rules/qty_cap").status_code == 204
        replayed = p.finish(
            c.post(
                f"/api/v1/datasets/{orders}/quality/replay", json={"run_ids": [blocked["run_id"]]}
            )
        )
        assert replayed["runs"][0]["verdict"] in ("passed", "warned")

    rerun = wait_for(
        lambda: (r := p.wait_run(blocked["run_id"]))["status"] == "succeeded" and r,
        what="replayed batch promoted",
    )
    assert rerun["counts"]["quarantined"] == 0 and rerun["counts"]["valid"] == 2
    with p.client() as c:
        wait_for(lambda: gold_sum(c, model) == 415.0, what="Gold with the replayed batch")
        trend = c.get(f"/api/v1/datasets/{orders}/quality").json()["trend"]
        assert [(t["run_id"], t["revision"]) for t in trend[:2]] == [
            (blocked["run_id"], 1),
            (blocked["run_id"], 0),
        ]


def test_rules_api_refuses_bad_rules_with_a_clear_message(platform):
    dataset = unique("things")
    with platform.client() as c:
        bad = [
            (
                {"rules": [{"type": "range", "column": "a"}]},
                "a range rule needs `min` and/or `max`",
            ),
            (
                {"rules": [{"type": "format", "column": "a", "format": "zip"}]},
                "format 'zip' is not one of",
            ),
            ({"rules": [{"type": "sql", "expression": "1); DROP TABLE x"}]}, "no ';'"),
            ({"rules": [{"type": "not_null"}]}, "needs `column`"),
            ({"rules": [{"type": "row_count", "min": 1, "action": "quarantine"}]}, "warn or fail"),
            (
                {"rules": [{"type": "not_null", "column": "a", "warn_if": "lots"}]},
                "threshold 'lots'",
            ),
            ({"rules": [{"type": "nope", "column": "a"}]}, "rules[0]"),
        ]
        for body, message in bad:
            response = c.put(f"/api/v1/datasets/{dataset}/rules", json=body)
            assert response.status_code == 400, (body, response.text)
            assert message in response.json()["error"], (body, response.json())

        response = c.put(
            f"/api/v1/datasets/{dataset}/rules.yaml",
            content="rules:\n  - type: not_null\n\tcolumn: a\n",
            headers={"content-type": "application/yaml"},
        )
        assert response.status_code == 400 and "line 3" in response.json()["error"], response.text

        good = c.put(
            f"/api/v1/datasets/{dataset}/rules",
            json={
                "rules": [
                    {"type": "not_null", "column": "a", "warn_if": "> 1%", "fail_if": ">= 5%"}
                ]
            },
        )
        assert good.status_code == 200, good.text
        exported = c.get(f"/api/v1/datasets/{dataset}/rules.yaml")
        assert exported.status_code == 200
        assert "warn_if: '> 1%'" in exported.text and "fail_if: '>= 5%'" in exported.text
        other = c.put(
            f"/api/v1/datasets/{unique('other')}/rules.yaml",
            content=exported.text,
            headers={"content-type": "application/yaml"},
        )
        assert other.status_code == 400 and "is for dataset" in other.json()["error"]
        again = c.put(
            f"/api/v1/datasets/{dataset}/rules.yaml",
            content=exported.text,
            headers={"content-type": "application/yaml"},
        )
        assert again.json()["rules"] == good.json()["rules"]


def test_a_replay_that_fails_the_only_batch_empties_gold_and_a_release_restores_it(platform):
    p = platform
    dataset, model = unique("sales"), unique("total")
    with p.client() as c:
        created = c.post(
            "/api/v1/models",
            json={
                "name": model,
                "sql": f"SELECT count(*) AS n, sum(amount) AS revenue FROM {dataset}",
            },
        )
        assert created.status_code == 201, created.text
    body = "id,amount\n1,10\n2,20\n3,-5\n"
    run = p.land(body.encode(), "sales.csv", dataset=dataset)
    assert run["status"] == "succeeded" and run["counts"]["valid"] == 3

    with p.client() as c:
        rows = c.get(f"/api/v1/models/{model}/sample").json()["rows"]
        assert rows == [{"n": 3, "revenue": 25}]
        rule = {"name": "positive", "type": "range", "column": "amount", "min": 0, "action": "fail"}
        assert c.post(f"/api/v1/datasets/{dataset}/rules", json=rule).status_code == 201
        assert c.post(f"/api/v1/datasets/{dataset}/quality/replay", json={}).status_code == 422
        replayed = p.finish(
            c.post(f"/api/v1/datasets/{dataset}/quality/replay", json={"all": True})
        )
        assert replayed["runs"][0]["verdict"] == "failed"

    failed = wait_for(
        lambda: (r := p.wait_run(run["run_id"]))["status"] == "failed" and r, what="run failed"
    )
    assert failed["counts"]["quarantined"] == 1
    with p.client() as c:
        # Gold now reads no valid rows of the dataset (its only batch failed), not stale data.
        wait_for(
            lambda: (
                c.get(f"/api/v1/models/{model}/sample").json()["rows"]
                == [{"n": 0, "revenue": None}]
            ),
            what="Gold emptied",
        )
        # The analytics views are refreshed right after the models are built: wait for them.
        wait_for(lambda: analytics_count(p, f"silver_{dataset}") == 0, what="view emptied")
        # A release needs a scope and a reason.
        refused = c.post(f"/api/v1/datasets/{dataset}/quarantine/release", json={"reason": "x"})
        assert refused.status_code == 422 and "say which rows" in refused.json()["error"]
        released = p.finish(
            c.post(
                f"/api/v1/datasets/{dataset}/quarantine/release",
                json={"rule": "positive", "reason": "refund, expected"},
            )
        )
        assert released["released_rows"] == 1
        assert released["runs"][0]["verdict"] in ("passed", "warned")
        wait_for(
            lambda: (
                c.get(f"/api/v1/models/{model}/sample").json()["rows"] == [{"n": 3, "revenue": 25}]
            ),
            what="Gold restored by the release",
        )
    restored = wait_for(
        lambda: (r := p.wait_run(run["run_id"]))["status"] == "succeeded" and r,
        what="run succeeded again",
    )
    assert restored["counts"]["quarantined"] == 0 and restored["counts"]["valid"] == 3


def test_a_replay_is_a_job_answered_at_once_and_followed_to_its_result(platform):
    p = platform
    dataset = unique("many")
    runs = [
        p.upload(f"id,v\n{i},{i}\n{i + 100},-1\n".encode(), f"part{i}.csv", dataset=dataset)
        for i in range(11)
    ]
    for r in runs:
        assert p.wait_run(r["run_id"])["status"] == "succeeded"
    with p.client() as c:
        rule = {"name": "v_positive", "type": "range", "column": "v", "min": 0}
        assert c.post(f"/api/v1/datasets/{dataset}/rules", json=rule).status_code == 201
        answer = c.post(f"/api/v1/datasets/{dataset}/quality/replay", json={"all": True})
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert answer.headers["location"] == f"/api/v1/jobs/{job['id']}"
        assert job["kind"] == "replay" and job["status"] in ("queued", "running")
        result = p.finish(answer, 120)
        assert len(result["runs"]) == 11
        assert all(r["quarantined"] == 1 for r in result["runs"])
        listed = c.get("/api/v1/jobs", params={"limit": 5}).json()["jobs"]
        assert job["id"] in {j["id"] for j in listed}
    for r in runs:
        final = wait_for(
            lambda r=r: (x := p.wait_run(r["run_id"]))["counts"]["quarantined"] == 1 and x,
            60,
            "run counts updated",
        )
        assert final["status"] == "succeeded" and final["counts"]["valid"] == 1
