"""Gold models: DuckDB SQL over Silver datasets (valid rows only) and other models.

A model names the datasets and models it reads by their plain names; dependencies are read
from its SQL. Models are built in dependency order, each into one Parquet file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb

from flowforge.common.errors import BadInputError
from flowforge.common.lake import GOLD_BUILD_ID_KEY, ModelRows, ValidRows, sql_list, sql_string
from flowforge.common.memory import DUCKDB_CONFIG
from flowforge.common.models import model_references, quote_identifier, warm_sandboxed
from flowforge.transform.limits import Deadline, TimeLimitExceeded
from flowforge.transform.lineage import column_lineage
from flowforge.transform.materialize import Materialization
from flowforge.transform.modeltests import run_tests


@dataclass(frozen=True)
class Model:
    name: str
    sql: str
    depends_on: tuple[str, ...]
    version: int | None = None  # of its Delta table, as last built
    materialization: Materialization = field(default_factory=Materialization)
    # What the last build read: {dataset: [run ids], "model:<name>": version}.
    built_from: dict = field(default_factory=dict)
    tests: tuple = ()  # rule specs run over each build's result (modeltests)
    pending: tuple = ()  # an incremental model's merges since `version` (object keys)
    pending_rows: int = 0
    rows: int | None = None  # as last built


@dataclass(frozen=True)
class BuiltModel:
    name: str
    path: Path
    rows: int
    columns: list[tuple[str, str]]
    # {output column: [[input dataset or model, its column], ...]}
    column_lineage: dict[str, list[list[str]]] = field(default_factory=dict)
    tests: list[dict] = field(default_factory=list)  # the model tests' results


# DuckDB's memory for a model build (it spills to scratch beyond): a model over 38M pending
# Silver rows with 10M quarantine entries peaked at +964 MiB with 1 GB, +553 MiB with 512 MB
# (10.9 s instead of 8.8 s), keeping transform under 1 GiB on a 5 GB file.
MODEL_MEMORY = "512MB"


def build_order(
    models: dict[str, Model], changed_dataset: str, *, requested: frozenset[str] = frozenset()
) -> list[str]:
    """Models that read `changed_dataset` (or are `requested`), directly or through other
    models, in build order."""
    graph = {name: {d for d in m.depends_on if d in models} for name, m in models.items()}
    affected: set[str] = set(requested) & set(models)
    frontier = {changed_dataset} | affected
    while frontier:
        nxt = {n for n, m in models.items() if frontier & set(m.depends_on)} - affected
        affected |= nxt
        frontier = nxt
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise BadInputError(f"gold models depend on each other in a cycle: {exc.args[1]}") from exc
    return [name for name in order if name in affected]


def build_model(
    model: Model,
    datasets: dict[str, ValidRows],
    built: dict[str, Stored],
    out: Path,
    build_id: str = "",
    deadline: Deadline | None = None,
    *,
    previous: list[Path] | None = None,
    final: Callable[[duckdb.DuckDBPyConnection], str] | None = None,
    views: dict[str, Model] | None = None,
) -> BuiltModel:
    """Run one model's SQL with its inputs bound as views; write the result to `out`, with
    `build_id` in the file's metadata (`GOLD_BUILD_ID_KEY`) so a reader can tell builds apart.
    The connection can reach only these inputs and `out` (see `warm_sandboxed`). A `view` model
    only checks its SQL: nothing is written (`rows` is -1)."""
    model_references(model.sql)  # one SELECT, nothing else, whatever was stored
    inputs = input_files(model, datasets, built, views or {})
    con = warm_sandboxed([*inputs, *(previous or []), out], memory_limit=MODEL_MEMORY)
    try:
        bind_inputs(con, model.depends_on, datasets, built, views or {})
        if model.materialization.materialized == "view":
            return _describe_view(con, model, datasets, built, views or {})
        deadline = deadline or Deadline.none()
        try:
            con.execute(f"CREATE TEMP VIEW __model AS {model.sql}")
            # The materialization's query over the model's result (`__model`).
            select = final(con) if final else "SELECT * FROM __model"
            with deadline.interrupting(con):
                con.execute(
                    f"COPY ({select}) TO {sql_string(str(out))}"
                    f" (FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{GOLD_BUILD_ID_KEY}:"
                    f" {sql_string(build_id)}}})"
                )
        except TimeLimitExceeded as exc:
            raise BadInputError(f"gold model {model.name!r} failed: {exc}") from exc
        except duckdb.Error as exc:
            raise BadInputError(f"gold model {model.name!r} failed: {exc}") from exc
        result = f"read_parquet({sql_string(str(out))})"
        tested = run_tests(con, model.name, list(model.tests), result) if model.tests else []
        info = con.execute(f"SELECT count(*) FROM read_parquet({sql_string(str(out))})").fetchone()
        columns = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(out))})"
        ).fetchall()
        schema = {
            dep: {str(c[0]): str(c[1]) for c in con.execute(
                f"DESCRIBE SELECT * FROM {quote_identifier(dep)}").fetchall()}
            for dep in model.depends_on if dep in datasets or dep in built or dep in (views or {})
        }  # fmt: skip
    finally:
        con.close()
    return BuiltModel(
        name=model.name,
        path=out,
        rows=int(info[0]) if info else 0,
        columns=[(c[0], str(c[1]).lower()) for c in columns],
        column_lineage=column_lineage(model.sql, schema),
        tests=tested,
    )


Stored = Path | list[Path] | ModelRows


def _files(found: Stored) -> list[Path]:
    """A built model's data: one file, the data files of its table's version, or those and
    its pending merges."""
    if isinstance(found, ModelRows):
        return found.paths
    return [found] if isinstance(found, Path) else list(found)


def _relation(found: Stored) -> str:
    if isinstance(found, ModelRows):
        return found.sql()
    return f"SELECT * FROM read_parquet({sql_list(_files(found))}, union_by_name = true)"


def _describe_view(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    datasets: dict[str, ValidRows],
    built: dict[str, Stored],
    views: dict[str, Model],
) -> BuiltModel:
    try:
        columns = con.execute(f"DESCRIBE {model.sql}").fetchall()
    except duckdb.Error as exc:
        raise BadInputError(f"gold model {model.name!r} failed: {exc}") from exc
    schema = {
        dep: {str(c[0]): str(c[1]) for c in con.execute(
            f"DESCRIBE SELECT * FROM {quote_identifier(dep)}").fetchall()}
        for dep in model.depends_on if dep in datasets or dep in built or dep in views
    }  # fmt: skip
    return BuiltModel(
        name=model.name,
        path=Path(),
        rows=-1,
        columns=[(c[0], str(c[1]).lower()) for c in columns],
        column_lineage=column_lineage(model.sql, schema),
    )


def input_files(
    model: Model,
    datasets: dict[str, ValidRows],
    built: dict[str, Stored],
    views: dict[str, Model],
) -> list[Path]:
    """Every file the model reads, through the views it reads too."""
    out: list[Path] = []
    for dep in reachable(model.depends_on, views):
        if dep in datasets:
            out += datasets[dep].paths
        elif dep in built:
            out += _files(built[dep])
    return out


def reachable(names: tuple[str, ...] | list[str], views: dict[str, Model]) -> list[str]:
    """`names` and, through the `view` models among them, what those read (each once)."""
    seen: list[str] = []
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.append(name)
        if name in views:
            stack += list(views[name].depends_on)
    return seen


def bind_inputs(
    con: duckdb.DuckDBPyConnection,
    names: tuple[str, ...] | list[str],
    datasets: dict[str, ValidRows],
    built: dict[str, Stored],
    views: dict[str, Model],
) -> None:
    """A view per input, named as the model's SQL names it: a dataset's valid Silver rows,
    a model built before this one, or a `view` model's SQL over its own inputs (temporary:
    the connection's database is shared, see `warm_sandboxed`)."""
    done: set[str] = set()

    def bind(dep: str) -> None:
        if dep in done:
            return
        done.add(dep)
        if dep in views and dep not in built:
            for inner in views[dep].depends_on:
                bind(inner)
            con.execute(f"CREATE TEMP VIEW {quote_identifier(dep)} AS {views[dep].sql}")
        else:
            _bind_one(con, dep, datasets, built)

    for dep in names:
        bind(dep)


