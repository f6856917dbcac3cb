"""Physical line numbers of records, and the rejected-records file, in bounded memory.

Arrow numbers records, not lines: a quoted value spanning lines, or a blank line, makes the
two differ. `LineCounter` turns record numbers into the line where each record starts (what an
editor shows), keeping only compact arrays for rejected records. `RejectedWriter` spools
rejected records to disk as they come and writes the final file, with their lines, at the end.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MAX_RAW_CHARS = 10_000
FLUSH_ROWS = 20_000
REJECTED_SCHEMA = pa.schema(
    [
        ("_source_file", pa.string()),
        ("_source_line", pa.int64()),
        ("reason", pa.string()),
        ("expected_fields", pa.int32()),
        ("actual_fields", pa.int32()),
        ("raw", pa.string()),
        ("_run_id", pa.string()),
    ]
)
_SPOOL_SCHEMA = pa.schema(
    [
        ("record", pa.int64()),
        ("expected_fields", pa.int32()),
        ("actual_fields", pa.int32()),
        ("raw", pa.string()),
        ("reason", pa.string()),
    ]
)


def text_newlines(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


class LineCounter:
    """Assigns physical line numbers to records, good and rejected, as they come in."""

    def __init__(self, first_line: int = 1) -> None:
        self.next_record = 1  # the first record number not yet given a line
        self.next_line = first_line
        self.rejected = array("q")  # record numbers of records not taken as data, increasing
        self.rejected_newlines = array("q")
        self.rejected_lines = array("q")  # filled in as the records are passed

    def reject(self, record: int, newlines: int) -> None:
        self.rejected.append(record)
        self.rejected_newlines.append(newlines)
        self.rejected_lines.append(0)

    def lines_for(self, records: np.ndarray, newlines: np.ndarray) -> np.ndarray:
        """Lines of the good `records` (increasing); resolves rejected ones in between."""
        base, last = self.next_record, int(records[-1])
        span = np.ones(last - base + 1, dtype=np.int64)
        span[records - base] += newlines
        lo, hi = bisect_left(self.rejected, base), bisect_right(self.rejected, last)
        between = np.asarray(self.rejected[lo:hi], dtype=np.int64) - base
        if len(between):
            span[between] += np.asarray(self.rejected_newlines[lo:hi], dtype=np.int64)
        starts = self.next_line + np.concatenate(([0], np.cumsum(span)[:-1]))
        if len(between):
            self.rejected_lines[lo:hi] = array("q", starts[between].tolist())
        self.next_line = int(starts[-1] + span[-1])
        self.next_record = last + 1
        return starts[records - base]

    def finish(self) -> None:
        """Resolve rejected records after the last good one: each takes its own lines."""
        line, current = self.next_line, self.next_record
        for i in range(bisect_left(self.rejected, current), len(self.rejected)):
            line += self.rejected[i] - current
            self.rejected_lines[i] = line
            line, current = line + 1 + self.rejected_newlines[i], self.rejected[i] + 1
        self.next_line, self.next_record = line, current

    def lines_of(self, records: np.ndarray) -> np.ndarray:
        known = np.frombuffer(self.rejected, dtype=np.int64)
        lines = np.frombuffer(self.rejected_lines, dtype=np.int64)
        return lines[np.searchsorted(known, records)]


class RejectedWriter:
    """Collects rejected records without holding them all in memory."""

    def __init__(self, spool: Path):
        self.spool = spool
        self.rows: list[tuple[int, int, int, str]] = []
        self.count = 0
        self._writer: pq.ParquetWriter | None = None

    def add(
        self, record: int, expected: int, actual: int, raw: str, reason: str | None = None
    ) -> None:
        reason = reason or f"expected {expected} fields, found {actual}"
        self.rows.append((record, expected, actual, raw[:MAX_RAW_CHARS], reason))
        self.count += 1
        if len(self.rows) >= FLUSH_ROWS:
            self._flush()

    def discard_last(self) -> None:
        """Take back the record added last (still in memory: it was just added)."""
        if self.rows:
            self.rows.pop()
            self.count -= 1

    def _flush(self) -> None:
        if not self.rows:
            return
        columns = list(zip(*self.rows, strict=True))
        table = pa.table(
            [pa.array(c, t.type) for c, t in zip(columns, _SPOOL_SCHEMA, strict=True)],
            schema=_SPOOL_SCHEMA,
        )
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.spool, _SPOOL_SCHEMA)
        self._writer.write_table(table)
        self.rows.clear()

    def write(
        self, out: Path, lines: LineCounter, source_file: str, run_id: str, resolve: bool = True
    ) -> int:
        """Write the rejected file (when there is anything to write); returns the count.
        With `resolve`, record numbers become physical lines; else they are lines already."""
        self._flush()
        if self._writer is None:
            return 0
        self._writer.close()
        lines.finish()
        with pq.ParquetWriter(out, REJECTED_SCHEMA) as writer:
            spool = pq.ParquetFile(self.spool, pre_buffer=False)
            for batch in spool.iter_batches(batch_size=FLUSH_ROWS):
                records = batch.column("record").to_numpy()
                n = batch.num_rows
                line = lines.lines_of(records) if resolve else records
                columns = [
                    pa.repeat(pa.scalar(source_file), n),
                    pa.array(line, pa.int64()),
                    batch.column("reason"),
                    batch.column("expected_fields"),
                    batch.column("actual_fields"),
                    batch.column("raw"),
                    pa.repeat(pa.scalar(run_id), n),
                ]
                writer.write_table(pa.table(columns, schema=REJECTED_SCHEMA))
        self.spool.unlink(missing_ok=True)
        return self.count
