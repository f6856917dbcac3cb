"""The detector on the messy cases of issue 18: booleans in mixed spellings, internationalised
e-mail addresses, short free text next to categories, placeholders; and how an uncertain
column says so (a confidence, a runner-up, no rules built on it)."""

from __future__ import annotations

import random

import polars as pl

from flowforge.ai.profile import profile_series
from flowforge.ai.semantic import detect_values, suggest_rules
from flowforge.ai.semantic.validators import is_email, is_money

rng = random.Random(18)


def test_reads_booleans_written_in_mixed_spellings_any_case_and_blanks():
    spellings = ["yes", "No", "Y", "n", "TRUE", "false", "1", "0", "On", "OFF", "t", "F"]
    values = [rng.choice(spellings) if rng.random() > 0.15 else "" for _ in range(200)]
    guess = detect_values("consent", values)
    assert guess.type == "boolean", guess.reason
    assert not guess.uncertain
    assert "spellings" in guess.reason


def test_many_spellings_of_one_answer_only_are_not_a_boolean_without_a_flag_name():
    values = [rng.choice(["yes", "Y", "TRUE", "t", "on"]) for _ in range(100)]
    assert detect_values("col_3", values).type != "boolean"


def test_small_counts_with_zeros_and_ones_stay_numbers():
    values = [str(rng.choice([0, 1, 1, 2, 3, 0, 1])) for _ in range(100)]
    assert detect_values("children", values).type == "integer"


IDN_EMAILS = [
    "七夏山本@稲城市.jp",
    "иван.петров@пример.рф",
    "jürgen.müller@bücher.de",
    "yamada@xn--qqq934k.xn--fiqs8s",
    "KLAAS@SCHINKE.XN--P1AI",
    "δοκιμή@παράδειγμα.ελ",
    "用户@例子.广告",
    "ana.garcía@correo.es",
]


def test_validates_internationalised_addresses_as_rfc_6531_and_idna():
    assert all(is_email(e) for e in IDN_EMAILS)
    for bad in ["x@xn--zz.com", "a@-bücher.de", "ana@correo", "two words@bücher.de", "@пример.рф"]:
        assert not is_email(bad), bad


def test_a_column_of_mixed_ascii_and_internationalised_addresses_is_email_and_pii():
    ascii_ones = [f"user{i}@example.com" for i in range(40)]
    values = [rng.choice(IDN_EMAILS).replace("@", f"{i}@", 1) for i in range(60)] + ascii_ones
    guess = detect_values("contact", values)
    assert guess.type == "email", guess.reason
    assert guess.pii_kind == "email"


def test_notes_quoting_an_internationalised_address_are_pii():
    unicode_only = [e for e in IDN_EMAILS if "xn--" not in e.lower() and not e.isascii()][:6]
    notes = [f"Bitte an {rng.choice(unicode_only)} schreiben, danke" for _ in range(10)]
    notes += ["Lieferung kam pünktlich an, alles bestens"] * 30
    guess = detect_values("notes", notes)
    assert guess.pii_kind == "email", guess.reason


SHORT_ANSWERS = [
    "Arrived late.", "Box damaged!", "Works fine", "Great value", "Too small for me",
    "Would buy again", "Colour faded quickly", "Not as described", "Fast delivery, thanks",
    "Battery died", "Love it!", "Broke after a week", "Instructions unclear", "Good enough",
    "Smells odd", "Perfect gift", "Lid does not close", "Cheaper elsewhere", "Kids love it",
    "Strap too short", "Came without batteries", "Nice and light", "Screen scratched",
    "Took ages to ship", "Exactly what I needed", "Ok.", "Meh", "Louder than expected",
    "Fits well", "Wrong size sent",
]  # fmt: skip


def test_tells_short_free_text_from_a_category():
    assert detect_values("feedback", SHORT_ANSWERS).type == "free_text"
    assert detect_values("col_9", SHORT_ANSWERS + ["", "#N/A"]).type == "free_text"
    phrases = ["phone order", "walk in", "web shop", "partner referral"]
    category = [rng.choice(phrases) for _ in range(200)]
    assert detect_values("channel", category).type == "category"
    assert detect_values("col_9", category).type == "category"


