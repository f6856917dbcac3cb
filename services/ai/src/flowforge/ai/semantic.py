"""Offline semantic types and PII: what a Bronze column holds, decided from its values.

No network and no model: every type has a strict validator (Luhn for cards, mod-97 for
IBANs, real calendar dates, coordinate ranges, ISO 3166 / 4217 lists...). A column's guess
comes from the *share* of its sampled values each validator accepts, weighted by how often
each value occurs (a profile's top values carry their counts; the rest of the sample shares
the remaining rows), so a 3 % sprinkle of garbage or a single odd category does not sway it.

Deciding among the types whose share clears the bar (80 %, or 60 % when the name agrees):

    score = priority (more specific types first: uuid > ... > integer > category > text)
            + 20 if the column name agrees  (a tie-breaker between types the values allow)
            - 150 x (best share - this type's share)  (10 % behind the best-supported type: -15)

The name is never the sole evidence: a type the values do not support is not a candidate,
so a column named `phone` full of emails is `email`. The name only decides what the values
cannot: plain 5-digit strings are `code` unless named like a ZIP, 0/1 is `boolean` only
under a flag-like name, plain numbers are `percentage` only under a percent-like name.

PII (`pii_kind`), chosen as data that identifies a person directly or is regulated as such:
email, phone, credit_card, iban, us_ssn, person_name, ip_address (ipv4/ipv6: an "online
identifier" under GDPR), device_id (mac_address: the same reasoning), and date_of_birth (a
date whose name says birth). Not flagged: postal_code and gender, which are quasi-identifiers
(they identify only combined with others; the reason says so), identifiers and uuids
(pseudonymous keys). A column of an open type (text, category, free_text, json) is flagged
all the same when 30 % of its values pass a PII validator (a mixed e-mail/phone "contact"
column) or 5 % contain an e-mail address or phone number (notes that quote them).

Known limits (bench/README.md, "Semantic detection accuracy"): without a name, unformatted
phone digits, epoch seconds and large unique integers read as identifiers; plain 5-digit
ZIPs as codes; longitudes inside ±90 as latitudes; title-case product or city names with
many distinct values as person names (no name lexicon is used).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import polars as pl

from flowforge.ai.profile import ColumnProfile, profile_series
from flowforge.common.rules import FORMATS, parse_rules

SEMANTIC_TYPES = (
    "identifier",
    "code",
    "email",
    "phone",
    "postal_code",
    "country",
    "currency_code",
    "currency_amount",
    "percentage",
    "date",
    "datetime",
    "time",
    "boolean",
    "uuid",
    "ipv4",
    "ipv6",
    "url",
    "domain",
    "iban",
    "credit_card",
    "us_ssn",
    "mac_address",
    "hex_color",
    "json",
    "person_name",
    "gender",
    "year",
    "latitude",
    "longitude",
    "integer",
    "decimal",
    "free_text",
    "category",
    "text",
)
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

# (priority, how much a full share is worth to confidence); see the module docstring.
_PRIORITY = {
    "uuid": (100, 1.0),
    "email": (100, 1.0),
    "iban": (100, 1.0),
    "mac_address": (99, 1.0),
    "ipv6": (99, 1.0),
    "ipv4": (98, 1.0),
    "credit_card": (98, 1.0),
    "us_ssn": (97, 0.95),
    "url": (96, 1.0),
    "json": (95, 1.0),
    "datetime": (93, 1.0),
    "date": (92, 1.0),
    "time": (91, 0.95),
    "hex_color": (90, 0.95),
    "percentage": (88, 0.95),
    "currency_amount": (88, 0.95),
    "phone": (85, 0.95),
    "domain": (80, 0.9),
    "gender": (78, 0.9),
    "boolean": (77, 0.95),
    "currency_code": (76, 0.9),
    "country": (75, 0.9),
    "latitude": (62, 0.8),
    "longitude": (61, 0.8),
    "year": (60, 0.8),
    "postal_code": (58, 0.8),
    "code": (55, 0.8),
    "identifier": (50, 0.85),
    "integer": (40, 0.9),
    "decimal": (38, 0.9),
    "free_text": (32, 0.85),
    "person_name": (19, 0.75),
    "category": (20, 0.75),
    "text": (0, 0.3),
}
_NAME_BONUS = 20
_FALLBACKS = frozenset({"text", "category"})
_SHARE_PENALTY = 150
_BAR, _BAR_NAMED = 0.8, 0.6

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


@dataclass
class SemanticGuess:
    type: str
    confidence: float
    pii: bool
    pii_kind: str | None
    reason: str
    format: str | None = None  # strftime layout for date, datetime and time
    alternatives: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "confidence": self.confidence,
            "pii": self.pii,
            "pii_kind": self.pii_kind,
            "reason": self.reason,
            "format": self.format,
            "alternatives": [[t, c] for t, c in self.alternatives],
        }


@dataclass
class _Candidate:
    type: str
    share: float
    detail: str
    format: str | None = None
    priority: int | None = None  # instead of the type's, for weaker evidence of it


def detect_values(name: str, values: list[str | None]) -> SemanticGuess:
    """The semantic type of a column given as a list of raw values."""
    return detect(profile_series(pl.Series(name, values, dtype=pl.String)))


def detect(profile: ColumnProfile) -> SemanticGuess:
    """The semantic type of a profiled column (see the module docstring for how)."""
    evidence = _evidence(profile)
    if not evidence:
        return SemanticGuess("text", 0.0, False, None, "no non-null values to judge")
    words = name_words(profile.name)
    agrees = {t for t, hints in _HINT_WORDS.items() if _name_agrees(words, hints)}
    ev = _Shares(evidence)
    candidates = _candidates(ev, profile, agrees)

    # Shortfall is measured against the best-supported specific type (not the fallbacks,
    # whose share is 1 by construction).
    best = max((c.share for c in candidates if c.type not in _FALLBACKS), default=1.0)

    def score(c: _Candidate) -> float:
        bonus = _NAME_BONUS if c.type in agrees else 0
        priority = _PRIORITY[c.type][0] if c.priority is None else c.priority
        return priority + bonus - _SHARE_PENALTY * max(0.0, min(best, 1.0) - min(c.share, 1.0))

    ranked = sorted(candidates, key=score, reverse=True)
    seen: set[str] = set()
    ranked = [c for c in ranked if not (c.type in seen or seen.add(c.type))]
    top = ranked[0]
    confidence = _confidence(top, agrees, profile.present, ranked, score)
    pii_kind, trace = PII_KINDS.get(top.type), None
    if top.type == "date" and words & {"dob", "birth", "birthday", "born", "birthdate"}:
        pii_kind = "date_of_birth"
    if pii_kind is None and top.type in _OPEN_TYPES:
        pii_kind, trace = _pii_trace(ev)
    return SemanticGuess(
        type=top.type,
        confidence=confidence,
        pii=pii_kind is not None,
        pii_kind=pii_kind,
        reason=_reason(top, profile, words, agrees, len(evidence), ranked, pii_kind, trace),
        format=top.format,
        alternatives=[
            (c.type, round(max(0.0, min(_strength(c), confidence - 0.05 * i)), 2))
            for i, c in enumerate([c for c in ranked[1:] if c.type != "text"][:3], start=1)
        ],
    )


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
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "phone": re.compile(r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"),
}


def _pii_trace(ev: _Shares) -> tuple[str | None, str | None]:
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


def name_words(name: str) -> frozenset[str]:
    """`customerEmail_Address` → {customer, email, address, customeremailaddress}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w]
    return frozenset([*words, "".join(words)])


