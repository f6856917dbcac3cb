"""JSON, NDJSON and Parquet into Bronze: the same shape as delimited text (every value as text,
plus the lineage columns), so Silver types them all the same way.

Nested objects are flattened with `__` (`{"a": {"b": 1}}` → column `a__b`); arrays follow the
dataset's array policy: `json` keeps each as its JSON text in one column, `columns` spreads it
into a column per element (`tags__0`, `tags__1`, objects flattened inside: `items__0__sku`),
up to `MAX_ARRAY_COLUMNS` elements, the rest kept as JSON text in `<name>__more`.
`_source_line` is the line of an NDJSON record, the position of a record
in a JSON array, or the row number in a Parquet file. An NDJSON line that is not a JSON object
goes to the rejected file with its line and the parser's reason. Memory is bounded by one
chunk of records (a JSON array document is read whole, up to `JSON_DOCUMENT_MAX` bytes).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from flowforge.common.errors import BadInputError
from flowforge.common.lake import LINEAGE_COLUMNS
from flowforge.ingest.bronze import BronzeResult
from flowforge.ingest.dialect import Dialect, header_names
from flowforge.ingest.lines import LineCounter, RejectedWriter

CHUNK_ROWS = 50_000
JSON_DOCUMENT_MAX = 512 * 1024 * 1024
MAX_ARRAY_COLUMNS = 100


# Objects nested deeper than this become one column holding the rest as JSON text (names
# of 32 parts are long enough); a document nested deeper than Python's parser goes (about
# 1,000 levels) is refused, each NDJSON line of it rejected.
MAX_FLATTEN_DEPTH = 32
TOO_DEEP = "JSON nested too deeply to read (more than about 1,000 levels)"


def flatten(
    record: dict[str, Any], prefix: str = "", arrays: str = "json"
) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, value in record.items():
        _put(out, f"{prefix}{key}", value, arrays)
    return out


def _put(out: dict[str, str | None], name: str, value: Any, arrays: str, depth: int = 1) -> None:
    if isinstance(value, dict | list) and depth >= MAX_FLATTEN_DEPTH:
        out[name] = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _put(out, f"{name}__{key}", inner, arrays, depth + 1)
    elif value is None:
        out[name] = None
    elif isinstance(value, bool):
        out[name] = "true" if value else "false"
    elif isinstance(value, list):
        if arrays == "columns":
            for i, item in enumerate(value[:MAX_ARRAY_COLUMNS]):
                _put(out, f"{name}__{i}", item, arrays, depth + 1)
            if len(value) > MAX_ARRAY_COLUMNS:
                rest = value[MAX_ARRAY_COLUMNS:]
                out[f"{name}__more"] = json.dumps(rest, ensure_ascii=False, default=str)
        else:
            out[name] = json.dumps(value, ensure_ascii=False, default=str)
    else:
        out[name] = str(value)


class _ChunkWriter:
    """Writes chunks whose columns may differ; `finish` unifies them into one Bronze file."""

    def __init__(self, scratch: Path, source_file: str, run_id: str, ingested_at: datetime):
        self.dir = Path(tempfile.mkdtemp(dir=scratch))
        self.parts: list[Path] = []
        self.columns: dict[str, None] = {}  # ordered set of data columns
        self.rows = 0
        self.lineage = (source_file, run_id, ingested_at)

    def add(self, records: list[dict[str, str | None]], lines: list[int]) -> None:
        kept = [(r, n) for r, n in zip(records, lines, strict=True) if r]  # `{}` holds no data
        records, lines = [r for r, _ in kept], [n for _, n in kept]
        if not records:
            return
        for record in records:
            self.columns.update(dict.fromkeys(record))
        names = list(self.columns)
        table = pa.table({n: pa.array([r.get(n) for r in records], pa.string()) for n in names})
        self._append(table, lines)

    def add_table(self, table: pa.Table, lines: list[int]) -> None:
        self.columns.update(dict.fromkeys(table.column_names))
        self._append(table, lines)

    def _append(self, table: pa.Table, lines: list[int]) -> None:
        source_file, run_id, ingested_at = self.lineage
        n = table.num_rows
        table = table.append_column("_source_file", pa.repeat(pa.scalar(source_file), n))
        table = table.append_column("_source_line", pa.array(lines, pa.int64()))
        table = table.append_column(
            "_ingested_at", pa.repeat(pa.scalar(ingested_at, pa.timestamp("us", tz="UTC")), n)
        )
        table = table.append_column("_run_id", pa.repeat(pa.scalar(run_id), n))
        part = self.dir / f"{len(self.parts):06d}.parquet"
        pq.write_table(table, part)
        self.parts.append(part)
        self.rows += n

    def finish(self, out: Path) -> list[str]:
        renamed = header_names(list(self.columns), set(LINEAGE_COLUMNS))
        data = [pa.field(n, pa.string()) for n in self.columns]
        lineage = [
            pa.field("_source_file", pa.string()),
            pa.field("_source_line", pa.int64()),
            pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
            pa.field("_run_id", pa.string()),
        ]
        schema = pa.schema(data + lineage)
        final = pa.schema([pa.field(n, pa.string()) for n in renamed] + lineage)
        with pq.ParquetWriter(out, final, compression="zstd") as writer:
            for part in self.parts:
                table = pq.read_table(part)
                missing = [f for f in schema if f.name not in table.column_names]
                for field in missing:
                    table = table.append_column(field, pa.nulls(table.num_rows, field.type))
                writer.write_table(table.select(schema.names).rename_columns(final.names))
                part.unlink()
        self.dir.rmdir()
        return renamed


def _ndjson_records(
    path: Path, rejects: RejectedWriter, arrays: str = "json"
) -> Iterator[tuple[list[dict], list[int]]]:
    records, lines = [], []
    with open(path, encoding="utf-8-sig", errors="strict", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
                if not isinstance(value, dict):
                    raise ValueError(f"expected a JSON object, found {type(value).__name__}")
            except ValueError as exc:
                rejects.add(number, 1, 0, line.rstrip("\r\n"), reason=f"not valid JSON: {exc}")
                continue
            except RecursionError:
                rejects.add(number, 1, 0, line.rstrip("\r\n"), reason=TOO_DEEP)
                continue
            records.append(flatten(value, arrays=arrays))
            lines.append(number)
            if len(records) >= CHUNK_ROWS:
                yield records, lines
                records, lines = [], []
    if records:
        yield records, lines


def _json_document(
    path: Path, name: str, arrays: str = "json"
) -> Iterator[tuple[list[dict], list[int]]]:
    if path.stat().st_size > JSON_DOCUMENT_MAX:
        raise BadInputError(
            f"{name}: a JSON document this large cannot be streamed; send it as NDJSON "
            "(one object per line)"
        )
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise BadInputError(f"{name}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise BadInputError(f"{name}: {TOO_DEEP}") from None
    if isinstance(value, dict):
        arrays = [v for v in value.values() if isinstance(v, list)]
        value = arrays[0] if len(arrays) == 1 else [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadInputError(f"{name}: expected a JSON array of objects (or NDJSON)")
    for start in range(0, len(value), CHUNK_ROWS):
        chunk = value[start : start + CHUNK_ROWS]
        yield (
            [flatten(v, arrays=arrays) for v in chunk],
            list(range(start + 1, start + len(chunk) + 1)),
        )


def json_to_bronze(source: Path, bronze_out: Path, rejected_out: Path, *, source_file: str,
                   run_id: str, ingested_at: datetime, arrays: str = "json"
                   ) -> BronzeResult:  # fmt: skip
    writer = _ChunkWriter(bronze_out.parent, source_file, run_id, ingested_at)
    rejects = RejectedWriter(rejected_out.with_suffix(".spool.parquet"))
    with open(source, "rb") as fh:
        first = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    try:
        if first == b"[" or _is_single_document(source):
            chunks = _json_document(source, source_file, arrays)
        else:
            chunks = _ndjson_records(source, rejects, arrays)
        for records, lines in chunks:
            writer.add(records, lines)
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{source_file}: JSON must be UTF-8 (byte {exc.start})") from exc
    columns = writer.finish(bronze_out)
    rejected = rejects.write(rejected_out, LineCounter(), source_file, run_id, resolve=False)
    dialect = Dialect("utf-8", "", "", True, len(columns))
    return BronzeResult(dialect=dialect, columns=columns, parsed=writer.rows + rejected,
                        bronze=writer.rows, rejected=rejected, format="json")  # fmt: skip


def _is_single_document(path: Path) -> bool:
    """A pretty-printed JSON object spanning lines (not NDJSON)."""
    with open(path, "rb") as fh:
        first_line = fh.readline().strip()
    return first_line in (b"{", b"\xef\xbb\xbf{")


def parquet_to_bronze(source: Path, bronze_out: Path, *, source_file: str, run_id: str,
                      ingested_at: datetime, arrays: str = "json") -> BronzeResult:  # fmt: skip
    writer = _ChunkWriter(bronze_out.parent, source_file, run_id, ingested_at)
    try:
        parquet = pq.ParquetFile(source, pre_buffer=False)
        row = 0
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
            table = _as_text(pa.Table.from_batches([batch]), arrays)
            writer.add_table(table, list(range(row + 1, row + batch.num_rows + 1)))
            row += batch.num_rows
    except pa.ArrowException as exc:
        raise BadInputError(f"{source_file}: cannot read this Parquet file: {exc}") from exc
    columns = writer.finish(bronze_out)
    dialect = Dialect("binary", "", "", True, len(columns))
    return BronzeResult(dialect=dialect, columns=columns, parsed=writer.rows,
                        bronze=writer.rows, format="parquet")  # fmt: skip


def _as_text(table: pa.Table, arrays: str = "json") -> pa.Table:
    """Every column as text: structs flattened with `__`, lists as the array policy says."""
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    table = table.rename_columns([n.replace(".", "__") for n in table.column_names])
    names: list[str] = []
    columns: list[pa.Array | pa.ChunkedArray] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        listed = pa.types.is_list(field.type) or pa.types.is_large_list(field.type)
        if pa.types.is_string(field.type):
            text = column
        elif pa.types.is_boolean(field.type):
            text = column.cast(pa.string())  # "true" / "false"
        elif listed and arrays == "columns":
            spread = _spread(field.name, column.to_pylist())
            names.extend(spread)
            columns.extend(pa.array(v, pa.string()) for v in spread.values())
            continue
        elif listed or pa.types.is_map(field.type):
            values = [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()]
            text = pa.array(values, pa.string())
        else:
            try:
                text = column.cast(pa.string())
            except pa.ArrowNotImplementedError:
                text = pa.array(
                    [None if v is None else str(v) for v in column.to_pylist()], pa.string()
                )
        names.append(field.name)
        columns.append(text)
    return pa.table(columns, names=names)


def _spread(name: str, values: list[Any]) -> dict[str, list[str | None]]:
    """One list column → a column per element (the `columns` array policy)."""
    rows = [flatten({name: v}, arrays="columns") if v is not None else {} for v in values]
    out: dict[str, list[str | None]] = {}
    for row in rows:
        for key in row:
            out.setdefault(key, [])
    for key, column in out.items():
        column.extend(row.get(key) for row in rows)
    return out or {name: [None] * len(values)}
