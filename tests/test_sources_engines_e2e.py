"""SQL Server and Oracle sources through the real platform, when a server is given (none runs
on the test machine): FLOWFORGE_TEST_MSSQL_URL=mssql://user:password@host:1433/database and
FLOWFORGE_TEST_ORACLE_URL=oracle://user:password@host:1521/service_name. The user needs to
create a table in its default schema. Without a URL each test is skipped, saying so; their SQL
building and type mapping are unit-tested in services/ingest/tests/test_sources.py."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

import pytest

from flowforge.common.testing import unique

pytestmark = pytest.mark.e2e

ENGINES = {
    "sqlserver": ("FLOWFORGE_TEST_MSSQL_URL", 1433),
    "oracle": ("FLOWFORGE_TEST_ORACLE_URL", 1521),
}
# (DDL, rows, expected Silver types) per engine; ids 1..3, a cursor `changed`.
TABLES = {
    "sqlserver": (
        "CREATE TABLE {t} (id int PRIMARY KEY, zip varchar(5), amount decimal(12,2), "
        "born date, changed datetime2(6) NOT NULL, at_zone datetimeoffset, flag bit, "
        "ref uniqueidentifier)",
        "INSERT INTO {t} VALUES "
        "(1, '01234', 12.50, '2026-01-03', '2026-06-01 00:00:01', "
        " '2026-06-01 02:00:00 +02:00', 1, 'A8098C1A-F86E-11DA-BD1A-00112444BE1E'), "
        "(2, '98765', NULL, NULL, '2026-06-01 00:00:02', NULL, 0, NULL), "
        "(3, '00000', 0.01, '2026-01-04', '2026-06-01 00:00:03', NULL, NULL, NULL)",
        "UPDATE {t} SET zip = '11111', changed = '2026-06-02 00:00:00' WHERE id = 1",
    ),
    "oracle": (
        "CREATE TABLE {t} (id NUMBER(10) PRIMARY KEY, zip VARCHAR2(5), amount NUMBER(12,2), "
        "born DATE, changed TIMESTAMP(6) NOT NULL, at_zone TIMESTAMP WITH TIME ZONE, "
        "ratio BINARY_DOUBLE)",
        "INSERT ALL "
        "INTO {t} VALUES (1, '01234', 12.50, DATE '2026-01-03', "
        " TIMESTAMP '2026-06-01 00:00:01', TIMESTAMP '2026-06-01 02:00:00 +02:00', 0.1) "
        "INTO {t} VALUES (2, '98765', NULL, NULL, TIMESTAMP '2026-06-01 00:00:02', NULL, NULL) "
        "INTO {t} VALUES (3, '00000', 0.01, DATE '2026-01-04', "
        " TIMESTAMP '2026-06-01 00:00:03', NULL, NULL) SELECT 1 FROM DUAL",
        "UPDATE {t} SET zip = '11111', changed = TIMESTAMP '2026-06-02 00:00:00' WHERE id = 1",
    ),
}
EXPECTED_TYPES = {
    "sqlserver": {"id": "integer", "zip": "string", "amount": "decimal(38,2)", "born": "date",
                  "changed": "timestamp", "at_zone": "timestamp with time zone"},
    "oracle": {"id": "integer", "zip": "string", "amount": "decimal(38,2)",
               "born": "timestamp", "changed": "timestamp",
               "at_zone": "timestamp with time zone", "ratio": "double"},
}  # fmt: skip


def server(kind: str) -> dict:
    variable, port = ENGINES[kind]
    parts = urlsplit(os.environ[variable])
    return {"kind": kind, "host": parts.hostname, "port": parts.port or port,
            "database": parts.path.lstrip("/"), "user": unquote(parts.username or ""),
            "password": unquote(parts.password or "")}  # fmt: skip


def run_sql(kind: str, source: dict, *statements: str) -> None:
    if kind == "sqlserver":
        import pymssql

        db = pymssql.connect(server=source["host"], port=str(source["port"]),
                             user=source["user"], password=source["password"],
                             database=source["database"], autocommit=True)  # fmt: skip
    else:
        import oracledb

        db = oracledb.connect(user=source["user"], password=source["password"],
                              host=source["host"], port=source["port"],
                              service_name=source["database"])  # fmt: skip
    try:
        cur = db.cursor()
        for statement in statements:
            cur.execute(statement)
        db.commit()
    finally:
        db.close()


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(kind, marks=pytest.mark.skipif(
            not os.environ.get(variable),
            reason=f"no {kind} server here: set {variable} to run against one"))
        for kind, (variable, _) in ENGINES.items()
    ],
)  # fmt: skip
def test_a_source_is_tested_browsed_and_extracted_in_full_and_incrementally(platform, kind):
    source = server(kind)
    table = unique("ff_src")[:28]
    create, insert, update = (s.format(t=table) for s in TABLES[kind])
    run_sql(kind, source, create, insert)
    connection, dataset = unique("engsrc"), unique("engine")
    try:
        with platform.client() as c:
            assert c.put(f"/api/v1/connections/{connection}", json=source).status_code == 201
            tested = c.post(f"/api/v1/connections/{connection}/test")
            assert tested.status_code == 200 and tested.json()["ok"], tested.text
            listed = c.get(f"/api/v1/connections/{connection}/tables").json()["tables"]
            entry = next(t for t in listed if t["name"].lower() == table.lower())
            assert [k.lower() for k in entry["primary_key"]] == ["id"]
            preview = c.get(f"/api/v1/connections/{connection}/preview",
                            params={"table": table}).json()  # fmt: skip
            assert len(preview["rows"]) == 3

            spec = {"connection": connection, "table": table, "mode": "incremental",
                    "cursor": "changed", "key": ["id"]}  # fmt: skip
            assert c.put(f"/api/v1/datasets/{dataset}/source", json=spec).status_code == 200

            def extract() -> dict:
                started = c.post(f"/api/v1/datasets/{dataset}/extract")
                assert started.status_code == 202, started.text
                run = platform.wait_run(started.json()["run_id"], timeout=180)
                assert run["status"] == "succeeded", (run["error"], run["stages"])
                return run

            assert extract()["counts"]["silver"] == 3
            types = {col["name"]: col["type"] for col in
                     c.get(f"/api/v1/datasets/{dataset}/schema").json()["columns"]}  # fmt: skip
            assert {k: types[k] for k in EXPECTED_TYPES[kind]} == EXPECTED_TYPES[kind], types
            rows = c.get(f"/api/v1/datasets/{dataset}/sample").json()["rows"]
            assert sorted(r["zip"] for r in rows) == ["00000", "01234", "98765"]
            run_sql(kind, source, update)
            assert extract()["counts"]["bronze"] == 1  # only the updated row
            rows = c.get(f"/api/v1/datasets/{dataset}/sample").json()["rows"]
            assert sorted(r["zip"] for r in rows) == ["00000", "11111", "98765"]
    finally:
        run_sql(kind, source, f"DROP TABLE {table}")