def _name_agrees(words: frozenset[str], hints: frozenset[str]) -> bool:
    if words & hints:
        return True
    squashed = max(words, key=len, default="")
    return any(len(h) >= 4 and h in squashed for h in hints)


def _evidence(profile: ColumnProfile) -> list[tuple[str, float]]:
    """(value, weight) over the profile's top values and sample; weights sum to 1.

    Top values weigh their counts; the rows they do not cover are shared among the other
    sample values in proportion to their counts, so a rare garbage value weighs little in a
    column of few values, and every value weighs the same in a column of unique ones."""
    weights = {v: float(n) for v, n in profile.top_values}
    counts = profile.sample_counts or [1] * len(profile.sample)
    others = {
        v: max(n, 1) for v, n in zip(profile.sample, counts, strict=False) if v not in weights
    }
    rest = max(profile.sampled - sum(weights.values()), 0)
    seen = sum(others.values())
    for v, n in others.items():
        weights[v] = rest * n / seen
    total = sum(weights.values())
    if total <= 0:
        return [(v, 1.0 / len(weights)) for v in weights] if weights else []
    return [(v, w / total) for v, w in weights.items()]


# ---------------------------------------------------------------- per-value validators

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}$"
)
_URL = re.compile(r"^(?:(?:https?|ftp)://|www\.)[^\s/$.?#][^\s]*$", re.I)
_UUID = re.compile(r"^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$", re.I)
_MAC = re.compile(
    r"^[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}$|^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$",
    re.I,
)
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_CARD = re.compile(r"^[2-6]\d{3}(?:[ -]?\d){9,15}$")
_SSN = re.compile(r"^(\d{3})-(\d{2})-(\d{4})$")
_HEX = re.compile(r"^#(?:[0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$", re.I)
_HEX_BARE = re.compile(r"^[0-9a-f]{6}$", re.I)
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$", re.I)
_INT = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)$")
# 3,14 and 1.234,56: a decimal comma (1,234 alone reads as thousands, the US way).
_NUMBER_EU = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+,\d+|\d+,(?:\d{1,2}|\d{4,}))$")
_NUMBER = re.compile(r"^[+-]?(?:(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_TWO_DP = re.compile(r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)\.\d{2}$")
_PERCENT = re.compile(r"^[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)\s*%$")
_SYMBOLS = "$€£¥₹₩₽₺₪฿₫₱₦"
_MONEY = re.compile(
    r"^\(?[-−+]?\s*(?P<pre>[A-Z]{3}|[A-Z]{0,2}\$|[" + _SYMBOLS + r"]|CHF|kr|Fr\.)?\s*[-−]?\s*"
    r"(?:\d{1,3}(?:[,.' \u00a0]\d{3})+|\d+)(?:[.,]\d{1,2})?\s*"
    r"(?P<post>[A-Z]{3}|[" + _SYMBOLS + r"]|kr|zł|€)?\)?$"
)
_PHONE = re.compile(r"^(?:\+|00)?[\d\s().\-/]{6,24}\d(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?$", re.I)
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
_POSTAL_DIGITS = re.compile(r"^\d{4,6}$")
_ID_TOKEN = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9_\-:]{0,63}$")
_CODE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9_\-./]{1,23}$")
_CJK_NAME = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf]{2,4}$|^[\uac00-\ud7a3]{2,4}$")
_PARTICLES = frozenset(
    "van der den de la le du da di del della dos das von ter ten bin binti ibn al el y e st".split()
)

