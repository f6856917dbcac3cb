"""Stream a delimited file into Bronze Parquet, every value kept as the text it was.

Memory stays bounded: Arrow's streaming CSV reader yields blocks, each written to the Parquet
file as it comes, by a second thread: one block is parsed while the one before is encoded, both
outside the GIL (the encoding, mostly zstd, is the longer of the two). A record with the wrong
number of fields is not padded or dropped: it goes to the rejected file with its line number
and the reason.

Line numbers are physical lines (what an editor shows), counted across quoted values that
span lines; the header, when present, is line 1.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
from flowforge.ingest.dialect import SAMPLE_BYTES, Dialect, header_names, legacy_reading, sniff
from flowforge.ingest.encoding import (
    Reading,
    declared,
    refuse_mixed,
    refuse_undecodable,
    scan,
    warning_of,
)
from flowforge.ingest.lines import (
    FLUSH_ROWS,
    MAX_RAW_CHARS,
    REJECTED_SCHEMA,
    LineCounter,
    RejectedWriter,
    text_newlines,
)

BLOCK_SIZE = 8 * 1024 * 1024
# A smaller file is read in about four blocks of at least this size, so the writer thread
# encodes one block while the next is parsed (a 6.5 MB file in one block: parse 22 ms, then
# write 30 ms); a record longer than its block reads the file again in BLOCK_SIZE blocks.
MIN_BLOCK_SIZE = 1024 * 1024
# Blocks handed to the writer thread and not yet written: bounds memory to a few blocks.
WRITES_IN_FLIGHT = 2
# How Bronze is written (as an extract's Bronze is): statistics only for the lineage columns,
# dictionaries for them and for the data columns whose values repeat (`_bronze_options`). For
# text data, statistics and dictionaries that do not pay cost about half of the write and help
# no reader of Bronze (Silver reads it whole); the values written are the same either way.
BRONZE_PARQUET = {
    "compression": "zstd",
    "use_dictionary": ["_source_file", "_run_id", "_ingested_at"],
    "column_encoding": {"_source_line": "DELTA_BINARY_PACKED"},
    "write_statistics": list(LINEAGE_COLUMNS),
}
# A data column is dictionary-coded when its first block has at most 1 distinct value in this
# many (a code, a status, a date: smaller and quicker to compress); judged from blocks of at
# least DICTIONARY_SAMPLE rows, on their first DICTIONARY_HEAD rows.
DICTIONARY_REPEATS = 20
DICTIONARY_SAMPLE = 1000
DICTIONARY_HEAD = 8192

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
    warnings: list[str] = field(default_factory=list)  # for the run: e.g. a fallback encoding
    source_types: dict[str, str] = field(default_factory=dict)  # an extract's Silver specs

    @property
    def fingerprint(self) -> str:
        return schema_fingerprint([(c, "string") for c in self.columns])


class _CountingFile:
    """A read-only file wrapper reporting bytes read, for progress."""

    def __init__(self, path: Path, progress: Progress | None, start: int = 0):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(start)
        self._progress = progress
        self._read = start
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
        data, offsets = _string_buffers(column)
        if b"\r" in data:
            lf = pc.count_substring(column, "\n")
            cr = pc.count_substring(column, "\r")
            crlf = pc.count_substring(column, "\r\n")
            counts = pc.subtract(pc.add(lf, cr), crlf)
            total += counts.to_numpy(zero_copy_only=False).astype(np.int64)
        elif b"\n" in data:
            # Each LF counts for the value it is in: the last one starting at or before it.
            at = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A) + offsets[0]
            holder = np.searchsorted(offsets, at, side="right") - 1
            total += np.bincount(holder, minlength=batch.num_rows)
    return total


def _string_buffers(column: pa.Array) -> tuple[bytes, np.ndarray]:
    """A string column's value bytes, all in one (a copy: `in` on bytes is a fast memchr),
    and its n + 1 offsets into the column's buffer."""
    offsets = _offsets(column)
    data_buffer = column.buffers()[2]
    if data_buffer is None or offsets[0] == offsets[-1]:
        return b"", offsets
    return memoryview(data_buffer)[offsets[0] : offsets[-1]].tobytes(), offsets


