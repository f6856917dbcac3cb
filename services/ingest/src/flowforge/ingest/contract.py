"""A dataset's schema contract applied to a new file's Bronze, before it is committed.

- `evolve`: the file is taken as it is; the catalog versions the schema and publishes
  `schema.changed`.
- `freeze`: a file whose columns differ from the dataset's is refused, with the difference.
- `discard_row`: a row with a value in a column the dataset does not have goes to the rejected
  file (with the column named); those columns are dropped and missing ones are null.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowforge.common.errors import BadInputError
from flowforge.common.events import Column
from flowforge.common.lake import LINEAGE_COLUMNS
from flowforge.common.schema import schema_diff
from flowforge.ingest.lines import REJECTED_SCHEMA

BATCH_ROWS = 100_000


def check_contract(policy: str, previous: list[str] | None, columns: list[str], name: str):
    """The schema difference (None when there is nothing to compare with); raises for `freeze`."""
    if previous is None:
        return None
    diff = schema_diff([Column(name=c, type="string") for c in previous],
                       [Column(name=c, type="string") for c in columns])  # fmt: skip
    if policy == "freeze" and (diff.added or diff.removed):
        raise BadInputError(
            f"{name}: the dataset's schema is frozen and this file differs: {diff.describe()}. "
            "Fix the file, or set the dataset's contract to evolve"
        )
    return diff


def discard_rows(bronze: Path, rejected: Path, previous: list[str], source_file: str) -> int:
    """Apply `discard_row` in place; returns how many rows moved to the rejected file."""
    file = pq.ParquetFile(bronze, pre_buffer=False)
    data = [n for n in file.schema_arrow.names if n not in LINEAGE_COLUMNS]
    extra = [c for c in data if c not in previous]
    if not extra and all(c in data for c in previous):
        return 0
    kept_out, moved_out = bronze.with_suffix(".kept"), rejected.with_suffix(".moved")
    schema = pa.schema([(c, pa.string()) for c in previous]).append(
        file.schema_arrow.field("_source_file")
    )
    for name in LINEAGE_COLUMNS[1:]:
        schema = schema.append(file.schema_arrow.field(name))
    moved = 0
    with pq.ParquetWriter(kept_out, schema, compression="zstd") as kept, \
            pq.ParquetWriter(moved_out, REJECTED_SCHEMA) as gone:  # fmt: skip
        for batch in file.iter_batches(batch_size=BATCH_ROWS):
            table = pa.Table.from_batches([batch])
            offending = _first_extra_with_value(table, extra)
            bad = pc.is_valid(offending)
            moved += _write_rejected(gone, table, offending, bad, source_file)
            good = table.filter(pc.invert(bad))
            columns = [
                good.column(c) if c in good.column_names else pa.nulls(good.num_rows, pa.string())
                for c in previous
            ] + [good.column(c) for c in LINEAGE_COLUMNS]
            kept.write_table(pa.table(columns, schema=schema))
    kept_out.replace(bronze)
    _append_rejected(rejected, moved_out)
    return moved


def _first_extra_with_value(table: pa.Table, extra: list[str]) -> pa.Array:
    """Per row, the first unknown column holding a value (null when none)."""
    result = pa.nulls(table.num_rows, pa.string())
    for column in reversed(extra):
        has_value = pc.and_(pc.is_valid(table.column(column)),
                            pc.not_equal(table.column(column), ""))  # fmt: skip
        result = pc.if_else(has_value, pa.scalar(column), result)
    return result


def _write_rejected(writer, table: pa.Table, offending, bad, source_file: str) -> int:
    rows = table.filter(bad)
    if rows.num_rows == 0:
        return 0
    names = offending.filter(bad).to_pylist()
    data = [c for c in rows.column_names if c not in LINEAGE_COLUMNS]
    values = zip(*(rows.column(c).to_pylist() for c in data), strict=True)
    raw = [",".join(v or "" for v in row) for row in values]
    reasons = [
        f"has a value in column {n!r}, which the dataset does not have (discard_row)" for n in names
    ]
    n = rows.num_rows
    writer.write_table(pa.table([
        rows.column("_source_file"), rows.column("_source_line"), pa.array(reasons),
        pa.nulls(n, pa.int32()), pa.nulls(n, pa.int32()), pa.array(raw, pa.string()),
        rows.column("_run_id"),
    ], schema=REJECTED_SCHEMA))  # fmt: skip
    return n


def _append_rejected(rejected: Path, moved: Path) -> None:
    if pq.ParquetFile(moved, pre_buffer=False).metadata.num_rows == 0:
        moved.unlink()
        return
    if not rejected.exists():
        moved.replace(rejected)
        return
    combined = rejected.with_suffix(".all")
    with pq.ParquetWriter(combined, REJECTED_SCHEMA) as writer:
        for part in (rejected, moved):
            for batch in pq.ParquetFile(part, pre_buffer=False).iter_batches(batch_size=BATCH_ROWS):
                writer.write_table(pa.Table.from_batches([batch]).cast(REJECTED_SCHEMA))
    moved.unlink()
    combined.replace(rejected)
