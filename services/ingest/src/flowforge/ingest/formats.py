"""Which reader a landed file needs: unpack it if compressed, then Parquet, JSON/NDJSON or
delimited text (the default), each into the same Bronze shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flowforge.common.errors import BadInputError
from flowforge.ingest.bronze import BronzeResult, Progress, check_width, csv_to_bronze
from flowforge.ingest.encoding import declared
from flowforge.ingest.excel import excel_to_bronze
from flowforge.ingest.records import json_to_bronze, parquet_to_bronze
from flowforge.ingest.unpack import check_workbook, is_workbook, unpack

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
SUPPORTED = (
    "FlowForge lands CSV/TSV/pipe-delimited text, JSON/NDJSON, Parquet and Excel .xlsx "
    "(also gzip, zstd or zip of these)"
)
# Formats recognised by their first bytes that are not tabular data FlowForge reads: refused
# by name instead of being parsed as text and failing later for want of rows.
MAGIC = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\xd0\xcf\x11\xe0", "legacy Office (.xls/.doc); save it as .xlsx or CSV"),
    (b"Obj\x01", "Avro"),
    (b"ORC", "ORC"),
    (b"SQLite format 3", "SQLite database"),
    (b"7z\xbc\xaf", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
)
MARKUP_SUFFIXES = (".xml", ".html", ".htm", ".xhtml", ".svg", ".xsd", ".rss", ".atom")
MARKUP_STARTS = (b"<?xml", b"<!doctype", b"<html", b"<rss", b"<feed", b"<svg")


@dataclass(frozen=True)
class Limits:
    unpack_max_bytes: int
    unpack_max_ratio: float
    max_columns: int = 16_384


def to_bronze(*args, limits: Limits, **kwargs) -> BronzeResult:
    """Any supported file into Bronze, refused past the column limit."""
    result = _to_bronze(*args, limits=limits, **kwargs)
    check_width(len(result.columns), args[1] if len(args) > 1 else kwargs["name"],
                limits.max_columns)  # fmt: skip
    return result


def _to_bronze(
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
    encoding: str | None = None,
) -> BronzeResult:
    path, inner = unpack(source, name, bronze_out.parent, max_bytes=limits.unpack_max_bytes,
                         max_ratio=limits.unpack_max_ratio)  # fmt: skip
    with open(path, "rb") as fh:
        head = fh.read(64)
    common = {"source_file": name, "run_id": run_id, "ingested_at": ingested_at}
    if is_workbook(path):
        check_workbook(path, name, max_bytes=limits.unpack_max_bytes,
                       max_ratio=limits.unpack_max_ratio)  # fmt: skip
        return excel_to_bronze(path, bronze_out, sheet=sheet, **common)
    if head.startswith(b"PAR1"):
        return parquet_to_bronze(path, bronze_out, arrays=arrays, **common)
    refuse_unsupported(head, inner)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if inner.lower().endswith(JSON_SUFFIXES) or start in (b"{", b"["):
        if encoding and declared(encoding).encoding != "utf-8":
            raise BadInputError(
                f"{name}: JSON is read as UTF-8 (RFC 8259), not the declared {encoding}; "
                "re-save it as UTF-8 or leave the encoding out"
            )
        return json_to_bronze(path, bronze_out, rejected_out, arrays=arrays, **common)
    return csv_to_bronze(
        path, bronze_out, rejected_out, progress=progress, encoding=encoding,
        max_columns=limits.max_columns, **common,
    )  # fmt: skip


def refuse_unsupported(head: bytes, name: str) -> None:
    """A clear error for a file in a format FlowForge does not land (XML, PDF, images, ...)."""
    kind = next((k for magic, k in MAGIC if head.startswith(magic)), None)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if kind is None and (
        text.startswith(MARKUP_STARTS)
        or (name.lower().endswith(MARKUP_SUFFIXES) and text[:1] == b"<")
    ):
        kind = "XML/HTML"
    if kind is not None:
        raise BadInputError(f"{name}: unsupported format: {kind}. {SUPPORTED}")
