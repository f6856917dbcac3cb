"""What transform answers over request/reply (`flowforge.svc.transform.<verb>`): its Gold
models and their build state, each dataset's Silver spec, and the batches that make up a
dataset's valid rows. The gateway asks; transform owns the answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from flowforge.common.errors import BadInputError
from flowforge.common.events import Event, GoldReady, JobRequested
from flowforge.common.lake import check_name
from flowforge.common.models import model_references
from flowforge.common.naming import snake_case
from flowforge.transform import materialize, modeltests
from flowforge.transform.adapters import Batches, ModelRegistry, SilverSpecs
from flowforge.transform.tables import SilverTables

PAGE_LIMIT = 500


@dataclass
class VerbDeps:
    models: ModelRegistry
    specs: SilverSpecs
    batches: Batches
    tables: SilverTables
    publish: Callable[[Event], Awaitable[None]]
    # Builds the models of a request now, returning the events to publish (`gold.ready`).
    build: Callable[[JobRequested], Awaitable[list[Event]]]


def model_public(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "name": row["name"],
        "sql": row["sql"],
        "depends_on": list(row["depends_on"]),
        "reconcile": dict(row["reconcile"] or {}),
        "built": row["built_at"] is not None,
        "built_at": row["built_at"],
        "row_count": row["row_count"],
        "version": row["version"],
        "materialized": row["materialized"],
        "unique_key": list(row["unique_key"] or []),
        "snapshot": dict(row["config"]) if row["config"] else None,
        "description": row["description"],
        "column_docs": dict(row["column_docs"] or {}),
        "tests": list(row["tests"] or []),
        "pending": list(row["pending"] or []),
        "test_results": list(row["test_results"] or []),
        "columns": list(row["columns"] or []),
        "last_error": row["last_error"],
        "last_error_at": row["last_error_at"],
        "updated_at": row["updated_at"],
    }


async def list_models(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    limit = min(int(request.get("limit") or 100), PAGE_LIMIT)
    rows = await deps.models.page(request.get("after"), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "models": [model_public(r) for r in rows],
        "next_after": rows[-1]["name"] if more and rows else None,
    }


async def get_model(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    return model_public(await deps.models.get(check_name(str(request.get("name")), "model")))


async def put_model(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    """Register (or replace) a model after checking its SQL, then ask for its build."""
    name = check_name(str(request.get("name") or "").strip(), "model")
    sql = str(request.get("sql") or "").strip().rstrip(";")
    if not sql:
        raise BadInputError("the model's SQL is empty")
    depends_on = model_references(sql)
    if name in depends_on:
        raise BadInputError(f"model {name!r} reads itself")
    reconcile = _reconcile(dict(request.get("reconcile") or {}), depends_on)
    mat = materialize.parse(request)
    docs = {str(k): str(v) for k, v in dict(request.get("column_docs") or {}).items()}
    description = str(request.get("description") or "")
    tests = modeltests.parse_tests(list(request.get("tests") or []), depends_on)
    await _refuse_cycle(deps, name, depends_on)
    await deps.models.save(name, sql, depends_on, reconcile, mat, description, docs, tests)
    # Built at once from the data already landed (skipped while its inputs are missing).
    job = JobRequested(run_id=uuid.uuid4().hex, dataset=name, kind="build_models", models=[name])
    await deps.publish(job)
    return {**model_public(await deps.models.get(name)), "build_requested": job.run_id}


async def _refuse_cycle(deps: VerbDeps, name: str, depends_on: list[str]) -> None:
    """Models read each other as a DAG: a definition closing a cycle is refused."""
    from graphlib import CycleError, TopologicalSorter

    models = await deps.models.all()
    graph = {n: {d for d in m.depends_on if d in models or d == name} for n, m in models.items()}
    graph[name] = {d for d in depends_on if d in models}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise BadInputError(f"model {name!r} would close a cycle of models: {cycle}") from None


def _reconcile(declared: dict[str, Any], depends_on: list[str]) -> dict[str, str]:
    """Check `{gold column: 'dataset.column'}`: the dataset must be one the model reads."""
    out = {}
    for gold_column, source in declared.items():
        dataset, _, column = str(source).strip().partition(".")
        if not str(gold_column).strip() or not column:
            raise BadInputError(
                f"reconcile {gold_column!r}: {source!r} should be '<dataset>.<column>'"
            )
        if dataset not in depends_on:
            raise BadInputError(
                f"reconcile {gold_column!r}: the model does not read {dataset!r} "
                f"(it reads {', '.join(depends_on) or 'nothing'})"
            )
        out[str(gold_column).strip()] = f"{dataset}.{column}"
    return out


async def build_models(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    """Build the named models (and those reading them) now; what was built and what failed."""
    names = [check_name(str(n), "model") for n in request.get("names") or []]
    if not names:
        raise BadInputError("name the models to build")
    for name in names:
        await deps.models.get(name)  # 404 for an unknown model
    job = JobRequested(run_id=uuid.uuid4().hex, dataset=names[0], kind="build_models",
                       models=names, full_refresh=bool(request.get("full_refresh")))  # fmt: skip
    events = await deps.build(job)
    for event in events:
        await deps.publish(event)
    gold = next((e for e in events if isinstance(e, GoldReady)), None)
    if gold is None:
        return {"built": [], "failed": [], "note": "nothing to build: its inputs have no data yet"}
    return {
        "built": [{"name": m.name, "rows": m.rows} for m in gold.models],
        "failed": [f.model_dump() for f in gold.failed],
    }


async def get_spec(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    return await deps.specs.get(check_name(str(request.get("dataset"))))


def _spec_part(request: dict[str, Any], part: str) -> dict[str, str]:
    value = request.get(part) or {}
    if not isinstance(value, dict):
        raise BadInputError(f"`{part}` must map Silver columns to values")
    return {str(k): str(v) for k, v in value.items()}


async def put_spec(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    """Replace (or with `merge: true`, merge into) a dataset's Silver spec."""
    dataset = check_name(str(request.get("dataset")))
    renames, types = _spec_part(request, "renames"), _spec_part(request, "types")
    for old, new in renames.items():
        if snake_case(new) != new:
            raise BadInputError(f"rename {old!r}: {new!r} is not a snake_case name")
    if request.get("merge"):
        await deps.specs.merge(dataset, renames, types)
    else:
        await deps.specs.replace(dataset, renames, types)
    return await deps.specs.get(dataset)


