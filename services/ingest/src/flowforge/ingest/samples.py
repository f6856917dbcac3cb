"""A pipeline proposal's sample (`flowforge.svc.ingest.sample.bronze`): the first rows of a
file or of a source table, as Bronze-shaped Parquet under `proposals/<id>/`, read by the same
code a run uses (file formats, encodings and rejected lines; the sources' extraction). Nothing
of a dataset is touched: no contract, no ledger, no watermark, no event."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from flowforge.common import lake
from flowforge.common.errors import BadInputError, NotFoundError
from flowforge.common.events import SourceExtract, utcnow
from flowforge.common.storage import ObjectStore
from flowforge.ingest.formats import Limits, to_bronze
from flowforge.ingest.sources import engines
from flowforge.ingest.sources import extract as extraction
from flowforge.ingest.sources.dialects import DIALECTS
from flowforge.ingest.sources.engines import SourceError, TableName

DEFAULT_ROWS = 10_000
MAX_ROWS = 100_000


@dataclass
class SampleDeps:
    store: ObjectStore
    scratch: Path
    limits: Limits
    connections: Any  # sources.connections.Connections


def _rows(request: dict[str, Any]) -> int:
    try:
        rows = int(request.get("rows") or DEFAULT_ROWS)
    except (TypeError, ValueError):
        raise BadInputError("`rows` must be a number") from None
    return max(1, min(rows, MAX_ROWS))


def _proposal(request: dict[str, Any]) -> str:
    proposal = str(request.get("proposal") or "")
    if not proposal.isalnum() or len(proposal) > 64:
        raise BadInputError("`proposal` must be a proposal id")
    return proposal


def _head(bronze: Path, out: Path, rows: int) -> int:
    """The first `rows` rows of a Bronze file into `out`; the rows written."""
    source = pq.ParquetFile(bronze, pre_buffer=False)
    with pq.ParquetWriter(out, source.schema_arrow, compression="zstd") as writer:
        left = rows
        for batch in source.iter_batches(batch_size=min(rows, 65_536)):
            if left <= 0:
                break
            batch = batch.slice(0, left)
            writer.write_batch(batch)
            left -= batch.num_rows
    return rows - max(left, 0)


def _file_sample(request: dict[str, Any], deps: SampleDeps, work: Path, out: Path) -> dict:
    key = lake.check_data_key(str(request.get("key") or ""))
    filename = str(request.get("filename") or Path(key).name)
    with deps.store.readable(key, deps.scratch) as source:
        result = to_bronze(
            source, filename, work / "bronze.parquet", work / "rejected.parquet",
            run_id=_proposal(request), ingested_at=utcnow(), limits=deps.limits,
            sheet=request.get("sheet") or None, encoding=request.get("encoding") or None,
        )  # fmt: skip
    taken = _head(work / "bronze.parquet", out, _rows(request))
    d = result.dialect
    return {
        "columns": list(result.columns),
        "rows": taken,
        "parsed": result.parsed,
        "rejected": result.rejected,
        "format": result.format,
        "encoding": d.encoding,
        "delimiter": d.delimiter,
        "source_types": {},
    }


async def _table_sample(request: dict[str, Any], deps: SampleDeps, out: Path) -> dict:
    conn, password = await deps.connections.open(
        lake.check_name(str(request.get("connection") or ""), "connection")
    )
    text = str(request.get("table") or "")
    rows = _rows(request)
    try:
        found = await engines.tables(conn, password, TableName.parse(text, "").schema or None)
    except SourceError as exc:
        raise BadInputError(f"connection {conn.name!r}: {exc} ({exc.kind})") from None
    name = TableName.parse(text, "")
    table = next((t for t in found if t["name"] == name.name
                  and (not name.schema or t["schema"] == name.schema)), None)  # fmt: skip
    if table is None:
        raise NotFoundError(f"connection {conn.name!r} has no table {text!r} (or no access)")
    relation = DIALECTS[conn.kind].table(table["schema"], table["name"])
    query = DIALECTS[conn.kind].limit(f"SELECT * FROM {relation}", rows)
    spec = SourceExtract(connection=conn.name, query=query, mode="full")
    result, types = await extraction.to_bronze(
        conn, password, spec, out, run_id=_proposal(request), ingested_at=utcnow()
    )
    return {
        "columns": list(result.columns),
        "rows": result.bronze,
        "parsed": result.parsed,
        "rejected": 0,
        "format": conn.kind,
        "source_types": types,
        "table": {
            "schema": table["schema"],
            "name": table["name"],
            "columns": table["columns"],
            "primary_key": table.get("primary_key") or [],
            "row_estimate": table.get("row_estimate"),
        },
    }


async def sample_bronze(request: dict[str, Any], deps: SampleDeps) -> dict[str, Any]:
    """{proposal, key, filename, sheet?, encoding?} (a file) or {proposal, connection, table}
    (a table), `rows` at most: the sample's Bronze at `proposals/<id>/bronze.parquet`."""
    proposal = _proposal(request)
    work = Path(tempfile.mkdtemp(dir=deps.scratch))
    try:
        out = work / "sample.parquet"
        if request.get("connection"):
            found = await _table_sample(request, deps, out)
        else:
            found = await asyncio.to_thread(_file_sample, request, deps, work, out)
        key = lake.proposal_key(proposal, "bronze.parquet")
        await asyncio.to_thread(deps.store.put_file, key, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"bronze_key": key, **found}


VERBS = {"sample.bronze": sample_bronze}
