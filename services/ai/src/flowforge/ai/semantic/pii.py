"""Personal data (`pii_kind`), chosen as data that identifies a person directly or is regulated
as such: email, phone, credit_card, iban, us_ssn, person_name, ip_address (ipv4/ipv6: an
"online identifier" under GDPR), device_id (mac_address: the same reasoning), and
date_of_birth (a date whose name says birth). Not flagged: postal_code and gender, which are
quasi-identifiers (they identify only combined with others; the reason says so), identifiers
and uuids (pseudonymous keys). A column of an open type (text, category, free_text, json) is
flagged all the same when 30 % of its values pass a PII validator (a mixed e-mail/phone
"contact" column) or 5 % contain an e-mail address or phone number (notes that quote them)."""

from __future__ import annotations

import re

from flowforge.ai.semantic.evidence import Shares

PII_KINDS = {
    "email": "email",
    "phone": "phone",
    "credit_card": "credit_card",
    "iban": "iban",
    "us_ssn": "us_ssn",
    "person_name": "person_name",
    "ipv4": "ip_address",
    "ipv6": "ip_address",
    "mac_address": "device_id",
}
QUASI_IDENTIFIERS = {"postal_code", "gender"}

_PII_SHARE, _EMBEDDED_SHARE = 0.3, 0.05
_OPEN_TYPES = frozenset({"text", "category", "free_text", "json"})  # no validator explains them
_PII_VALIDATORS = [
    ("email", "email"),
    ("phone", "phone"),
    ("credit_card", "card"),
    ("iban", "iban"),
    ("us_ssn", "ssn"),
    ("ip_address", "ipv4"),
    ("ip_address", "ipv6"),
]
_EMBEDDED = {
    # Any script in the local part and the domain (RFC 6531, IDN), or a punycode TLD.
    "email": re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)", re.I),
    "phone": re.compile(r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"),
}


def pii_of(kind: str, words: frozenset[str], ev: Shares) -> tuple[str | None, str | None]:
    """The PII kind of a column of type `kind` named `words`, and for an open type the trace
    that makes it PII all the same (None when the kind itself says so)."""
    if kind == "date" and words & {"dob", "birth", "birthday", "born", "birthdate"}:
        return "date_of_birth", None
    pii_kind = PII_KINDS.get(kind)
    if pii_kind is None and kind in _OPEN_TYPES:
        return _pii_trace(ev)
    return pii_kind, None


def _pii_trace(ev: Shares) -> tuple[str | None, str | None]:
    """PII in a column of no PII type: a mixed contact column (30 % e-mails, 40 % phones), or
    text with e-mail addresses or phone numbers inside (5 % of values)."""
    for kind, key in _PII_VALIDATORS:
        share = ev.of(key)
        if share >= _PII_SHARE:
            return kind, f"{share:.0%} of values are {kind.replace('_', ' ')}s"
    for kind, pattern in _EMBEDDED.items():
        share = ev.where(lambda v, k, pattern=pattern: bool(pattern.search(v)))
        if share >= _EMBEDDED_SHARE:
            what = {"email": "an e-mail address", "phone": "a phone number"}[kind]
            return kind, f"{share:.0%} of values contain {what}"
    return None, None
