"""Data-quality rules a column's semantic type implies (`format`, `range`, `regex`, `unique`,
`accepted_values`...), offered as suggestions a person accepts or not."""

from __future__ import annotations

import re

from flowforge.ai.profile import ColumnProfile
from flowforge.ai.semantic.decision import SemanticGuess
from flowforge.common.rules import FORMATS, parse_rules

_FORMAT_OF = {
    "email": "email",
    "url": "url",
    "uuid": "uuid",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "phone": "phone",
    "currency_code": "currency_code",
    "country": "country_code",
    "postal_code": "postal_code_us",
}
_RANGES = {"latitude": (-90, 90), "longitude": (-180, 180), "year": (1800, 2100)}
_REGEX_OF = {
    "us_ssn": r"[0-9]{3}-[0-9]{2}-[0-9]{4}",
    "mac_address": r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}(?:\.[0-9A-Fa-f]{4}){2}",
    "hex_color": r"#?(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})",
    "time": r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:\s*[AaPp][Mm])?",
    "phone": r"(?:\+|00)?[0-9 ().\-/]{6,24}[0-9](?:\s*(?:x|ext\.?|#)\s*[0-9]{1,6})?",
    "percentage": r"[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)\s*%",
    "iban": r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}",
}
_COVER = 0.95  # a rule is suggested only if at least this share of the sample passes it


def suggest_rules(guess: SemanticGuess, profile: ColumnProfile) -> list[dict]:
    """Data-quality rules the guess implies, as FlowForge rule specs with action `warn`: a
    suggestion records failures but quarantines nothing until a person accepts it. A rule is
    only suggested if the profiled sample already passes it (≥ 95 %). An uncertain guess
    implies no rule of its type: only `not_null`, which holds whatever the type."""
    column, kind, sample = profile.name, guess.type, profile.sample
    specs: list[dict] = []

    def add(rule: str, **params) -> None:
        slug = re.sub(r"[^A-Za-z0-9_.:-]+", "_", column).strip("_") or "column"
        specs.append(
            {"name": f"{rule}_{slug}"[:120], "type": rule, "column": column}
            | params
            | {"action": "warn"}
        )

    if profile.rows and profile.nulls == 0:
        add("not_null")
    if guess.uncertain:
        parse_rules({"rules": specs})
        return specs
    if kind in ("identifier", "uuid") and profile.present and profile.distinct >= profile.present:
        add("unique")
    fmt = _FORMAT_OF.get(kind)
    if fmt and not _covers(sample, FORMATS[fmt]):
        fmt = None  # e.g. phones written (555) 123-4567: the regex below fits them instead
    if fmt:
        add("format", format=fmt)
    if kind in ("date", "datetime") and guess.format:
        add("format", **_date_rule(kind, guess.format))
    low, high = _range(kind, profile)
    if low is not None:
        add("range", min=low, max=high)
    pattern = _REGEX_OF.get(kind) or (_shape_regex(profile) if kind == "code" else None)
    if pattern and not fmt and low is None and _covers(sample, pattern):
        add("regex", pattern=pattern)
    if kind in ("category", "gender", "currency_code", "country") and 0 < profile.distinct <= 20:
        values = sorted(set(sample))
        if len(values) >= profile.distinct and not fmt:
            add("accepted_values", values=values)
    parse_rules({"rules": specs})  # a suggestion that would not load is a bug here
    return specs


def _covers(sample: list[str], pattern: str) -> bool:
    if not sample:
        return False
    compiled = re.compile(pattern)
    return sum(bool(compiled.fullmatch(v)) for v in sample) >= _COVER * len(sample)


def _date_rule(kind: str, fmt: str) -> dict:
    if kind == "datetime" and re.match(r"%Y-%m-%d[T ]%H:%M", fmt):
        return {"format": "datetime"}  # the ISO pattern covers every offset and fraction
    # Polars (chrono) spells an optional-colon offset %#z and a fraction %.f.
    return {"format": kind, "date_format": fmt.replace("%z", "%#z").replace(".%f", "%.f")}


def _range(kind: str, profile: ColumnProfile) -> tuple[float | None, float | None]:
    """Ranges only on plain numbers: Silver types them as numbers; `12%` stays text."""
    if profile.numeric_min is None or profile.numeric_max is None:
        return None, None
    if kind in _RANGES:
        return _RANGES[kind]
    if kind == "percentage" and profile.numeric_min >= 0:
        return (0, 1) if profile.numeric_max <= 1 else (0, 100)
    return None, None


def _shape_regex(profile: ColumnProfile) -> str | None:
    """A fixed-width code's regex from its dominant shape: `AA-99999` → [A-Z]{2}-[0-9]{5}."""
    if not profile.patterns or profile.patterns[0][0].endswith("…"):
        return None
    shape = profile.patterns[0][0]
    classes = {"9": "[0-9]", "A": "[A-Z]", "a": "[a-z]"}
    parts = [
        (classes[run[0]] + (f"{{{len(run)}}}" if len(run) > 1 else ""))
        if run[0] in classes
        else re.escape(run)
        for run in (m.group(0) for m in re.finditer(r"9+|A+|a+|[^9Aa]+", shape))
    ]
    return "".join(parts)
