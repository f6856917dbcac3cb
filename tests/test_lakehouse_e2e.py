"""Silver as Delta tables (issue 15): a keyed dataset over many batches reads exactly the
source's current state, through the API and through an independent reader (delta-rs opening
the table at the location `GET /api/v1/lakehouse` gives); older versions stay readable; a
fold that crashes between the table's commit and its bookkeeping is never half-visible."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from deltalake import DeltaTable

from flowforge.common.db import create_pool
from flowforge.common.lakehouse import Lakehouse
from flowforge.common.storage import LakeFiles, LocalObjectStore
from flowforge.common.testing import unique
from flowforge.transform.tables import SilverTables

pytestmark = pytest.mark.e2e
# module_platform's settings (the tests that fold share it, each with datasets of its own):
# Silver folded every third batch, never for its size.
PLATFORM_ENV = {"FLOWFORGE_FOLD_RATIO": "1000", "FLOWFORGE_FOLD_BATCHES": "3"}
FOLD_BATCHES = 3


def csv(rows: dict[int, int]) -> bytes:
    return ("id,amount\n" + "".join(f"{k},{v}\n" for k, v in rows.items())).encode()


def batches(count: int, seed: int) -> list[dict[int, int]]:
    """Each batch: new ids and updates of earlier ones (the latest amount wins)."""
    rng, next_id, out = random.Random(seed), 1, []
    for _ in range(count):
        rows = {i: rng.randint(1, 10_000) for i in range(next_id, next_id + 8)}
        next_id += 8
        for i in rng.sample(range(1, next_id - 8), min(4, next_id - 9)) if next_id > 9 else []:
            rows[i] = rng.randint(1, 10_000)
        out.append(rows)
    return out


def api_rows(client, dataset: str) -> dict[int, int]:
    answer = client.post(
        "/api/v1/sql", json={"sql": f"SELECT id, amount FROM {dataset}", "limit": 10_000}
    )
    assert answer.status_code == 200, answer.text
    return {int(r[0]): int(r[1]) for r in answer.json()["rows"]}


def table_rows(location: str, version: int | None = None) -> dict[int, int]:
    table = DeltaTable(location, version=version)
    data = table.to_pyarrow_table(columns=["id", "amount"]).to_pylist()
    assert len(data) == len({r["id"] for r in data}), "one row per key"
    return {int(r["id"]): int(r["amount"]) for r in data}


def test_a_keyed_dataset_reads_its_current_state_in_the_api_and_in_the_delta_table(
    module_platform,
):
    # Folded every third batch: in between, the API reads the table and the batches beside it.
    p = module_platform
    dataset, expected, versions, runs = unique("ledger"), {}, [], []
    with p.client() as c:
        for number, rows in enumerate(batches(8, seed=15), start=1):
            run = p.land(csv(rows), f"ledger_{number}.csv", dataset=dataset, key="id")
            assert run["status"] == "succeeded", run
            asyncio.run(folded(p, dataset, fold_batches=FOLD_BATCHES))
            expected.update(rows)
            assert api_rows(c, dataset) == expected, f"after batch {number}"
            lakehouse = c.get("/api/v1/lakehouse")
            assert lakehouse.status_code == 200, lakehouse.text
            body = lakehouse.json()
            assert body["format"] == "delta"
            table = next(t for t in body["tables"] if t.get("dataset") == dataset)
            assert table["name"] == f"silver.{dataset}" and table["layer"] == "silver"
            versions.append((number, table["version"], dict(expected)))
            runs.append(run["run_id"])
        # Batches 1, 4 and 7 were folded (the first makes the table, then every third).
        assert [v for _, v, _ in versions] == [0, 0, 0, 1, 1, 1, 2, 2], versions
        location = table["location"]
        assert table_rows(location, table["version"]) == expected_at(versions, 7)
        # The API reads batch 8 beside the table; after a forced fold the table has it too.
        assert api_rows(c, dataset) == expected

        # Time travel through the API: by version, by run (right after it was folded in), by
        # time; a run still read beside the table is not in any version yet.
        def sample(**params) -> dict[int, int]:
            got = c.get(f"/api/v1/datasets/{dataset}/sample", params={"limit": 1000, **params})
            assert got.status_code == 200, got.text
            return {int(r["id"]): int(r["amount"]) for r in got.json()["rows"]}

        assert sample(version=0) == expected_at(versions, 1)
        assert sample(as_of_run=runs[3]) == expected_at(versions, 4)
        assert sample(as_of=datetime.now(UTC).isoformat()) == expected_at(versions, 7)
        pending = c.get(f"/api/v1/datasets/{dataset}/sample", params={"as_of_run": runs[7]})
        assert pending.status_code == 409 and "not folded yet" in pending.json()["detail"]
        early = c.get(
            f"/api/v1/datasets/{dataset}/sample", params={"as_of": "2001-01-01T00:00:00Z"}
        )
        assert early.status_code == 404 and "younger than" in early.json()["detail"]
    asyncio.run(fold_now(p, dataset))
    assert table_rows(location) == expected
    # Time travel with any Delta reader: the first version is the first batch's state.
    assert table_rows(location, 0) == expected_at(versions, 1)
    with p.client() as c:
        # Housekeeping with no retention: only the current version stays readable.
        started = c.post("/api/v1/lakehouse/housekeeping", json={"retention_hours": 0})
        assert started.status_code == 202, started.text
        job = platform_job(c, started.json())
        assert job["status"] == "succeeded", job
        assert job["result"]["removed"][f"silver.{dataset}"] >= 3, job["result"]
        expired = c.get(f"/api/v1/datasets/{dataset}/sample", params={"version": 0})
        assert expired.status_code == 404 and "expired" in expired.json()["detail"]
        assert api_rows(c, dataset) == expected
    assert table_rows(location) == expected
    assert "AWS_SECRET_ACCESS_KEY" not in str(body)


def expected_at(versions: list, batch: int) -> dict[int, int]:
    return next(state for number, _, state in versions if number == batch)


async def folded(platform, dataset: str, *, fold_batches: int) -> None:
    """Until no fold of the dataset's table is due (the platform folds after `gold.ready`,
    off the run's path), by the platform's own rule with its settings (fold ratio 1000)."""
    pool = await create_pool(platform.endpoints["database_url"], max_size=2)
    try:
        store = LocalObjectStore(platform.home)
        tables = SilverTables(
            pool,
            Lakehouse(store),
            LakeFiles(store, platform.home / "cache" / "test"),
            fold_ratio=1000,
            fold_batches=fold_batches,
        )
        for _ in range(600):
            if not tables.due(await tables.state(dataset)):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the Silver table of {dataset} was not folded within 60 s")
    finally:
        await pool.close()


async def fold_now(platform, dataset: str, *, crash: bool = False) -> int | None:
    pool = await create_pool(platform.endpoints["database_url"], max_size=2)
    try:
        store = LocalObjectStore(platform.home)
        tables = SilverTables(
            pool, Lakehouse(store), LakeFiles(store, platform.home / "cache" / "test")
        )
        if crash:
            tables.pool = _Crashing(pool)  # the bookkeeping after the commit fails
        return await tables.fold(dataset, force=True)
    finally:
        await pool.close()


class _Crashing:
    def __init__(self, pool):
        self.pool = pool

    def __getattr__(self, name):
        return getattr(self.pool, name)

    async def execute(self, query: str, *args):
        if "INSERT INTO transform.tables" in query:
            raise ConnectionResetError("killed between the commit and its bookkeeping")
        return await self.pool.execute(query, *args)


def test_a_fold_killed_after_its_commit_is_invisible_and_the_retry_commits_once(
    module_platform,
):
    p = module_platform
    dataset, expected = unique("crash"), {}
    # Three batches: the platform folds the first only (the next fold is due at the fourth).
    with p.client() as c:
        for number, rows in enumerate(batches(3, seed=3), start=1):
            assert p.land(csv(rows), f"c{number}.csv", dataset=dataset, key="id")["status"] == (
                "succeeded"
            )
            asyncio.run(folded(p, dataset, fold_batches=FOLD_BATCHES))
            expected.update(rows)
        before = c.get("/api/v1/lakehouse").json()
        table = next(t for t in before["tables"] if t["dataset"] == dataset)
        assert table["version"] == 0  # only the first batch is in the table
        with pytest.raises(ConnectionResetError):
            asyncio.run(fold_now(p, dataset, crash=True))
        # Delta has a version 1 nobody recorded: the platform still reads version 0 and the
        # batches beside it, so every row is there exactly once.
        assert DeltaTable(table["location"]).version() == 1
        assert api_rows(c, dataset) == expected
        assert (
            next(t for t in c.get("/api/v1/lakehouse").json()["tables"] if t["dataset"] == dataset)[
                "version"
            ]
            == 0
        )
        assert asyncio.run(fold_now(p, dataset)) == 2
        assert api_rows(c, dataset) == expected
        assert table_rows(table["location"]) == expected
        after = next(
            t for t in c.get("/api/v1/lakehouse").json()["tables"] if t["dataset"] == dataset
        )
        assert after["version"] == 2 and after["rows"] == len(expected)


def sql_rows(client, query: str) -> list[list]:
    answer = client.post("/api/v1/sql", json={"sql": query, "limit": 10_000})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


def orders_csv(rows: dict[int, tuple[int, str]]) -> bytes:
    lines = "".join(f"{k},{amount},{status}\n" for k, (amount, status) in rows.items())
    return ("id,amount,status\n" + lines).encode()


def test_an_incremental_model_merges_new_batches_and_equals_its_full_refresh(module_platform):
    # Merges are kept beside the model's table and folded every third one: the model is read
    # through both while they are pending.
    platform = module_platform
    dataset, inc, full = unique("sales"), unique("paid_inc"), unique("paid_full")
    sql = f"SELECT id, amount * 2 AS doubled, status FROM {dataset} WHERE status = 'paid'"
    rng = random.Random(7)
    with platform.client() as c:
        body = {"name": inc, "sql": sql, "materialized": "incremental", "unique_key": "id"}
        created = c.post("/api/v1/models", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["materialized"] == "incremental"
        assert created.json()["unique_key"] == ["id"]
        assert c.post("/api/v1/models", json={"name": full, "sql": sql}).status_code == 201
        for number in range(6):
            rows = {rng.randint(1, 40): (rng.randint(1, 500), rng.choice(["paid", "refunded"]))
                    for _ in range(12)}  # fmt: skip
            run = platform.land(orders_csv(rows), f"s{number}.csv", dataset=dataset, key="id")
            assert run["status"] == "succeeded", run
            wait_for_model(c, inc, run["run_id"])
            differs = sql_rows(c, f"SELECT count(*) FROM ((SELECT * FROM {inc} EXCEPT ALL "
                               f"SELECT * FROM {full}) UNION ALL (SELECT * FROM {full} "
                               f"EXCEPT ALL SELECT * FROM {inc}))")  # fmt: skip
            assert differs == [[0]], f"after batch {number}"
            # the rows it records (counted from the last merge's change) are the rows it has
            counted = sql_rows(c, f"SELECT count(*) FROM {inc}")[0][0]
            assert c.get(f"/api/v1/models/{inc}").json()["row_count"] == counted, number
        log = platform.log("transform")
        assert "incremental (1 batch(es))" in log and "merge kept (2 pending)" in log
        assert "folded into version" in log
        rebuilt = c.post(f"/api/v1/models/{inc}/build", params={"full_refresh": "true"})
        assert rebuilt.status_code == 202, rebuilt.text
        job = platform_job(c, rebuilt.json())
        assert job["status"] == "succeeded", job
        assert sql_rows(c, f"SELECT count(*) FROM {inc}") == sql_rows(
            c, f"SELECT count(*) FROM {full}"
        )


def test_an_aggregate_table_is_refreshed_from_the_changes_and_equals_its_sql(module_platform):
    # Each batch updates earlier keys and Silver folds every third batch: after each, the
    # model equals its SQL run over the dataset, and it was built from the changes, not from
    # every row.
    platform = module_platform
    dataset, model = unique("sales"), unique("revenue")
    sql = (
        f"SELECT status, count(*) AS orders, sum(amount * 1.5) AS revenue, "
        f"count(*) FILTER (WHERE amount > 250) AS big FROM {dataset} GROUP BY ALL"
    )
    rng = random.Random(11)
    with platform.client() as c:
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
        for number in range(7):
            # a first batch, then small ones (much larger ones are built from every row)
            rows = {rng.randint(1, 200 if number else 100): (rng.randint(1, 500), rng.choice(
                ["paid", "refunded", "open"])) for _ in range(12 if number else 150)}  # fmt: skip
            run = platform.land(orders_csv(rows), f"a{number}.csv", dataset=dataset, key="id")
            assert run["status"] == "succeeded", run
            wait_for_model(c, model, run["run_id"])
            want = sorted(sql_rows(c, sql), key=repr)
            assert sorted(sql_rows(c, f"SELECT * FROM {model}"), key=repr) == want, number
        assert "table from changes (1 batch(es))" in platform.log("transform")
        rebuilt = c.post(f"/api/v1/models/{model}/build", params={"full_refresh": "true"})
        assert rebuilt.status_code == 202, rebuilt.text
        assert platform_job(c, rebuilt.json())["status"] == "succeeded"
        assert sorted(sql_rows(c, f"SELECT * FROM {model}"), key=repr) == want


def wait_for_model(client, model: str, run_id: str, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = client.get(f"/api/v1/runs/{run_id}").json()
        gold = [s for s in got.get("stages", []) if s["name"] == "gold"]
        if gold and gold[0]["status"] in ("succeeded", "failed"):
            assert gold[0]["status"] == "succeeded", gold
            return
        time.sleep(0.2)
    raise AssertionError(f"no Gold for run {run_id}")


def platform_job(client, accepted: dict, timeout: float = 60) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{accepted['id']}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("job did not finish")


def test_a_snapshot_keeps_exact_scd2_history_by_check_and_by_timestamp(platform):
    dataset, by_check, by_time = unique("customers"), unique("cust_check"), unique("cust_time")
    with platform.client() as c:
        for body in (
            {"name": by_check, "sql": f"SELECT id, tier FROM {dataset}",
             "materialized": "snapshot", "unique_key": "id", "strategy": "check",
             "check_cols": ["tier"], "description": "tiers over time",
             "column_docs": {"tier": "loyalty tier"}},
            {"name": by_time, "sql": f"SELECT id, tier, changed_at FROM {dataset}",
             "materialized": "snapshot", "unique_key": ["id"], "strategy": "timestamp",
             "updated_at": "changed_at"},
        ):  # fmt: skip
            created = c.post("/api/v1/models", json=body)
            assert created.status_code == 201, created.text
        shown = c.get(f"/api/v1/models/{by_check}").json()
        assert shown["snapshot"]["strategy"] == "check" and shown["column_docs"]["tier"]
        batches = [
            "id,tier,changed_at\n1,gold,2026-01-01T00:00:00Z\n2,silver,2026-01-01T00:00:00Z\n",
            "id,tier,changed_at\n2,gold,2026-02-01T00:00:00Z\n",
            "id,tier,changed_at\n1,gold,2026-01-01T00:00:00Z\n3,bronze,2026-03-01T00:00:00Z\n",
        ]
        for number, text in enumerate(batches):
            run = platform.land(text.encode(), f"c{number}.csv", dataset=dataset, key="id")
            assert run["status"] == "succeeded", run
            wait_for_model(c, by_check, run["run_id"])
        history = sql_rows(c, f"SELECT id, tier, is_current, valid_to IS NULL FROM {by_check} "
                              "ORDER BY id, valid_from")  # fmt: skip
        assert history == [
            [1, "gold", True, True],
            [2, "silver", False, False],
            [2, "gold", True, True],
            [3, "bronze", True, True],
        ]
        # Closed exactly when the next version starts.
        gap = sql_rows(c, f"SELECT count(*) FROM {by_check} a JOIN {by_check} b USING (id) "
                          "WHERE NOT a.is_current AND b.is_current "
                          "AND a.valid_to = b.valid_from")  # fmt: skip
        assert gap == [[1]]
        timed = sql_rows(c, "SELECT id, tier, CAST(valid_from AS DATE)::VARCHAR, "
                            "CAST(valid_to AS DATE)::VARCHAR "
                            f"FROM {by_time} ORDER BY id, valid_from")  # fmt: skip
        assert timed == [
            [1, "gold", "2026-01-01", None],
            [2, "silver", "2026-01-01", "2026-02-01"],
            [2, "gold", "2026-02-01", None],
            [3, "bronze", "2026-03-01", None],
        ]


def test_a_view_model_stores_nothing_and_is_read_through_its_sql(platform):
    dataset, paid, count = unique("tickets"), unique("paid_view"), unique("paid_count")
    with platform.client() as c:
        for body in (
            {"name": paid, "sql": f"SELECT id, amount FROM {dataset} WHERE status = 'paid'",
             "materialized": "view"},
            {"name": count, "sql": f"SELECT count(*) AS n, sum(amount) AS total FROM {paid}"},
        ):  # fmt: skip
            created = c.post("/api/v1/models", json=body)
            assert created.status_code == 201, created.text
        rows = {1: (10, "paid"), 2: (20, "refunded"), 3: (30, "paid")}
        run = platform.land(orders_csv(rows), "t1.csv", dataset=dataset, key="id")
        assert run["status"] == "succeeded", run
        wait_for_model(c, count, run["run_id"])
        assert sql_rows(c, f"SELECT n, total FROM {count}") == [[2, 40]]
        view = c.get(f"/api/v1/models/{paid}").json()
        assert view["materialized"] == "view" and view["version"] is None and view["built"]
        assert [col["name"] for col in view["columns"]] == ["id", "amount"]
        sample = c.get(f"/api/v1/models/{paid}/sample").json()["rows"]
        assert sorted(r["id"] for r in sample) == [1, 3]
        # A change to the data shows in the view at once, and in the table after its build.
        run = platform.land(orders_csv({2: (25, "paid")}), "t2.csv", dataset=dataset, key="id")
        wait_for_model(c, count, run["run_id"])
        assert sql_rows(c, f"SELECT count(*) FROM {paid}") == [[3]]
        assert sql_rows(c, f"SELECT n, total FROM {count}") == [[3, 65]]
        tables = {t["name"]: t for t in c.get("/api/v1/lakehouse").json()["tables"]}
        assert f"silver.{dataset}" in tables and f"gold.{paid}" not in tables  # a view
        # ref()-style dependencies form a DAG: closing a cycle is refused, naming it.
        cycle = c.post("/api/v1/models", json={"name": paid, "sql": f"SELECT * FROM {count}"})
        assert cycle.status_code == 400 and "close a cycle" in cycle.json()["detail"], cycle.text
        gold = tables[f"gold.{count}"]
        assert gold["layer"] == "gold" and gold["model"] == count
        assert DeltaTable(gold["location"]).to_pyarrow_table().to_pylist() == [
            {"n": 3, "total": 65}
        ]


def test_a_folder_of_models_synced_by_the_cli_builds_and_its_tests_guard_the_table(
    platform, tmp_path
):
    import subprocess
    import sys

    dataset, paid, totals = unique("shop"), unique("paid"), unique("totals")
    (tmp_path / f"{paid}.sql").write_text(
        "{{ config(materialized='table') }}\n"
        f"SELECT id, amount, country FROM {{{{ source('shop', '{dataset}') }}}} WHERE amount > 0\n"
    )
    (tmp_path / f"{totals}.sql").write_text(f"SELECT count(*) AS n FROM {{{{ ref('{paid}') }}}}")
    (tmp_path / "schema.yml").write_text(f"""