_ORG_SUFFIXES = frozenset(
    "inc ltd llc gmbh corp corporation co plc ag sa s.a bv nv group holdings company limited "
    "kg srl spa oy ab pty lp llp".split()
)
# Generic top-level domains seen in data; two-letter ones are country codes (checked apart),
# so `invoice.pdf` or `photo.png` is not a domain.
_GENERIC_TLDS = frozenset(
    "com net org info biz edu gov mil int io ai app dev tech online site store shop xyz cloud "
    "blog news media agency email live pro museum travel jobs mobi name aero coop asia tel "
    "digital network solutions services company global world space website club design".split()
)

BOOLEAN_TOKENS = frozenset("true false yes no y n t f 1 0 on off".split())
GENDER_TOKENS = frozenset(
    "m f male female man woman men women other x nonbinary non-binary nb diverse u unknown".split()
)
_GENDERED = frozenset("m f male female man woman men women".split())

COUNTRY_ALPHA2 = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
    DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR
    GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
    KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP
    MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG
    VI VN VU WF WS YE YT ZA ZM ZW UK XK""".split()
)
COUNTRY_ALPHA3 = frozenset(
    """AFG ALA ALB DZA ASM AND AGO AIA ATA ATG ARG ARM ABW AUS AUT AZE BHS BHR BGD BRB BLR BEL
    BLZ BEN BMU BTN BOL BES BIH BWA BVT BRA IOT BRN BGR BFA BDI CPV KHM CMR CAN CYM CAF TCD CHL
    CHN CXR CCK COL COM COG COD COK CRI CIV HRV CUB CUW CYP CZE DNK DJI DMA DOM ECU EGY SLV GNQ
    ERI EST SWZ ETH FLK FRO FJI FIN FRA GUF PYF ATF GAB GMB GEO DEU GHA GIB GRC GRL GRD GLP GUM
    GTM GGY GIN GNB GUY HTI HMD VAT HND HKG HUN ISL IND IDN IRN IRQ IRL IMN ISR ITA JAM JPN JEY
    JOR KAZ KEN KIR PRK KOR KWT KGZ LAO LVA LBN LSO LBR LBY LIE LTU LUX MAC MDG MWI MYS MDV MLI
    MLT MHL MTQ MRT MUS MYT MEX FSM MDA MCO MNG MNE MSR MAR MOZ MMR NAM NRU NPL NLD NCL NZL NIC
    NER NGA NIU NFK MKD MNP NOR OMN PAK PLW PSE PAN PNG PRY PER PHL PCN POL PRT PRI QAT REU ROU
    RUS RWA BLM SHN KNA LCA MAF SPM VCT WSM SMR STP SAU SEN SRB SYC SLE SGP SXM SVK SVN SLB SOM
    ZAF SGS SSD ESP LKA SDN SUR SJM SWE CHE SYR TWN TJK TZA THA TLS TGO TKL TON TTO TUN TUR TKM
    TCA TUV UGA UKR ARE GBR USA UMI URY UZB VUT VEN VNM VGB VIR WLF ESH YEM ZMB ZWE""".split()
)
COUNTRY_NAMES = frozenset(
    name.strip().lower()
    for name in """Afghanistan|Albania|Algeria|Andorra|Angola|Antigua and Barbuda|Argentina|
    Armenia|Australia|Austria|Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|
    Belize|Benin|Bhutan|Bolivia|Bosnia and Herzegovina|Botswana|Brazil|Brunei|Bulgaria|
    Burkina Faso|Burundi|Cabo Verde|Cape Verde|Cambodia|Cameroon|Canada|Central African Republic|
    Chad|Chile|China|Colombia|Comoros|Congo|Democratic Republic of the Congo|Costa Rica|
    Cote d'Ivoire|Côte d'Ivoire|Ivory Coast|Croatia|Cuba|Cyprus|Czechia|Czech Republic|Denmark|
    Djibouti|Dominica|Dominican Republic|Ecuador|Egypt|El Salvador|Equatorial Guinea|Eritrea|
    Estonia|Eswatini|Swaziland|Ethiopia|Fiji|Finland|France|Gabon|Gambia|Georgia|Germany|Ghana|
    Greece|Grenada|Guatemala|Guinea|Guinea-Bissau|Guyana|Haiti|Honduras|Hong Kong|Hungary|
    Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|Japan|Jordan|Kazakhstan|
    Kenya|Kiribati|Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|
    Liechtenstein|Lithuania|Luxembourg|Macau|Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|
    Marshall Islands|Mauritania|Mauritius|Mexico|Micronesia|Moldova|Monaco|Mongolia|Montenegro|
    Morocco|Mozambique|Myanmar|Burma|Namibia|Nauru|Nepal|Netherlands|The Netherlands|Holland|
    New Zealand|Nicaragua|Niger|Nigeria|North Korea|North Macedonia|Macedonia|Norway|Oman|
    Pakistan|Palau|Palestine|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|
    Puerto Rico|Qatar|Romania|Russia|Russian Federation|Rwanda|Saint Kitts and Nevis|
    Saint Lucia|Saint Vincent and the Grenadines|Samoa|San Marino|Sao Tome and Principe|
    Saudi Arabia|Senegal|Serbia|Seychelles|Sierra Leone|Singapore|Slovakia|Slovenia|
    Solomon Islands|Somalia|South Africa|South Korea|Korea|Republic of Korea|South Sudan|Spain|
    Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan|Tanzania|Thailand|
    Timor-Leste|East Timor|Togo|Tonga|Trinidad and Tobago|Tunisia|Turkey|Türkiye|Turkmenistan|
    Tuvalu|Uganda|Ukraine|United Arab Emirates|UAE|United Kingdom|Great Britain|Britain|England|
    Scotland|Wales|Northern Ireland|United States|United States of America|America|Uruguay|
    Uzbekistan|Vanuatu|Vatican City|Holy See|Venezuela|Vietnam|Viet Nam|Yemen|Zambia|Zimbabwe|
    Greenland|Faroe Islands|Gibraltar|Bermuda|Cayman Islands|Aruba|Curacao|Curaçao|Guam|
    Deutschland|España|Italia|Brasil|Österreich|Schweiz|Suisse|Nederland|Belgique|México|
    Polska|Sverige|Norge|Danmark|Suomi|Россия|中国|日本|한국""".replace("\n", "").split("|")
)
CURRENCY_CODES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%a, %d %b %Y",
    "%A, %B %d, %Y",
)
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")
_DATE_SHAPE = re.compile(r"^(?=.*\d)[\w ,./-]{6,32}$")
_TIME_SHAPE = re.compile(r"^\d{1,2}:\d{2}")
_DATETIME_SPLIT = re.compile(
    r"^(?P<date>.+?)(?P<sep>T|\s+|,\s*)(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:\s*[AaPp][Mm])?)(?P<tz>Z|\s*[+-]\d{2}:?\d{2}|\s+UTC|\s+GMT)?$"
)


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def date_formats(text: str) -> tuple[str, ...]:
    """Every layout of DATE_FORMATS under which `text` is a real calendar date."""
    if not _DATE_SHAPE.match(text):
        return ()
    return tuple(f for f in DATE_FORMATS if _parses(text, f))


@lru_cache(maxsize=65536)
def time_formats(text: str) -> tuple[str, ...]:
    if not _TIME_SHAPE.match(text):
        return ()
    text = re.sub(r"(\.\d{6})\d+$", r"\1", text)  # strptime's %f stops at microseconds
    return tuple(f for f in TIME_FORMATS if _parses(text, f))


@lru_cache(maxsize=65536)
def datetime_formats(text: str) -> tuple[str, ...]:
    match = _DATETIME_SPLIT.match(text)
    if not match:
        return ()
    days, times = date_formats(match["date"]), time_formats(match["time"])
    sep = {"T": "T", ",": ", "}.get(match["sep"].strip()[:1], " ")
    tz = match["tz"] or ""
    zone = "%z" if tz.strip()[:1] in ("Z", "+", "-") else tz
    return tuple(d + sep + t + zone for d in days for t in times)


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


def _card(text: str) -> bool:
    if not _CARD.match(text):
        return False
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and luhn(digits)


def _ssn(text: str) -> bool:
    match = _SSN.match(text)
    if not match:
        return False
    area, group, serial = match.groups()
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _phone(text: str) -> bool:
    """Phone-shaped: 8 to 15 digits (E.164's maximum) written with a + or separators."""
    if not _PHONE.match(text):
        return False
    body = re.split(r"(?i)\s*(?:x|ext\.?|#)\s*\d{1,6}$", text)[0]
    digits = re.sub(r"\D", "", body)
    formatted = body.startswith("+") or bool(re.search(r"\d[\s().\-/]+\d|^\(", body))
    return formatted and 8 <= len(digits) <= 15


def _tld(text: str) -> bool:
    tld = text.rsplit(".", 1)[-1].lower()
    return tld in _GENERIC_TLDS or len(tld) == 2 and tld.upper() in COUNTRY_ALPHA2 | {"EU"}


def _ip(text: str, version: int) -> bool:
    if version == 4 and text.count(".") != 3 or version == 6 and ":" not in text:
        return False
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _json(text: str) -> bool:
    if not (text[:1] == "{" and text[-1:] == "}" or text[:1] == "[" and text[-1:] == "]"):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _money(text: str) -> bool:
    match = _MONEY.match(text)
    if not match or not (match["pre"] or match["post"]):
        return False
    codes = [c for c in (match["pre"], match["post"]) if c and re.fullmatch(r"[A-Z]{3}", c)]
    return all(c in CURRENCY_CODES for c in codes)


def _name_tokens(text: str) -> list[str] | None:
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first.strip()} {last.strip()}"
    tokens = text.split()
    if not tokens or len(text) > 60:
        return None
    for token in tokens:
        if not re.sub(r"['’.\-]", "", token).isalpha():
            return None
    if len(tokens) > 1 and tokens[-1].lower().strip(".") in _ORG_SUFFIXES:
        return None  # Acme Corp, Globex GmbH: an organisation, not a person
    return tokens


