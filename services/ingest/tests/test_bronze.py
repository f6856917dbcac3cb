"""csv_to_bronze: every value kept as text, with physical line numbers and rejected records."""

from __future__ import annotations

import codecs
import csv
import io
import json
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flowforge.common.errors import BadInputError
from flowforge.ingest import bronze
from flowforge.ingest.bronze import BronzeResult, csv_to_bronze

DATA = Path(__file__).parent / "data"
SPECTRUM = DATA / "csv-spectrum"
INGESTED_AT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
LINEAGE = ["_source_file", "_source_line", "_ingested_at", "_run_id"]


def ingest(
    folder: Path, source: bytes | Path, encoding: str | None = None
) -> tuple[BronzeResult, pl.DataFrame, pl.DataFrame]:
    """Run csv_to_bronze; the rejected frame is empty when nothing was rejected."""
    if isinstance(source, bytes):
        path = folder / "input.csv"
        path.write_bytes(source)
    else:
        path = source
    bronze_out, rejected_out = folder / "bronze.parquet", folder / "rejected.parquet"
    result = csv_to_bronze(
        path,
        bronze_out,
        rejected_out,
        source_file=path.name,
        run_id="run-1",
        ingested_at=INGESTED_AT,
        encoding=encoding,
    )
    rejected = pl.read_parquet(rejected_out) if result.rejected else pl.DataFrame()
    return result, pl.read_parquet(bronze_out), rejected