def _bind_one(
    con: duckdb.DuckDBPyConnection,
    dep: str,
    datasets: dict[str, ValidRows],
    built: dict[str, Stored],
) -> None:
    if dep in datasets:
        con.execute(f"CREATE TEMP VIEW {quote_identifier(dep)} AS {datasets[dep].sql()}")
    elif dep in built:
        con.execute(f"CREATE TEMP VIEW {quote_identifier(dep)} AS {_relation(built[dep])}")


def refresh_analytics(
    db_path: Path,
    bronze: dict[str, list[Path]],
    silver: dict[str, ValidRows],
    gold: dict[str, Stored],
    views: dict[str, str] | None = None,
) -> None:
    """Keep one analytics DuckDB file with a view per dataset and layer (and per model).

    The views are written into a copy that replaces the file atomically: a reader holding
    the file open (a BI tool, a notebook) never blocks the refresh (DuckDB refuses a writer
    while another process reads), and keeps the views it opened until it reconnects."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(db_path.with_name(db_path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one refresh at a time on this host
        scratch = db_path.with_name(f"{db_path.name}.{os.getpid()}.tmp")
        scratch.unlink(missing_ok=True)
        if db_path.exists():
            shutil.copyfile(db_path, scratch)
        try:
            _write_views(scratch, bronze, silver, gold, views or {})
            os.replace(scratch, db_path)
        finally:
            scratch.unlink(missing_ok=True)
            scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)


def _write_views(
    db_path: Path,
    bronze: dict[str, list[Path]],
    silver: dict[str, ValidRows],
    gold: dict[str, Stored],
    views: dict[str, str],
) -> None:
    con = _views_database()
    con.execute(f"ATTACH {sql_string(str(db_path))} AS __analytics")
    try:
        con.execute("USE __analytics")  # the views are bound, and kept, in the file
        for dataset, paths in bronze.items():
            if paths:
                # By name only when the files' columns differ: binding a view by name reads
                # every file's footer (500 batches: ~50 ms at each refresh, growing).
                union = "true" if len({_columns(p) for p in paths}) > 1 else "false"
                con.execute(
                    f"CREATE OR REPLACE VIEW {quote_identifier('bronze_' + dataset)} AS "
                    f"SELECT * FROM read_parquet({sql_list(paths)}, union_by_name = {union})"
                )
        for dataset, rows in silver.items():
            if rows.readable:
                view = quote_identifier(f"silver_{dataset}")
                con.execute(f"CREATE OR REPLACE VIEW {view} AS {rows.sql()}")
        for model, found in gold.items():
            con.execute(
                f"CREATE OR REPLACE VIEW {quote_identifier('gold_' + model)} AS {_relation(found)}"
            )
        for model, sql in views.items():  # over the views above, names already mapped
            con.execute(f"CREATE OR REPLACE VIEW {quote_identifier('gold_' + model)} AS {sql}")
        con.execute("CHECKPOINT")
    finally:
        try:
            con.execute("USE memory")
            con.execute("DETACH __analytics")
        except duckdb.Error:  # the next refresh starts from a fresh database
            _views_db.clear()


# Each Bronze file's columns (names and types), read once per process: lake objects never
# change once written. Bounded: a long-running process forgets the oldest.
_COLUMNS: OrderedDict[str, str] = OrderedDict()
_COLUMNS_KEPT = 100_000


def _columns(path: Path) -> str:
    found = _COLUMNS.get(str(path))
    if found is None:
        import pyarrow.parquet as pq

        found = str(pq.read_schema(path).remove_metadata())
        _COLUMNS[str(path)] = found
        while len(_COLUMNS) > _COLUMNS_KEPT:
            _COLUMNS.popitem(last=False)
    return found


# The analytics file is written through a database kept by the process: opening the file as a
# database of its own cost 15 ms idle, ~50 ms on busy cores, each refresh; attaching it, 3 ms.
# Refreshes are serialised (the host's lock file in `refresh_analytics`).
_views_db: list[duckdb.DuckDBPyConnection] = []


def _views_database() -> duckdb.DuckDBPyConnection:
    if not _views_db:
        _views_db.append(duckdb.connect(config={**DUCKDB_CONFIG, "threads": 1}))
    return _views_db[0]