def _name_case(tokens: list[str]) -> bool:
    # Capitalised, or a script without case (Han, Hangul), or a particle (van, de, al).
    return all(not t[:1].islower() or t.lower() in _PARTICLES for t in tokens) and not all(
        t.lower() in _PARTICLES for t in tokens
    )


@lru_cache(maxsize=65536)
def value_kinds(text: str) -> frozenset[str]:
    """The validators a single trimmed value passes (names of internal kinds)."""
    kinds: set[str] = set()
    low = text.lower()
    simple = {
        "email": bool(_EMAIL.match(text)),
        "url": bool(_URL.match(text)) and "." in text,
        "uuid": bool(_UUID.match(text)),
        "mac": bool(_MAC.match(text)),
        "iban": len(text) >= 15 and text[:2].isalpha() and iban_valid(text),
        "card": _card(text),
        "ssn": _ssn(text),
        "json": _json(text),
        "hex": bool(_HEX.match(text)),
        "hex_bare": bool(_HEX_BARE.match(text)),
        "domain": bool(_DOMAIN.match(text)) and _tld(text),
        "ipv4": _ip(text, 4),
        "ipv6": _ip(text, 6),
        # A plain number is not a phone, unless written +<digits> (E.164).
        "phone": _phone(text)
        and (text[:1] == "+" or not _NUMBER.match(text))
        and not date_formats(text),
        "percent": bool(_PERCENT.match(text)),
        "money": _money(text),
        "two_dp": bool(_TWO_DP.match(text)),
        "int": bool(_INT.match(text)),
        "number": bool(_NUMBER.match(text)),
        "number_eu": bool(_NUMBER_EU.match(text)),
        "postal": any(p.match(text) for p in _POSTAL_STRONG),
        "postal_digits": bool(_POSTAL_DIGITS.match(text)),
        "zero": len(text) >= 2 and text.isdigit() and text[0] == "0",
        "id": bool(_ID_TOKEN.match(text)),
        "code": bool(_CODE.match(text)),
        "boolean": low in BOOLEAN_TOKENS,
        "gender": low in GENDER_TOKENS,
        "country": text.upper() in COUNTRY_ALPHA2 | COUNTRY_ALPHA3 or low in COUNTRY_NAMES,
        "currency": text.upper() in CURRENCY_CODES,
        "date": bool(date_formats(text)),
        "datetime": bool(datetime_formats(text)),
        "time": bool(time_formats(text)),
        "long": len(text) >= 40 or len(text.split()) >= 4,
    }
    kinds.update(k for k, ok in simple.items() if ok)
    if _CJK_NAME.match(text):
        kinds.add("name")
    tokens = _name_tokens(text)
    if tokens and 2 <= len(tokens) <= 4:
        kinds.add("name" if _name_case(tokens) else "name_loose")
    elif tokens and len(tokens) == 1:
        kinds.add("word")
    return frozenset(kinds)


