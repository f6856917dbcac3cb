"""Stream a delimited file into Bronze Parquet, every value kept as the text it was.

Memory stays bounded: Arrow's streaming CSV reader yields blocks, each written to the Parquet
file as it comes. A record with the wrong number of fields is not padded or dropped: it goes
to the rejected file with its line number and the reason.

Line numbers are physical lines (what an editor shows), counted across quoted values that
span lines; the header, when present, is line 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from flowforge.common.errors import BadInputError
from flowforge.common.lake import LINEAGE_COLUMNS, schema_fingerprint
from flowforge.ingest.dialect import SAMPLE_BYTES, Dialect, header_names, sniff
from flowforge.ingest.lines import LineCounter, RejectedWriter, text_newlines

BLOCK_SIZE = 8 * 1024 * 1024

Progress = Callable[[int], None]


@dataclass
class BronzeResult:
    dialect: Dialect
    columns: list[str]
    parsed: int = 0
    bronze: int = 0
    rejected: int = 0
    blank: int = 0  # records with no value at all (blank lines): not data, not counted parsed
    format: str = "csv"
    other_sheets: list[str] = field(default_factory=list)  # a workbook's sheets left to land

    @property
    def fingerprint(self) -> str:
        return schema_fingerprint([(c, "string") for c in self.columns])


class _CountingFile:
    """A read-only file wrapper reporting bytes read, for progress."""

    def __init__(self, path: Path, progress: Progress | None):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._progress = progress
        self._read = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._read += len(data)
        if self._progress is not None:
            self._progress(self._read)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self._file.close()


def _newlines(batch: pa.RecordBatch) -> np.ndarray:
    """Line breaks inside each record's values (CRLF, CR or LF each count once)."""
    total = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        lf = pc.count_substring(column, "\n")
        if pc.max(lf).as_py() or pc.max(pc.count_substring(column, "\r")).as_py():
            cr = pc.count_substring(column, "\r")
            crlf = pc.count_substring(column, "\r\n")
            counts = pc.subtract(pc.add(lf, cr), crlf)
            total += counts.to_numpy(zero_copy_only=False).astype(np.int64)
    return total


def _blank_rows(batch: pa.RecordBatch, newlines: np.ndarray) -> np.ndarray:
    """Rows that are blank lines: every field empty, nothing spanning lines."""
    blank = newlines == 0
    for column in batch.columns:
        if not blank.any():
            break
        blank &= pc.equal(column, "").to_numpy(zero_copy_only=False)
    return blank


def csv_to_bronze(
    source: Path,
    bronze_out: Path,
    rejected_out: Path,
    *,
    source_file: str,
    run_id: str,
    ingested_at: datetime,
    progress: Progress | None = None,
) -> BronzeResult:
    """Convert one delimited file. Raises BadInputError for a file that cannot be read at all."""
    size = source.stat().st_size
    with open(source, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    dialect = sniff(head, complete=size <= SAMPLE_BYTES)
    try:
        return _convert(
            source, bronze_out, rejected_out, dialect, source_file, run_id, ingested_at, progress
        )
    except _EncodingMismatch:
        if dialect.encoding == "utf-8-sig" or any(b >= 0x80 for b in head):
            # Real UTF-8 at the start and invalid bytes later: re-reading it all in a legacy
            # encoding would turn the UTF-8 part into mojibake. Refuse instead.
            raise BadInputError(
                f"{source_file}: starts as UTF-8 but contains bytes that are not UTF-8 further "
                "on; the file mixes encodings. Re-save it as UTF-8"
            ) from None
        # ASCII so far and invalid UTF-8 later: the file is in a legacy encoding.
        fallback = Dialect(
            "cp1252", dialect.delimiter, dialect.quotechar, dialect.has_header, dialect.columns
        )
        return _convert(
            source, bronze_out, rejected_out, fallback, source_file, run_id, ingested_at, progress
        )


class _EncodingMismatch(Exception):
    pass


def _convert(
    source: Path,
    bronze_out: Path,
    rejected_out: Path,
    dialect: Dialect,
    source_file: str,
    run_id: str,
    ingested_at: datetime,
    progress: Progress | None,
) -> BronzeResult:
    lines = LineCounter()
    rejects = RejectedWriter(rejected_out.with_suffix(".spool.parquet"))

    def on_invalid(row: pacsv.InvalidRow) -> str:
        record = int(row.number) if row.number is not None else -1
        text = row.text or ""
        lines.reject(record, text_newlines(text))
        if text.strip():  # a blank line is not data: it only takes its line number
            rejects.add(record, row.expected_columns, row.actual_columns, text)
        return "skip"

    reader_file = _CountingFile(source, progress)
    try:
        reader = _open_reader(reader_file, dialect, on_invalid)
        result = _write(reader, bronze_out, dialect, lines, source_file, run_id, ingested_at)
    except pa.ArrowInvalid as exc:
        raise _unreadable(exc, dialect, source_file) from exc
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"{source_file}: not valid {dialect.encoding} text at byte {exc.start}: {exc.reason}"
        ) from exc
    finally:
        reader_file.close()

    result.rejected = rejects.write(rejected_out, lines, source_file, run_id)
    result.parsed = result.bronze + result.rejected
    return result


