"""Bronze → Silver with safe defaults. Pure: a Polars frame in, a frame and counts out.

- names: snake_case, unique (the key is normalised the same way);
- values: trimmed; null tokens ("", NA, N/A, null, NULL, None, -) become null;
- types: inferred per column from *all* its values, and only when every non-null value
  parses, so a type never corrupts data: codes with leading zeros stay strings, an ambiguous
  date (could be US or EU) stays a string, a mixed column stays a string;
- duplicates: exact duplicate rows are removed (first kept), then, when the dataset declares
  a key, rows sharing a key keep only the latest (the last in the file). Rows with a null key
  part are never merged (quality quarantines them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SilverResult:
    frame: pl.DataFrame
    bronze: int
    duplicates: int
    types: dict[str, str]
    key: list[str]

    @property
    def silver(self) -> int:
        return self.frame.height


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


def clean_values(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).str.strip_chars().replace(NULL_TOKENS, None) for c in columns
    )


def infer_type(values: pl.Series) -> tuple[str, pl.Expr | None]:
    """The narrowest safe type of a cleaned string column, and the expression casting it."""
    present = values.drop_nulls()
    name = values.name
    if present.len() == 0:
        return "string", None
    lowered = present.str.to_lowercase()
    if lowered.is_in(TRUE_TOKENS | FALSE_TOKENS).all():
        expr = pl.col(name).str.to_lowercase().is_in(TRUE_TOKENS)
        return "boolean", pl.when(pl.col(name).is_null()).then(None).otherwise(expr)
    if present.str.contains(_INT).all():
        if present.str.strip_chars("+-").str.len_chars().max() <= 18:
            return "integer", pl.col(name).str.strip_chars_start("+").cast(pl.Int64)
        return "string", None
    if present.str.contains(_INT + "|" + _DECIMAL).all():
        scale = present.str.extract(r"\.(\d*)$").str.len_chars().fill_null(0).max()
        digits = present.str.replace_all(r"[^0-9]", "").str.len_chars().max()
        if scale <= 18 and digits <= 38:
            dtype = pl.Decimal(38, int(scale))
            return f"decimal(38,{scale})", pl.col(name).str.strip_chars_start("+").cast(dtype)
        return "string", None  # wider than an exact decimal: the text is the only safe form
    if present.str.contains(_FLOAT_EXP + "|" + _INT + "|" + _DECIMAL).all():
        as_float = present.cast(pl.Float64, strict=False)
        if as_float.null_count() == 0 and not as_float.is_infinite().any():
            return "double", pl.col(name).cast(pl.Float64)
        return "string", None
    date = _date_type(present, name)
    if date is not None:
        return date
    if present.str.contains(_DATETIME).all():
        return _datetime_type(present, name)
    return "string", None


def _date_type(present: pl.Series, name: str) -> tuple[str, pl.Expr] | None:
    fits = []
    for pattern, fmt in _DATE_FORMATS:
        if not present.str.contains(pattern).all():
            continue
        parsed = present.str.to_date(fmt, strict=False)
        if parsed.null_count() == 0:
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


def dedupe(frame: pl.DataFrame, data_columns: list[str], key: list[str]) -> pl.DataFrame:
    """Without a key: drop exact duplicate rows (first kept). With a key: keep the last row of
    each key (an exact duplicate is a repeat of its key); rows with a null key part are never
    merged with each other by key, only exact duplicates among them are dropped."""
    if not key:
        return frame.unique(subset=data_columns, keep="first", maintain_order=True)
    has_key = pl.all_horizontal(pl.col(k).is_not_null() for k in key)
    keyed = frame.filter(has_key).unique(subset=key, keep="last", maintain_order=True)
    unkeyed = frame.filter(~has_key).unique(subset=data_columns, keep="first",
                                             maintain_order=True)
    if unkeyed.height == 0:
        return keyed.sort("_source_line")
    return pl.concat([keyed, unkeyed]).sort("_source_line")


def bronze_to_silver(bronze: pl.DataFrame, key: list[str]) -> SilverResult:
    """Clean, type and dedupe one Bronze batch. `key` uses the original or the silver names."""
    data = [c for c in bronze.columns if c not in LINEAGE]
    names = normalise_names(data)
    frame = clean_values(bronze, data).rename(names)
    silver_cols = list(names.values())
    types: dict[str, str] = {}
    casts = []
    for column in silver_cols:
        kind, expr = infer_type(frame.get_column(column))
        types[column] = kind
        if expr is not None:
            casts.append(expr.alias(column))
    if casts:
        frame = frame.with_columns(casts)
    silver_key = resolve_key(key, names)
    result = dedupe(frame, silver_cols, silver_key)
    return SilverResult(
        frame=result.select(*silver_cols, *[c for c in LINEAGE if c in result.columns]),
        bronze=bronze.height,
        duplicates=bronze.height - result.height,
        types=types,
        key=silver_key,
    )


def resolve_key(key: list[str], names: dict[str, str]) -> list[str]:
    """Map declared key columns (original or snake_case names) to Silver names."""
    silver = set(names.values())
    out = []
    for column in key:
        if column in names:
            out.append(names[column])
        elif column in silver:
            out.append(column)
        elif snake_case(column) in silver:
            out.append(snake_case(column))
        else:
            from flowforge.common.errors import BadInputError

            raise BadInputError(
                f"key column {column!r} is not in the file; its columns are {sorted(names)}"
            )
    return out