async def silver_batches(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    """What a dataset's valid rows are made of: its Silver table's data files (`base`, one
    version) and the promoted batches not in it yet (`batches`), and its key."""
    dataset = check_name(str(request.get("dataset")))
    state = await deps.tables.state(dataset)
    base = await asyncio.to_thread(deps.tables.base_keys, state)
    return {
        "dataset": dataset,
        "key": state.key,
        "version": state.version,
        "base": base,
        "batches": [
            {
                "run_id": b["run_id"],
                "bronze_key": b["bronze_key"],
                "silver_key": b["silver_key"],
                "quarantine_key": b["quarantine_key"],
            }
            for b in state.pending
        ],
    }


async def silver_as_of(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    """Time travel: the Silver table version of a dataset at a time (`as_of`, ISO), right
    after a run was folded in (`run_id`), or a `version`; with its data files."""
    dataset = check_name(str(request.get("dataset")))
    at = request.get("as_of")
    when = datetime.fromisoformat(str(at)) if at else None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    version = await deps.tables.as_of(
        dataset,
        at=when,
        run_id=request.get("run_id"),
        version=int(request["version"]) if request.get("version") is not None else None,
    )
    keys = await asyncio.to_thread(deps.tables.lakehouse.data_keys, "silver", dataset, version)
    return {"dataset": dataset, "version": version, "base": keys, "batches": [], "key": []}


async def lakehouse_tables(request: dict[str, Any], deps: VerbDeps) -> dict[str, Any]:
    """Every Silver table (named by its dataset) and Gold table (by its model): the version
    readers use, its rows, when it was written."""
    rows = await deps.tables.pool.fetch(
        "SELECT 'silver' AS layer, dataset AS name, version, rows, folded_at AS at"
        " FROM transform.tables UNION ALL SELECT 'gold', name, version, row_count, built_at"
        " FROM transform.models WHERE version IS NOT NULL ORDER BY 1 DESC, 2"
    )
    return {
        "tables": [{**dict(r), "rows": r["rows"] or 0, "at": r["at"].isoformat()} for r in rows]
    }


VERBS: dict[str, Callable[[dict[str, Any], VerbDeps], Awaitable[Any]]] = {
    "models.list": list_models,
    "models.get": get_model,
    "models.put": put_model,
    "models.build": build_models,
    "spec.get": get_spec,
    "spec.put": put_spec,
    "silver.batches": silver_batches,
    "lakehouse.tables": lakehouse_tables,
    "silver.as_of": silver_as_of,
}
