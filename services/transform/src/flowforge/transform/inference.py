"""Names, cleaning and safe type inference for Silver. Pure: Polars in, Polars out.

- names: snake_case, unique (the key is normalised the same way);
- values: trimmed; null tokens ("", NA, N/A, null, NULL, None, -) become null;
- types: inferred per column, and only when every non-null value parses, so a type never
  corrupts data: codes with leading zeros stay strings, an ambiguous date (could be US or EU)
  stays a string, a mixed column stays a string. A large file is typed from a sample and each
  sampled type is checked on every value as it is cast (`misfit_expr`: the same tests
  inference applies); a value that breaks it sends the column back to inference from all
  its values (silver.py).
"""

from __future__ import annotations

import re

import polars as pl

LINEAGE = ("_source_file", "_source_line", "_ingested_at", "_run_id")
NULL_TOKENS = ["", "NA", "N/A", "n/a", "null", "NULL", "Null", "None", "none", "-", "nan", "NaN"]
TRUE_TOKENS = {"true", "yes", "y", "t"}
FALSE_TOKENS = {"false", "no", "n", "f"}

_INT = r"^[+-]?(0|[1-9]\d*)$"
_INT_18 = r"^[+-]?(0|[1-9]\d{0,17})$"  # `_INT` of at most 18 digits, one regex (2.8 -> 1.2 ms)
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
# An offset as ISO 8601 writes it (Z, +02:00, +0200) or PostgreSQL prints it (+00, +05:30).
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_DATETIME_TZ = r"(Z|[+-]\d{2}(:?\d{2})?)$"


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
        if self.probe is self.present:  # a small column is its own probe: tested once
            return bool(test(self.present).all())
        return bool(test(self.probe).all()) and bool(test(self.present).all())

    def match(self, pattern: str) -> bool:
        return self.all(lambda s: s.str.contains(pattern))


def infer_type(values: pl.Series) -> tuple[str, pl.Expr | None]:
    """The narrowest safe type of a cleaned string column, and the expression casting it."""
    spec = infer_spec(values)
    return public_kind(spec), cast_expr(spec, values.name)


# A type spec names a Silver type and how text becomes it: "boolean", "integer",
# "decimal:<scale>", "double", "date:<strptime format>", "timestamp:<unit>",
# "timestamptz:<unit>" or "string". Transform pins a dataset's specs, so later files are cast
# the same way whenever every value fits.


def infer_spec(values: pl.Series) -> str:
    present = values.drop_nulls()
    if present.len() == 0:
        return "string"
    v = _Values(present)
    if v.all(lambda s: s.str.to_lowercase().is_in(TRUE_TOKENS | FALSE_TOKENS)):
        return "boolean"
    if v.match(_INT):
        return "integer" if _int_fits(present) else "string"
    if v.match(_INT + "|" + _DECIMAL):
        scale, digits = _scale_digits(present)
        # Wider than an exact decimal: the text is the only safe form.
        return f"decimal:{scale}" if scale <= 18 and digits <= 38 else "string"
    if v.match(_FLOAT_EXP + "|" + _INT + "|" + _DECIMAL):
        return "double" if _double_fits(present) else "string"
    dates = [fmt for pattern, fmt in _DATE_FORMATS if _date_fits(v, pattern, fmt)]
    if len(dates) == 1:  # none fits, or US and EU both fit (ambiguous): not a date
        return f"date:{dates[0]}"
    if v.match(_DATETIME):
        return _datetime_spec(present)
    return "string"


def fits(spec: str, values: pl.Series) -> bool:
    """Whether every value of the column converts under `spec` without loss."""
    present = values.drop_nulls()
    kind, _, detail = spec.partition(":")
    if kind == "string" or present.len() == 0:
        return True
    v = _Values(present)
    if kind == "boolean":
        return v.all(lambda s: s.str.to_lowercase().is_in(TRUE_TOKENS | FALSE_TOKENS))
    if kind == "integer":
        return v.match(_INT) and _int_fits(present)
    if kind == "decimal":
        if not v.match(_INT + "|" + _DECIMAL):
            return False
        scale, digits = _scale_digits(present)
        return scale <= int(detail) and digits - scale <= 38 - int(detail)
    if kind == "double":
        return v.match(_FLOAT_EXP + "|" + _INT + "|" + _DECIMAL) and _double_fits(present)
    if kind == "date":
        return bool(v.all(lambda s: s.str.to_date(detail, strict=False).is_not_null()))
    if kind in ("timestamp", "timestamptz"):
        return v.match(_DATETIME) and _datetime_spec(present, unit=detail) == spec
    return False