models:
  - name: {paid}
    description: Paid orders.
    columns:
      - name: id
        tests: [unique]
      - name: country
        description: ISO code
        tests:
          - not_null
          - accepted_values: {{values: [DE, FR], severity: warn}}
""")
    done = subprocess.run(
        [sys.executable, "-m", "flowforge.cli.main", "models", "sync", str(tmp_path),
         "--url", platform.url],
        capture_output=True, text=True, timeout=120, env=platform.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 model(s) applied" in done.stdout
    with platform.client() as c:
        model = c.get(f"/api/v1/models/{paid}").json()
        assert model["description"] == "Paid orders." and model["column_docs"]["country"]
        assert [t["type"] for t in model["tests"]] == ["unique", "not_null", "accepted_values"]

        def land(text: str, number: int) -> dict:
            run = platform.land(text.encode(), f"shop{number}.csv", dataset=dataset, key="id")
            wait_for_model(c, paid, run["run_id"]) if number < 3 else None
            return run

        land("id,amount,country\n1,10,DE\n2,20,FR\n3,0,DE\n", 1)
        results = {t["type"]: t["status"] for t in c.get(f"/api/v1/models/{paid}").json()[
            "test_results"]}  # fmt: skip
        assert results == {"unique": "passed", "not_null": "passed", "accepted_values": "passed"}
        land("id,amount,country\n4,40,IT\n", 2)  # a warning: built
        shown = c.get(f"/api/v1/models/{paid}").json()
        warned = [t for t in shown["test_results"] if t["status"] == "warned"]
        assert [t["type"] for t in warned] == ["accepted_values"] and shown["row_count"] == 3
        run = land("id,amount,country\n5,50,\n", 3)  # a failing test: not built
        gold = next(s for s in platform.wait_run(run["run_id"])["stages"] if s["name"] == "gold")
        assert gold["status"] == "failed" and "failed its tests" in gold["error"], gold
        assert "not_null" in c.get(f"/api/v1/models/{paid}").json()["last_error"]
        assert sql_rows(c, f"SELECT count(*) FROM {paid}") == [[3]]  # the previous version
