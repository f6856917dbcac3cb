"""Source database connections through the real platform (issue 13, part 1): stored with the
password sealed, tested with classified errors, browsed and previewed read-only, against a
real PostgreSQL (the platform's embedded server, as another database and user) and the
local MariaDB when one is reachable (CI has it on 127.0.0.1:3306, root, no password)."""

from __future__ import annotations

import asyncio
import socket
import uuid

import asyncpg
import pytest

from flowforge.common.testing import unique

pytestmark = pytest.mark.e2e

PASSWORD = "Src-" + uuid.uuid4().hex  # looked for everywhere afterwards


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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

    asyncio.run(make())
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
    assert cli("connections", "rm", name).returncode == 0
    assert cli("connections", "show", name).returncode == 5  # not found