# ---------------------------------------------------------------- column-level decisions


class _Shares:
    """The evidence with its validator results, and the share of weight passing each."""

    def __init__(self, evidence: list[tuple[str, float]]):
        self.items = [(v, w, value_kinds(v)) for v, w in evidence]

    def of(self, kind: str, when=None) -> float:
        return sum(w for v, w, k in self.items if kind in k and (when is None or when(v)))

    def where(self, test) -> float:
        return sum(w for v, w, k in self.items if test(v, k))

    def best_format(self, formats) -> tuple[str | None, float, list[str]]:
        """The layout covering most weight; its weight; other layouts that tie with it."""
        weight: dict[str, float] = defaultdict(float)
        rank: dict[str, int] = {}
        for v, w, _ in self.items:
            for i, fmt in enumerate(formats(v)):
                weight[fmt] += w
                rank[fmt] = min(rank.get(fmt, i), i)
        if not weight:
            return None, 0.0, []
        best = min(weight, key=lambda f: (-weight[f], rank[f]))
        ties = [f for f in weight if f != best and weight[f] >= weight[best] - 1e-9]
        return best, weight[best], ties


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _decimals(text: str) -> int:
    return len(text.partition(".")[2]) if "." in text else 0


def _candidates(ev: _Shares, profile: ColumnProfile, agrees: set[str]) -> list[_Candidate]:
    out: list[_Candidate] = [_Candidate("text", 1.0, "are text with no recognisable shape")]

    def add(kind: str, share: float, detail: str, fmt=None, priority=None) -> None:
        if share >= (_BAR_NAMED if kind in agrees else _BAR):
            out.append(_Candidate(kind, share, detail, fmt, priority))

    for kind, key, detail in _STRUCTURAL:
        add(kind, ev.of(key), detail)
    add(
        "hex_color",
        ev.of("hex") + (ev.of("hex_bare") if "hex_color" in agrees else 0.0),
        "are hex colours (#rrggbb)",
    )
    _add_temporal(ev, add)
    _add_numeric(ev, profile, agrees, add)
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


