"""The per-type detectors: from a column's evidence, every type whose share of values clears
the bar (80 %, or 60 % when the name agrees), with the share and a phrase for the reason, and
the near misses (40 % or more) that can only be runners-up.
Some types are only considered when the name or enough of the values point at them (0/1 is
boolean only under a flag-like name; plain numbers are percentages only under a percent-like
one); `decision` picks among the candidates."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from flowforge.ai.profile import ColumnProfile
from flowforge.ai.semantic.dates import date_formats, datetime_formats, time_formats
from flowforge.ai.semantic.evidence import Shares
from flowforge.ai.semantic.reference import BOOLEAN_FALSE, BOOLEAN_TRUE, GENDERED

BAR, BAR_NAMED = 0.8, 0.6
NEAR = 0.4  # a type this share of the values supports is a near miss: a runner-up, not a guess


@dataclass
class Candidate:
    type: str
    share: float
    detail: str
    format: str | None = None
    priority: int | None = None  # instead of the type's, for weaker evidence of it
    near: bool = False  # below the bar: a runner-up only


def candidates(ev: Shares, profile: ColumnProfile, agrees: set[str]) -> list[Candidate]:
    """The types the values support, and (`near`) those they half support."""
    out: list[Candidate] = [Candidate("text", 1.0, "are text with no recognisable shape")]

    def add(kind: str, share: float, detail: str, fmt=None, priority=None) -> None:
        if share >= (BAR_NAMED if kind in agrees else BAR):
            out.append(Candidate(kind, share, detail, fmt, priority))
        elif share >= NEAR:
            out.append(Candidate(kind, share, detail, fmt, priority, near=True))

    for kind, key, detail in _STRUCTURAL:
        add(kind, ev.of(key), detail)
    add(
        "hex_color",
        ev.of("hex") + (ev.of("hex_bare") if "hex_color" in agrees else 0.0),
        "are hex colours (#rrggbb)",
    )
    _add_temporal(ev, add)
    _add_numeric(ev, agrees, add)
    _add_sets(ev, agrees, add)
    _add_keys(ev, profile, agrees, add)
    _add_text(ev, profile, agrees, add)
    return out


_STRUCTURAL = [
    ("email", "email", "are e-mail addresses"),
    ("url", "url", "are URLs"),
    ("uuid", "uuid", "are UUIDs"),
    ("ipv4", "ipv4", "are IPv4 addresses"),
    ("ipv6", "ipv6", "are IPv6 addresses"),
    ("mac_address", "mac", "are MAC addresses"),
    ("iban", "iban", "are IBANs passing the mod-97 check"),
    ("credit_card", "card", "are 13-19 digit card numbers passing the Luhn check"),
    ("us_ssn", "ssn", "are US SSNs (NNN-NN-NNNN, valid area and group)"),
    ("json", "json", "parse as JSON objects or arrays"),
    ("domain", "domain", "are domain names"),
]


def _add_temporal(ev: Shares, add) -> None:
    for kind, formats, what in (
        ("datetime", datetime_formats, "date-times"),
        ("date", date_formats, "calendar dates"),
        ("time", time_formats, "times of day"),
    ):
        share = ev.of(kind)
        if not share:
            continue
        fmt, covered, ties = ev.best_format(formats)
        detail = f"are valid {what}, layout {fmt}"
        if covered < 0.95 * share:
            detail += f" ({covered:.0%} in that layout, the rest in others)"
        if ties:
            detail += f"; ambiguous: {', '.join(ties[:2])} reads them too"
        add(kind, share, detail, fmt)


def _add_numeric(ev: Shares, agrees: set[str], add) -> None:
    _add_percentage(ev, agrees, add)
    _add_money(ev, agrees, add)
    year = ev.where(lambda v, k: "int" in k and len(v) == 4 and 1800 <= int(v) <= 2100)
    add("year", year, "are years between 1800 and 2100")
    _add_coordinates(ev, agrees, add)
    add("integer", ev.of("int"), "are integers")
    add("decimal", ev.of("number") + ev.of("number_eu"), "are decimal numbers")


def _add_percentage(ev: Shares, agrees: set[str], add) -> None:
    percent = ev.of("percent")
    flags = {v for v, _, k in ev.items if "number" in k} <= {"0", "1"}  # 0/1 is not a rate
    plain = 0.0 if flags else ev.where(_within(-100, 100))
    if "percentage" in agrees or percent >= 0.3:
        percent += plain
    add("percentage", percent, "are percentages" + (" (with %)" if ev.of("percent") else ""))


def _add_money(ev: Shares, agrees: set[str], add) -> None:
    money = ev.of("money")
    cents = ev.where(lambda v, k: "number" in k and "money" not in k and _decimals(v) <= 2)
    if money >= 0.3 or "currency_amount" in agrees:
        add("currency_amount", money + cents, "are money amounts (symbol, code or 2 decimals)")
    else:
        # Plain numbers with cents are likely money, but weakly: a named decimal wins.
        two_dp = ev.of("two_dp")
        add("currency_amount", two_dp, "are numbers with exactly two decimals", priority=45)


def _add_coordinates(ev: Shares, agrees: set[str], add) -> None:
    # Coordinates are written as plain decimals (never 1.2e-03), usually with 4+ places.
    def degrees(limit: float):
        return lambda v, k: _within(-limit, limit)(v, k) and "e" not in v.lower()

    fine = ev.where(lambda v, k: degrees(180)(v, k) and _decimals(v) >= 4)
    if fine >= 0.5 or agrees & {"latitude", "longitude"}:
        add("latitude", ev.where(degrees(90)), "are coordinates within ±90 (4+ decimals)")
        add("longitude", ev.where(degrees(180)), "are coordinates within ±180 (4+ decimals)")


def _within(low: float, high: float):
    return lambda v, k: "number" in k and low <= (_number(v) or 0.0) <= high


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _decimals(text: str) -> int:
    return len(text.partition(".")[2]) if "." in text else 0


def _add_sets(ev: Shares, agrees: set[str], add) -> None:
    add("country", ev.of("country"), "are ISO 3166 country codes or country names")
    add("currency_code", ev.of("currency"), "are ISO 4217 currency codes")
    if ev.where(lambda v, k: v.lower() in GENDERED) >= 0.3:
        add("gender", ev.of("gender"), "are gender values (M/F, male/female, ...)")
    # Any mix of spellings (yes/No/Y/true/0/OFF...) as long as they read as two answers; 0/1
    # alone is a number unless the name says flag.
    tokens = {v.lower() for v, _, k in ev.items if "boolean" in k}
    both = bool(tokens & BOOLEAN_TRUE) and bool(tokens & BOOLEAN_FALSE)
    if (both or len(tokens) <= 4) and (not tokens <= {"0", "1"} or "boolean" in agrees):
        spellings = "" if len(tokens) <= 2 else f" ({len(tokens)} spellings)"
        add("boolean", ev.of("boolean"), f"are yes/no, true/false, y/n, on/off values{spellings}")

    phone = ev.of("phone")
    if "phone" in agrees:
        phone += ev.where(lambda v, k: "phone" not in k and v.isdigit() and 8 <= len(v) <= 15)
    add("phone", phone, "are phone numbers (8-15 digits with + or separators)")

    postal = ev.of("postal")
    if postal >= 0.1 or "postal_code" in agrees:
        postal += ev.where(lambda v, k: "postal_digits" in k and "postal" not in k)
        add("postal_code", postal, "are postal codes (US, UK, CA, NL, ... layouts)")


def _add_keys(ev: Shares, profile: ColumnProfile, agrees: set[str], add) -> None:
    # Keys are unique; the few garbage values among them ("TBD", "?") may repeat.
    slack = 1.0 - ev.of("id")
    unique = profile.distinct_ratio >= (0.95 if profile.distinct_exact else 0.9) - slack
    named = "identifier" in agrees and profile.distinct_ratio >= 0.5
    if (unique and profile.present >= 20) or named:
        add("identifier", ev.of("id"), f"are keys ({profile.distinct_ratio:.0%} distinct)")

    digits = ev.where(lambda v, k: v.isdigit())
    if ev.of("zero") >= 0.05 or ("code" in agrees and digits >= BAR_NAMED):
        add("code", digits, "are digit codes, some with leading zeros (keep them as text)")
    mixed = ev.where(lambda v, k: "code" in k and any(c.isalpha() for c in v) and "date" not in k)
    # Codes follow one layout (`SKU-01234`, `AB-00012` are both letters-dash-digits).
    layouts: dict[str, float] = defaultdict(float)
    for v, w, _ in ev.items:
        layouts[re.sub(r"[A-Za-z]+", "A", re.sub(r"\d+", "9", v))] += w
    if mixed and max(layouts.values()) >= 0.6 and not unique:  # unique ones are keys
        add("code", mixed, "are letter-and-digit codes of one layout")


def _add_text(ev: Shares, profile: ColumnProfile, agrees: set[str], add) -> None:
    varied = profile.distinct_ratio >= 0.3 or profile.distinct >= 50
    # Prose is judged on the column: mostly long entries, though some answers are short.
    long_enough = (profile.mean_length or 0) >= 20 or "free_text" in agrees
    if varied and long_enough and ev.of("long") >= 0.5:
        # Words, not an address: `95050 Robert Road, Phillipsmouth, NE 35717` is long too.
        prose = ev.where(lambda v, k: _wordy(v))
        add("free_text", prose, f"are text, {ev.of('long'):.0%} of it long (4+ words)")
    # Short answers ("Arrived late.", "box damaged") are prose when they are mostly distinct;
    # a few phrases repeated ("phone order", "on hold") are a category.
    if profile.distinct_ratio >= 0.5 and profile.distinct >= 8:
        add(
            "free_text",
            ev.of("phrase"),
            f"are short phrases or sentences, {profile.distinct_ratio:.0%} distinct",
            priority=30,
        )
    # A few names repeated (sales reps, assignees) are names only if the column says so:
    # otherwise "On Hold" and "New York" would be people.
    if varied or "person_name" in agrees:
        names = ev.of("name")
        if "person_name" in agrees:
            names += ev.of("name_loose") + ev.of("word")
        add("person_name", names, "look like personal names (2-4 capitalised words)")
    # Counted in any case: `Vert pâle`, `vert pâle` and `VERT PÂLE` are one category.
    distinct = _distinct_in_any_case(ev, profile)
    few = distinct <= 50 and (distinct <= 0.2 * profile.present or distinct <= 10)
    if few:
        add("category", 1.0, f"take few distinct values ({distinct})")


def _wordy(text: str) -> bool:
    return any(c.isalpha() for c in text) and sum(c.isdigit() for c in text) <= 0.08 * len(text)


def _distinct_in_any_case(ev: Shares, profile: ColumnProfile) -> int:
    seen = [v for v, _, _ in ev.items]
    if not seen:
        return profile.distinct
    folded = len({v.casefold() for v in seen})
    return round(profile.distinct * folded / len(seen))
