"""Gold model SQL: the rules shared by the gateway (which accepts models) and transform (which
runs them). A model is one DuckDB SELECT reading datasets and other models by name; it runs
in a sandboxed connection that can touch only the lake files it was given."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from flowforge.common.errors import BadInputError
from flowforge.common.lake import sql_string


def model_references(sql: str) -> list[str]:
    """The tables a model reads; refuses anything but one SELECT statement."""
    try:
        statements = duckdb.connect().extract_statements(sql)
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
        names = duckdb.get_table_names(sql)
    except duckdb.Error as exc:
        raise BadInputError(f"the model's SQL does not parse: {exc}") from exc
    return sorted({n.lower() for n in names})


def sandboxed(paths: Iterable[Path], *, memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can read and write only under the given paths' folders: no other
    files, no network, no extension loading, and settings locked against the SQL it runs."""
    con = duckdb.connect(config={"threads": 2, "memory_limit": memory_limit})
    folders = sorted({str(p if p.is_dir() else p.parent) for p in paths})
    con.execute(f"SET allowed_directories = [{', '.join(sql_string(f) for f in folders)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
