"""Gold model SQL: the rules shared by the gateway (which accepts models) and transform (which
runs them). A model is one DuckDB SELECT reading datasets and other models by name; it runs
in a sandboxed connection that can touch only the lake files it was given."""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from flowforge.common.errors import BadInputError
from flowforge.common.lake import sql_string
from flowforge.common.memory import DUCKDB_CONFIG

if TYPE_CHECKING:  # imported on first use: the gateway starts without DuckDB (~40 MiB)
    import duckdb

# Table functions that make rows instead of reading them: a model may use these. Any other
# (read_csv, read_parquet, read_text, glob, ...) reads files, and a model reads the lake only
# through the datasets and models it names.
ROW_MAKERS = frozenset({"range", "generate_series", "unnest"})


def _parse_only() -> duckdb.DuckDBPyConnection:
    """A connection for looking at SQL: the parser runs, nothing is bound, no file, network
    or extension can be reached."""
    import duckdb

    con = duckdb.connect(config={**DUCKDB_CONFIG, "threads": 1})
    con.execute("SET enable_external_access = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


def _walk(node: object, tables: set[str], functions: set[str], ctes: set[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            tables.add(str(node.get("table_name", "")))
        elif kind == "TABLE_FUNCTION":
            functions.add(str((node.get("function") or {}).get("function_name", "")).lower())
        for entry in (node.get("cte_map") or {}).get("map", []) if "cte_map" in node else []:
            ctes.add(str(entry.get("key", "")).lower())
        for value in node.values():
            _walk(value, tables, functions, ctes)
    elif isinstance(node, list):
        for value in node:
            _walk(value, tables, functions, ctes)


def model_references(sql: str) -> list[str]:
    """The tables a model reads; refuses anything but one SELECT statement, and table
    functions that read files. The SQL is parsed, never bound: nothing it names is opened."""
    found = _references(sql) if len(sql) <= CACHED_SQL_CHARS else _references.__wrapped__(sql)
    return list(found)


# Transform checks a model's SQL at every build: a fresh DuckDB database to parse it costs
# 20-90 ms on 2 busy cores (a tenth or more of a small file's Gold build) and the answer
# depends on the text alone. A refusal (an exception) is not cached; nor is a long ad-hoc
# query (the gateway's SQL route), so the cache stays small.
CACHED_SQL_CHARS = 16_384


@functools.lru_cache(maxsize=256)
def _references(sql: str) -> tuple[str, ...]:
    import duckdb

    con = _parse_only()
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise BadInputError(f"the model's SQL does not parse: {exc}") from exc
        if len(statements) != 1:
            raise BadInputError(
                f"a model is one SELECT statement; this SQL has {len(statements)} statements"
            )
        if statements[0].type != duckdb.StatementType.SELECT:
            raise BadInputError(
                f"a model is a SELECT; this SQL is a {statements[0].type.name} statement"
            )
        try:
            [[tree]] = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchall()
        except duckdb.Error as exc:
            raise BadInputError(f"the model's SQL does not parse: {exc}") from exc
    finally:
        con.close()
    parsed = json.loads(tree)
    if parsed.get("error"):
        raise BadInputError(f"the model's SQL does not parse: {parsed.get('error_message')}")
    tables: set[str] = set()
    functions: set[str] = set()
    ctes: set[str] = set()
    _walk(parsed.get("statements", []), tables, functions, ctes)
    if readers := sorted(functions - ROW_MAKERS):
        raise BadInputError(
            f"a model reads datasets and models by name, not files: table function "
            f"{', '.join(readers)} is not allowed (allowed: {', '.join(sorted(ROW_MAKERS))})"
        )
    names = {t.lower() for t in tables} - ctes
    if odd := sorted(n for n in names if not n.replace("_", "a").isalnum()):
        raise BadInputError(
            f"a model reads datasets and models by name; {', '.join(map(repr, odd))} is not "
            "a dataset or model name (files are not read directly)"
        )
    return tuple(sorted(names))


def sandboxed(paths: Iterable[Path], *, memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can read and write only under the given paths' folders: no other
    files, no network, no extension loading, and settings locked against the SQL it runs."""
    return _sandbox(_folders(paths), memory_limit)


def _folders(paths: Iterable[Path]) -> tuple[str, ...]:
    return tuple(sorted({str(p if p.is_dir() else p.parent) for p in paths}))


def spill_directory() -> str:
    """Where DuckDB spills what exceeds its memory limit: the service's scratch folder
    (FLOWFORGE_SCRATCH_DIR), else the system's temporary folder; never the working directory
    (DuckDB's default, `.tmp`, which filled a checkout with gigabytes)."""
    root = os.environ.get("FLOWFORGE_SCRATCH_DIR") or tempfile.gettempdir()
    folder = Path(root) / "duckdb-spill"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def _sandbox(folders: tuple[str, ...], memory_limit: str) -> duckdb.DuckDBPyConnection:
    import duckdb

    config = {
        **DUCKDB_CONFIG,
        "threads": 2,
        "memory_limit": memory_limit,
        "temp_directory": spill_directory(),
    }
    con = duckdb.connect(config=config)
    con.execute(f"SET allowed_directories = [{', '.join(sql_string(f) for f in folders)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


# A fresh database costs 20-90 ms on 2 busy cores, several times per small batch; a connection
# to a kept one well under 1 ms. A database is kept per exact folder set and memory limit, so
# its (locked) settings are those `sandboxed` would make: the same files and nothing else.
WARM_DATABASES = 8
_warm: OrderedDict[tuple[tuple[str, ...], str], duckdb.DuckDBPyConnection] = OrderedDict()
_warm_lock = threading.Lock()
# Tables and views a connection left in the shared catalog (temporary ones die with it). A
# model is one SELECT (`model_references`), so only its caller's own statements can create
# anything; macros are not looked for (listing functions costs as much as a new database).
_LEFT_BEHIND = (
    "SELECT (SELECT count(*) FROM duckdb_tables() WHERE NOT temporary)"
    " + (SELECT count(*) FROM duckdb_views() WHERE NOT internal AND NOT temporary)"
)


def warm_sandboxed(
    paths: Iterable[Path], *, memory_limit: str = "1GB"
) -> duckdb.DuckDBPyConnection:
    """`sandboxed`, as a connection to a database kept for these folders (close it as usual).
    Connections of one database share its catalog: create TEMP objects only. A database found
    holding anything else, or broken by an earlier query, is replaced by a fresh one."""
    key = (_folders(paths), memory_limit)
    with _warm_lock:
        base = _warm.pop(key, None)
        con = _clean_cursor(base) if base is not None else None
        if con is None:  # the old database is dropped, not closed: closing it would close
            base = _sandbox(*key)  # the cursors other threads may still be using
            con = base.cursor()
        _warm[key] = base
        while len(_warm) > WARM_DATABASES:
            _warm.popitem(last=False)  # freed when its last cursor closes
    return con


def _clean_cursor(base: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection | None:
    import duckdb

    try:
        con = base.cursor()
        if con.execute(_LEFT_BEHIND).fetchall()[0][0] == 0:
            return con
        con.close()
    except duckdb.Error:  # e.g. invalidated by a fatal error
        pass
    return None


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
