"""Dry runs of a pipeline proposal on its sample (`flowforge.svc.transform.sample.<verb>`):
its Silver (the proposed key, renames and types, by the same `silver_file` a run uses) and its
starter Gold model (the model's SQL over that Silver minus the sample's quarantine, by the same
`build_model`). What they write stays under `proposals/<id>/`; no dataset or model is touched.

Each answer says, per proposed part, why it cannot be used (`errors`): a key column the sample
does not have, a rename that is not snake_case, SQL that does not run."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from flowforge.common import lake
from flowforge.common.errors import BadInputError, FlowForgeError
from flowforge.common.lake import ValidRows
from flowforge.common.models import model_references
from flowforge.common.naming import snake_case
from flowforge.transform.gold import Model, build_model
from flowforge.transform.handlers import Deps
from flowforge.transform.limits import Deadline
from flowforge.transform.silver import LINEAGE, silver_file

PREVIEW_ROWS = 20
SAMPLE_SECONDS = 120.0


def _key(request: dict[str, Any], name: str) -> str:
    key = lake.check_data_key(str(request.get(name) or ""))
    if not key.startswith("proposals/"):
        raise BadInputError(f"`{name}` must be a proposal's object (proposals/...)")
    return key


def _mapping(request: dict[str, Any], part: str) -> dict[str, str]:
    value = request.get(part) or {}
    if not isinstance(value, dict):
        raise BadInputError(f"`{part}` must map Silver columns to values")
    return {str(k): str(v) for k, v in value.items()}


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def preview(path: Path, limit: int = PREVIEW_ROWS, *, lineage: bool = False) -> list[dict]:
    frame = pl.read_parquet(path, n_rows=limit)
    if not lineage:
        frame = frame.drop([c for c in frame.columns if c in LINEAGE])
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.to_dicts()]


def _silver(deps: Deps, request: dict[str, Any], key: list[str]) -> dict[str, Any]:
    files = deps.files
    bronze = files.path(_key(request, "bronze_key"))
    silver_key = _key(request, "silver_key")
    out = files.output(silver_key)
    renames = _mapping(request, "renames")
    types = _mapping(request, "source_types") | _mapping(request, "types")
    deadline = Deadline(SAMPLE_SECONDS, "the Silver dry run", "its sample's time limit")
    result = silver_file(bronze, out, key, deps.scratch, {}, types=types, renames=renames,
                         deadline=deadline)  # fmt: skip
    shown = preview(out)
    files.commit(silver_key, out)
    columns = [c for c in pq.read_schema(files.path(silver_key)).names if c not in LINEAGE]
    return {
        "bronze": result.bronze,
        "silver": result.silver,
        "duplicates": result.duplicates,
        "key": result.key,
        "types": result.types,
        "specs": result.specs,
        "columns": columns,
        "preview": shown,
        "silver_key": silver_key,
    }


async def sample_silver(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """{bronze_key, silver_key, key, renames, types, source_types}: Silver of the sample with
    the proposed spec and key (rows, duplicates, types, a preview), and `errors` by part
    (`key`, `silver`); an unusable key or spec is left out of the run it would have broken."""
    errors: dict[str, str] = {}
    renames = _mapping(request, "renames")
    bad = [f"{old!r} → {new!r}" for old, new in renames.items() if snake_case(new) != new]
    if bad:
        errors["silver"] = f"renames to names that are not snake_case: {', '.join(bad)}"
        request = {**request, "renames": {}}
    key = request.get("key") or []
    if not isinstance(key, list) or not all(isinstance(k, str) and k for k in key):
        raise BadInputError("`key` must be a list of column names")
    try:
        found = await asyncio.to_thread(_silver, deps, request, key)
    except BadInputError as exc:
        if not key or "key column" not in str(exc):
            raise
        errors["key"] = str(exc)
        found = await asyncio.to_thread(_silver, deps, request, [])
    return {**found, "errors": errors}


def _model(deps: Deps, request: dict[str, Any]) -> dict[str, Any]:
    dataset = lake.check_name(str(request.get("dataset") or ""))
    name = lake.check_name(str(request.get("name") or ""), "model")
    sql = str(request.get("sql") or "").strip().rstrip(";")
    if not sql:
        raise BadInputError("the model's SQL is empty")
    reads = model_references(sql)
    others = [r for r in reads if r != dataset]
    if others or not reads:
        raise BadInputError(
            f"a starter model reads the proposed dataset {dataset!r} only; this SQL reads "
            f"{', '.join(others) or 'nothing'}"
        )
    silver = deps.files.path(_key(request, "silver_key"))
    quarantine = []
    if request.get("quarantine_key"):
        quarantine = [deps.files.path(_key(request, "quarantine_key"))]
    key = [str(k) for k in request.get("key") or []]
    rows = ValidRows(silver=[silver], quarantine=quarantine, key=key)
    with tempfile.TemporaryDirectory(dir=deps.scratch) as tmp:
        out = Path(tmp) / "model.parquet"
        deadline = Deadline(SAMPLE_SECONDS, "the model's dry run", "its sample's time limit")
        built = build_model(Model(name, sql, tuple(reads)), {dataset: rows}, {}, out,
                            deadline=deadline)  # fmt: skip
        return {
            "name": name,
            "rows": built.rows,
            "columns": [{"name": n, "type": t} for n, t in built.columns],
            "preview": preview(out, lineage=True),
        }


async def sample_model(request: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """{dataset, name, sql, silver_key, quarantine_key?, key}: the starter model's result on
    the sample's valid rows (rows, columns, a preview), or `errors.model` saying why not."""
    try:
        return {**await asyncio.to_thread(_model, deps, request), "errors": {}}
    except FlowForgeError as exc:
        return {"name": request.get("name"), "errors": {"model": str(exc)}}


VERBS = {"sample.silver": sample_silver, "sample.model": sample_model}
