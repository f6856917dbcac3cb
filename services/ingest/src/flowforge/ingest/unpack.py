"""Compressed files (gzip, zstd, zip) are unpacked to scratch before parsing, within limits:
a file that would grow past `max_bytes`, or more than `max_ratio` times its packed size, is
refused (a zip bomb), never written out whole."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import pyarrow as pa

from flowforge.common.errors import BadInputError

GZIP, ZSTD, ZIP = b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"PK\x03\x04"
CHUNK = 4 * 1024 * 1024
MAX_DEPTH = 2


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)


def is_workbook(path: Path) -> bool:
    """An Excel .xlsx file (a zip holding `xl/workbook.xml`)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return "xl/workbook.xml" in archive.namelist()


# A workbook's sheets are read into memory whole (fastexcel): past this much unpacked XML a
# workbook is refused (save the sheet as CSV), whatever the unpack limits allow.
WORKBOOK_MAX_BYTES = 512 * 1024 * 1024


def check_workbook(path: Path, name: str, *, max_bytes: int, max_ratio: float) -> None:
    """Refuse a workbook whose parts unpack past the limits (an .xlsx is a zip: the same
    bomb as any other). The declared sizes are checked first; then every part is unpacked
    and counted (a part larger than it declares fails its CRC), so nothing is trusted."""
    packed = path.stat().st_size
    limit = int(min(max_bytes, WORKBOOK_MAX_BYTES, max(packed, 1) * max_ratio))

    def refuse(size: int) -> BadInputError:
        return BadInputError(
            f"{name}: refused, this workbook unpacks to more than {limit:,} bytes "
            f"({size:,} found; a compression bomb, or save the sheet as CSV; limits "
            "FLOWFORGE_UNPACK_MAX_BYTES / _RATIO, and 512 MiB for a workbook)"
        )

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            declared = sum(m.file_size for m in members)
            if declared > limit:
                raise refuse(declared)
            real = 0
            for member in members:
                with archive.open(member) as stream:
                    while chunk := stream.read(CHUNK):
                        real += len(chunk)
                        if real > limit:
                            raise refuse(real)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInputError(f"{name}: the workbook is damaged: {exc}") from exc


def _copy_limited(source, target: Path, name: str, limit: int) -> None:
    written = 0
    with open(target, "wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                target.unlink()
                raise BadInputError(
                    f"{name}: refused, it unpacks to more than {limit:,} bytes "
                    "(a compression bomb, or raise FLOWFORGE_UNPACK_MAX_BYTES / _RATIO)"
                )
            out.write(chunk)


def _zip_member(path: Path, name: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not PurePosixPath(info.filename).name.startswith(".")
        ]
    if len(members) != 1:
        listed = ", ".join(m.filename for m in members[:10]) or "nothing"
        raise BadInputError(f"{name}: a zip must hold exactly one data file; it holds {listed}")
    return members[0]


def unpack(
    path: Path, name: str, scratch: Path, *, max_bytes: int, max_ratio: float
) -> tuple[Path, str]:
    """The data file inside `path` (itself when not compressed) and its name."""
    for _ in range(MAX_DEPTH):
        head = _head(path)
        packed = path.stat().st_size
        limit = int(min(max_bytes, max(packed, 1) * max_ratio))
        target = scratch / f"unpacked-{len(path.name)}-{PurePosixPath(name).stem}"
        try:
            if head.startswith((GZIP, ZSTD)):
                codec = "gzip" if head.startswith(GZIP) else "zstd"
                with pa.CompressedInputStream(pa.OSFile(str(path)), codec) as stream:
                    _copy_limited(stream, target, name, limit)
                name = PurePosixPath(name).stem if name.endswith((".gz", ".zst")) else name
            elif head.startswith(ZIP) and not is_workbook(path):  # a workbook is read as is
                member = _zip_member(path, name)
                with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
                    _copy_limited(stream, target, name, limit)
                name = PurePosixPath(member.filename).name
            else:
                return path, name
        except (OSError, zipfile.BadZipFile, pa.ArrowException) as exc:
            raise BadInputError(f"{name}: the compressed file is damaged: {exc}") from exc
        path = target
    return path, name