def _add_temporal(ev: _Shares, add) -> None:
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


def _add_numeric(ev: _Shares, profile: ColumnProfile, agrees: set[str], add) -> None:
    def within(low: float, high: float):
        return lambda v, k: "number" in k and low <= (_number(v) or 0.0) <= high

    percent = ev.of("percent")
    flags = {v for v, _, k in ev.items if "number" in k} <= {"0", "1"}  # 0/1 is not a rate
    plain = 0.0 if flags else ev.where(within(-100, 100))
    if "percentage" in agrees or percent >= 0.3:
        percent += plain
    add("percentage", percent, "are percentages" + (" (with %)" if ev.of("percent") else ""))

    money = ev.of("money")
    cents = ev.where(lambda v, k: "number" in k and "money" not in k and _decimals(v) <= 2)
    if money >= 0.3 or "currency_amount" in agrees:
        add("currency_amount", money + cents, "are money amounts (symbol, code or 2 decimals)")
    else:
        # Plain numbers with cents are likely money, but weakly: a named decimal wins.
        two_dp = ev.of("two_dp")
        add("currency_amount", two_dp, "are numbers with exactly two decimals", priority=45)

    year = ev.where(lambda v, k: "int" in k and len(v) == 4 and 1800 <= int(v) <= 2100)
    add("year", year, "are years between 1800 and 2100")

    # Coordinates are written as plain decimals (never 1.2e-03), usually with 4+ places.
    def degrees(limit: float):
        return lambda v, k: within(-limit, limit)(v, k) and "e" not in v.lower()

    fine = ev.where(lambda v, k: degrees(180)(v, k) and _decimals(v) >= 4)
    if fine >= 0.5 or agrees & {"latitude", "longitude"}:
        add("latitude", ev.where(degrees(90)), "are coordinates within ±90 (4+ decimals)")
        add("longitude", ev.where(degrees(180)), "are coordinates within ±180 (4+ decimals)")

    add("integer", ev.of("int"), "are integers")
    add("decimal", ev.of("number") + ev.of("number_eu"), "are decimal numbers")


