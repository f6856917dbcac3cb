"""Excel workbooks (.xlsx) into Bronze: one sheet per run. Without a chosen sheet, the first
sheet lands in the file's dataset and each other sheet becomes a run of its own, in the dataset
`<dataset>_<sheet>`. Every cell is kept as text; the first row holds the column names, so a
row's `_source_line` is its row number in the sheet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import fastexcel
import pyarrow as pa

from flowforge.common.errors import BadInputError
from flowforge.ingest.bronze import BronzeResult
from flowforge.ingest.dialect import Dialect
from flowforge.ingest.records import _as_text, _ChunkWriter


def excel_to_bronze(source: Path, bronze_out: Path, *, sheet: str | None, source_file: str,
                    run_id: str, ingested_at: datetime) -> BronzeResult:  # fmt: skip
    try:
        reader = fastexcel.read_excel(str(source))
        names = list(reader.sheet_names)
        chosen = sheet if sheet is not None else (names[0] if names else None)
        if chosen not in names:
            raise BadInputError(
                f"{source_file}: no sheet {chosen!r}; its sheets are {', '.join(names)}"
            )
        batch = reader.load_sheet(chosen, dtypes="string", eager=True)
    except fastexcel.FastExcelError as exc:
        raise BadInputError(f"{source_file}: cannot read this workbook: {exc}") from exc
    table = _as_text(pa.Table.from_batches([batch]))
    writer = _ChunkWriter(bronze_out.parent, source_file, run_id, ingested_at)
    if table.num_rows:
        writer.add_table(table, list(range(2, table.num_rows + 2)))
    else:
        writer.columns.update(dict.fromkeys(table.column_names))
    columns = writer.finish(bronze_out)
    result = BronzeResult(dialect=Dialect("xlsx", "", "", True, len(columns)), columns=columns,
                          parsed=writer.rows, bronze=writer.rows, format="xlsx")  # fmt: skip
    result.other_sheets = [n for n in names if n != chosen] if sheet is None else []
    return result
