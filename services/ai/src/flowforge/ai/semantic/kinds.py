"""The kinds of a single value: the name of every validator it passes (`email`, `int`,
`date`, `name`...). The per-type detectors weigh these kinds over a column's values."""

from __future__ import annotations

import re
from functools import lru_cache

from flowforge.ai.semantic.dates import date_formats, datetime_formats, time_formats
from flowforge.ai.semantic.reference import (
    BOOLEAN_TOKENS,
    COUNTRY_ALPHA2,
    COUNTRY_ALPHA3,
    COUNTRY_NAMES,
    CURRENCY_CODES,
    GENDER_TOKENS,
    ORG_SUFFIXES,
    PARTICLES,
    local_country_names,
)
from flowforge.ai.semantic.validators import (
    has_known_tld,
    iban_valid,
    is_card,
    is_email,
    is_ip,
    is_json,
    is_money,
    is_name_case,
    is_phone,
    is_ssn,
    name_tokens,
)

_URL = re.compile(r"^(?:(?:https?|ftp)://|www\.)[^\s/$.?#][^\s]*$", re.I)
_UUID = re.compile(r"^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$", re.I)
_MAC = re.compile(
    r"^[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}$|^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$",
    re.I,
)
_HEX = re.compile(r"^#(?:[0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$", re.I)
_HEX_BARE = re.compile(r"^[0-9a-f]{6}$", re.I)
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$", re.I)
_INT = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)$")
# 3,14 and 1.234,56: a decimal comma (1,234 alone reads as thousands, the US way).
_NUMBER_EU = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+,\d+|\d+,(?:\d{1,2}|\d{4,}))$")
_NUMBER = re.compile(r"^[+-]?(?:(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_TWO_DP = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)\.\d{2}$")
_PERCENT = re.compile(r"^[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)\s*%$")
_POSTAL_STRONG = [
    re.compile(p, re.I)
    for p in (
        r"^\d{5}-\d{4}$",  # US ZIP+4
        r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$",  # UK
        r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$",  # Canada
        r"^\d{4} ?[A-Z]{2}$",  # Netherlands
        r"^\d{3}-\d{4}$",  # Japan
        r"^\d{5}-\d{3}$",  # Brazil
        r"^\d{2}-\d{3}$",  # Poland
        r"^\d{4}-\d{3}$",  # Portugal
        r"^\d{3} \d{2}$",  # Sweden, Czechia, Slovakia, Greece
    )
]
_POSTAL_DIGITS = re.compile(r"^\d{4,8}$")  # 4 (AT, CH, DK) to 8 (BR, CL without the dash)
_ID_TOKEN = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9_\-:]{0,63}$")
_CODE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9_\-./]{1,23}$")
_CJK_NAME = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf]{2,4}$|^[\uac00-\ud7a3]{2,4}$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3]")
# A sentence's end: a word of 2+ letters then . ! ? … (not the dot of `S.A.S.` or `Inc.`).
_SENTENCE_END = re.compile(
    r"(?:^|\s)[^\W\d_][^\W\d_.]+[.!?…]+[\"'»”)]?$|[。！？؟]$"
    r"|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3][.!?]$"
)


@lru_cache(maxsize=65536)
def value_kinds(text: str) -> frozenset[str]:
    """The validators a single trimmed value passes (names of internal kinds)."""
    checks = _structured(text) | _numeric(text) | _coded(text) | _listed(text) | _temporal(text)
    kinds = {k for k, ok in checks.items() if ok}
    kinds.update(_textual(text))
    return frozenset(kinds)


def _structured(text: str) -> dict[str, bool]:
    return {
        "email": "@" in text and is_email(text),
        "url": bool(_URL.match(text)) and "." in text,
        "uuid": bool(_UUID.match(text)),
        "mac": bool(_MAC.match(text)),
        "iban": len(text) >= 15 and text[:2].isalpha() and iban_valid(text),
        "card": is_card(text),
        "ssn": is_ssn(text),
        "json": is_json(text),
        "hex": bool(_HEX.match(text)),
        "hex_bare": bool(_HEX_BARE.match(text)),
        "domain": bool(_DOMAIN.match(text)) and has_known_tld(text),
        "ipv4": is_ip(text, 4),
        "ipv6": is_ip(text, 6),
    }


def _numeric(text: str) -> dict[str, bool]:
    return {
        "percent": bool(_PERCENT.match(text)),
        "money": is_money(text),
        "two_dp": bool(_TWO_DP.match(text)),
        "int": bool(_INT.match(text)),
        "number": bool(_NUMBER.match(text)),
        "number_eu": bool(_NUMBER_EU.match(text)),
        "zero": len(text) >= 2 and text.isdigit() and text[0] == "0",
    }


def _coded(text: str) -> dict[str, bool]:
    return {
        # A plain number is not a phone, unless written +<digits> (E.164).
        "phone": is_phone(text)
        and (text[:1] == "+" or not _NUMBER.match(text))
        and not date_formats(text),
        "postal": any(p.match(text) for p in _POSTAL_STRONG),
        "postal_digits": bool(_POSTAL_DIGITS.match(text)),
        "id": bool(_ID_TOKEN.match(text)),
        "code": bool(_CODE.match(text)),
    }


def _listed(text: str) -> dict[str, bool]:
    low = text.lower()
    return {
        "boolean": low in BOOLEAN_TOKENS,
        "gender": low in GENDER_TOKENS,
        "country": text.upper() in COUNTRY_ALPHA2 | COUNTRY_ALPHA3
        or low in COUNTRY_NAMES
        or low in local_country_names(),
        "currency": text.upper() in CURRENCY_CODES,
    }


def _temporal(text: str) -> dict[str, bool]:
    return {
        "date": bool(date_formats(text)),
        "datetime": bool(datetime_formats(text)),
        "time": bool(time_formats(text)),
    }


def _textual(text: str) -> set[str]:
    """Long text, short phrases, personal names (2-4 tokens; `name_loose` when not capitalised)
    and words."""
    long = len(text) >= 40 or len(text.split()) >= 4 or len(_CJK.findall(text)) >= 15
    kinds = {"long"} if long else set()
    if _is_phrase(text):
        kinds.add("phrase")
    if _CJK_NAME.match(text):
        kinds.add("name")
    tokens = name_tokens(text)
    if tokens and 2 <= len(tokens) <= 4:
        kinds.add("name" if is_name_case(tokens) else "name_loose")
    elif tokens and len(tokens) == 1:
        kinds.add("word")
    return kinds


def _is_phrase(text: str) -> bool:
    """Words as in a sentence, not a name or a label: a lower-case word after the first one
    (`Arrived late`, `Tax bar.`), or a sentence's end (`Great!`, `欠乏は。`); few digits
    (`12 Main St` is an address)."""
    if sum(c.isdigit() for c in text) > 0.08 * len(text) or not any(c.isalpha() for c in text):
        return False
    if _SENTENCE_END.search(text) and text.split()[-1].lower().strip(".") not in ORG_SUFFIXES:
        return True
    words = [w.strip(".,;:!?…\"'()«»“”") for w in text.split()]
    return any(
        len(w) >= 3 and w.isalpha() and w.islower() and w not in PARTICLES for w in words[1:]
    )
