"""Sniff a delimited text file: encoding, delimiter, quoting, header. Pure: bytes in, facts out."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from flowforge.common.errors import BadInputError

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?$")
# The bytes of 0x80-0x9F that cp1252 leaves undefined (a file using them is not cp1252).
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


@dataclass(frozen=True)
class Dialect:
    encoding: str
    delimiter: str
    quotechar: str
    has_header: bool
    columns: int

    @property
    def arrow_encoding(self) -> str:
        # Arrow validates UTF-8 natively (and skips a UTF-8 BOM); anything else is transcoded.
        return "utf8" if self.encoding in ("utf-8", "utf-8-sig") else self.encoding


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern), else Latin-1/cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:8192]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 4:
        even, odd = sample[0::2], sample[1::2]
        # UTF-16 text without a BOM: NULs on one side of (nearly) every pair, not the other.
        if even.count(0) > 0.9 * len(even) > 0 and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
        if odd.count(0) > 0.9 * len(odd) > 0 and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        raise BadInputError(
            f"the file is mostly NUL bytes ({sample.count(0)} of the first {len(sample)}): "
            "it is binary, or text in an encoding that cannot be recognised"
        )
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample boundary is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    return _legacy_encoding(head)


# Encodings of other scripts. A multi-byte one is trusted when the detector names it (its byte
# sequences must be valid, which random Latin text does not manage); a single-byte one only
# when the decoded letters also read as a language (coherence): any byte string decodes as
# cp1251, so `ýýý ýýý` in Latin-1 must not come out as `эээ эээ`. Between the Latin code pages
# (cp1252, cp1250, ...) a small sample cannot decide; those read as Latin-1/cp1252.
_MULTI_BYTE = {
    "cp932", "shift_jis", "shift_jis_2004", "euc_jp", "euc_jis_2004", "iso2022_jp", "gb2312",
    "gbk", "gb18030", "big5", "big5hkscs", "euc_kr", "cp949", "johab",
}  # fmt: skip
_SINGLE_BYTE_SCRIPTS = {
    "cp1251", "koi8_r", "koi8_u", "iso8859_5", "mac_cyrillic", "cp866", "cp1253", "iso8859_7",
    "cp1255", "iso8859_8", "cp1256", "iso8859_6", "tis_620", "cp874",
}  # fmt: skip
_COHERENT = 0.1
CONTROL_SHARE = 0.05  # of control bytes, beyond which a file is not text
_NOT_LEGACY = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le", "utf_7"]


def _legacy_encoding(head: bytes) -> str:
    """A single- or multi-byte legacy encoding, from the bytes themselves (Shift-JIS, cp1251,
    GBK, ...); the Latin family as Latin-1, or cp1252 when its extra characters are used."""
    from charset_normalizer import from_bytes

    best = from_bytes(head, cp_exclusion=_NOT_LEGACY).best()
    if best is not None and best.encoding in _MULTI_BYTE:
        return best.encoding
    if best is not None and best.encoding in _SINGLE_BYTE_SCRIPTS and best.coherence >= _COHERENT:
        return best.encoding
    # Latin-1 reads any bytes at all, so it is only a reading of *text*: bytes that are
    # mostly control characters are a binary file, refused rather than stored as garbage.
    controls = sum(1 for b in head if b < 0x20 and b not in (9, 10, 13) or b == 0x7F)
    if head and controls > CONTROL_SHARE * len(head):
        raise BadInputError(
            f"the file looks binary ({controls} of its first {len(head)} bytes are control "
            "characters), or is text in an encoding that cannot be recognised; upload text "
            "(UTF-8 is safest)"
        )
    # The Latin family: Latin-1 reads every byte; cp1252 when its extra characters (€, “ ”,
    # –, ...) are used and every byte is one cp1252 defines.
    high = {b for b in head if 0x80 <= b < 0xA0}
    return "cp1252" if high and not high & _CP1252_UNDEFINED else "latin-1"


def decode_sample(head: bytes, encoding: str, *, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = decoder.decode(head, final=complete)
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"the file is not valid {encoding} text (byte {exc.start}: {exc.reason})"
        ) from exc
    if not complete:
        # Drop the last, possibly cut, line.
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut > 0 else text
    return text.lstrip("\ufeff")


def _rows(text: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    rows = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def detect_delimiter(text: str) -> str:
    """The candidate giving the most rows with one consistent field count (>1)."""
    best, best_score = ",", (False, 0.0, 0)
    for delimiter in DELIMITERS:
        rows = _rows(text, delimiter)
        if not rows:
            continue
        width, agree = Counter(len(r) for r in rows).most_common(1)[0]
        if width < 2:
            continue
        # The header row must split like the data: a delimiter that only appears inside
        # values of a one-column file would otherwise win.
        score = (len(rows[0]) == width, agree / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best if best_score[0] else ","


def looks_like_value(field: str) -> bool:
    value = field.strip()
    return bool(_NUMBER.match(value) or _DATE.match(value))


def detect_header(rows: list[list[str]]) -> bool:
    """A first row of names: no field of it looks like a number or a date."""
    if not rows:
        return True
    first = rows[0]
    if any(looks_like_value(f) for f in first if f.strip()):
        return False
    return True


# Signatures of formats that are not delimited text, so they get a name instead of a parse error.
_SIGNATURES = (
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office document"),
    (b"%PDF", "a PDF document"),
)


def refuse_non_text(head: bytes) -> None:
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            raise BadInputError(
                f"this is {what}, not delimited text; upload CSV, TSV or pipe-delimited text"
            )


def sniff(head: bytes, *, complete: bool) -> Dialect:
    """Sniff from the first bytes of a file (`complete` when they are the whole file)."""
    if not head.strip():
        raise BadInputError("the file is empty")
    refuse_non_text(head)
    encoding = detect_encoding(head)
    text = decode_sample(head, encoding, complete=complete)
    delimiter = detect_delimiter(text)
    rows = _rows(text, delimiter)
    if not rows:
        raise BadInputError("the file has no rows")
    return Dialect(
        encoding=encoding,
        delimiter=delimiter,
        quotechar='"',
        has_header=detect_header(rows),
        columns=len(rows[0]),
    )


def header_names(raw: list[str], reserved: set[str]) -> list[str]:
    """Unique, non-empty column names from a header row; blanks become `column_<n>`."""
    names: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(raw, start=1):
        printable = "".join(ch for ch in value if ch.isprintable() or ch == " ")
        name = printable.strip() or f"column_{index}"
        candidate, n = name, 2
        while candidate in seen or candidate in reserved:
            candidate, n = f"{name}_{n}", n + 1
        seen.add(candidate)
        names.append(candidate)
    return names
