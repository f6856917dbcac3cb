"""Every supported format lands in the same Bronze shape; compressed files within limits."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowforge.common.errors import BadInputError
from flowforge.ingest.formats import Limits, to_bronze

LIMITS = Limits(unpack_max_bytes=10**9, unpack_max_ratio=100)
LINEAGE = ["_source_file", "_source_line", "_ingested_at", "_run_id"]


def land(tmp_path: Path, name: str, body: bytes, limits: Limits = LIMITS):
    source = tmp_path / name
    source.write_bytes(body)
    out, rejected = tmp_path / "bronze.parquet", tmp_path / "rejected.parquet"
    result = to_bronze(source, name, out, rejected, run_id="run-1",
                       ingested_at=datetime(2026, 1, 1, tzinfo=UTC), limits=limits)  # fmt: skip
    frame = pl.read_parquet(out)
    rejects = pl.read_parquet(rejected) if result.rejected else pl.DataFrame()
    return result, frame, rejects


def test_ndjson_records_are_flattened_and_bad_lines_rejected_with_their_line(tmp_path):
    body = (
        b'{"id": 1, "customer": {"name": "Ann", "zip": "00501"}, "tags": ["a", "b"]}\n'
        b"\n"
        b"{not json}\n"
        b'{"id": 2, "customer": {"name": "Bob"}, "vip": true, "note": null}\n'
        b"[1, 2]\n"
    )
    result, frame, rejects = land(tmp_path, "orders.ndjson", body)
    assert (result.format, result.parsed, result.bronze, result.rejected) == ("json", 4, 2, 2)
    assert frame.drop(LINEAGE).to_dicts() == [
        {"id": "1", "customer__name": "Ann", "customer__zip": "00501", "tags": '["a", "b"]',
         "vip": None, "note": None},
        {"id": "2", "customer__name": "Bob", "customer__zip": None, "tags": None,
         "vip": "true", "note": None},
    ]  # fmt: skip
    assert frame["_source_line"].to_list() == [1, 4]
    assert rejects["_source_line"].to_list() == [3, 5]
    assert rejects["reason"][0].startswith("not valid JSON")


def test_a_json_array_document_lands_one_row_per_object(tmp_path):
    body = json.dumps([{"a": 1, "b": {"c": 2.5}}, {"a": 3}]).encode()
    result, frame, _ = land(tmp_path, "doc.json", body)
    assert frame.drop(LINEAGE).to_dicts() == [{"a": "1", "b__c": "2.5"}, {"a": "3", "b__c": None}]
    assert frame["_source_line"].to_list() == [1, 2]


def test_json_that_is_not_records_is_refused_by_name(tmp_path):
    with pytest.raises(BadInputError, match="x.json: expected a JSON array of objects"):
        land(tmp_path, "x.json", b"[1, 2, 3]")


def test_parquet_keeps_every_value_as_text_with_structs_flattened(tmp_path):
    table = pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "zip": pa.array(["00501", None]),
        "when": pa.array([datetime(2024, 1, 2, tzinfo=UTC), None], pa.timestamp("us", "UTC")),
        "ok": pa.array([True, False]),
        "addr": pa.array([{"city": "Boston", "n": 1}, {"city": "Austin", "n": 2}]),
        "tags": pa.array([["x"], []], pa.list_(pa.string())),
    })  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    result, frame, _ = land(tmp_path, "t.parquet", buffer.getvalue())
    assert result.format == "parquet" and result.bronze == 2
    row = frame.drop(LINEAGE).to_dicts()[0]
    assert row["id"] == "1" and row["zip"] == "00501" and row["ok"] == "true"
    assert row["addr__city"] == "Boston" and row["addr__n"] == "1" and row["tags"] == '["x"]'
    assert row["when"].startswith("2024-01-02")
    assert frame["_source_line"].to_list() == [1, 2]


def test_gzip_and_zip_files_are_unpacked(tmp_path):
    csv = b"id,zip\n1,00501\n2,02134\n"
    result, frame, _ = land(tmp_path, "a.csv.gz", gzip.compress(csv))
    assert frame["zip"].to_list() == ["00501", "02134"] and result.format == "csv"
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/orders.ndjson", b'{"id": 1}\n{"id": 2}\n')
    result, frame, _ = land(tmp_path, "b.zip", packed.getvalue())
    assert result.format == "json" and frame["id"].to_list() == ["1", "2"]


def test_a_zip_bomb_is_refused_before_it_fills_the_disk(tmp_path):
    bomb = gzip.compress(b"0" * 20_000_000)  # ~20 KB that unpacks to 20 MB (ratio ~1000)
    with pytest.raises(BadInputError, match="bomb.csv.gz: refused, it unpacks to more than"):
        land(tmp_path, "bomb.csv.gz", bomb)
    assert not list(tmp_path.glob("unpacked-*"))  # the partial output is removed


def test_archives_with_several_files_are_refused_with_their_contents(tmp_path):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("a.csv", b"x\n1\n")
        archive.writestr("b.csv", b"x\n2\n")
    with pytest.raises(BadInputError, match="exactly one data file; it holds a.csv, b.csv"):
        land(tmp_path, "two.zip", packed.getvalue())


def workbook(sheets: dict[str, list[list]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_first_sheet_of_a_workbook_lands_and_the_others_are_named(tmp_path):
    body = workbook({
        "Orders": [["id", "zip", "amount"], [1, "00501", 1.5], [2, "02134", 2.25]],
        "Refunds": [["id", "amount"], [1, 0.5]],
    })  # fmt: skip
    result, frame, _ = land(tmp_path, "book.xlsx", body)
    assert (result.format, result.bronze, result.other_sheets) == ("xlsx", 2, ["Refunds"])
    assert frame.drop(LINEAGE).to_dicts() == [
        {"id": "1", "zip": "00501", "amount": "1.5"},
        {"id": "2", "zip": "02134", "amount": "2.25"},
    ]
    assert frame["_source_line"].to_list() == [2, 3]


def test_a_chosen_sheet_lands_alone_and_an_unknown_one_is_refused(tmp_path):
    from flowforge.ingest.formats import to_bronze

    body = workbook({"A": [["x"], [1]], "B": [["y"], [2], [3]]})
    source = tmp_path / "b.xlsx"
    source.write_bytes(body)
    result = to_bronze(source, "b.xlsx", tmp_path / "o.parquet", tmp_path / "r.parquet",
                       run_id="r", ingested_at=datetime(2026, 1, 1, tzinfo=UTC),
                       limits=LIMITS, sheet="B")  # fmt: skip
    assert (result.bronze, result.other_sheets) == (2, [])
    with pytest.raises(BadInputError, match="no sheet 'C'; its sheets are A, B"):
        to_bronze(source, "b.xlsx", tmp_path / "o.parquet", tmp_path / "r.parquet",
                  run_id="r", ingested_at=datetime(2026, 1, 1, tzinfo=UTC),
                  limits=LIMITS, sheet="C")  # fmt: skip


def test_empty_json_objects_are_not_data(tmp_path):
    result, frame, _ = land(tmp_path, "e.json", b'[{}, {"a": 1}, {"b": {}}]')
    assert (result.parsed, result.bronze) == (1, 1)
    assert frame["_source_line"].to_list() == [2]


def test_control_characters_never_reach_column_names(tmp_path):
    result, _, _ = land(tmp_path, "n.csv", b"id,na\x00me\n1,x\n")
    assert result.columns == ["id", "name"]


@pytest.mark.parametrize(
    ("name", "body", "kind"),
    [
        ("feed.xml", b'<?xml version="1.0"?>\n<orders><order id="1"/></orders>', "XML/HTML"),
        ("orders.data", b"\xef\xbb\xbf  <?xml version='1.0'?><a/>", "XML/HTML"),
        ("page.html", b"<html><body><table></table></body></html>", "XML/HTML"),
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        ("book.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "legacy Office"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG image"),
    ],
)
def test_files_in_formats_it_does_not_land_are_refused_by_name(tmp_path, name, body, kind):
    with pytest.raises(BadInputError, match=f"{name}: unsupported format: {kind}") as caught:
        land(tmp_path, name, body)
    assert "CSV/TSV" in str(caught.value)  # and says what it does take


def test_a_csv_whose_values_look_like_markup_is_still_a_csv(tmp_path):
    result, frame, _ = land(tmp_path, "tags.csv", b"tag,count\n<b>,1\n<i>,2\n")
    assert result.bronze == 2 and frame["tag"].to_list() == ["<b>", "<i>"]


def inflated_workbook(sheet_bytes: int, declared: int | None = None) -> bytes:
    """A real workbook whose first sheet is padded with `sheet_bytes` of blank XML (it packs
    ~1000:1); `declared` makes the zip lie about that sheet's size."""
    body = workbook({"S": [["id"], [1]]})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b" " * sheet_bytes + b"</worksheet>")
            dst.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    raw = out.getvalue()
    if declared is not None:  # patch the sheet's size in its central directory entry
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            info = z.getinfo("xl/worksheets/sheet1.xml")
        marker = b"xl/worksheets/sheet1.xml"
        at = [i for i in range(len(raw)) if raw.startswith(b"PK\x01\x02", i)]
        for start in at:
            name_len = int.from_bytes(raw[start + 28 : start + 30], "little")
            if raw[start + 46 : start + 46 + name_len] == marker:
                raw = raw[: start + 24] + declared.to_bytes(4, "little") + raw[start + 28 :]
        assert info.file_size > declared
    return raw