def _add_sets(ev: _Shares, agrees: set[str], add) -> None:
    add("country", ev.of("country"), "are ISO 3166 country codes or country names")
    add("currency_code", ev.of("currency"), "are ISO 4217 currency codes")
    if ev.where(lambda v, k: v.lower() in _GENDERED) >= 0.3:
        add("gender", ev.of("gender"), "are gender values (M/F, male/female, ...)")
    tokens = {v.lower() for v, _, k in ev.items if "boolean" in k}
    if len(tokens) <= 4 and (not tokens <= {"0", "1"} or "boolean" in agrees):
        add("boolean", ev.of("boolean"), "are yes/no, true/false, y/n or t/f values")

    phone = ev.of("phone")
    if "phone" in agrees:
        phone += ev.where(lambda v, k: "phone" not in k and v.isdigit() and 8 <= len(v) <= 15)
    add("phone", phone, "are phone numbers (8-15 digits with + or separators)")

    postal = ev.of("postal")
    if postal >= 0.1 or "postal_code" in agrees:
        postal += ev.where(lambda v, k: "postal_digits" in k and "postal" not in k)
        add("postal_code", postal, "are postal codes (US, UK, CA, NL, ... layouts)")


def _add_keys(ev: _Shares, profile: ColumnProfile, agrees: set[str], add) -> None:
    # Keys are unique; the few garbage values among them ("TBD", "?") may repeat.
    slack = 1.0 - ev.of("id")
    unique = profile.distinct_ratio >= (0.95 if profile.distinct_exact else 0.9) - slack
    named = "identifier" in agrees and profile.distinct_ratio >= 0.5
    if (unique and profile.present >= 20) or named:
        add("identifier", ev.of("id"), f"are keys ({profile.distinct_ratio:.0%} distinct)")

    digits = ev.where(lambda v, k: v.isdigit())
    if ev.of("zero") >= 0.05 or ("code" in agrees and digits >= _BAR_NAMED):
        add("code", digits, "are digit codes, some with leading zeros (keep them as text)")
    mixed = ev.where(lambda v, k: "code" in k and any(c.isalpha() for c in v) and "date" not in k)
    # Codes follow one layout (`SKU-01234`, `AB-00012` are both letters-dash-digits).
    layouts: dict[str, float] = defaultdict(float)
    for v, w, _ in ev.items:
        layouts[re.sub(r"[A-Za-z]+", "A", re.sub(r"\d+", "9", v))] += w
    if mixed and max(layouts.values()) >= 0.6 and not unique:  # unique ones are keys
        add("code", mixed, "are letter-and-digit codes of one layout")