def _offsets(column: pa.Array) -> np.ndarray:
    """The n + 1 offsets of a string column's values (Arrow's CSV reader makes `string`)."""
    if column.type != pa.string():
        raise TypeError(f"a text column was expected, not {column.type}")
    offsets_buffer = column.buffers()[1]
    if offsets_buffer is None:
        return np.zeros(len(column) + 1, dtype=np.int32)
    return np.frombuffer(offsets_buffer, dtype=np.int32)[
        column.offset : column.offset + len(column) + 1
    ]


def _blank_rows(batch: pa.RecordBatch, newlines: np.ndarray) -> np.ndarray:
    """Rows that are blank lines: every field empty, nothing spanning lines."""
    blank = newlines == 0
    for column in batch.columns:
        if not blank.any():
            break
        blank &= np.diff(_offsets(column)) == 0
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
    encoding: str | None = None,
    max_columns: int | None = None,
) -> BronzeResult:
    """Convert one delimited file, read in `encoding` when one is declared, else in the one
    its bytes show. Raises BadInputError for a file that cannot be read at all."""
    size = source.stat().st_size
    with open(source, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
        # A header (or first record) longer than the sample: read on to the end of the
        # second line, so the sniffer sees whole lines (up to one record's limit).
        while head.count(b"\n") < 2 and len(head) < BLOCK_SIZE:
            if not (more := fh.read(SAMPLE_BYTES)):
                break
            head += more
    dialect = sniff(
        head, complete=len(head) >= size, reading=declared(encoding) if encoding else None
    )
    if max_columns is not None and dialect.columns > max_columns:  # before reading it all
        check_width(dialect.columns, source_file, max_columns)
    warnings: list[str] = []
    if dialect.encoding_source == "detected" and not dialect.encoding.startswith("utf-"):
        # A legacy encoding, from the sample: the rest of the file must not be UTF-8.
        refuse_mixed(scan(source), source_file)

    def convert(dialect: Dialect, first_other: int | None = None) -> BronzeResult:
        try:
            try:
                result = _convert(
                    source, bronze_out, rejected_out, dialect, source_file, run_id,
                    ingested_at, progress, block_size(size),
                )  # fmt: skip
            except _Straddled:  # a record longer than a small block: read again, as a large file
                result = _convert(
                    source, bronze_out, rejected_out, dialect, source_file, run_id,
                    ingested_at, progress, BLOCK_SIZE,
                )  # fmt: skip
        except _Undecodable:
            if dialect.encoding != "cp1252" or dialect.encoding_source == "declared":
                refuse_undecodable(source, dialect.reading, source_file)
            # A byte cp1252 leaves undefined: Latin-1 reads it (as a control character).
            latin = Reading("latin-1", 0.3, dialect.encoding_source)
            return convert(dialect.read_as(latin), first_other)
        if (warning := warning_of(dialect.reading, first_other)) is not None:
            warnings.append(warning)
        result.warnings = warnings
        return result

    try:
        return convert(dialect)
    except _EncodingMismatch:
        # Valid UTF-8 in the sample and not further on: a legacy file whose start is ASCII,
        # or a file mixing encodings (refused, naming the lines).
        found = scan(source)
        refuse_mixed(found, source_file)
        if found.first_other is None:  # Arrow saw what a line-by-line check does not
            refuse_undecodable(source, dialect.reading, source_file)
        return convert(dialect.read_as(legacy_reading(found.sample, "fallback")), found.first_other)


def check_width(columns: int, name: str, limit: int) -> None:
    if columns > limit:
        raise BadInputError(
            f"{name}: {columns:,} columns, more than the {limit:,} a file may have "
            "(FLOWFORGE_MAX_COLUMNS); a schema that wide is often a file read with the wrong "
            "delimiter, or one to split"
        )


def block_size(size: int) -> int:
    """The CSV block size for a file of `size` bytes (see MIN_BLOCK_SIZE)."""
    return min(BLOCK_SIZE, max(MIN_BLOCK_SIZE, -(-size // 4)))


class _Straddled(Exception):
    """A record longer than a block smaller than BLOCK_SIZE."""


class _Undecodable(Exception):
    """Bytes the encoding being read does not define."""


class _EncodingMismatch(Exception):
    pass


# A quote opened and never closed swallows the rest of the file into one value. Such a record
# is rejected and the lines after it are read again on their own; past this many in one file,
# the rest is rejected line by line (each re-read costs a pass over the rest of the file).
MAX_REOPENED = 8
OFFSET_CHUNK = 4 * 2**20
UNTERMINATED = "unterminated quoted field: a quote opened on this line is never closed"


@dataclass
class _Sink:
    """The Bronze file, written across the segments of one file. The last table is held back
    until the next arrives (or the segment ends): its last record may have to be taken out."""

    path: Path
    dialect: Dialect
    names: list[str] | None = None
    header_raw: list[str] | None = None
    writer: pq.ParquetWriter | None = None
    pending: pa.Table | None = None
    thread: ThreadPoolExecutor | None = None
    writes: deque[Future[None]] = field(default_factory=deque)
    bronze: int = 0
    blank: int = 0

    def add(self, table: pa.Table) -> None:
        self.flush()
        self.pending = table

    def flush(self) -> None:
        """Hand the held-back table to the writer thread (waiting while it is behind)."""
        if self.pending is None:
            return
        if self.writer is None:
            options = _bronze_options(self.pending)
            self.writer = pq.ParquetWriter(self.path, self.pending.schema, **options)
            self.thread = ThreadPoolExecutor(1, thread_name_prefix="bronze-writer")
        while len(self.writes) >= WRITES_IN_FLIGHT:
            self.writes.popleft().result()
        assert self.thread is not None
        self.writes.append(self.thread.submit(self.writer.write_table, self.pending))
        self.bronze += self.pending.num_rows
        self.pending = None

    def take_last(self) -> tuple[str, int] | None:
        """The held-back last record's last value and line (None when nothing is held)."""
        if self.pending is None or self.pending.num_rows == 0 or not self.names:
            return None
        row = self.pending.num_rows - 1
        value = self.pending.column(len(self.names) - 1)[row].as_py()
        return value, int(self.pending.column("_source_line")[row].as_py())

    def drop_last(self) -> None:
        assert self.pending is not None
        self.pending = self.pending.slice(0, self.pending.num_rows - 1)

    def close(self) -> None:
        """Write what is left and close the file (the writer thread stopped, even on an
        error)."""
        try:
            self.flush()
            while self.writes:
                self.writes.popleft().result()
        finally:
            if self.thread is not None:
                self.thread.shutdown(wait=True, cancel_futures=True)
            if self.writer is None:
                names = self.names or [f"column_{i + 1}" for i in range(self.dialect.columns)]
                self.names = names
                self.writer = pq.ParquetWriter(self.path, _bronze_schema(names), **BRONZE_PARQUET)
            self.writer.close()


def _bronze_options(first: pa.Table) -> dict:
    """The Parquet options of a Bronze file whose first table is `first`."""
    options = dict(BRONZE_PARQUET)
    if first.num_rows >= DICTIONARY_SAMPLE:
        # Judged on the block's head: counting distinct values of a whole 50k-row block cost
        # ~150 ms (most of a small file's ingest); the choice changes the encoding, not values.
        head = first.slice(0, DICTIONARY_HEAD)
        limit = head.num_rows // DICTIONARY_REPEATS
        repeating = [
            name
            for name in head.column_names
            if name not in LINEAGE_COLUMNS and pc.count_distinct(head.column(name)).as_py() <= limit
        ]
        options["use_dictionary"] = [*options["use_dictionary"], *repeating]
    return options


def _convert(
    source: Path,
    bronze_out: Path,
    rejected_out: Path,
    dialect: Dialect,
    source_file: str,
    run_id: str,
    ingested_at: datetime,
    progress: Progress | None,
    block: int = BLOCK_SIZE,
) -> BronzeResult:
    sink = _Sink(bronze_out, dialect)
    pieces: list[Path] = []  # rejected records, in line order

    def piece(kind: str) -> Path:
        return rejected_out.with_suffix(f".{kind}{len(pieces)}.parquet")

    start, first_line, header, reopened = 0, 1, dialect.has_header, 0
    size = source.stat().st_size
    try:
        while True:
            part = piece("part")
            line = _segment(
                source, start, first_line, header, sink, part, source_file, run_id,
                ingested_at, progress, block,
            )  # fmt: skip
            if part.exists():
                pieces.append(part)
            if line is None:
                break
            if line == 1 and header:
                raise BadInputError(
                    f"{source_file}: line 1: {UNTERMINATED} (in the header, so no column of "
                    "the file can be named); close the quote or remove it"
                )
            start = _offset_of_line(source, line + 1)
            one = RejectedWriter(piece("open").with_suffix(".spool.parquet"))
            one.add(line, dialect.columns, 0, _line_text(source, line, dialect), UNTERMINATED)
            pieces.append(piece("open"))
            one.write(pieces[-1], LineCounter(), source_file, run_id, resolve=False)
            reopened += 1
            if start >= size:
                break
            first_line, header = line + 1, False
            if reopened >= MAX_REOPENED:
                rest = RejectedWriter(piece("rest").with_suffix(".spool.parquet"))
                _reject_lines(source, start, first_line, rest, dialect, reopened)
                pieces.append(piece("rest"))
                rest.write(pieces[-1], LineCounter(), source_file, run_id, resolve=False)
                break
    finally:
        sink.close()
    pieces = [p for p in pieces if p.exists()]
    rejected = _merge_rejected(pieces, rejected_out)
    result = BronzeResult(dialect=dialect, columns=list(sink.names or []), bronze=sink.bronze,
                          blank=sink.blank, rejected=rejected)  # fmt: skip
    result.parsed = result.bronze + result.rejected
    return result


def _segment(
    source: Path,
    start: int,
    first_line: int,
    header: bool,
    sink: _Sink,
    part: Path,
    source_file: str,
    run_id: str,
    ingested_at: datetime,
    progress: Progress | None,
    block: int = BLOCK_SIZE,
) -> int | None:
    """Read the file from byte `start` (line `first_line`) to its end into the sink, in
    blocks of `block` bytes; the line of its last record when that record's quote never
    closes (it is left out)."""
    dialect = sink.dialect
    sink.flush()  # what an earlier segment held back is settled
    lines = LineCounter(first_line)
    rejects = RejectedWriter(part.with_suffix(".spool.parquet"))
    invalid = [0, 0, ""]  # rows Arrow refused; the last one's record number and text

    def on_invalid(row: pacsv.InvalidRow) -> str:
        record = int(row.number) if row.number is not None else -1
        text = row.text or ""
        lines.reject(record, text_newlines(text))
        invalid[:] = [invalid[0] + 1, record, text]
        if text.strip():  # a blank line is not data: it only takes its line number
            rejects.add(record, row.expected_columns, row.actual_columns, text)
        return "skip"

    reader_file = _CountingFile(source, progress, start)
    good = 0
    try:
        reader = _open_reader(reader_file, dialect, on_invalid, block)
        good = _write(reader, sink, header, lines, source_file, run_id, ingested_at)
    except pa.ArrowInvalid as exc:
        if "straddl" in str(exc) and block < BLOCK_SIZE:
            raise _Straddled() from None
        if "straddl" in str(exc):
            lines.finish()
            raise BadInputError(
                f"{source_file}: line {lines.next_line}: a record longer than "
                f"{BLOCK_SIZE // 2**20} MiB (the limit of one record) starts here: a very long "
                "line, a huge quoted value, or a quote opened and never closed"
            ) from None
        raise _unreadable(exc, dialect, source_file) from exc
    except UnicodeDecodeError:
        raise _Undecodable() from None
    finally:
        reader_file.close()

    open_line = None
    last_is_invalid = invalid[0] > 0 and invalid[1] == good + invalid[0]
    if last_is_invalid:
        if _ends_in_open_quote(invalid[2], dialect):
            # Refused for its field count, it is the rest of the file in one value.
            rejects.discard_last()
            lines.finish()
            open_line = int(lines.lines_of(np.asarray([invalid[1]], dtype=np.int64))[0])
    elif (last := sink.take_last()) is not None:
        value, line = last
        if _open_at_end(source, value, dialect):
            sink.drop_last()
            open_line = line
    elif header and sink.header_raw and _open_at_end(source, sink.header_raw[-1], dialect):
        open_line = 1
    rejects.write(part, lines, source_file, run_id)
    return open_line


def _open_at_end(source: Path, value: str, dialect: Dialect) -> bool:
    """Whether `value`, the last value of the file's last record, is a quoted value whose
    quote never closed: the file ends with the value itself (a closed one ends with its
    closing quote) right after an opening quote."""
    quote = dialect.quotechar
    if not quote:
        return False
    codec = "utf-8" if dialect.encoding.startswith("utf-8") else dialect.encoding
    try:
        body = value.replace(quote, quote * 2).encode(codec)
        mark = quote.encode(codec)
    except (UnicodeError, LookupError):
        return False
    size = source.stat().st_size
    want = len(body) + len(mark) * 3
    with open(source, "rb") as fh:
        fh.seek(max(0, size - want))
        tail = fh.read()
    if value == "":
        # `"` at the end opens a value; `""` is a closed empty one.
        stripped = tail.rstrip(b"\r\n")
        run = len(stripped) - len(stripped.rstrip(mark))
        return run % 2 == 1 and stripped.endswith(mark)
    return tail.endswith(body) and tail[: -len(body)].endswith(mark)


def _ends_in_open_quote(text: str, dialect: Dialect) -> bool:
    """Whether a rejected record's text ends inside a quoted value (Python's csv module,
    strict, says "unexpected end of data" exactly then)."""
    if not dialect.quotechar or dialect.quotechar not in text:
        return False
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, len(text) + 1))
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter,
                            quotechar=dialect.quotechar, strict=True):  # fmt: skip
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    finally:
        csv.field_size_limit(old)
    return False


def _offset_of_line(source: Path, line: int) -> int:
    """The byte offset where physical `line` starts (CRLF, CR or LF end a line)."""
    if line <= 1:
        return 0
    seen, offset, carry_cr = 0, 0, False
    with open(source, "rb") as fh:
        while chunk := fh.read(OFFSET_CHUNK):
            count = chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            if carry_cr and chunk.startswith(b"\n"):
                count -= 1  # a CRLF split across chunks was counted twice
            if seen + count >= line - 1:
                for i, byte in enumerate(chunk):
                    if byte == 0x0A:
                        if i == 0 and carry_cr:
                            continue
                        seen += 1
                    elif byte == 0x0D:
                        if i + 1 < len(chunk) and chunk[i + 1] == 0x0A:
                            continue  # counted at its LF
                        seen += 1
                    if seen == line - 1:
                        return offset + i + 1
            seen += count
            offset += len(chunk)
            carry_cr = chunk.endswith(b"\r")
    return offset


def _reject_lines(
    source: Path, start: int, first_line: int, extra: RejectedWriter, dialect: Dialect, n: int
) -> None:
    """Reject every line from byte `start` on, each with its number: after `n` quotes left
    open, the rest of the file cannot be told apart into records."""
    codec = "utf-8" if dialect.encoding.startswith("utf-8") else dialect.encoding
    reason = f"not read: {n} quoted fields before this line were never closed"
    with open(source, "rb") as fh:
        fh.seek(start)
        text = io.TextIOWrapper(fh, encoding=codec, errors="replace", newline="")
        for number, line in enumerate(text, start=first_line):
            if line.strip():
                extra.add(number, dialect.columns, 0, line.rstrip("\r\n"), reason)


def _merge_rejected(pieces: list[Path], out: Path) -> int:
    """One rejected file from the pieces (each in line order, one after another)."""
    if not pieces:
        return 0
    if len(pieces) == 1:
        pieces[0].replace(out)
        return pq.ParquetFile(out, pre_buffer=False).metadata.num_rows
    rows = 0
    with pq.ParquetWriter(out, REJECTED_SCHEMA) as writer:
        for path in pieces:
            for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=FLUSH_ROWS):
                writer.write_batch(batch)
                rows += batch.num_rows
            path.unlink()
    return rows