def test_one_line_addresses_are_not_prose():
    streets = ["Robert Road", "Krista Turnpike", "rue de Delannoy", "Elm Street Apt. 4"]
    towns = ["Phillipsmouth, NE 35717", "Lyon 69002", "East Ronaldside, PR 73699"]
    values = [
        f"{rng.randint(1, 9999)} {rng.choice(streets)}, {rng.choice(towns)}" for _ in range(80)
    ]
    assert detect_values("mailing_address", values).type == "text"


def test_placeholders_do_not_hide_a_column_type():
    ssns = [f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
            for _ in range(60)]  # fmt: skip
    values = ssns + ["#N/A"] * 20 + ["(blank)"] * 5
    guess = detect_values("field_b", values)
    assert guess.type == "us_ssn", guess.reason


def test_names_of_things_are_not_people():
    colours = ["Cyan", "Dark Orchid", "Lime", "Light Slate Gray", "Snow", "Yellow Green"]
    values = [rng.choice(colours) for _ in range(100)]
    assert detect_values("color_name", values).type == "category"
    files = [f"{w}.{e}" for w in ("heute", "Frage", "report") for e in ("pdf", "flac", "png")]
    assert detect_values("file_name", [rng.choice(files) + "" for _ in range(60)]).type != (
        "person_name"
    )
    people = ["Ann Lee", "Bob Stone", "Cid Moreau", "Dee Park"]
    assert detect_values("customer_name", [rng.choice(people) for _ in range(40)]).type == (
        "person_name"
    )


def test_money_with_local_abbreviations():
    for value in ["88,29\u00a0р.", "18 603,05\u00a0р.", "12,50 Kč", "1\u202f234,00 €", "Rs. 1,200"]:
        assert is_money(value), value


def test_an_ambiguous_column_says_it_is_uncertain_and_names_the_runner_up():
    # Coordinates within ±90 and no name: a latitude or a longitude, the values cannot say.
    values = [f"{rng.uniform(-60, 70):.5f}" for _ in range(100)]
    guess = detect_values("col_4", values)
    assert guess.type == "latitude"
    assert guess.uncertain and guess.runner_up == "longitude"
    assert guess.confidence < 0.7
    assert guess.reason.startswith("uncertain")
    assert guess.to_dict()["runner_up"] == "longitude" and guess.to_dict()["uncertain"] is True
    assert detect_values("longitude", values).type == "longitude"
    assert not detect_values("longitude", values).uncertain


def test_country_names_in_other_languages_and_scripts_are_countries():
    for names in (
        ["チャド", "イラン", "ブラジル", "ルワンダ", "メキシコ"],
        ["Непал", "Гаити", "Габон", "Испания", "Дания"],
        ["Tchad", "Allemagne", "Afrique du Sud", "Norvège", "Pérou"],
    ):
        guess = detect_values("land", [rng.choice(names) for _ in range(80)])
        assert guess.type == "country", guess.reason


def test_a_name_the_values_do_not_support_makes_a_fallback_uncertain():
    regions = ["Nordwest", "Südost", "Mitte", "Alpenvorland", "Küste"]  # not countries
    guess = detect_values("country", [rng.choice(regions) for _ in range(80)])
    assert guess.type == "category"
    assert guess.uncertain and guess.runner_up == "country"


def test_categories_are_counted_in_any_case():
    shades = ["Vert pâle", "Bleu violet", "Gris", "Ivoire", "Blanc coquillage"]
    values = [rng.choice([v, v.upper(), v.lower()]) for v in rng.choices(shades, k=45)]
    assert detect_values("shade", values).type == "category"


def test_a_text_column_with_a_near_miss_is_uncertain():
    values = [f"user{i}@example.com" for i in range(50)] + [f"ticket {i}" for i in range(50)]
    guess = detect_values("col_1", values)
    assert guess.type == "text"
    assert guess.uncertain and guess.runner_up == "email"


def test_a_clear_column_is_sure():
    guess = detect_values("email", [f"user{i}@example.com" for i in range(50)])
    assert guess.confidence >= 0.9 and not guess.uncertain


def test_an_uncertain_column_gets_no_rules_of_its_type():
    values = [f"{rng.uniform(-60, 70):.5f}" for _ in range(100)]
    profile = profile_series(pl.Series("col_4", values))
    guess = detect_values("col_4", values)
    assert [r["type"] for r in suggest_rules(guess, profile)] == ["not_null"]
    named = profile_series(pl.Series("lat", values))
    sure = detect_values("lat", values)
    assert "range" in [r["type"] for r in suggest_rules(sure, named)]
