"""Which encoding a text file is read in, how sure that is, and the files no single encoding
reads honestly. Every run records its reading (`Reading`); a guess that had to fall back, or
is unsure, is also a warning on the run.

Confidence, on one documented scale (docs/formats.md): 1.0 when the bytes leave no doubt (a
byte-order mark, a declared encoding, valid UTF-8), 0.9 for a multi-byte legacy encoding whose
byte sequences all validate (Shift-JIS, GBK, ...), 0.5-0.9 for a single-byte script by how well
its letters read as a language, 0.7 between the Latin code pages (which a sample cannot tell
apart: cp1252 vs. cp1250 differ in a few letters), 0.3 for Latin-1 holding C1 control bytes.

Refused, with the lines that show it: a file whose lines are partly valid UTF-8 and partly not
(the mix of encodings no single reading gets right), and a file not valid in the encoding it
was declared to be in.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from flowforge.common.errors import BadInputError

CHUNK = 1 << 20
SAMPLE_LIMIT = 256 * 1024  # bytes of non-UTF-8 lines the legacy guess looks at
WARN_BELOW = 0.8  # a reading less sure than this is a warning on the run
_HIGH = re.compile(rb"[\x80-\xff]")


@dataclass(frozen=True)
class Reading:
    encoding: str
    confidence: float
    source: str  # "declared" | "bom" | "detected" | "fallback"

    def public(self) -> dict[str, object]:
        return {"encoding": self.encoding, "confidence": self.confidence, "source": self.source}


def declared(name: str) -> Reading:
    """A declared encoding, by any name Python knows it by (`latin1`, `windows-1252`, ...)."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise BadInputError(
            f"unknown encoding {name!r}; name one like utf-8, cp1252, latin-1, shift_jis"
        ) from None
    return Reading(canonical, 1.0, "declared")


@dataclass
class Scan:
    """Lines holding bytes above ASCII, split by whether they are valid UTF-8."""

    first_utf8: int | None = None  # line number of the first non-ASCII line valid as UTF-8
    first_other: int | None = None  # ... and of the first that is not
    other_byte: int | None = None  # the first byte of it that UTF-8 refuses
    sample: bytes = b""  # non-UTF-8 lines, for the legacy guess

    @property
    def mixed(self) -> bool:
        return self.first_utf8 is not None and self.first_other is not None


def scan(path: Path) -> Scan:
    """One pass over the file in chunks: ASCII chunks are skipped at C speed; a chunk with
    other bytes is checked whole as UTF-8 and only line by line when that fails."""
    found = Scan()
    sample = bytearray()
    line = 1  # the line the current chunk starts on
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(CHUNK)
            data = carry + block
            if block:
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) < 16 * CHUNK:  # a line longer than that: as it is
                    carry = data
                    continue
                data, carry = (data[:cut], data[cut:]) if cut else (data, b"")
            else:
                carry = b""
            if not data:
                break
            if not data.isascii():
                _scan_chunk(data, line, found, sample)
            line += data.count(b"\n")
            if found.mixed and len(sample) >= SAMPLE_LIMIT:
                break
            if not block:
                break
    found.sample = bytes(sample)
    return found


def _scan_chunk(data: bytes, line: int, found: Scan, sample: bytearray) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if found.first_utf8 is None:
            first = _HIGH.search(data)
            found.first_utf8 = line + data.count(b"\n", 0, first.start() if first else 0)
        return
    for number, text in enumerate(data.split(b"\n"), start=line):
        if text.isascii():
            continue
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as exc:
            if found.first_other is None:
                found.first_other, found.other_byte = number, text[exc.start]
            if len(sample) < SAMPLE_LIMIT:
                sample += text + b"\n"
        else:
            if found.first_utf8 is None:
                found.first_utf8 = number


def refuse_mixed(found: Scan, source_file: str) -> None:
    if found.mixed:
        raise BadInputError(
            f"{source_file}: line {found.first_other}: byte 0x{found.other_byte:02X} is not "
            f"UTF-8, while line {found.first_utf8} is UTF-8: the file mixes encodings and no "
            "single reading of it is right. Re-save it as UTF-8, or upload it with the "
            "`encoding` it is in to read it all that way"
        )


def first_bad_line(path: Path, encoding: str) -> tuple[int, str] | None:
    """The first line not valid in `encoding`, with the reason; None when all of it is."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                before = chunk[: max(exc.start, 0)].decode(encoding, errors="replace")
                return line + before.count("\n"), exc.reason
            line += text.count("\n")
            if not chunk:
                return None


def refuse_undecodable(path: Path, reading: Reading, source_file: str) -> None:
    """Raise naming the first line not valid in the encoding read (declared or detected)."""
    bad = first_bad_line(path, reading.encoding)
    where = f"line {bad[0]}: " if bad else ""
    why = f" ({bad[1]})" if bad else ""
    hint = (
        "check the encoding declared on upload"
        if reading.source == "declared"
        else "upload it with the `encoding` it is in"
    )
    raise BadInputError(
        f"{source_file}: {where}not valid {reading.encoding} text{why}; {hint}"
    ) from None


def warning_of(reading: Reading, first_other: int | None = None) -> str | None:
    """The run's warning about this reading, if it deserves one."""
    if reading.source == "fallback":
        return (
            f"not UTF-8 from line {first_other} on: the file was read as {reading.encoding} "
            f"(confidence {reading.confidence:.1f}); if that is wrong, upload it again with "
            "its `encoding` (and `force`: the content is the same)"
        )
    if reading.source == "detected" and reading.confidence < WARN_BELOW:
        return (
            f"the file is not UTF-8; it was read as {reading.encoding}, a guess with "
            f"confidence {reading.confidence:.1f}; if that is wrong, upload it again with its "
            "`encoding` (and `force`: the content is the same)"
        )
    return None