def _line_text(source: Path, line: int, dialect: Dialect) -> str:
    """Physical `line` of the file as text (at most MAX_RAW_CHARS)."""
    codec = "utf-8" if dialect.encoding.startswith("utf-8") else dialect.encoding
    with open(source, "rb") as fh:
        fh.seek(_offset_of_line(source, line))
        text = io.TextIOWrapper(fh, encoding=codec, errors="replace", newline="")
        return text.readline(MAX_RAW_CHARS).rstrip("\r\n")


def _open_reader(
    reader_file: _CountingFile,
    dialect: Dialect,
    on_invalid: Callable[[pacsv.InvalidRow], str],
    block: int = BLOCK_SIZE,
) -> pacsv.CSVStreamingReader:
    """Arrow's streaming reader, every value read as the text it is (no nulls, no types)."""
    raw_names = [f"f{i}" for i in range(dialect.columns)]
    return pacsv.open_csv(
        reader_file,
        read_options=pacsv.ReadOptions(
            column_names=raw_names,
            block_size=block,
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
        if dialect.encoding.startswith("utf-8") and dialect.encoding_source != "declared":
            return _EncodingMismatch()
        return _Undecodable()
    return BadInputError(f"{source_file}: cannot parse as delimited text: {message}")


def _write(
    reader: pacsv.CSVStreamingReader,
    sink: _Sink,
    header: bool,
    lines: LineCounter,
    source_file: str,
    run_id: str,
    ingested_at: datetime,
) -> int:
    """Write the reader's records into the sink; returns how many records it accepted
    (the header included)."""
    dialect = sink.dialect
    if not header and sink.names is None:
        sink.names = header_names(
            [f"column_{i + 1}" for i in range(dialect.columns)], set(LINEAGE_COLUMNS)
        )
    good = 0  # records accepted so far (header included)
    for batch in reader:
        if batch.num_rows == 0:
            continue
        records = _record_numbers(good, batch.num_rows, lines.rejected)
        good += batch.num_rows
        batch, line_numbers, blanks = _without_blank_lines(batch, lines, records)
        sink.blank += blanks
        if batch.num_rows == 0:
            continue
        if sink.names is None:
            sink.header_raw = [batch.column(i)[0].as_py() for i in range(batch.num_columns)]
            sink.names = header_names(sink.header_raw, set(LINEAGE_COLUMNS))
            batch, line_numbers = batch.slice(1), line_numbers[1:]
            if batch.num_rows == 0:
                continue
        table = pa.Table.from_batches([batch]).rename_columns(sink.names)
        sink.add(_with_lineage(table, line_numbers, source_file, run_id, ingested_at))
    return good


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
    # A copy, not a view: Arrow's reader calls `on_invalid` (appending to this array) from its
    # own thread while batches are consumed here, and an array with a live view refuses to
    # grow (BufferError, which failed the file as unparsable about once in 60 50k-row files
    # with bad lines). The copy is made holding the GIL, so no append runs during it.
    r = np.array(rejected, dtype=np.int64)
    shifted = r - np.arange(1, len(r) + 1)
    return g + 1 + np.searchsorted(shifted, g, side="right")
