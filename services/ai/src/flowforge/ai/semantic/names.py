"""What a column's name says: the types whose hint words it contains. The name only breaks
ties between types the values allow (see `decision`)."""

from __future__ import annotations

import re

# Words of a column name that agree with a type (whole words, or inside the squashed name
# when 4+ letters long: `emailaddress`, `zipcode`).
_HINTS = {
    "identifier": "id ids key pk uid guid number no nr ref reference",
    "code": "code sku ean upc item product article part",
    "email": "email mail",
    "phone": "phone tel telephone mobile cell fax msisdn",
    "postal_code": "zip zipcode postal postcode plz cep pincode",
    "country": "country nation cntry",
    "currency_code": "currency ccy cur",
    "currency_amount": "amount price cost total revenue salary fee balance amt paid spend "
    "value_usd subtotal tax income payment",
    "percentage": "pct percent percentage rate ratio share discount margin",
    "date": "date dob day birthday birth born",
    "datetime": "timestamp datetime ts at created updated modified time",
    "time": "time hour clock",
    "boolean": "is has flag active enabled deleted valid opt subscribed verified bool",
    "uuid": "uuid guid",
    "ipv4": "ip ipv4 ipaddress",
    "ipv6": "ip ipv6 ipaddress",
    "url": "url link website homepage uri href",
    "domain": "domain host hostname site",
    "iban": "iban",
    "credit_card": "card cc pan credit",
    "us_ssn": "ssn social",
    "mac_address": "mac",
    "hex_color": "color colour hex",
    "json": "json payload metadata attributes properties meta",
    "person_name": "name fullname firstname lastname surname customer contact owner author "
    "employee person given family assignee agent rep manager recipient",
    "gender": "gender sex",
    "year": "year yr",
    "latitude": "lat latitude",
    "longitude": "lon lng long longitude",
    "integer": "count qty quantity num age units stock",
    "decimal": "weight height score temperature temp measure width length",
    "free_text": "comment comments description desc notes note text message review feedback "
    "body summary remarks",
    "category": "status type category segment tier level class kind group channel region",
    "text": "product title item address street company employer vendor supplier file filename "
    "document attachment path label",
}
_HINT_WORDS = {t: frozenset(words.split()) for t, words in _HINTS.items()}
_ALL_HINTS = frozenset().union(*_HINT_WORDS.values())


# Words that make `<word>_name` a person's name; any other (`product_name`, `file_name`,
# `color_name`, `user_name`: a login) names a thing.
_PERSON_QUALIFIERS = frozenset(
    "first last full given family middle maiden sur customer contact owner person employee "
    "author holder cardholder patient student member client buyer seller recipient sender "
    "display nick legal manager agent driver passenger guest applicant parent spouse "
    "beneficiary account emergency".split()
)


def agreeing_types(words: frozenset[str]) -> set[str]:
    """The types whose hints a column name (as `name_words`) contains."""
    agrees = {t for t, hints in _HINT_WORDS.items() if _name_agrees(words, hints)}
    if "person_name" in agrees and _names_a_thing(words):
        agrees.discard("person_name")
    return agrees


def _names_a_thing(words: frozenset[str]) -> bool:
    squashed = max(words, key=len, default="")
    if not squashed.endswith("name") or squashed == "name":
        return False
    person = _PERSON_QUALIFIERS | _HINT_WORDS["person_name"] - {"name"}
    if words & person:
        return False
    return not any(len(q) >= 4 and q in squashed[:-4] for q in person)


def name_words(name: str) -> frozenset[str]:
    """`customerEmail_Address` → {customer, email, address, customeremailaddress}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w]
    return frozenset([*words, "".join(words)])


def _name_agrees(words: frozenset[str], hints: frozenset[str]) -> bool:
    if words & hints:
        return True
    squashed = max(words, key=len, default="")
    if squashed in _ALL_HINTS:
        return False  # `country` is a country, not a `count`
    return any(len(h) >= 4 and h in squashed for h in hints)
