"""Source database connections through the real platform (issue 13, part 1): stored with the
password sealed, tested with classified errors, browsed and previewed read-only, against a
real PostgreSQL (the platform's embedded server, as another database and user) and the
local MariaDB when one is reachable (CI has it on 127.0.0.1:3306, root, no password)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import uuid

import asyncpg
import pytest

from flowforge.common.testing import unique, wait_for

pytestmark = pytest.mark.e2e

PASSWORD = "Src-" + uuid.uuid4().hex  # looked for everywhere afterwards


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_coroutine(coroutine) -> None:
    """Run it to the end in a thread of its own: callers may be inside a running loop (the
    browser tests' Playwright runs one)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def pg_source(platform):
    """A database `src_<x>` owned by a login role with PASSWORD, holding shop.orders."""
    url = platform.endpoints["database_url"]
    database, role = unique("src"), unique("reader")

    async def make() -> None:
        admin = await asyncpg.connect(url)
        try:
            await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
            await admin.execute(f"CREATE DATABASE {database} OWNER {role}")
        finally:
            await admin.close()
        host_url = url.rsplit("/", 1)[0]
        db = await asyncpg.connect(f"{host_url}/{database}", user=role, password=PASSWORD)
        try:
            await db.execute("""
                CREATE SCHEMA shop;
                CREATE TABLE shop.orders (
                    id bigint PRIMARY KEY, zip text NOT NULL, amount numeric(12, 2),
                    placed_at timestamptz, shipped date, ref uuid, tags jsonb, raw bytea,
                    paid boolean);
                INSERT INTO shop.orders VALUES
                  (1, '01234', 12.50, '2026-01-02 03:04:05+00', '2026-01-03',
                   'a8098c1a-f86e-11da-bd1a-00112444be1e', '{"a": 1}', '\\x00ff', true),
                  (2, '98765', NULL, NULL, NULL, NULL, NULL, NULL, false);
                CREATE TABLE shop.lines (order_id bigint, line int, PRIMARY KEY (order_id, line));
                CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 10;
                ANALYZE shop.orders;
            """)
        finally:
            await db.close()

    run_coroutine(make())
    host, port = platform.endpoints["database_url"].split("@", 1)[1].split("/", 1)[0].split(":")
    return {"kind": "postgresql", "host": host, "port": int(port), "database": database,
            "user": role, "password": PASSWORD, "options": {"sslmode": "disable"}}  # fmt: skip


def test_a_postgresql_source_is_stored_tested_browsed_and_previewed(platform, pg_source):
    name = unique("pgsrc")
    with platform.client() as c:
        created = c.post("/api/v1/connections", json={"name": name, **pg_source})
        assert created.status_code == 201, created.text
        public = created.json()
        assert public["has_password"] is True and "password" not in public
        again = c.post("/api/v1/connections", json={"name": name, **pg_source})
        assert again.status_code == 409, again.text

        tested = c.post(f"/api/v1/connections/{name}/test").json()
        assert tested["ok"] is True, tested
        assert tested["server_version"].startswith("PostgreSQL") and tested["round_trip_ms"] >= 0

        tables = c.get(f"/api/v1/connections/{name}/tables").json()["tables"]
        by_name = {(t["schema"], t["name"]): t for t in tables}
        orders = by_name[("shop", "orders")]
        assert orders["type"] == "table" and orders["primary_key"] == ["id"]
        assert orders["row_estimate"] == 2
        types = {col["name"]: col["type"] for col in orders["columns"]}
        assert types["amount"] == "numeric(12,2)" and types["placed_at"].startswith("timestamp")
        assert by_name[("shop", "lines")]["primary_key"] == ["order_id", "line"]
        assert by_name[("shop", "big_orders")]["type"] == "view"

        preview = c.get(f"/api/v1/connections/{name}/preview",
                        params={"table": "shop.orders", "limit": 5}).json()  # fmt: skip
        assert [col["name"] for col in preview["columns"]][:3] == ["id", "zip", "amount"]
        first = dict(zip([col["name"] for col in preview["columns"]], preview["rows"][0],
                         strict=True))  # fmt: skip
        assert first["zip"] == "01234" and first["amount"] == "12.50"  # text, never a float
        assert first["raw"] == "00ff" and first["paid"] is True
        missing = c.get(f"/api/v1/connections/{name}/preview", params={"table": "shop.nope"})
        assert missing.status_code == 404, missing.text

        # Replaced without a password: the stored one is kept.
        kept = c.put(f"/api/v1/connections/{name}",
                     json={k: v for k, v in pg_source.items() if k != "password"})  # fmt: skip
        assert kept.status_code == 200 and kept.json()["has_password"] is True
        assert c.post(f"/api/v1/connections/{name}/test").json()["ok"] is True

        assert c.delete(f"/api/v1/connections/{name}").status_code == 204
        assert c.get(f"/api/v1/connections/{name}").status_code == 404


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"password": "wrong-" + uuid.uuid4().hex}, "auth_failed"),
        ({"database": "no_such_database"}, "database_not_found"),
        ({"port": "closed"}, "host_unreachable"),
        ({"host": "no-such-host.invalid"}, "host_unreachable"),
    ],
)
def test_a_failing_connection_test_says_why(platform, pg_source, change, kind):
    name = unique("bad")
    body = {**pg_source, **change, "name": name}
    if body["port"] == "closed":
        body["port"] = free_port()
    with platform.client() as c:
        assert c.put(f"/api/v1/connections/{name}", json=body).status_code == 201
        tested = c.post(f"/api/v1/connections/{name}/test").json()
        browse = c.get(f"/api/v1/connections/{name}/tables")
    assert tested["ok"] is False and tested["error"]["kind"] == kind, tested
    assert browse.status_code == 400 and f"({kind})" in browse.json()["detail"], browse.text


