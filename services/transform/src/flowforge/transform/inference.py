"""Names, cleaning and safe type inference for Silver. Pure: Polars in, Polars out.

- names: snake_case, unique (the key is normalised the same way);
- values: trimmed; null tokens ("", NA, N/A, null, NULL, None, -) become null;
- types: inferred per column from *all* its values, and only when every non-null value
  parses, so a type never corrupts data: codes with leading zeros stay strings, an ambiguous
  date (could be US or EU) stays a string, a mixed column stays a string.
"""

from __future__ import annotations

import re

import polars as pl

LINEAGE = ("_source_file", "_source_line", "_ingested_at", "_run_id")
NULL_TOKENS = ["", "NA", "N/A", "n/a", "null", "NULL", "Null", "None", "none", "-", "nan", "NaN"]
TRUE_TOKENS = {"true", "yes", "y", "t"}
FALSE_TOKENS = {"false", "no", "n", "f"}

_INT = r"^[+-]?(0|[1-9]\d*)$"
_DECIMAL = r"^[+-]?(0|[1-9]\d*)?\.\d+$|^[+-]?(0|[1-9]\d*)\.$"
_FLOAT_EXP = r"^[+-]?((0|[1-9]\d*)(\.\d*)?|\.\d+)[eE][+-]?\d+$"
# (regex, strptime format) for date columns; US and EU share a shape and are disambiguated.
_DATE_FORMATS = [
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    (r"^\d{4}/\d{2}/\d{2}$", "%Y/%m/%d"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%m/%d/%Y"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
    (r"^\d{1,2}\.\d{1,2}\.\d{4}$", "%d.%m.%Y"),
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "%d-%m-%Y"),
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "%m-%d-%Y"),
]
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
_DATETIME_TZ = r"(Z|[+-]\d{2}:?\d{2})$"


def snake_case(name: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    if not text:
        text = "column"
    if text[0].isdigit():
        text = f"c_{text}"
    return text


def normalise_names(names: list[str]) -> dict[str, str]:
    """Original → snake_case, made unique with a numeric suffix."""
    out: dict[str, str] = {}
    seen: set[str] = set(LINEAGE)
    for name in names:
        base = snake_case(name)
        candidate, n = base, 2
        while candidate in seen:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate)
        out[name] = candidate
    return out


def clean_expr(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().replace(NULL_TOKENS, None)


class _Values:
    """A column's present values, with a small probe tried first: most candidate types fail
    on a few values, so the full column is only scanned for a type the probe allows."""

    def __init__(self, present: pl.Series):
        self.present = present
        step = max(present.len() // 2000, 1)
        self.probe = present.gather_every(step) if present.len() > 4000 else present

    def all(self, test) -> bool:
        return bool(test(self.probe).all()) and bool(test(self.present).all())

    def match(self, pattern: str) -> bool:
        return self.all(lambda s: s.str.contains(pattern))


def infer_type(values: pl.Series) -> tuple[str, pl.Expr | None]:
    """The narrowest safe type of a cleaned string column, and the expression casting it."""
    present = values.drop_nulls()
    name = values.name
    if present.len() == 0:
        return "string", None
    v = _Values(present)
    if v.all(lambda s: s.str.to_lowercase().is_in(TRUE_TOKENS | FALSE_TOKENS)):
        expr = pl.col(name).str.to_lowercase().is_in(TRUE_TOKENS)
        return "boolean", pl.when(pl.col(name).is_null()).then(None).otherwise(expr)
    if v.match(_INT):
        if present.str.strip_chars("+-").str.len_chars().max() <= 18:
            return "integer", pl.col(name).str.strip_chars_start("+").cast(pl.Int64)
        return "string", None
    if v.match(_INT + "|" + _DECIMAL):
        scale = present.str.extract(r"\.(\d*)$").str.len_chars().fill_null(0).max()
        digits = present.str.replace_all(r"[^0-9]", "").str.len_chars().max()
        if scale <= 18 and digits <= 38:
            dtype = pl.Decimal(38, int(scale))
            return f"decimal(38,{scale})", pl.col(name).str.strip_chars_start("+").cast(dtype)
        return "string", None  # wider than an exact decimal: the text is the only safe form
    if v.match(_FLOAT_EXP + "|" + _INT + "|" + _DECIMAL):
        as_float = present.cast(pl.Float64, strict=False)
        if as_float.null_count() == 0 and not as_float.is_infinite().any():
            return "double", pl.col(name).cast(pl.Float64)
        return "string", None
    date = _date_type(v, name)
    if date is not None:
        return date
    if v.match(_DATETIME):
        return _datetime_type(present, name)
    return "string", None


def _date_type(v: _Values, name: str) -> tuple[str, pl.Expr] | None:
    fits = []
    for pattern, fmt in _DATE_FORMATS:
        if v.match(pattern) and v.all(
            lambda s, f=fmt: s.str.to_date(f, strict=False).is_not_null()
        ):
            fits.append(fmt)
    if len(fits) != 1:
        return None  # none fits, or US and EU both fit: ambiguous, keep the text
    return "date", pl.col(name).str.to_date(fits[0], strict=True)


def _datetime_type(present: pl.Series, name: str) -> tuple[str, pl.Expr | None]:
    with_tz = present.str.contains(_DATETIME_TZ)
    if with_tz.any() and not with_tz.all():
        return "string", None  # some with an offset, some without: no safe common instant
    normalised = pl.col(name).str.replace(" ", "T").str.replace(r"Z$", "+00:00")
    # Microseconds unless a value has more fraction digits: a type never truncates a value.
    unit = "ns" if present.str.contains(r"\.\d{7,}").any() else "us"
    if with_tz.all():
        expr = normalised.str.to_datetime(time_unit=unit, time_zone="UTC", strict=False)
        kind = "timestamp with time zone"
    else:
        expr = normalised.str.to_datetime(time_unit=unit, strict=False)
        kind = "timestamp"
    probe = present.to_frame().select(expr.alias(name)).to_series()
    if probe.null_count():
        return "string", None
    return kind, expr
