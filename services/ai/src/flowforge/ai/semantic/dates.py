"""Dates, times and date-times: every layout under which a value is a real one (strptime,
so 2023-02-30 is no date), cached because a column repeats its values."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d. %m. %Y",  # Czech, Slovak
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%a, %d %b %Y",
    "%A, %B %d, %Y",
)
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")
_DATE_SHAPE = re.compile(r"^(?=.*\d)[\w ,./-]{6,32}$")
_TIME_SHAPE = re.compile(r"^\d{1,2}:\d{2}")
_DATETIME_SPLIT = re.compile(
    r"^(?P<date>.+?)(?P<sep>T|\s+|,\s*)(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:\s*[AaPp][Mm])?)(?P<tz>Z|\s*[+-]\d{2}:?\d{2}|\s+UTC|\s+GMT)?$"
)


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def date_formats(text: str) -> tuple[str, ...]:
    """Every layout of DATE_FORMATS under which `text` is a real calendar date."""
    if not _DATE_SHAPE.match(text):
        return ()
    return tuple(f for f in DATE_FORMATS if _parses(text, f))


@lru_cache(maxsize=65536)
def time_formats(text: str) -> tuple[str, ...]:
    if not _TIME_SHAPE.match(text):
        return ()
    text = re.sub(r"(\.\d{6})\d+$", r"\1", text)  # strptime's %f stops at microseconds
    return tuple(f for f in TIME_FORMATS if _parses(text, f))


@lru_cache(maxsize=65536)
def datetime_formats(text: str) -> tuple[str, ...]:
    match = _DATETIME_SPLIT.match(text)
    if not match:
        return ()
    days, times = date_formats(match["date"]), time_formats(match["time"])
    sep = {"T": "T", ",": ", "}.get(match["sep"].strip()[:1], " ")
    tz = match["tz"] or ""
    zone = "%z" if tz.strip()[:1] in ("Z", "+", "-") else tz
    return tuple(d + sep + t + zone for d in days for t in times)