def test_a_workbook_that_inflates_past_the_limits_is_refused_at_once(tmp_path):
    import time

    bomb = inflated_workbook(60_000_000)  # ~60 KB that unpacks to 60 MB
    assert len(bomb) < 200_000
    began = time.monotonic()
    with pytest.raises(BadInputError, match="bomb.xlsx: refused, this workbook unpacks to more"):
        land(tmp_path, "bomb.xlsx", bomb)
    assert time.monotonic() - began < 1


def test_a_workbook_lying_about_its_sizes_is_refused(tmp_path):
    liar = inflated_workbook(60_000_000, declared=1000)
    with pytest.raises(BadInputError, match="liar.xlsx: (refused|the workbook is damaged)"):
        land(tmp_path, "liar.xlsx", liar)


def test_json_nested_past_what_can_be_read_is_refused_and_its_ndjson_lines_rejected(tmp_path):
    with pytest.raises(BadInputError, match="deep.json: JSON nested too deeply"):
        land(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000)
    lines = b'{"a": 1}\n' + b'{"x":' * 5000 + b"1" + b"}" * 5000 + b'\n{"a": 2}\n'
    result, frame, rejects = land(tmp_path, "deep.ndjson", lines)
    assert frame["a"].to_list() == ["1", "2"]
    assert rejects["_source_line"].to_list() == [2] and "nested too deeply" in rejects["reason"][0]
    deep = b'[{"x":' + b'{"x":' * 40 + b"1" + b"}" * 41 + b"]"
    result, frame, _ = land(tmp_path, "forty.json", deep)
    [name] = [c for c in frame.columns if c not in LINEAGE]
    assert name.count("__") == 31 and frame[name][0].startswith('{"x"')  # the rest as JSON
