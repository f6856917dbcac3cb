"""Which reader a landed file needs: unpack it if compressed, then Parquet, JSON/NDJSON or
delimited text (the default), each into the same Bronze shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flowforge.ingest.bronze import BronzeResult, Progress, csv_to_bronze
from flowforge.ingest.excel import excel_to_bronze
from flowforge.ingest.records import json_to_bronze, parquet_to_bronze
from flowforge.ingest.unpack import is_workbook, unpack

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")


@dataclass(frozen=True)
class Limits:
    unpack_max_bytes: int
    unpack_max_ratio: float


def to_bronze(
    source: Path,
    name: str,
    bronze_out: Path,
    rejected_out: Path,
    *,
    run_id: str,
    ingested_at: datetime,
    limits: Limits,
    progress: Progress | None = None,
    sheet: str | None = None,
    arrays: str = "json",
) -> BronzeResult:
    path, inner = unpack(source, name, bronze_out.parent, max_bytes=limits.unpack_max_bytes,
                         max_ratio=limits.unpack_max_ratio)  # fmt: skip
    with open(path, "rb") as fh:
        head = fh.read(64)
    common = {"source_file": name, "run_id": run_id, "ingested_at": ingested_at}
    if is_workbook(path):
        return excel_to_bronze(path, bronze_out, sheet=sheet, **common)
    if head.startswith(b"PAR1"):
        return parquet_to_bronze(path, bronze_out, arrays=arrays, **common)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if inner.lower().endswith(JSON_SUFFIXES) or start in (b"{", b"["):
        return json_to_bronze(path, bronze_out, rejected_out, arrays=arrays, **common)
    return csv_to_bronze(path, bronze_out, rejected_out, progress=progress, **common)