@pytest.mark.parametrize("engine", ["sqlserver", "oracle"])
def test_sqlserver_and_oracle_drivers_are_installed_and_classify_an_unreachable_server(
    platform, engine
):
    """No such server runs here: what can be checked is that ingest has their drivers, that
    a refused connection is classified, and that an extraction fails on the run with it."""
    name, dataset = unique("eng"), unique("eng")
    body = {"kind": engine, "host": "127.0.0.1", "port": free_port(), "user": "reader",
            "password": PASSWORD, "database": "sales"}  # fmt: skip
    with platform.client() as c:
        assert c.put(f"/api/v1/connections/{name}", json=body).status_code == 201
        tested = c.post(f"/api/v1/connections/{name}/test").json()
        assert tested["ok"] is False, tested
        assert tested["error"]["kind"] == "host_unreachable", tested
        assert PASSWORD not in str(tested)
        browse = c.get(f"/api/v1/connections/{name}/tables")
        assert browse.status_code == 400 and "(host_unreachable)" in browse.json()["detail"]
        source = {"connection": name, "table": "orders", "mode": "incremental", "cursor": "at"}
        assert c.put(f"/api/v1/datasets/{dataset}/source", json=source).status_code == 200
        started = c.post(f"/api/v1/datasets/{dataset}/extract")
        assert started.status_code == 400 and "host_unreachable" in started.text, started.text


def test_connection_bodies_are_checked_field_by_field(platform):
    with platform.client() as c:
        for body, field in (
            ({"kind": "db2", "host": "h"}, "kind"),
            ({"kind": "postgresql", "host": "bad host;"}, "host"),
            ({"kind": "postgresql", "host": "h", "port": 70000}, "port"),
            ({"kind": "postgresql", "host": "h", "options": {"sslmode": "maybe"}}, "sslmode"),
            ({"kind": "mysql", "host": "h", "options": {"sslmode": "require"}}, "sslmode"),
        ):
            r = c.put(f"/api/v1/connections/{unique('chk')}", json=body)
            assert r.status_code in (400, 422), (body, r.text)
            assert field in r.text, (field, r.text)


