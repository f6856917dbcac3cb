"""Validators for single values whose shape alone is not enough: e-mail addresses (ASCII or
internationalised), check digits (Luhn for cards, ISO 13616 mod-97 for IBANs), SSN area and
group rules, phone digit counts, known
top-level domains, IP addresses, JSON that parses, money with a real ISO 4217 code, and the
tokens of a personal name."""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata

from flowforge.ai.semantic.reference import (
    COUNTRY_ALPHA2,
    CURRENCY_CODES,
    FILE_EXTENSIONS,
    GENERIC_TLDS,
    ORG_SUFFIXES,
    PARTICLES,
)

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}$"
)
# RFC 6531: the local part may hold any non-ASCII UTF-8; the domain's labels are letters,
# digits and hyphens of any script (checked again by IDNA below).
_EMAIL_UTF8 = re.compile(
    r"^(?P<local>(?:[\w!#$%&'*+/=?^`{|}~-]|[^\x00-\x7f])+(?:\.(?:[\w!#$%&'*+/=?^`{|}~-]"
    r"|[^\x00-\x7f])+)*)@(?P<domain>(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W_][\w-]*[^\W_])$"
)
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_CARD = re.compile(r"^[2-6]\d{3}(?:[ -]?\d){9,15}$")
_SSN = re.compile(r"^(\d{3})-(\d{2})-(\d{4})$")
_SYMBOLS = "$€£¥₹₩₽₺₪฿₫₱₦₴₸₼₾₨"
# Local abbreviations written after the amount: rubles, koruna, forint, lei, lira, rupees.
_LOCAL_AFTER = r"kr|zł|€|р\.|руб\.?|Kč|Ft|lei|TL|Rs\.?"
_MONEY = re.compile(
    r"^\(?[-−+]?\s*(?P<pre>[A-Z]{3}|[A-Z]{0,2}\$|["
    + _SYMBOLS
    + r"]|CHF|Fr\.|Rp|"
    + _LOCAL_AFTER
    + ")?"
    r"\s*[-−]?\s*(?:\d{1,3}(?:[,.' \u00a0\u202f]\d{3})+|\d+)(?:[.,]\d{1,2})?\s*"
    r"(?P<post>[A-Z]{3}|[" + _SYMBOLS + r"]|" + _LOCAL_AFTER + r")?\)?$"
)
_FILE_LIKE = re.compile(r"\w\.\w{2,}$")  # heute.flac, Frage.pdf: no name has a dot inside
_PHONE = re.compile(r"^(?:\+|00)?[\d\s().\-/]{6,24}\d(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?$", re.I)


def is_email(text: str) -> bool:
    """An address as RFC 5321 or, internationalised, RFC 6531: a UTF-8 local part and an IDN
    domain written in Unicode or as its `xn--` punycode, each label valid under IDNA."""
    if text.isascii() and "xn--" not in text.lower():
        return bool(_EMAIL.match(text))
    match = _EMAIL_UTF8.match(text)
    if not match:
        return False
    try:
        ascii_domain = match["domain"].encode("idna").decode("ascii")
    except UnicodeError:
        return False
    tld = ascii_domain.rsplit(".", 1)[-1]
    return all(_idna_label(label) for label in ascii_domain.split(".")) and (
        tld.isalpha() or tld.lower().startswith("xn--")
    )


def _idna_label(label: str) -> bool:
    if not 0 < len(label) <= 63 or label.startswith("-") or label.endswith("-"):
        return False
    if not label.lower().startswith("xn--"):
        return True
    try:
        label.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    return True


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616: country, check digits, then the rearranged number mod 97 is 1."""
    compact = text.replace(" ", "").replace("-", "").upper()
    if not _IBAN.match(compact) or compact[:2] not in COUNTRY_ALPHA2:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def is_card(text: str) -> bool:
    if not _CARD.match(text):
        return False
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and luhn(digits)


def is_ssn(text: str) -> bool:
    match = _SSN.match(text)
    if not match:
        return False
    area, group, serial = match.groups()
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def is_phone(text: str) -> bool:
    """Phone-shaped: 8 to 15 digits (E.164's maximum) written with a + or separators."""
    if not _PHONE.match(text):
        return False
    body = re.split(r"(?i)\s*(?:x|ext\.?|#)\s*\d{1,6}$", text)[0]
    digits = re.sub(r"\D", "", body)
    formatted = body.startswith("+") or bool(re.search(r"\d[\s().\-/]+\d|^\(", body))
    return formatted and 8 <= len(digits) <= 15


def has_known_tld(text: str) -> bool:
    """A generic or country TLD, or any other word of 4+ letters that is no file extension
    (`.london`, `.ninja`: ICANN has delegated over a thousand)."""
    tld = text.rsplit(".", 1)[-1].lower()
    if tld in GENERIC_TLDS or len(tld) == 2 and tld.upper() in COUNTRY_ALPHA2 | {"EU"}:
        return True
    return len(tld) >= 4 and tld.isalpha() and tld not in FILE_EXTENSIONS


def is_ip(text: str, version: int) -> bool:
    if version == 4 and text.count(".") != 3 or version == 6 and ":" not in text:
        return False
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def is_json(text: str) -> bool:
    if not (text[:1] == "{" and text[-1:] == "}" or text[:1] == "[" and text[-1:] == "]"):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def is_money(text: str) -> bool:
    match = _MONEY.match(text)
    if not match or not (match["pre"] or match["post"]):
        return False
    codes = [c for c in (match["pre"], match["post"]) if c and re.fullmatch(r"[A-Z]{3}", c)]
    return all(c in CURRENCY_CODES for c in codes)


def name_tokens(text: str) -> list[str] | None:
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first.strip()} {last.strip()}"
    tokens = text.split()
    if not tokens or len(text) > 60:
        return None
    for token in tokens:
        # Vowel signs and viramas (Devanagari, Thai, Arabic harakat) are marks, not letters.
        letters = "".join(c for c in token if not unicodedata.category(c).startswith("M"))
        if not re.sub(r"['’.\-]", "", letters).isalpha() or _FILE_LIKE.search(token):
            return None
    if len(tokens) > 1 and tokens[-1].lower().strip(".") in ORG_SUFFIXES:
        return None  # Acme Corp, Globex GmbH: an organisation, not a person
    return tokens


def is_name_case(tokens: list[str]) -> bool:
    # Capitalised, or a script without case (Han, Hangul), or a particle (van, de, al).
    return all(not t[:1].islower() or t.lower() in PARTICLES for t in tokens) and not all(
        t.lower() in PARTICLES for t in tokens
    )