def _open_reader(
    reader_file: _CountingFile,
    dialect: Dialect,
    on_invalid: Callable[[pacsv.InvalidRow], str],
) -> pacsv.CSVStreamingReader:
    """Arrow's streaming reader, every value read as the text it is (no nulls, no types)."""
    raw_names = [f"f{i}" for i in range(dialect.columns)]
    return pacsv.open_csv(
        reader_file,
        read_options=pacsv.ReadOptions(
            column_names=raw_names,
            block_size=BLOCK_SIZE,
            use_threads=False,
            encoding=dialect.arrow_encoding,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=dialect.delimiter,
            quote_char=dialect.quotechar,
            newlines_in_values=True,
            # Blank lines stay records so line numbers count them; `_write` drops them.
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in raw_names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        ),
    )


def _unreadable(exc: pa.ArrowInvalid, dialect: Dialect, source_file: str) -> Exception:
    """What Arrow's refusal means: text not in the encoding read (for UTF-8, a cue to try a
    legacy encoding), or a file that is not delimited text."""
    message = str(exc)
    if "UTF8" in message or "UTF-8" in message:
        if dialect.encoding.startswith("utf-8"):
            return _EncodingMismatch()
        return BadInputError(f"{source_file}: not valid {dialect.encoding} text")
    return BadInputError(f"{source_file}: cannot parse as delimited text: {message}")


def _write(
    reader: pacsv.CSVStreamingReader,
    bronze_out: Path,
    dialect: Dialect,
    lines: LineCounter,
    source_file: str,
    run_id: str,
    ingested_at: datetime,
) -> BronzeResult:
    names: list[str] | None = (
        None if dialect.has_header else [f"column_{i + 1}" for i in range(dialect.columns)]
    )
    writer: pq.ParquetWriter | None = None
    good = 0  # records accepted so far (header included)
    bronze = blank_lines = 0
    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            records = _record_numbers(good, batch.num_rows, lines.rejected)
            good += batch.num_rows
            batch, line_numbers, blanks = _without_blank_lines(batch, lines, records)
            blank_lines += blanks
            if batch.num_rows == 0:
                continue
            if names is None:
                names = header_names(
                    [batch.column(i)[0].as_py() for i in range(batch.num_columns)],
                    set(LINEAGE_COLUMNS),
                )
                batch, line_numbers = batch.slice(1), line_numbers[1:]
            elif writer is None:
                names = header_names(names, set(LINEAGE_COLUMNS))
            table = pa.Table.from_batches([batch]).rename_columns(names)
            table = _with_lineage(table, line_numbers, source_file, run_id, ingested_at)
            if writer is None:
                writer = pq.ParquetWriter(bronze_out, table.schema, compression="zstd")
            writer.write_table(table)
            bronze += table.num_rows
        if writer is None:
            names = names or [f"column_{i + 1}" for i in range(dialect.columns)]
            writer = pq.ParquetWriter(bronze_out, _bronze_schema(names), compression="zstd")
    finally:
        if writer is not None:
            writer.close()
    return BronzeResult(
        dialect=dialect, columns=list(names or []), bronze=bronze, blank=blank_lines
    )


def _without_blank_lines(
    batch: pa.RecordBatch, lines: LineCounter, records: np.ndarray
) -> tuple[pa.RecordBatch, np.ndarray, int]:
    """The batch without its blank lines (they take line numbers but are not data), the line
    number of each record left, and how many blank lines there were."""
    newlines = _newlines(batch)
    line_numbers = lines.lines_for(records, newlines)
    blank = _blank_rows(batch, newlines)
    if not blank.any():
        return batch, line_numbers, 0
    return batch.filter(pa.array(~blank)), line_numbers[~blank], int(blank.sum())


def _with_lineage(
    table: pa.Table, line_numbers: np.ndarray, source_file: str, run_id: str, at: datetime
) -> pa.Table:
    n = table.num_rows
    ts = pa.scalar(at, type=pa.timestamp("us", tz="UTC"))
    table = table.append_column("_source_file", pa.repeat(pa.scalar(source_file), n))
    table = table.append_column("_source_line", pa.array(line_numbers, pa.int64()))
    table = table.append_column("_ingested_at", pa.repeat(ts, n))
    return table.append_column("_run_id", pa.repeat(pa.scalar(run_id), n))


def _bronze_schema(names: list[str]) -> pa.Schema:
    return pa.schema(
        [(n, pa.string()) for n in names]
        + [
            ("_source_file", pa.string()),
            ("_source_line", pa.int64()),
            ("_ingested_at", pa.timestamp("us", tz="UTC")),
            ("_run_id", pa.string()),
        ]
    )


def _record_numbers(good_before: int, n: int, rejected: list[int]) -> np.ndarray:
    """Record numbers (1-based, counting rejected ones) of the next `n` accepted records."""
    g = np.arange(good_before, good_before + n, dtype=np.int64)
    if not rejected:
        return g + 1
    r = np.asarray(rejected, dtype=np.int64)
    shifted = r - np.arange(1, len(r) + 1)
    return g + 1 + np.searchsorted(shifted, g, side="right")