def mariadb_reachable() -> bool:
    try:
        import pymysql

        pymysql.connect(host="127.0.0.1", port=3306, user="root", password="",
                        connect_timeout=2).close()  # fmt: skip
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.skipif(not mariadb_reachable(), reason="no MariaDB/MySQL on 127.0.0.1:3306")
def test_a_mariadb_source_is_tested_browsed_and_previewed(platform):
    import pymysql

    database = unique("src")
    admin = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {database}")
            cur.execute(f"CREATE TABLE {database}.customers (id INT PRIMARY KEY, "
                        "zip CHAR(5), balance DECIMAL(14,4), joined DATETIME)")  # fmt: skip
            cur.execute(
                f"INSERT INTO {database}.customers VALUES "
                "(1, '00501', 1234.5678, '2026-02-03 04:05:06'), (2, '10001', NULL, NULL)"
            )
        name = unique("mysrc")
        body = {"kind": "mysql", "host": "127.0.0.1", "user": "root", "database": database}
        with platform.client() as c:
            assert c.put(f"/api/v1/connections/{name}", json=body).status_code == 201
            tested = c.post(f"/api/v1/connections/{name}/test").json()
            assert tested["ok"] is True and "MariaDB" in tested["server_version"], tested
            [table] = c.get(f"/api/v1/connections/{name}/tables").json()["tables"]
            assert (table["schema"], table["name"], table["primary_key"]) == (
                database, "customers", ["id"])  # fmt: skip
            types = {col["name"]: col["type"] for col in table["columns"]}
            assert types == {"id": "int(11)", "zip": "char(5)", "balance": "decimal(14,4)",
                             "joined": "datetime"}  # fmt: skip
            preview = c.get(f"/api/v1/connections/{name}/preview",
                            params={"table": "customers"}).json()  # fmt: skip
            assert preview["rows"][0] == [1, "00501", "1234.5678", "2026-02-03T04:05:06"]
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()


def test_the_source_password_is_nowhere_in_clear(platform, pg_source):
    """Not in answers, logs or the platform's own database (events never carry it)."""
    from tests.test_security_e2e import database_dump, files_containing

    name = unique("secret")
    with platform.client() as c:
        created = c.post("/api/v1/connections", json={"name": name, **pg_source}).text
        listed = c.get("/api/v1/connections").text + c.get(f"/api/v1/connections/{name}").text
        tested = c.post(f"/api/v1/connections/{name}/test").text
    for answer in (created, listed, tested):
        assert PASSWORD not in answer
    assert files_containing(platform.home / "logs", PASSWORD) == []
    dump = database_dump(platform)
    assert name in dump and PASSWORD not in dump
    assert (platform.home / "secret.key").stat().st_mode & 0o777 == 0o600


