"""Why a service stopped, in one line, from the end of its log: the last error record's
message (JSON logs), or the exception line of the last traceback (plain stderr, e.g. a crash
before logging was configured)."""

from __future__ import annotations

import json
import re
from pathlib import Path

TAIL_BYTES = 256 * 1024
MAX_CHARS = 300
# Closing lines that only say that something failed, not what.
GENERIC = ("Application startup failed. Exiting.",)
CLASS_PREFIX = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Warning|Failure|Fault|Timeout)\w*: "
)
FRAME_LINE = re.compile(r"^\s|^(During handling|The above exception)")


def last_error(path: Path, offset: int = 0) -> str | None:
    """The reason the process that started writing `path` at `offset` gave for stopping."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(offset, size - TAIL_BYTES, 0))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    reason = None
    in_traceback = False
    for line in text.splitlines():
        record = _json(line)
        if record is not None:
            in_traceback = False
            found = _from_record(record)
        elif line.startswith("Traceback (most recent call last)"):
            in_traceback, found = True, None
        elif in_traceback and line.strip() and not FRAME_LINE.match(line):
            # The exception line ends a traceback; a chained one may follow.
            in_traceback, found = False, line.strip()
        else:
            found = None
        if found and found not in GENERIC:
            reason = found
    return _plain(reason) if reason else None


def _json(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _from_record(record: dict) -> str | None:
    if str(record.get("level", "")).lower() not in ("error", "critical", "fatal"):
        return None
    message = str(record.get("msg") or record.get("message") or "")
    if record.get("exc"):
        return _last_line(str(record["exc"])) or message
    if message.startswith("Traceback (most recent call last)"):
        return _last_line(message)
    return message.strip() or None


def _last_line(text: str) -> str | None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def _plain(reason: str) -> str:
    """Without the exception's class path (`flowforge.common.errors.TransientError: `)."""
    reason = CLASS_PREFIX.sub("", reason, count=1)
    return reason if len(reason) <= MAX_CHARS else reason[: MAX_CHARS - 1] + "…"


__all__ = ["last_error"]