def fits_expr(spec: str, name: str) -> pl.Expr:
    """`fits(spec, column)` as one boolean aggregate over a cleaned column `name`, so that a
    batch's pinned types are all checked in one query (a 1k-row file: ~25 small queries per
    column took most of its inference). The same verdict as `fits` (a test holds it to that)."""
    col = pl.col(name)
    kind, _, detail = spec.partition(":")
    if kind == "string":
        return pl.lit(True)
    if kind == "boolean":
        ok = col.str.to_lowercase().is_in(TRUE_TOKENS | FALSE_TOKENS).all()
    elif kind == "integer":
        ok = col.str.contains(_INT).all() & (col.str.strip_chars("+-").str.len_chars().max() <= 18)
    elif kind == "decimal":
        scale = col.str.extract(r"\.(\d*)$").str.len_chars().fill_null(0).max()
        digits = col.str.replace_all(r"[^0-9]", "").str.len_chars().max()
        ok = (
            col.str.contains(_INT + "|" + _DECIMAL).all()
            & (scale <= int(detail))
            & (digits - scale <= 38 - int(detail))
        )
    elif kind == "double":
        number = col.cast(pl.Float64, strict=False)
        ok = (
            col.str.contains(_FLOAT_EXP + "|" + _INT + "|" + _DECIMAL).all()
            & ~(col.is_not_null() & number.is_null()).any()
            & ~number.is_infinite().any()
        )
    elif kind == "date":
        ok = (col.is_null() | col.str.to_date(detail, strict=False).is_not_null()).all()
    elif kind in ("timestamp", "timestamptz"):
        offset = col.str.contains(_DATETIME_TZ)
        alike = col.str.contains(_DATETIME) & (offset if kind == "timestamptz" else ~offset)
        # Only values of the spec's own shape are parsed (any other is null: not a fit), as
        # `fits` parses only a column of them (Polars' layout inference can panic on a mix).
        parsed = _timestamp_cast(pl.when(alike).then(col), kind, detail)
        ok = (col.is_null() | parsed.is_not_null()).all()
        if detail == "us":
            ok = ok & ~col.str.contains(_MORE_THAN_US).any()
    else:
        ok = pl.lit(False)
    return col.is_null().all() | ok.fill_null(False)


def public_kind(spec: str) -> str:
    kind, _, detail = spec.partition(":")
    return {
        "decimal": f"decimal(38,{detail})",
        "date": "date",
        "timestamptz": "timestamp with time zone",
    }.get(kind, kind)


def cast_expr(spec: str, name: str, *, strict: bool = True) -> pl.Expr | None:
    """The cast of a cleaned text column to `spec`; with `strict=False` a value that does not
    convert becomes null instead of failing the query (`misfit_expr` then flags it)."""
    kind, _, detail = spec.partition(":")
    col = pl.col(name)
    if kind == "boolean":
        return (
            pl.when(col.is_null()).then(None).otherwise(col.str.to_lowercase().is_in(TRUE_TOKENS))
        )
    if kind == "integer":
        return col.str.strip_chars_start("+").cast(pl.Int64, strict=strict)
    if kind == "decimal":
        return col.str.strip_chars_start("+").cast(pl.Decimal(38, int(detail)), strict=strict)
    if kind == "double":
        return col.cast(pl.Float64, strict=strict)
    if kind == "date":
        return col.str.to_date(detail, strict=strict)
    if kind in ("timestamp", "timestamptz"):
        return _timestamp_cast(col, kind, detail)
    return None


def _timestamp_cast(text: pl.Expr, kind: str, unit: str) -> pl.Expr:
    normalised = (
        text.str.replace(" ", "T")
        .str.replace(r"Z$", "+00:00")
        .str.replace(r"([+-]\d{2})$", "${1}:00")
    )
    zone = "UTC" if kind == "timestamptz" else None
    return normalised.str.to_datetime(time_unit=unit, time_zone=zone, strict=False)


_ISO_PARTS = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ])\d{2}:\d{2}(:\d{2})?(\.\d{1,9})?(Z|[+-]\d{2}(:?\d{2})?)?"
)


def layout_cast(spec: str, name: str, example: str) -> pl.Expr | None:
    """A timestamp cast by the explicit layout of `example` (one cleaned value of the
    column), several times faster than `cast_expr`'s (which normalises each value and lets
    Polars work out the layout): a value of another layout becomes null, so the caller
    checks that every present value was cast and otherwise uses `cast_expr`. None when the
    spec is not a timestamp or the example has no such layout (an offset of hours only)."""
    kind, _, unit = spec.partition(":")
    found = _ISO_PARTS.fullmatch(example) if kind in ("timestamp", "timestamptz") else None
    if found is None:
        return None
    sep, seconds, fraction, zone, minutes = found.groups()
    if (zone is not None) != (kind == "timestamptz") or (zone not in (None, "Z") and not minutes):
        return None
    layout = f"%Y-%m-%d{sep}%H:%M" + (":%S" if seconds else "") + ("%.f" if fraction else "")
    if zone is not None:
        layout += "Z" if zone == "Z" else "%:z" if minutes.startswith(":") else "%z"
    return pl.col(name).str.to_datetime(
        layout, time_unit=unit, time_zone="UTC" if zone else None, strict=False
    )


