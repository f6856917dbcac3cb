"""Offline semantic types and PII: per-type detection on small realistic samples, messy values,
misleading names, date layouts, and rule suggestions that load and fit the data."""

from __future__ import annotations

import random
import re

import polars as pl
import pytest

from flowforge.ai.profile import profile_series
from flowforge.ai.semantic import (
    PII_KINDS,
    SEMANTIC_TYPES,
    detect,
    detect_values,
    iban_valid,
    luhn,
    suggest_rules,
)
from flowforge.common.rules import parse_rules

rng = random.Random(20)


def many(make, n=80):
    return [make(i) for i in range(n)]


def digits(k):
    return "".join(rng.choice("0123456789") for _ in range(k))


def card(prefix, length):
    body = prefix + digits(length - len(prefix) - 1)
    total = sum(
        (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
        for i, d in enumerate(int(c) for c in reversed(body))
    )
    return body + str((10 - total % 10) % 10)


def iban(country, bban):
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


NAMES = [
    "John Smith", "María García", "Wang Wei", "Priya Sharma", "Jan van der Berg",
    "Siobhán O'Brien", "Chinedu Okafor", "Nguyễn Văn An", "Yuki Tanaka", "Ahmed Al-Farsi",
    "王伟", "김민준", "Emma Müller", "Lucas Dubois", "Olivia Brown",
]  # fmt: skip
SAMPLES = {
    "identifier": ("order_id", many(lambda i: str(100_000 + i))),
    "code": ("product_code", many(lambda i: f"{[501, 123, 4567, 89][i % 4]:05d}")),
    "email": ("email", many(lambda i: f"user{i}@{rng.choice(['example.com', 'mail.co.uk'])}")),
    "phone": ("phone", many(lambda i: f"({rng.randint(201, 989)}) 555-{digits(4)}")),
    "postal_code": ("postcode", many(lambda i: ["SW1A 1AA", "K1A 0B6", "02134-1234"][i % 3])),
    "country": ("country", many(lambda i: ["DE", "FR", "US", "JP", "BR"][i % 5])),
    "currency_code": ("ccy", many(lambda i: ["USD", "EUR", "GBP", "JPY"][i % 4])),
    "currency_amount": ("price", many(lambda i: f"${rng.uniform(1, 5000):,.2f}")),
    "percentage": ("growth", many(lambda i: f"{rng.uniform(-5, 60):.1f}%")),
    "date": ("shipped", many(lambda i: f"{i % 12 + 1:02d}/{i % 28 + 1:02d}/2024")),
    "datetime": ("ts", many(lambda i: f"2024-03-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z")),
    "time": ("opens", many(lambda i: f"{i % 12 + 1}:{i % 60:02d} {['AM', 'PM'][i % 2]}")),
    "boolean": ("is_gift", many(lambda i: ["yes", "No", "YES", "no"][i % 4])),
    "uuid": ("guid", many(lambda i: f"{rng.getrandbits(128):032x}")),
    "ipv4": ("client", many(lambda i: f"10.{i}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")),
    "ipv6": ("remote", many(lambda i: f"2001:db8::{i:x}:{rng.getrandbits(16):x}")),
    "url": ("link", many(lambda i: f"https://shop.example.com/item/{i}?ref=mail")),
    "domain": ("host", many(lambda i: f"{rng.choice(['api', 'www', 'eu'])}{i}.example.org")),
    "iban": ("account", many(lambda i: iban(["DE", "ES"][i % 2], digits(18 + 2 * (i % 2))))),
    "credit_card": ("cc", many(lambda i: card("4", 16))),
    "us_ssn": ("ssn", many(lambda i: f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-1234")),
    "mac_address": ("mac", many(lambda i: ":".join(f"{rng.getrandbits(8):02x}" for _ in "123456"))),  # noqa: E501
    "hex_color": ("colour", many(lambda i: f"#{rng.getrandbits(24):06x}")),
    "json": ("payload", many(lambda i: f'{{"id": {i}, "tags": ["a", "b"]}}')),
    "person_name": (
        "customer",
        many(lambda i: NAMES[i % 15] if i < 15 else rng.choice(NAMES) + ""),
    ),  # noqa: E501
    "gender": ("sex", many(lambda i: ["M", "F", "F", "M", "X"][i % 5])),
    "year": ("model_year", many(lambda i: str(1990 + i % 30))),
    "latitude": ("lat", many(lambda i: f"{rng.uniform(-60, 70):.5f}")),
    "longitude": ("lng", many(lambda i: f"{rng.uniform(-180, 180):.5f}")),
    "integer": ("quantity", many(lambda i: str(i % 17))),
    "decimal": ("weight", many(lambda i: f"{rng.uniform(0, 90):.3f}")),
    "free_text": ("comment", many(lambda i: f"Parcel {i} arrived late but the driver was kind")),
    "category": ("status", many(lambda i: ["shipped", "pending", "cancelled"][i % 3])),
}
SAMPLES["uuid"] = (
    "guid",
    [re.sub(r"(.{8})(.{4})(.{4})(.{4})(.{12})", r"\1-\2-\3-\4-\5", v) for v in SAMPLES["uuid"][1]],
)
SAMPLES["person_name"] = (
    "customer",
    [f"{rng.choice(NAMES).split()[0]} {rng.choice(['Smith', 'Lee', 'Khan'])}" for _ in range(60)]
    + NAMES,
)


def test_a_few_repeated_names_are_people_when_the_column_says_so():
    reps = many(lambda i: NAMES[i % 5])
    assert detect_values("sales_rep", reps).type == "person_name"
    assert (
        detect_values("stage", many(lambda i: ["On Hold", "In Review"][i % 2])).type == "category"
    )


def test_there_are_at_least_25_types_and_pii_kinds_are_types():
    assert len(SEMANTIC_TYPES) >= 25
    assert set(PII_KINDS) <= set(SEMANTIC_TYPES)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_detects_each_type_from_a_realistic_sample(kind):
    name, values = SAMPLES[kind]
    guess = detect_values(name, values)
    assert guess.type == kind, guess.reason
    assert 0.5 <= guess.confidence <= 1.0
    assert guess.reason


# Where values alone are ambiguous the name decides (ZIP or code, latitude or longitude...).
NAME_DEPENDENT = {"postal_code", "percentage", "latitude", "longitude", "person_name"}
GENERIC = {"integer", "decimal", "year", "category", "free_text"}


@pytest.mark.parametrize("kind", sorted(set(SAMPLES) - NAME_DEPENDENT))
def test_values_decide_even_under_a_meaningless_name(kind):
    _, values = SAMPLES[kind]
    guess = detect_values("col_7", values)
    if kind in GENERIC:
        assert guess.type == kind or kind in dict(guess.alternatives)
    else:
        assert guess.type == kind, guess.reason


def test_misleading_names_do_not_fool_it():
    assert detect_values("phone", SAMPLES["email"][1]).type == "email"
    assert detect_values("id", SAMPLES["person_name"][1]).type == "person_name"
    assert detect_values("email", SAMPLES["iban"][1]).type == "iban"
    guess = detect_values("phone", SAMPLES["email"][1])
    assert "suggests phone" in guess.reason and guess.pii_kind == "email"


def test_messy_values_whitespace_case_nulls_and_a_little_garbage():
    values = [f"  {v.upper() if i % 5 == 0 else v}\t" for i, v in enumerate(SAMPLES["email"][1])]
    values += ["NA", "N/A", "null", "-", "", None, "#REF!", "TBD"]
    guess = detect_values("contact", values)
    assert guess.type == "email"
    assert guess.confidence >= 0.9
    assert "null" in guess.reason


def test_name_breaks_ties_the_values_leave_open():
    zips = many(lambda i: f"{[501, 2134, 90210, 10001][i % 4]:05d}")
    assert detect_values("c3", zips).type == "code"
    assert detect_values("zip", zips).type == "postal_code"
    flags = many(lambda i: str(i % 2))
    assert detect_values("is_active", flags).type == "boolean"
    assert detect_values("v", flags).type != "boolean"
    rates = many(lambda i: f"{i * 1.1:.1f}")
    assert detect_values("discount_pct", rates).type == "percentage"
    assert detect_values("reading", rates).type != "percentage"


@pytest.mark.parametrize(
    "kind, pii_kind",
    [
        ("email", "email"),
        ("phone", "phone"),
        ("credit_card", "credit_card"),
        ("iban", "iban"),
        ("us_ssn", "us_ssn"),
        ("person_name", "person_name"),
        ("ipv4", "ip_address"),
        ("ipv6", "ip_address"),
        ("mac_address", "device_id"),
        ("postal_code", None),
        ("gender", None),
        ("date", None),
        ("identifier", None),
    ],
)
def test_pii_flags(kind, pii_kind):
    name, values = SAMPLES[kind]
    guess = detect_values(name, values)
    assert (guess.pii, guess.pii_kind) == (pii_kind is not None, pii_kind)


def test_a_date_named_as_a_birth_date_is_pii():
    guess = detect_values("date_of_birth", SAMPLES["date"][1])
    assert (guess.type, guess.pii_kind) == ("date", "date_of_birth")


@pytest.mark.parametrize(
    "layout",
    ["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d %b %Y", "%b %d, %Y", "%d-%b-%Y"],
)
def test_date_layouts(layout):
    from datetime import date, timedelta

    values = [(date(2023, 1, 1) + timedelta(days=11 * i)).strftime(layout) for i in range(60)]
    guess = detect_values("when", values)
    assert (guess.type, guess.format) == ("date", layout)


@pytest.mark.parametrize(
    "values, layout",
    [
        (["2024-01-05T10:00:00Z", "2024-02-05T11:30:00+01:00"], "%Y-%m-%dT%H:%M:%S%z"),
        (["2024-01-05 10:00:00.123", "2024-02-15 23:59:59.5"], "%Y-%m-%d %H:%M:%S.%f"),
        (["03/15/2024 9:05 PM", "12/31/2023 11:59 AM"], "%m/%d/%Y %I:%M %p"),
        (["15.03.2024 21:05", "31.12.2023 23:59"], "%d.%m.%Y %H:%M"),
    ],
)
def test_datetime_layouts(values, layout):
    guess = detect_values("at", values * 20)
    assert (guess.type, guess.format) == ("datetime", layout)


def test_invalid_dates_do_not_count():
    values = [f"2024-02-{d:02d}" for d in range(1, 29)] + ["2024-02-30", "2024-13-01"] * 10
    assert detect_values("d", values).type != "date"


def test_an_ambiguous_day_month_order_is_said():
    values = [f"{m:02d}/{d:02d}/2024" for m in range(1, 13) for d in range(1, 13)]
    assert "ambiguous" in detect_values("d", values).reason


def test_validators():
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB83 WEST 1234 5698 7654 32")
    bad_luhn = many(lambda i: str(int(card("4", 16)) + 1))
    assert detect_values("cc", bad_luhn).type != "credit_card"
    bad_area = many(lambda i: f"{rng.choice([0, 666, 900, 987]):03d}-12-3456")
    assert detect_values("ssn", bad_area).type != "us_ssn"


def test_an_empty_column_is_text_with_no_confidence():
    guess = detect_values("nothing", [None, "", "NA"])
    assert (guess.type, guess.confidence, guess.pii) == ("text", 0.0, False)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_suggested_rules_load_warn_and_pass_on_the_data(kind):
    name, values = SAMPLES[kind]
    profile = profile_series(pl.Series(name, values, dtype=pl.String))
    specs = suggest_rules(detect(profile), profile)
    parse_rules({"rules": specs})
    column = pl.Series(values).str.strip_chars()
    for spec in specs:
        assert spec["action"] == "warn"
        if spec["type"] == "regex":
            assert column.str.contains(f"^(?:{spec['pattern']})$").all()
        if spec.get("date_format"):
            parse = column.str.to_date if spec["format"] == "date" else column.str.to_datetime
            assert parse(spec["date_format"], strict=False).is_not_null().all()


def rules_of(name, values):
    profile = profile_series(pl.Series(name, values, dtype=pl.String))
    return {spec["type"]: spec for spec in suggest_rules(detect(profile), profile)}


def test_rules_for_keys_categories_ranges_codes_and_dates():
    assert "unique" in rules_of("order_id", SAMPLES["identifier"][1])
    accepted = rules_of("status", SAMPLES["category"][1])["accepted_values"]
    assert accepted["values"] == ["cancelled", "pending", "shipped"]
    assert rules_of("lat", SAMPLES["latitude"][1])["range"] | {"min": -90, "max": 90}
    lon = rules_of("lng", SAMPLES["longitude"][1])["range"]
    assert (lon["min"], lon["max"]) == (-180, 180)
    rate = rules_of("discount_pct", many(lambda i: f"{i:.1f}"))["range"]
    assert (rate["min"], rate["max"]) == (0, 100)
    assert rules_of("product_code", SAMPLES["code"][1])["regex"]["pattern"] == "[0-9]{5}"
    date_rule = rules_of("shipped", SAMPLES["date"][1])["format"]
    assert (date_rule["format"], date_rule["date_format"]) == ("date", "%m/%d/%Y")
    assert rules_of("e", SAMPLES["email"][1])["format"]["format"] == "email"
    assert rules_of("e", SAMPLES["email"][1])["not_null"]["column"] == "e"


def test_rule_names_are_valid_for_awkward_column_names():
    profile = profile_series(pl.Series("E-mail Address (work)", SAMPLES["email"][1]))
    specs = suggest_rules(detect(profile), profile)
    names = [r.name for r in parse_rules({"rules": specs}).rules]
    assert names == ["not_null_E-mail_Address_work", "format_E-mail_Address_work"]


def test_numbers_with_thousands_separators_and_decimal_commas():
    assert detect_values("units", many(lambda i: f"{(i * 7919) % 90_000:,}")).type == "integer"
    assert detect_values("gewicht", many(lambda i: f"{i % 50},{i % 9}5")).type == "decimal"
    amounts = many(lambda i: rng.choice(["$", "€ ", ""]) + f"{i * 1234.5:,.2f}")
    assert detect_values("c1", amounts).type == "currency_amount"


def test_pii_inside_mixed_or_free_text_columns_is_flagged():
    contact = detect_values("contact", SAMPLES["email"][1][:40] + SAMPLES["phone"][1][:40])
    assert contact.pii and contact.pii_kind in ("email", "phone")
    notes = [f"Parcel {i} left with the neighbour, all fine" for i in range(60)]
    notes += [f"Please call me back on 555-201-{i:04d} about the refund" for i in range(8)]
    guess = detect_values("notes", notes)
    assert (guess.type, guess.pii_kind) == ("free_text", "phone")
    assert "contain a phone number" in guess.reason