def _add_text(ev: _Shares, profile: ColumnProfile, agrees: set[str], add) -> None:
    varied = profile.distinct_ratio >= 0.3 or profile.distinct >= 50
    # Prose is judged on the column: mostly long entries, though some answers are short.
    long_enough = (profile.mean_length or 0) >= 20 or "free_text" in agrees
    if varied and long_enough and ev.of("long") >= 0.5:
        prose = ev.where(lambda v, k: any(c.isalpha() for c in v))
        add("free_text", prose, f"are text, {ev.of('long'):.0%} of it long (4+ words)")
    # A few names repeated (sales reps, assignees) are names only if the column says so:
    # otherwise "On Hold" and "New York" would be people.
    if varied or "person_name" in agrees:
        names = ev.of("name")
        if "person_name" in agrees:
            names += ev.of("name_loose") + ev.of("word")
        add("person_name", names, "look like personal names (2-4 capitalised words)")
    few = profile.distinct <= 50 and (
        profile.distinct <= 0.2 * profile.present or profile.distinct <= 10
    )
    if few:
        add("category", 1.0, f"take few distinct values ({profile.distinct})")


def _strength(c: _Candidate) -> float:
    return min(c.share, 1.0) * _PRIORITY[c.type][1]


def _confidence(top: _Candidate, agrees, present: int, ranked, score) -> float:
    """Share x how telling the type is; +0.1 if the name agrees; less if a rival scores close
    or there are fewer than 10 values."""
    confidence = _strength(top)
    if top.type in agrees:
        confidence = min(0.99, confidence + 0.1)
    if len(ranked) > 1 and score(ranked[0]) - score(ranked[1]) < 10:
        confidence *= 0.85
    if present < 10:
        confidence *= 0.5 + 0.05 * present
    return round(confidence, 2)


def _reason(
    top: _Candidate,
    profile: ColumnProfile,
    words: frozenset[str],
    agrees: set[str],
    n: int,
    ranked: list[_Candidate],
    pii_kind: str | None,
    trace: str | None,
) -> str:
    parts = [f"{min(top.share, 1.0):.0%} of sampled values {top.detail} ({n} distinct checked)"]
    if top.type in agrees:
        parts.append(f"name '{profile.name}' agrees")
    else:
        hinted = sorted(agrees - {c.type for c in ranked[:1]})
        if hinted:
            parts.append(
                f"name '{profile.name}' suggests {' or '.join(hinted[:2])}, "
                "but the values do not support it"
            )
    if len(ranked) > 1 and ranked[1].type not in ("text", "category"):
        parts.append(f"runner-up {ranked[1].type} ({min(ranked[1].share, 1.0):.0%})")
    if pii_kind == "date_of_birth":
        parts.append("a date of birth by its name: personal data")
    elif trace:
        parts.append(f"PII all the same: {trace}")
    elif pii_kind:
        parts.append(f"PII: {pii_kind.replace('_', ' ')}")
    if top.type in QUASI_IDENTIFIERS:
        parts.append("a quasi-identifier (identifies people combined with others)")
    if profile.null_pct:
        parts.append(f"{profile.null_pct:.1f}% null")
    return "; ".join(parts)


# ---------------------------------------------------------------- rule suggestions

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
    only suggested if the profiled sample already passes it (≥ 95 %)."""
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