_DATE_PATTERNS = {fmt: pattern for pattern, fmt in _DATE_FORMATS}
_MORE_THAN_US = r"\.\d{7,}"


def misfit_expr(spec: str, text: pl.Expr, typed: pl.Expr) -> pl.Expr | None:
    """Per row: whether a present cleaned value (`text`) breaks what inference requires of
    `spec` over a whole column, given its cast with `strict=False` (`typed`). At least as strict
    as `fits`: a column with no misfit is typed exactly as inference from all its values would
    type it (a decimal's scale or a timestamp's unit included); a misfit column is re-inferred."""
    kind, _, detail = spec.partition(":")
    if kind == "string":
        return None
    if kind == "boolean":
        ok = text.str.to_lowercase().is_in(TRUE_TOKENS | FALSE_TOKENS)
    elif kind == "integer":
        ok = text.str.contains(_INT_18)
    elif kind == "decimal":
        ok = text.str.contains(_decimal_pattern(int(detail)))
    elif kind == "double":
        ok = text.str.contains(_FLOAT_EXP + "|" + _INT + "|" + _DECIMAL) & typed.is_finite()
    elif kind == "date":
        ok = text.str.contains(_DATE_PATTERNS[detail])
    elif kind in ("timestamp", "timestamptz"):
        ok = text.str.contains(_datetime_pattern(kind == "timestamptz", detail == "ns"))
    else:
        return pl.lit(True)
    return text.is_not_null() & (typed.is_null() | ~ok)


def _datetime_pattern(tz: bool, ns: bool) -> str:
    """`_DATETIME` with an offset (`tz`) or without one, and at most 6 places of seconds
    unless `ns`, as one regex (three regexes took twice the time)."""
    places = 9 if ns else 6
    offset = r"(Z|[+-]\d{2}(:?\d{2})?)" if tz else ""
    return rf"^\d{{4}}-\d{{2}}-\d{{2}}[T ]\d{{2}}:\d{{2}}(:\d{{2}}(\.\d{{1,{places}}})?)?{offset}$"


def _decimal_pattern(scale: int) -> str:
    """An integer or decimal (`_INT`, `_DECIMAL`) of at most `scale` places and 38 - `scale`
    whole digits (so at most 38 digits in all) as one regex: 5x faster than measuring the
    parts. ASCII digits only (a cast reads no others)."""
    whole = f"(0|[1-9][0-9]{{0,{37 - scale}}})"
    if scale == 0:
        return rf"^[+-]?{whole}\.?$"
    return rf"^[+-]?({whole}(\.[0-9]{{0,{scale}}})?|{whole}?\.[0-9]{{1,{scale}}})$"


def settled_by_sample(spec: str, sample: pl.Series) -> bool:
    """Whether a sample's verdict holds for the whole column without reading it: a typed
    verdict is checked as the column is cast (`misfit_expr`); "string" stands unless the
    sample had too few values to judge, or its dates read as US and EU alike (more values
    may tell them apart)."""
    if spec != "string":
        return True
    present = sample.drop_nulls()
    if present.len() < 1_000:
        return False
    v = _Values(present)
    return sum(_date_fits(v, pattern, fmt) for pattern, fmt in _DATE_FORMATS) < 2


def _int_fits(present: pl.Series) -> bool:
    return present.str.strip_chars("+-").str.len_chars().max() <= 18


def _scale_digits(present: pl.Series) -> tuple[int, int]:
    scale = present.str.extract(r"\.(\d*)$").str.len_chars().fill_null(0).max()
    digits = present.str.replace_all(r"[^0-9]", "").str.len_chars().max()
    return int(scale), int(digits)


def _double_fits(present: pl.Series) -> bool:
    as_float = present.cast(pl.Float64, strict=False)
    return as_float.null_count() == 0 and not as_float.is_infinite().any()


def _date_fits(v: _Values, pattern: str, fmt: str) -> bool:
    return v.match(pattern) and v.all(lambda s: s.str.to_date(fmt, strict=False).is_not_null())


def _datetime_spec(present: pl.Series, unit: str | None = None) -> str:
    with_tz = present.str.contains(_DATETIME_TZ)
    if with_tz.any() and not with_tz.all():
        return "string"  # some with an offset, some without: no safe common instant
    # Microseconds unless a value has more fraction digits: a type never truncates a value.
    unit = unit or ("ns" if present.str.contains(r"\.\d{7,}").any() else "us")
    if unit == "us" and present.str.contains(r"\.\d{7,}").any():
        return "string"
    spec = f"timestamptz:{unit}" if with_tz.all() else f"timestamp:{unit}"
    parsed = present.to_frame().select(cast_expr(spec, present.name)).to_series()
    return "string" if parsed.null_count() else spec
