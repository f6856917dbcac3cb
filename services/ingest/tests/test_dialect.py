"""Sniffing a delimited file: encoding, delimiter, header and column names."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowforge.common.errors import BadInputError
from flowforge.common.lake import LINEAGE_COLUMNS
from flowforge.ingest.dialect import (
    decode_sample,
    detect_delimiter,
    detect_encoding,
    detect_header,
    header_names,
    looks_like_value,
    sniff,
)

TEXT = "id,name\n1,café\n2,Zoë\n"


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (b"id,name\n1,plain\n", "utf-8"),
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("latin-1"), "latin-1"),
        ("id,quote\n1,“smart” – dash\n".encode("cp1252"), "cp1252"),
    ],
    ids=[
        "ascii",
        "utf8",
        "utf8-bom",
        "utf16-le-bom",
        "utf16-be-bom",
        "utf16-le",
        "utf16-be",
        "latin1",
        "cp1252",
    ],
)
def test_detects_the_encoding_of_the_first_bytes(head: bytes, encoding: str) -> None:
    assert detect_encoding(head) == encoding


def test_a_utf8_character_cut_by_the_sample_boundary_is_still_utf8() -> None:
    head = "id,name\n1,café".encode()[:-1]

    assert detect_encoding(head) == "utf-8"


def test_decoding_a_sample_drops_the_bom() -> None:
    text = decode_sample(codecs.BOM_UTF8 + b"id,name\n", "utf-8-sig", complete=True)

    assert text == "id,name\n"


def test_decoding_an_incomplete_sample_drops_its_last_possibly_cut_line() -> None:
    text = decode_sample(b"id,name\n1,first\n2,sec", "utf-8", complete=False)

    assert text == "id,name\n1,first\n"


def test_decoding_bytes_invalid_in_the_encoding_is_bad_input_naming_the_byte() -> None:
    with pytest.raises(BadInputError, match=r"not valid utf-8 text \(byte 3"):
        decode_sample(b"id,\xff\n", "utf-8", complete=True)


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n", ","),
        ("a;b;c\n1;2,5;3\n4;5,5;6\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('a,b\n"x;y;z",1\n"p;q;r",2\n', ","),
    ],
    ids=["comma", "semicolon-with-decimal-commas", "tab", "pipe", "semicolons-inside-quotes"],
)
def test_detects_the_delimiter_giving_consistent_rows(text: str, delimiter: str) -> None:
    assert detect_delimiter(text) == delimiter


def test_a_single_column_falls_back_to_comma() -> None:
    assert detect_delimiter("name\nalice\nbob\n") == ","


@pytest.mark.parametrize(
    "field",
    ["42", "-3.5", "+1,25", ".5", "6.02e23", "2024-01-31", "31/01/2024", "2024-01-31T10:00"],
)
def test_numbers_and_dates_look_like_values(field: str) -> None:
    assert looks_like_value(field)


@pytest.mark.parametrize("field", ["id", "name", "1a", "zip code", "v2", ""])
def test_names_do_not_look_like_values(field: str) -> None:
    assert not looks_like_value(field)


def test_a_first_row_of_names_is_a_header() -> None:
    assert detect_header([["id", "name", ""], ["1", "x", "y"]])


@pytest.mark.parametrize("first", [["1", "alice", "3"], ["2024-01-31", "x", ""]])
def test_a_first_row_holding_a_number_or_date_is_data(first: list[str]) -> None:
    assert not detect_header([first, ["2", "bob", "4"]])


def test_blank_header_names_become_numbered_columns() -> None:
    assert header_names(["id", "", "  "], set()) == ["id", "column_2", "column_3"]


def test_duplicate_header_names_get_a_suffix() -> None:
    assert header_names(["a", "a", "a", "b"], set()) == ["a", "a_2", "a_3", "b"]


def test_header_names_never_clash_with_lineage_columns() -> None:
    names = header_names(["_source_line", "_run_id", "x"], set(LINEAGE_COLUMNS))

    assert names == ["_source_line_2", "_run_id_2", "x"]


def test_header_names_are_trimmed() -> None:
    assert header_names([" id ", "\tname"], set()) == ["id", "name"]


@settings(max_examples=200, deadline=None)
@given(raw=st.lists(st.sampled_from(["a", "a_2", "", " ", "column_2", "_run_id", "b"]), max_size=8))
def test_header_names_are_always_unique_non_empty_and_unreserved(raw: list[str]) -> None:
    reserved = set(LINEAGE_COLUMNS)
    names = header_names(raw, reserved)

    assert len(names) == len(raw)
    assert len(set(names)) == len(names)
    assert all(name and name not in reserved for name in names)


@pytest.mark.parametrize("head", [b"", b"\n\n", b"  \r\n\t"])
def test_sniffing_an_empty_file_is_bad_input(head: bytes) -> None:
    with pytest.raises(BadInputError, match="the file is empty"):
        sniff(head, complete=True)


def test_sniffing_a_bom_alone_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="no rows"):
        sniff(codecs.BOM_UTF8, complete=True)


def test_sniff_reports_the_whole_dialect() -> None:
    dialect = sniff("id;name;city\n1;café;Paris\n".encode("utf-16"), complete=True)

    assert (dialect.encoding, dialect.delimiter, dialect.has_header, dialect.columns) == (
        "utf-16",
        ";",
        True,
        3,
    )
    assert dialect.arrow_encoding == "utf-16"


def test_a_numeric_first_row_is_sniffed_as_headerless() -> None:
    dialect = sniff(b"1|2\n3|4\n", complete=True)

    assert (dialect.delimiter, dialect.has_header, dialect.columns) == ("|", False, 2)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_arrow_reads_utf8_natively(encoding: str) -> None:
    dialect = sniff(
        codecs.BOM_UTF8 + b"a,b\n" if encoding == "utf-8-sig" else b"a,b\n", complete=True
    )

    assert dialect.encoding == encoding
    assert dialect.arrow_encoding == "utf8"


@pytest.mark.parametrize(
    ("head", "named"),
    [
        (b"PAR1\x15\x04\x15", "Parquet"),
        (b"PK\x03\x04\x14\x00", "ZIP archive"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"%PDF-1.7\n", "PDF"),
    ],
)
def test_files_that_are_not_delimited_text_are_refused_by_name(head: bytes, named: str) -> None:
    with pytest.raises(BadInputError, match=named):
        sniff(head + b"\x00" * 64, complete=True)