def test_the_cli_adds_tests_browses_and_removes_a_connection(platform, pg_source, tmp_path):
    import subprocess
    import sys

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flowforge.cli.main", *args, "--url", platform.url],
            capture_output=True, text=True, timeout=60, env=platform.env, input=stdin,
        )  # fmt: skip

    name = unique("clisrc")
    added = cli("connections", "add", name, "--kind", "postgresql", "--host", pg_source["host"],
                "--port", str(pg_source["port"]), "--database", pg_source["database"],
                "--user", pg_source["user"], "--option", "sslmode=disable", "--password-stdin",
                stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    said = added.stdout + added.stderr
    assert "password set" in said and PASSWORD not in said
    tested = cli("connections", "test", name)
    said = tested.stdout + tested.stderr
    assert tested.returncode == 0 and "PostgreSQL" in said, said
    listed = cli("connections", "tables", name, "--schema", "shop")
    assert listed.returncode == 0 and "order_id, line" in listed.stdout, listed.stdout
    peek = cli("connections", "preview", name, "shop.orders", "--limit", "1")
    assert peek.returncode == 0 and "01234" in peek.stdout, peek.stdout + peek.stderr
    dataset = unique("cli_orders")
    fed = cli("sources", "set", dataset, "--connection", name, "--table", "shop.orders",
              "--key", "id")  # fmt: skip
    assert fed.returncode == 0, fed.stdout + fed.stderr
    pulled = cli("extract", dataset)
    assert pulled.returncode == 0 and "succeeded" in pulled.stdout, pulled.stdout + pulled.stderr
    assert cli("connections", "rm", name).returncode == 6  # it feeds a source: conflict
    fed = cli("sources", "set", dataset, "--connection", unique("none"), "--table", "t")
    assert fed.returncode == 5, fed.stdout + fed.stderr


# --- extraction (issue 13, part 2) -----------------------------------------------------------


def pg_exec(platform, pg_source, sql: str) -> None:
    async def run() -> None:
        url = platform.endpoints["database_url"].rsplit("/", 1)[0] + "/" + pg_source["database"]
        db = await asyncpg.connect(url, user=pg_source["user"], password=PASSWORD)
        try:
            await db.execute(sql)
        finally:
            await db.close()

    run_coroutine(run())


def model_rows(c, model: str, wait: float = 60) -> list[dict]:
    import time

    deadline = time.monotonic() + wait
    while (sample := c.get(f"/api/v1/models/{model}/sample")).status_code == 404:
        assert time.monotonic() < deadline, sample.text
        time.sleep(0.3)
    return sample.json()["rows"]


def test_an_incremental_postgresql_source_takes_new_updated_and_late_rows_once(platform, pg_source):
    table = unique("events")
    pg_exec(platform, pg_source, f"""
        CREATE TABLE shop.{table} (id bigint PRIMARY KEY, kind text, amount numeric(10,3),
                                   zip text, updated_at timestamptz NOT NULL);
        INSERT INTO shop.{table}
        SELECT i, 'new', i * 1.125, lpad((i % 1000)::text, 5, '0'),
               timestamptz '2026-06-01 00:00:00+00' + i * interval '1 second'
        FROM generate_series(1, 1000) i;
    """)  # fmt: skip
    connection, dataset, model = unique("evsrc"), unique("events"), unique("ev_totals")
    with platform.client() as c:
        assert c.put(f"/api/v1/connections/{connection}", json=pg_source).status_code == 201
        source = {"connection": connection, "table": f"shop.{table}", "mode": "incremental",
                  "cursor": "updated_at", "key": ["id"]}  # fmt: skip
        put = c.put(f"/api/v1/datasets/{dataset}/source", json=source)
        assert put.status_code == 200, put.text
        assert put.json()["watermark"] is None and put.json()["key"] == ["id"]

        def extract() -> dict:
            started = c.post(f"/api/v1/datasets/{dataset}/extract")
            assert started.status_code == 202, started.text
            return platform.wait_run(started.json()["run_id"], timeout=120)

        run = extract()
        assert run["status"] == "succeeded", (run["error"], run["stages"])
        assert run["counts"]["bronze"] == run["counts"]["silver"] == 1000, run["counts"]
        assert run["filename"] == f"{connection}:shop.{table}"
        types = {col["name"]: col["type"] for col in
                 c.get(f"/api/v1/datasets/{dataset}/schema").json()["columns"]}  # fmt: skip
        assert types["amount"] == "decimal(38,3)" and types["zip"] == "string", types
        assert types["updated_at"] == "timestamp with time zone" and types["id"] == "integer"
        watermark = c.get(f"/api/v1/datasets/{dataset}/source").json()["watermark"]
        assert watermark.startswith("2026-06-01 00:16:40"), watermark

        sql = (f"SELECT count(*) AS n, count(*) FILTER (WHERE kind = 'changed') AS changed, "
               f"sum(amount) AS total FROM {dataset}")  # fmt: skip
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
        assert model_rows(c, model)[0]["n"] == 1000

        # 10 rows updated and 5 new: only those 15 are read; the updated ones replace theirs.
        pg_exec(platform, pg_source, f"""
            UPDATE shop.{table} SET kind = 'changed', updated_at = updated_at + interval '1 day'
            WHERE id <= 10;
            INSERT INTO shop.{table} SELECT i, 'new', 1, '00001',
                timestamptz '2026-06-02 12:00:00+00' + i * interval '1 second'
            FROM generate_series(1001, 1005) i;
        """)  # fmt: skip
        run = extract()
        assert run["status"] == "succeeded" and run["counts"]["bronze"] == 15, run
        assert model_rows(c, model)[0] | {"total": None} == {"n": 1005, "changed": 10,
                                                              "total": None}  # fmt: skip

        # A row committed late, behind the watermark: missed without a lookback, read with one.
        pg_exec(platform, pg_source, f"INSERT INTO shop.{table} VALUES "
                "(2000, 'late', 1, '00002', '2026-06-02 11:59:00+00')")  # fmt: skip
        empty = extract()
        assert empty["status"] == "succeeded" and empty["counts"]["bronze"] == 0, empty
        relaxed = c.put(f"/api/v1/datasets/{dataset}/source", json={**source, "lookback": 3600})
        assert relaxed.json()["watermark"] is not None  # the same table and cursor: kept
        run = extract()
        assert run["status"] == "succeeded" and run["counts"]["bronze"] >= 1, run
        assert model_rows(c, model)[0]["n"] == 1006  # re-read rows merged by key, not doubled


def test_a_source_query_that_writes_is_refused_before_it_reaches_the_database(platform, pg_source):
    connection, dataset = unique("qsrc"), unique("q")
    with platform.client() as c:
        assert c.put(f"/api/v1/connections/{connection}", json=pg_source).status_code == 201
        for query, word in (("DELETE FROM shop.orders", "select"),
                            ("SELECT 1; DROP TABLE shop.orders", "one statement"),
                            ("WITH x AS (DELETE FROM shop.orders RETURNING *) SELECT * FROM x",
                             "DELETE"),
                            ("SELECT * INTO shop.copy FROM shop.orders", "INTO")):  # fmt: skip
            r = c.put(f"/api/v1/datasets/{dataset}/source",
                      json={"connection": connection, "query": query})  # fmt: skip
            assert r.status_code == 400 and word.lower() in r.text.lower(), (query, r.text)
        ok = c.put(
            f"/api/v1/datasets/{dataset}/source",
            json={
                "connection": connection,
                "key": ["id"],
                "query": "SELECT id, zip, amount FROM shop.orders WHERE note = 'a;b' -- DELETE",
            },
        )
        assert ok.status_code == 404 or ok.status_code == 200, ok.text  # parsed as read-only
        missing = c.put(f"/api/v1/datasets/{dataset}/source",
                        json={"connection": "no_such", "table": "t"})  # fmt: skip
        assert missing.status_code == 404


def test_a_cursor_with_nulls_fails_the_run_and_keeps_the_watermark(platform, pg_source):
    table = unique("nully")
    pg_exec(platform, pg_source, f"CREATE TABLE shop.{table} (id int, seen timestamptz);"
            f"INSERT INTO shop.{table} VALUES (1, now()), (2, NULL)")  # fmt: skip
    connection, dataset = unique("nsrc"), unique("nully")
    with platform.client() as c:
        c.put(f"/api/v1/connections/{connection}", json=pg_source)
        c.put(f"/api/v1/datasets/{dataset}/source", json={
            "connection": connection, "table": f"shop.{table}", "mode": "incremental",
            "cursor": "seen"})  # fmt: skip
        run = platform.wait_run(c.post(f"/api/v1/datasets/{dataset}/extract").json()["run_id"])
        assert run["status"] == "failed" and "'seen' has 1 null value" in run["error"], run
        assert c.get(f"/api/v1/datasets/{dataset}/source").json()["watermark"] is None


@pytest.mark.skipif(not mariadb_reachable(), reason="no MariaDB/MySQL on 127.0.0.1:3306")
def test_a_mariadb_table_is_extracted_in_full_with_its_types(platform):
    import pymysql

    database = unique("src")
    admin = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {database}")
            cur.execute(
                f"CREATE TABLE {database}.accounts (id INT PRIMARY KEY, zip CHAR(5), "
                "balance DECIMAL(14,4), opened DATE, seen DATETIME(6), note TEXT)"
            )
            cur.execute(f"INSERT INTO {database}.accounts VALUES "
                        "(1, '00501', 1234.5678, '2026-02-03', '2026-02-03 04:05:06.123456', "
                        "'café'), (2, '10001', NULL, NULL, NULL, '')")  # fmt: skip
        connection, dataset = unique("mysrc"), unique("accounts")
        with platform.client() as c:
            c.put(
                f"/api/v1/connections/{connection}",
                json={"kind": "mysql", "host": "127.0.0.1", "user": "root", "database": database},
            )
            put = c.put(
                f"/api/v1/datasets/{dataset}/source",
                json={"connection": connection, "table": "accounts", "key": ["id"]},
            )
            assert put.status_code == 200, put.text
            started = c.post(f"/api/v1/datasets/{dataset}/extract").json()
            run = platform.wait_run(started["run_id"], timeout=120)
            assert run["status"] == "succeeded", run
            assert run["counts"]["bronze"] == run["counts"]["silver"] == 2
            types = {col["name"]: col["type"] for col in
                     c.get(f"/api/v1/datasets/{dataset}/schema").json()["columns"]}  # fmt: skip
            assert types == {
                "id": "integer",
                "zip": "string",
                "balance": "decimal(38,4)",
                "opened": "date",
                "seen": "timestamp",
                "note": "string",
            }, types
            rows = c.get(f"/api/v1/datasets/{dataset}/sample").json()["rows"]
            first = next(r for r in rows if r["id"] == 1)
            assert first["zip"] == "00501" and first["note"] == "café"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()


def test_an_incremental_mariadb_source_takes_new_updated_and_late_rows_once(platform):
    """The DB-API extraction (MariaDB here; SQL Server and Oracle share it): a DATETIME(6)
    cursor, its window cast by the server, a lookback re-reading a late row, merged by key."""
    import pymysql

    database = unique("src")
    admin = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {database}")
            cur.execute(f"CREATE TABLE {database}.events (id INT PRIMARY KEY, kind VARCHAR(10), "
                        "changed DATETIME(6) NOT NULL)")  # fmt: skip
            cur.execute(f"INSERT INTO {database}.events SELECT seq, 'new', "
                        "TIMESTAMP'2026-06-01 00:00:00' + INTERVAL seq SECOND "
                        f"FROM {database}.seq_1_to_500")  # fmt: skip
        connection, dataset = unique("mysrc"), unique("events")
        with platform.client() as c:
            c.put(f"/api/v1/connections/{connection}",
                  json={"kind": "mysql", "host": "127.0.0.1", "user": "root",
                        "database": database})  # fmt: skip
            source = {"connection": connection, "table": "events", "mode": "incremental",
                      "cursor": "CHANGED", "key": ["id"]}  # fmt: skip
            assert c.put(f"/api/v1/datasets/{dataset}/source", json=source).status_code == 200

            def extract() -> dict:
                started = c.post(f"/api/v1/datasets/{dataset}/extract")
                assert started.status_code == 202, started.text
                run = platform.wait_run(started.json()["run_id"], timeout=120)
                assert run["status"] == "succeeded", (run["error"], run["stages"])
                return run

            assert extract()["counts"]["bronze"] == 500
            watermark = c.get(f"/api/v1/datasets/{dataset}/source").json()["watermark"]
            assert watermark.startswith("2026-06-01 00:08:20"), watermark
            with admin.cursor() as cur:
                cur.execute(f"UPDATE {database}.events SET kind = 'changed', "
                            "changed = changed + INTERVAL 1 DAY WHERE id <= 3")  # fmt: skip
                cur.execute(f"INSERT INTO {database}.events VALUES "
                            "(900, 'late', '2026-06-01 00:08:00.5')")  # fmt: skip
            assert extract()["counts"]["bronze"] == 3  # the late row is behind the watermark
            relaxed = c.put(
                f"/api/v1/datasets/{dataset}/source", json=source | {"lookback": 86400 * 2}
            )
            assert relaxed.status_code == 200, relaxed.text
            assert extract()["counts"]["bronze"] == 501  # re-read within two days, merged
            rows = c.get(f"/api/v1/datasets/{dataset}/sample", params={"limit": 1000}).json()
            kinds = [r["kind"] for r in rows["rows"]]
            assert len(kinds) == 501 and kinds.count("changed") == 3 and kinds.count("late") == 1
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()


def test_killing_ingest_mid_extract_loses_and_doubles_nothing(platform, pg_source):
    """kill -9 of ingest while it streams a 1.5M-row window into Bronze: the run's message
    comes back, the same window is extracted again into the same object, the watermark moves
    once."""
    import os
    import signal
    import time

    import polars as pl

    rows = 1_500_000
    table = unique("big")
    pg_exec(platform, pg_source, f"""
        CREATE TABLE shop.{table} (id bigint PRIMARY KEY, v text, at timestamptz NOT NULL);
        INSERT INTO shop.{table} SELECT i, md5(i::text),
            timestamptz '2026-01-01 00:00:00+00' + i * interval '1 millisecond'
        FROM generate_series(1, {rows}) i;
    """)  # fmt: skip
    connection, dataset = unique("bigsrc"), unique("big")
    with platform.client() as c:
        c.put(f"/api/v1/connections/{connection}", json=pg_source)
        c.put(f"/api/v1/datasets/{dataset}/source", json={
            "connection": connection, "table": f"shop.{table}", "mode": "incremental",
            "cursor": "at", "key": ["id"]})  # fmt: skip
        run_id = c.post(f"/api/v1/datasets/{dataset}/extract").json()["run_id"]
        scratch = platform.home / "scratch" / "ingest-0"
        deadline = time.monotonic() + 60
        while not any(scratch.rglob("bronze.parquet")):
            assert time.monotonic() < deadline, "ingest never started writing Bronze"
            time.sleep(0.02)
        os.kill(platform.pid("ingest"), signal.SIGKILL)
        run = platform.wait_run(run_id, timeout=240)
        assert run["status"] == "succeeded", run
        assert run["counts"]["bronze"] == run["counts"]["silver"] == rows, run["counts"]
        source = c.get(f"/api/v1/datasets/{dataset}/source").json()
    assert source["watermark_run"] == run_id and source["watermark"].startswith("2026-01-01 00:25")
    bronze = list((platform.home / "bronze" / dataset).glob("*.parquet"))
    assert [b.name for b in bronze] == [f"{run_id}.parquet"]
    ids = pl.read_parquet(platform.home / "silver" / dataset / f"{run_id}.parquet",
                          columns=["id"])["id"]  # fmt: skip
    assert ids.len() == rows and ids.n_unique() == rows


def test_null_empty_and_awkward_text_reach_bronze_exactly(platform, pg_source):
    """The PostgreSQL path goes through COPY's CSV: NULL and the empty string stay apart, and
    quotes, commas and newlines inside values survive."""
    import pyarrow.parquet as pq

    table = unique("texts")
    pg_exec(platform, pg_source, f"CREATE TABLE shop.{table} (id int, note text);"
            f"INSERT INTO shop.{table} VALUES (1, NULL), (2, ''), (3, 'a,\"b\"' || chr(10) || 'c'),"
            " (4, ' padded ')")  # fmt: skip
    connection, dataset = unique("tsrc"), unique("texts")
    with platform.client() as c:
        c.put(f"/api/v1/connections/{connection}", json=pg_source)
        c.put(f"/api/v1/datasets/{dataset}/source",
              json={"connection": connection, "table": f"shop.{table}"})  # fmt: skip
        run = platform.wait_run(c.post(f"/api/v1/datasets/{dataset}/extract").json()["run_id"])
    assert run["status"] == "succeeded", run
    bronze = pq.read_table(platform.home / "bronze" / dataset / f"{run['run_id']}.parquet")
    rows = sorted(zip(bronze["id"].to_pylist(), bronze["note"].to_pylist(), strict=True))
    assert rows == [("1", None), ("2", ""), ("3", 'a,"b"\nc'), ("4", " padded ")]
    assert bronze["_source_line"].to_pylist() == [1, 2, 3, 4]


def test_a_full_refresh_marks_rows_gone_from_the_source_deleted(platform, pg_source):
    """Full mode replaces: a row deleted in the source is no longer current in Silver or Gold
    (counted on the run, kept beside the snapshot with `_deleted_at`); an updated row replaces
    its old version; a source without a key is replaced as a whole, never doubled."""
    import polars as pl

    table = unique("stock")
    pg_exec(platform, pg_source, f"""
        CREATE TABLE shop.{table} (sku text PRIMARY KEY, qty int);
        INSERT INTO shop.{table} VALUES ('001', 5), ('002', 7), ('003', 9), ('004', 1);
    """)  # fmt: skip
    connection, keyed, whole = unique("fullsrc"), unique("stock"), unique("stock_nokey")
    model = unique("stock_total")
    with platform.client() as c:
        assert c.put(f"/api/v1/connections/{connection}", json=pg_source).status_code == 201
        for dataset, key in ((keyed, ["sku"]), (whole, [])):
            source = {"connection": connection, "table": f"shop.{table}", "mode": "full"}
            put = c.put(f"/api/v1/datasets/{dataset}/source", json=source | {"key": key})
            assert put.status_code == 200, put.text
        sql = f"SELECT count(*) AS n, sum(qty) AS qty FROM {keyed}"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201

        def extract(dataset: str) -> dict:
            started = c.post(f"/api/v1/datasets/{dataset}/extract")
            assert started.status_code == 202, started.text
            run = platform.wait_run(started.json()["run_id"], timeout=120)
            assert run["status"] == "succeeded", (run["error"], run["stages"])
            return run

        def current(dataset: str) -> list[tuple[str, int]]:
            rows = c.get(f"/api/v1/datasets/{dataset}/sample", params={"limit": 100}).json()
            return sorted((r["sku"], r["qty"]) for r in rows["rows"])

        for dataset in (keyed, whole):
            assert extract(dataset)["counts"]["deleted"] in (0, None)
        assert model_rows(c, model) == [{"n": 4, "qty": 22}]

        pg_exec(platform, pg_source, f"""
            DELETE FROM shop.{table} WHERE sku IN ('002', '004');
            UPDATE shop.{table} SET qty = 50 WHERE sku = '003';
            INSERT INTO shop.{table} VALUES ('005', 2);
        """)  # fmt: skip
        now_rows = [("001", 5), ("003", 50), ("005", 2)]
        run = extract(keyed)
        assert run["counts"]["deleted"] == 2 and run["counts"]["silver"] == 3, run["counts"]
        assert current(keyed) == now_rows
        wait_for(lambda: model_rows(c, model) == [{"n": 3, "qty": 57}], what="Gold after deletes")
        gone = pl.read_parquet(
            platform.home / "silver" / keyed / f"{run['run_id']}.deleted.parquet"
        )
        assert sorted(gone["sku"]) == ["002", "004"] and gone["_deleted_at"].null_count() == 0

        # Without a key, rows are matched on all their values: the updated row is one gone
        # ('003', 9) and one new; the dataset is the snapshot, not the two added together.
        run = extract(whole)
        assert run["counts"]["deleted"] == 3, run["counts"]
        assert current(whole) == now_rows

        # An extract that changes nothing deletes nothing and keeps the rows current.
        run = extract(keyed)
        assert run["counts"]["deleted"] == 0 and current(keyed) == now_rows