def data_of(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop(LINEAGE)


def strings(columns: list[str], rows: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")


def physical_records(text: str) -> list[tuple[int, list[str]]]:
    """(start line, fields) of each record, by Python's csv module: an independent oracle."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out, end = [], 0
    for row in reader:
        if row:
            out.append((end + 1, row))
        end = reader.line_num
    return out


def table_of(text: str) -> pl.DataFrame:
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    return strings(header, rows)


def breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def spectrum_cases() -> list[tuple[Path, Path]]:
    files = sorted((SPECTRUM / "csvs").glob("*.csv")) + sorted((SPECTRUM / "derived").glob("*"))
    return [(p, SPECTRUM / "json" / f"{p.name.split('.')[0]}.json") for p in files]


@pytest.mark.parametrize(("source", "expected_json"), spectrum_cases(), ids=lambda p: p.name)
def test_csv_spectrum_files_parse_to_exactly_the_expected_rows(
    tmp_path: Path, source: Path, expected_json: Path
) -> None:
    records = json.loads(expected_json.read_text(encoding="utf-8"))
    if b"\r" not in source.read_bytes():
        # csvs/*_crlf.csv are the LF git blobs; their JSON describes the CRLF checkout.
        records = [{k: v.replace("\r\n", "\n") for k, v in r.items()} for r in records]
    columns = list(records[0])

    result, frame, _ = ingest(tmp_path, source)

    assert_frame_equal(data_of(frame), strings(columns, [list(r.values()) for r in records]))
    assert (result.parsed, result.bronze, result.rejected) == (len(records), len(records), 0)


def test_lineage_columns_name_the_file_run_time_and_physical_start_line(tmp_path: Path) -> None:
    _, frame, _ = ingest(tmp_path, SPECTRUM / "csvs" / "newlines.csv")

    expected = pl.DataFrame(
        {
            "_source_file": ["newlines.csv"] * 3,
            "_source_line": [2, 3, 5],
            "_ingested_at": [INGESTED_AT] * 3,
            "_run_id": ["run-1"] * 3,
        },
        schema={
            "_source_file": pl.String,
            "_source_line": pl.Int64,
            "_ingested_at": pl.Datetime("us", "UTC"),
            "_run_id": pl.String,
        },
    )
    assert_frame_equal(frame.select(LINEAGE), expected)


def test_a_utf8_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    result, frame, _ = ingest(tmp_path, codecs.BOM_UTF8 + b"id,name\n1,caf\xc3\xa9\n")

    assert result.columns == ["id", "name"]
    assert_frame_equal(data_of(frame), strings(["id", "name"], [["1", "café"]]))


@pytest.mark.parametrize(
    "encoding",
    ["utf-16", "utf-16-le", "utf-16-be"],
    ids=["utf16-bom", "utf16-le-no-bom", "utf16-be-no-bom"],
)
def test_utf16_text_is_decoded(tmp_path: Path, encoding: str) -> None:
    _, frame, _ = ingest(tmp_path, 'id,name\n1,café\n2,"a\nb"\n'.encode(encoding))

    assert_frame_equal(data_of(frame), strings(["id", "name"], [["1", "café"], ["2", "a\nb"]]))
    assert frame["_source_line"].to_list() == [2, 3]


@pytest.mark.parametrize(("name", "encoding"), [("latin1.csv", "latin-1"), ("utf16.csv", "utf-16")])
def test_duckdb_encoding_files_decode_to_the_real_names(
    tmp_path: Path, name: str, encoding: str
) -> None:
    source = DATA / "duckdb-csv" / "encodings" / name

    result, frame, _ = ingest(tmp_path, source)

    assert result.dialect.encoding == encoding
    assert_frame_equal(data_of(frame), table_of(source.read_bytes().decode(encoding)))
    assert frame["name"][0] == "José Álvarez"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("city,name\nNîmes,café\n", "latin-1"), ("city,name\nŠibenik,“smart” – €5\n", "cp1252")],
)
def test_legacy_bytes_come_out_as_text_not_mojibake(
    tmp_path: Path, text: str, encoding: str
) -> None:
    _, frame, _ = ingest(tmp_path, text.encode(encoding))

    assert_frame_equal(data_of(frame), table_of(text))


def test_a_legacy_byte_after_the_sniffed_sample_still_decodes(tmp_path: Path) -> None:
    rows = [[str(i), f"plain{i}"] for i in range(30_000)] + [["x", "café"]]
    text = "id,name\n" + "".join(f"{a},{b}\n" for a, b in rows)
    assert len(text) > bronze.SAMPLE_BYTES

    _, frame, _ = ingest(tmp_path, text.encode("latin-1"))

    assert_frame_equal(data_of(frame), strings(["id", "name"], rows))


def test_short_and_long_records_are_rejected_with_line_and_reason(tmp_path: Path) -> None:
    text = 'a,b,c\n1,"x\ny",3\n4,5\n"p\nq",7,8,9\n10,11,12\n'

    result, frame, rejected = ingest(tmp_path, text.encode())

    assert frame.select("a", "_source_line").rows() == [("1", 2), ("10", 7)]
    assert rejected.select(
        "_source_line", "reason", "expected_fields", "actual_fields", "raw"
    ).rows() == [
        (4, "expected 3 fields, found 2", 3, 2, "4,5"),
        (5, "expected 3 fields, found 4", 3, 4, '"p\nq",7,8,9'),
    ]
    assert rejected["_source_file"].to_list() == ["input.csv"] * 2
    assert (result.parsed, result.bronze, result.rejected) == (4, 2, 2)


def test_rejected_records_at_the_start_and_end_keep_their_lines(tmp_path: Path) -> None:
    _, frame, rejected = ingest(tmp_path, b"a,b,c\n1,2\n3,4,5\n6\n7,8\n")

    assert frame["_source_line"].to_list() == [3]
    assert rejected["_source_line"].to_list() == [2, 4, 5]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_the_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["id", "price", "note"]) + "\n" + delimiter.join(["1", "2,50", "x y"])

    result, frame, _ = ingest(tmp_path, text.encode() + b"\n")

    assert result.dialect.delimiter == delimiter
    assert_frame_equal(data_of(frame), strings(["id", "price", "note"], [["1", "2,50", "x y"]]))


def test_a_numeric_first_row_is_data_under_generated_column_names(tmp_path: Path) -> None:
    result, frame, _ = ingest(tmp_path, b"1,2024-01-31,x\n2,2024-02-01,y\n")

    assert result.columns == ["column_1", "column_2", "column_3"]
    assert frame["column_1"].to_list() == ["1", "2"]
    assert frame["_source_line"].to_list() == [1, 2]


def test_duplicate_blank_and_reserved_header_names_are_made_unique(tmp_path: Path) -> None:
    result, frame, _ = ingest(tmp_path, b"a,a,,_run_id\n1,2,3,4\n")

    assert result.columns == ["a", "a_2", "column_3", "_run_id_2"]
    assert frame.columns == [*result.columns, *LINEAGE]
    assert frame.select("_run_id_2", "_run_id").row(0) == ("4", "run-1")


def test_leading_zeros_and_whitespace_are_kept_verbatim(tmp_path: Path) -> None:
    _, frame, _ = ingest(tmp_path, b'zip,name,code\n00501, Holtsville ,"  007"\n')

    assert_frame_equal(
        data_of(frame), strings(["zip", "name", "code"], [["00501", " Holtsville ", "  007"]])
    )


def test_a_header_only_file_gives_an_empty_bronze_with_its_columns(tmp_path: Path) -> None:
    result, frame, _ = ingest(tmp_path, b"id,name\n")

    assert (result.columns, result.parsed, frame.height) == (["id", "name"], 0, 0)
    assert frame.columns == ["id", "name", *LINEAGE]


@pytest.mark.parametrize(
    "content",
    [b"", b"\n\n", b"   \r\n", codecs.BOM_UTF8],
    ids=["zero-bytes", "blank-lines", "whitespace", "bom-only"],
)
def test_an_empty_file_is_bad_input_with_a_clear_message(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(BadInputError, match="the file (is empty|has no rows)"):
        ingest(tmp_path, content)


def test_line_numbers_stay_exact_across_many_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bronze, "BLOCK_SIZE", 1024)
    rnd, parts = random.Random(7), ["id,name,note\n"]
    for i in range(1500):
        parts.append(
            rnd.choice(
                [
                    f"{i},n{i},plain\n",
                    f'{i},"a\nb","c\r\nd"\n',
                    f"{i},short\n",
                    f"{i},x,y,z\n",
                    f'{i},"multi\nline"\n',
                    f"{i},n,p\n",
                ]
            )
        )
    text = "".join(parts)
    records = physical_records(text)[1:]
    assert len(text) > 16 * bronze.BLOCK_SIZE

    result, frame, rejected = ingest(tmp_path, text.encode())

    good = [(row[0], line) for line, row in records if len(row) == 3]
    bad = [(line, len(row)) for line, row in records if len(row) != 3]
    assert frame.select("id", "_source_line").rows() == good
    assert rejected.select("_source_line", "actual_fields").rows() == bad
    assert result.parsed == len(records) == result.bronze + result.rejected


def test_blank_lines_still_count_as_physical_lines(tmp_path: Path) -> None:
    text = "\na,b,c\n1,2,3\n\n4,5,6\n"

    _, frame, _ = ingest(tmp_path, text.encode())

    assert frame["_source_line"].to_list() == [line for line, _ in physical_records(text)[1:]]
    assert frame["_source_line"].to_list() == [3, 5]


def test_a_single_column_whose_values_contain_semicolons_keeps_every_row(tmp_path: Path) -> None:
    result, frame, _ = ingest(tmp_path, b"note\nbuy milk; eggs\ncall mom; dad\n")

    assert result.rejected == 0
    assert frame["note"].to_list() == ["buy milk; eggs", "call mom; dad"]


VALUE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from([",", '"', "\n", "\r", " "]),
    max_size=8,
)


TABLES = st.integers(1, 4).flatmap(
    lambda width: st.lists(st.lists(VALUE, min_size=width, max_size=width), min_size=1, max_size=12)
)


@settings(max_examples=50, deadline=None)
@given(rows=TABLES, block_size=st.sampled_from([1024, bronze.BLOCK_SIZE]))
def test_values_round_trip_with_the_line_where_each_record_starts(
    rows: list[list[str]], block_size: int
) -> None:
    columns = [f"col{i}" for i in range(len(rows[0]))]
    buffer, starts = io.StringIO(), []
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        starts.append(1 + breaks(buffer.getvalue()))
        writer.writerow(row)

    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(bronze, "BLOCK_SIZE", block_size)
        result, frame, _ = ingest(Path(tmp), buffer.getvalue().encode())

    # A record with no value at all is a blank line, not data: skipped, counted as blank.
    kept = [(row, line) for row, line in zip(rows, starts, strict=True) if any(row)]
    assert result.rejected == 0
    assert result.blank == len(rows) - len(kept)
    assert_frame_equal(data_of(frame), strings(columns, [row for row, _ in kept]))
    assert frame["_source_line"].to_list() == [line for _, line in kept]


def test_a_file_mixing_utf8_with_latin1_bytes_is_refused_not_turned_into_mojibake(
    tmp_path: Path,
) -> None:
    head = "name,city\n" + "José,Zürich\n" * 30_000  # valid UTF-8, beyond the sniffed sample
    body = head.encode() + "René,Paris\n".encode("latin-1")
    with pytest.raises(BadInputError, match="mixes encodings"):
        ingest(tmp_path, body)


def test_an_ascii_start_with_latin1_later_is_read_as_latin1_with_a_warning(tmp_path: Path):
    body = ("name,city\n" + "Jose,Zurich\n" * 30_000).encode() + "René,Paris\n".encode("latin-1")
    result, frame, _ = ingest(tmp_path, body)
    assert frame["name"][-1] == "René"
    reading = result.dialect.reading
    assert (reading.encoding, reading.source) == ("latin-1", "fallback")
    assert 0 < reading.confidence < 1
    [warning] = result.warnings
    assert "not UTF-8 from line 30002 on" in warning and "latin-1" in warning, warning


def test_an_ascii_start_with_cp1252_later_is_read_as_cp1252(tmp_path: Path) -> None:
    later = "“Zoë” – 5 €,Paris\n".encode("cp1252")
    result, frame, _ = ingest(tmp_path, ("name,city\n" + "Jose,Zurich\n" * 30_000).encode() + later)
    assert frame["name"][-1] == "“Zoë” – 5 €"
    assert result.dialect.encoding == "cp1252" and result.dialect.encoding_source == "fallback"


@pytest.mark.parametrize("bad_at", [2, 25_000])  # in the sniffed sample, and past it
def test_utf8_lines_with_a_line_of_other_bytes_are_refused_naming_both_lines(tmp_path, bad_at):
    """Invalid UTF-8 bytes in a UTF-8 file were silently read as cp1252 (issue 12 item 5)."""
    lines = ["name,city"] + [f"Zoë {i},Zürich" for i in range(1, 30_000)]
    body = "\n".join(lines[: bad_at - 1]).encode() + b"\nbad \xff\xfe,x\n"
    body += "\n".join(lines[bad_at - 1 :]).encode() + b"\n"
    with pytest.raises(BadInputError) as caught:
        ingest(tmp_path, body)
    message = str(caught.value)
    utf8 = 2 if bad_at > 2 else 3
    assert f"line {bad_at}: byte 0xFF is not UTF-8, while line {utf8} is UTF-8" in message
    assert "mixes encodings" in message and "`encoding`" in message


def test_a_legacy_file_with_utf8_lines_further_on_is_refused(tmp_path: Path) -> None:
    body = "name\nJosé\n".encode("latin-1") + b"x\n" * 40_000 + "Zoë\n".encode()
    with pytest.raises(BadInputError, match=r"line 2: byte 0xE9 is not UTF-8, while line 40003"):
        ingest(tmp_path, body)


def test_a_declared_encoding_is_used_as_given_and_recorded(tmp_path: Path) -> None:
    # Bytes valid as UTF-8 (é as C3 A9) but meant as cp1252 (Ã©): declared, they read so.
    result, frame, _ = ingest(tmp_path, "name\nRené\n".encode(), encoding="windows-1252")
    assert frame["name"].to_list() == ["RenÃ©"]
    assert result.dialect.reading.public() == {
        "encoding": "cp1252",
        "confidence": 1.0,
        "source": "declared",
    }
    assert result.warnings == []


def test_a_file_not_valid_in_its_declared_encoding_is_refused_naming_the_line(tmp_path):
    body = ("name\n" + "Zoë\n" * 70_000).encode() + b"caf\xe9\n"
    with pytest.raises(BadInputError, match=r"line 70002: not valid utf-8 text.*declared"):
        ingest(tmp_path, body, encoding="utf-8")
    with pytest.raises(BadInputError, match="unknown encoding 'klingon'"):
        ingest(tmp_path, b"a\n1\n", encoding="klingon")


def test_a_file_padded_with_nul_bytes_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="NUL bytes"):
        ingest(tmp_path, b'15","6' + b"\x00" * 400)


def test_legacy_encodings_of_other_scripts_are_recognised_not_read_as_latin1(
    tmp_path: Path,
) -> None:
    shift_jis = Path(__file__).parent / "data" / "duckdb-csv" / "shift_jis.csv"
    result, frame, _ = ingest(tmp_path, shift_jis)
    assert result.dialect.encoding in ("cp932", "shift_jis")
    assert result.columns == ["名前", "年齢"]
    cyrillic = "имя,город\nИван,Москва\nОльга,Санкт-Петербург\n".encode("cp1251")
    result, frame, _ = ingest(tmp_path, cyrillic)
    assert result.dialect.encoding == "cp1251" and frame["город"].to_list()[0] == "Москва"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Имя,Город\nИван,Москва\nПётр,Санкт-Петербург\n", "cp1251"),
        ("όνομα,πόλη\nΓιάννης,Αθήνα\nΜαρία,Θεσσαλονίκη\n", "cp1253"),
        ("名前,年齢\n山田,30\n佐藤,28\n", "cp932"),
        ("nom,ville\nJosé,Paris\nAnaïs,Orléans\nFrançois,Besançon\n", "latin-1"),
        ("Name,Stadt\nJürgen,München\n€uro,Straße\n", "cp1252"),
    ],
)
def test_legacy_encodings_of_other_scripts_are_named_and_read(tmp_path: Path, text, encoding):
    _, frame, _ = ingest(tmp_path, text.encode(encoding))
    expected = [line.split(",") for line in text.strip().split("\n")]
    assert_frame_equal(data_of(frame), strings(expected[0], expected[1:]))


def test_every_duckdb_encoding_file_reads_as_its_real_text(tmp_path: Path) -> None:
    """A Latin-1 file of one repeated letter must not come out as Cyrillic (any byte string
    decodes as cp1251): a single-byte script is trusted only when its letters read as a
    language; a file of all 256 Latin-1 bytes reads as Latin-1."""
    folder = DATA / "duckdb-csv" / "encodings"
    for name, encoding in (("only_latin1.csv", "latin-1"), ("all_latin1.csv", "latin-1"),
                           ("shift_jis.csv", "cp932"), ("latin1.csv", "latin-1")):  # fmt: skip
        (tmp_path / name).mkdir()
        result, frame, _ = ingest(tmp_path / name, folder / name)
        assert result.dialect.encoding == encoding, name
        if name == "only_latin1.csv":
            assert "ý" in frame.columns[0] and "э" not in frame.columns[0]


# -- a quote opened and never closed (issue 12, item 2) -----------------------------------


@pytest.mark.parametrize(
    ("text", "open_line", "kept"),
    [
        (b'id,name\n1,"abc\n2,def\n3,ghi\n', 2, [(3, "2"), (4, "3")]),
        (b'id,name,x\n1,"abc\n2,def,3\n3,ghi,4\n', 2, [(3, "2"), (4, "3")]),  # too few fields
        (b'id,name\r\n1,a\r\n2,"b\r\n3,c\r\n', 3, [(2, "1"), (4, "3")]),
        (b'id,name\n1,a\n2,"', 3, [(2, "1")]),  # at the very end
        (b'id,name\n1,"a""b\n2,c\n', 2, [(3, "2")]),  # an escaped quote inside
    ],
)
def test_an_unterminated_quote_rejects_its_line_and_the_lines_after_it_are_read(
    tmp_path: Path, text: bytes, open_line: int, kept: list[tuple[int, str]]
) -> None:
    result, rows, rejected = ingest(tmp_path, text)
    assert [(r["_source_line"], r["id"]) for r in rows.iter_rows(named=True)] == kept
    assert rejected["_source_line"].to_list() == [open_line]
    assert rejected["reason"][0].startswith("unterminated quoted field")
    assert result.parsed == result.bronze + result.rejected == len(kept) + 1


@pytest.mark.parametrize(
    "text",
    [
        b'id,name\n1,a\n2,""',  # a closed empty value at the end
        b'id,name\n1,"a\nb"\n2,c\n',  # a closed value over two lines
        b'id,name\n1,12"\n',  # a literal quote inside an unquoted value
        b'id,"name"\n1,"x"',
    ],
)
def test_closed_quotes_at_the_end_are_not_taken_for_open_ones(tmp_path: Path, text: bytes):
    result, _, rejected = ingest(tmp_path, text)
    assert result.rejected == 0 and rejected.is_empty()


def test_an_unterminated_quote_in_the_header_fails_naming_line_1(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="line 1: unterminated quoted field"):
        ingest(tmp_path, b'id,"name\n1,abc\n2,def\n')


def test_a_record_longer_than_the_limit_names_its_line_and_the_limit(tmp_path: Path) -> None:
    long_line = b"3," + b"x" * (2 * bronze.BLOCK_SIZE + 1024) + b"\n"  # past two blocks
    with pytest.raises(BadInputError, match=r"line 4: a record longer than 8 MiB") as caught:
        ingest(tmp_path, b"id,v\n1,a\n2,b\n" + long_line + b"4,d\n")
    assert "straddl" not in str(caught.value)


def test_after_many_open_quotes_the_rest_is_rejected_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bronze, "MAX_REOPENED", 1)
    text = b'id,v\n1,"a\n2,b\n\n3,c\n'
    result, rows, rejected = ingest(tmp_path, text)
    assert rows.is_empty()
    assert rejected["_source_line"].to_list() == [2, 3, 5]  # the blank line 4 is not data
    assert "never closed" in rejected["reason"][1]
    assert result.parsed == result.rejected == 3


@pytest.mark.parametrize("chunk", [3, 4, 5, 1024])
def test_the_offset_of_a_line_counts_lf_cr_and_crlf_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(bronze, "OFFSET_CHUNK", chunk)
    path = tmp_path / "x.csv"
    text = b"a\r\nb\rc\nd" + b"e" * 10 + b"\r\nf\n"
    path.write_bytes(text)
    starts = [0, 3, 5, 7, 20, 22]
    assert [bronze._offset_of_line(path, n) for n in range(1, 7)] == starts
    assert bronze._offset_of_line(path, 9) == len(text)


def test_a_header_longer_than_the_sniffed_sample_is_read_whole(tmp_path: Path) -> None:
    """10,000 columns of 57-character names: a 580 KB header, past the 256 KB sample (it was
    cut, and every row rejected for its field count)."""
    names = [f"a_rather_long_column_name_for_measurement_purposes_{i:05d}" for i in range(10_000)]
    rows = [[str((r * 7 + i) % 97) for i in range(10_000)] for r in range(3)]
    text = "\n".join(",".join(line) for line in [names, *rows]) + "\n"
    result, frame, _ = ingest(tmp_path, text.encode())
    assert result.columns == names
    assert (result.parsed, result.rejected, result.bronze) == (3, 0, 3)
    assert frame[names[-1]].to_list() == [row[-1] for row in rows]


COLUMN = st.lists(
    VALUE | st.sampled_from(["", "a\r\nb\nc\rd", "\r\n\r\n"]), min_size=1, max_size=12
)


@settings(max_examples=100, deadline=None)
@given(columns=st.lists(COLUMN, min_size=1, max_size=3), cut=st.integers(0, 3))
def test_line_breaks_and_blank_rows_come_from_the_value_buffers_as_from_the_values(
    columns: list[list[str]], cut: int
) -> None:
    """`_newlines` and `_blank_rows` read Arrow's buffers, a slice's included: the same
    answer as counting in each value (CRLF, CR and LF one break each)."""
    rows = min(len(c) for c in columns)
    batch = pa.RecordBatch.from_arrays(
        [pa.array(c[:rows], pa.string()) for c in columns], [f"c{i}" for i in range(len(columns))]
    ).slice(min(cut, rows - 1))
    values = list(
        zip(*(batch.column(i).to_pylist() for i in range(batch.num_columns)), strict=True)
    )
    newlines = bronze._newlines(batch)
    assert newlines.tolist() == [sum(breaks(v) for v in row) for row in values]
    assert bronze._blank_rows(batch, newlines).tolist() == [not any(row) for row in values]


def encodings(path: Path) -> tuple[set[str], set[str]]:
    """The columns of a Parquet file's first row group with statistics, with a dictionary."""
    meta = pq.ParquetFile(path).metadata.row_group(0)
    columns = [meta.column(i) for i in range(meta.num_columns)]
    return (
        {c.path_in_schema for c in columns if c.is_stats_set},
        {c.path_in_schema for c in columns if c.has_dictionary_page},
    )


def test_bronze_keeps_statistics_and_dictionaries_for_the_lineage_columns(tmp_path: Path):
    ingest(tmp_path, b"id,name\n1,a\n2,b\n")
    stats, dictionaries = encodings(tmp_path / "bronze.parquet")
    assert stats == set(LINEAGE)
    assert dictionaries == {"_source_file", "_run_id", "_ingested_at"}


def test_data_columns_whose_values_repeat_are_dictionary_coded(tmp_path: Path) -> None:
    rows = [f"{i},{['paid', 'shipped'][i % 2]},{i * 7919 % 10007}\n" for i in range(2000)]
    _, frame, _ = ingest(tmp_path, ("id,status,code\n" + "".join(rows)).encode())
    stats, dictionaries = encodings(tmp_path / "bronze.parquet")
    assert stats == set(LINEAGE)
    assert dictionaries == {"status", "_source_file", "_run_id", "_ingested_at"}
    assert frame["status"].to_list()[:3] == ["paid", "shipped", "paid"]


def test_a_failed_write_on_the_writer_thread_fails_the_conversion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: pq.ParquetWriter, table: pa.Table, row_group_size: int | None = None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(OSError, match="No space left"):
        ingest(tmp_path, b"id\n" + b"1\n" * 10)


def test_a_record_longer_than_a_small_files_block_reads_the_file_again_in_large_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small file is read in blocks of a quarter of it (parsing overlaps the writing); a
    record longer than such a block, yet within the one-record limit (BLOCK_SIZE), is still
    read, with every other record and line number."""
    monkeypatch.setattr(bronze, "MIN_BLOCK_SIZE", 256)
    long_value = "x" * 3000
    text = "id,note\n" + "".join(f"{i},n{i}\n" for i in range(200))
    text += f'200,"{long_value}\n{long_value}"\n' + "201,last\n"
    assert bronze.block_size(len(text)) < len(long_value) < bronze.BLOCK_SIZE
    calls = []
    real_open = bronze._open_reader
    monkeypatch.setattr(bronze, "_open_reader", lambda *a: calls.append(a[-1]) or real_open(*a))

    result, frame, _ = ingest(tmp_path, text.encode())

    assert calls == [bronze.block_size(len(text)), bronze.BLOCK_SIZE]  # read again, once
    assert result.bronze == 202 and result.rejected == 0
    assert frame["note"][200] == f"{long_value}\n{long_value}"
    assert frame["_source_line"].to_list() == [*range(2, 203), 204]


def test_record_numbers_leave_the_rejected_list_free_to_grow(monkeypatch):
    """Arrow's reader appends rejected records (`on_invalid`) from its own thread while the
    batches before them are numbered: numbering must not hold a view of the array, which
    then refuses to grow (a 50k-row file with bad lines failed as unparsable, 1 in 60)."""
    from array import array

    import numpy as np

    from flowforge.ingest import bronze as module
    from flowforge.ingest.lines import LineCounter

    lines = LineCounter()
    for record in (3, 7):
        lines.reject(record, 0)
    searchsorted = np.searchsorted

    def interleaved(*args, **kwargs):  # the reader's thread runs between two steps
        lines.reject(12, 0)
        return searchsorted(*args, **kwargs)

    monkeypatch.setattr(module.np, "searchsorted", interleaved)
    numbers = module._record_numbers(0, 6, lines.rejected)
    assert numbers.tolist() == [1, 2, 4, 5, 6, 8]
    assert lines.rejected == array("q", [3, 7, 12])
