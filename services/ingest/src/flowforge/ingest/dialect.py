"""Sniff a delimited text file: encoding, delimiter, quoting, header. Pure: bytes in, facts out."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, replace

from flowforge.common.errors import BadInputError
from flowforge.ingest.encoding import Reading

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
    # How sure the encoding is, and where it came from (flowforge.ingest.encoding).
    confidence: float = 1.0
    encoding_source: str = "detected"

    @property
    def reading(self) -> Reading:
        return Reading(self.encoding, self.confidence, self.encoding_source)

    def read_as(self, reading: Reading) -> Dialect:
        return replace(self, encoding=reading.encoding, confidence=reading.confidence,
                       encoding_source=reading.source)  # fmt: skip

    @property
    def arrow_encoding(self) -> str:
        # Arrow validates UTF-8 natively (and skips a UTF-8 BOM); anything else is transcoded.
        return "utf8" if self.encoding in ("utf-8", "utf-8-sig") else self.encoding


def detect_encoding(head: bytes) -> str:
    return detect_reading(head).encoding


def detect_reading(head: bytes) -> Reading:
    """UTF-8 (with or without BOM), UTF-16 (BOM or NUL pattern), else a legacy encoding."""
    if head.startswith(codecs.BOM_UTF8):
        return Reading("utf-8-sig", 1.0, "bom")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Reading("utf-16", 1.0, "bom")
    sample = head[:8192]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 4:
        even, odd = sample[0::2], sample[1::2]
        # UTF-16 text without a BOM: NULs on one side of (nearly) every pair, not the other.
        if even.count(0) > 0.9 * len(even) > 0 and odd.count(0) < 0.1 * len(odd):
            return Reading("utf-16-be", 0.9, "detected")
        if odd.count(0) > 0.9 * len(odd) > 0 and even.count(0) < 0.1 * len(even):
            return Reading("utf-16-le", 0.9, "detected")
        raise BadInputError(
            f"the file is mostly NUL bytes ({sample.count(0)} of the first {len(sample)}): "
            "it is binary, or text in an encoding that cannot be recognised"
        )
    try:
        head.decode("utf-8")
        return Reading("utf-8", 1.0, "detected")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample boundary is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return Reading("utf-8", 1.0, "detected")
    return legacy_reading(head)


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


def legacy_reading(head: bytes, source: str = "detected") -> Reading:
    """A single- or multi-byte legacy encoding, from the bytes themselves (Shift-JIS, cp1251,
    GBK, ...); the Latin family as Latin-1, or cp1252 when its extra characters are used."""
    from charset_normalizer import from_bytes

    best = from_bytes(head, cp_exclusion=_NOT_LEGACY).best()
    if best is not None and best.encoding in _MULTI_BYTE:
        return Reading(best.encoding, 0.9, source)
    if best is not None and best.encoding in _SINGLE_BYTE_SCRIPTS and best.coherence >= _COHERENT:
        return Reading(best.encoding, round(min(0.9, 0.5 + best.coherence), 2), source)
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
    # –, ...) are used and every byte is one cp1252 defines. Bytes 0x80-0x9F that cp1252
    # leaves undefined are control characters in Latin-1: rarely text, so a low confidence.
    high = {b for b in head if 0x80 <= b < 0xA0}
    if high and not high & _CP1252_UNDEFINED:
        return Reading("cp1252", 0.7, source)
    return Reading("latin-1", 0.3 if high else 0.7, source)


def decode_sample(head: bytes, encoding: str, *, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = decoder.decode(head, final=complete)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise BadInputError(
            f"line {line}: the file is not valid {encoding} text (byte {exc.start}: {exc.reason})"
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


def sniff(head: bytes, *, complete: bool, reading: Reading | None = None) -> Dialect:
    """Sniff from the first bytes of a file (`complete` when they are the whole file), in the
    encoding `reading` names when one was declared."""
    if not head.strip():
        raise BadInputError("the file is empty")
    refuse_non_text(head)
    reading = reading or detect_reading(head)
    encoding = reading.encoding
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
        confidence=reading.confidence,
        encoding_source=reading.source,
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
