"""Offline semantic types and PII: what a Bronze column holds, decided from its values.

No network and no model: every type has a strict validator (Luhn for cards, mod-97 for
IBANs, real calendar dates, coordinate ranges, ISO 3166 / 4217 lists...). A column's guess
comes from the *share* of its sampled values each validator accepts, weighted by how often
each value occurs (a profile's top values carry their counts; the rest of the sample shares
the remaining rows), so a 3 % sprinkle of garbage or a single odd category does not sway it.

The modules, in the order a value flows through them:

    reference    ISO country and currency lists (CLDR names in 30 languages), boolean and
                 gender tokens, placeholders for missing values, name particles
    dates        the date, time and date-time layouts a value parses under
    validators   check digits and other single-value checks (Luhn, mod-97, SSN, phone, JSON)
    kinds        every validator one value passes (`value_kinds`)
    evidence     a column's values weighted by count; the share of weight each kind holds
    names        the types a column's name agrees with
    detectors    the candidate types whose share clears the bar
    decision     scoring the candidates: the type, its confidence, runner-up, whether it is
                 uncertain, and the reason (`detect`)
    pii          which types are personal data, and PII inside columns of open types
    suggestions  data-quality rules a type implies (`suggest_rules`)

Known limits (bench/README.md, "Semantic detection accuracy", with figures on a held-out set
of Faker, mimesis and real columns): without a name, unformatted
phone digits, epoch seconds and large unique integers read as identifiers; plain 5-digit
ZIPs as codes; longitudes inside ±90 as latitudes; title-case product or city names with
many distinct values as person names (no name lexicon is used).
"""

from flowforge.ai.semantic.dates import (
    DATE_FORMATS,
    TIME_FORMATS,
    date_formats,
    datetime_formats,
    time_formats,
)
from flowforge.ai.semantic.decision import SEMANTIC_TYPES, SemanticGuess, detect, detect_values
from flowforge.ai.semantic.kinds import value_kinds
from flowforge.ai.semantic.names import name_words
from flowforge.ai.semantic.pii import PII_KINDS, QUASI_IDENTIFIERS
from flowforge.ai.semantic.reference import (
    BOOLEAN_TOKENS,
    COUNTRY_ALPHA2,
    COUNTRY_ALPHA3,
    COUNTRY_NAMES,
    CURRENCY_CODES,
    GENDER_TOKENS,
)
from flowforge.ai.semantic.suggestions import suggest_rules
from flowforge.ai.semantic.validators import iban_valid, luhn

__all__ = [
    "BOOLEAN_TOKENS",
    "COUNTRY_ALPHA2",
    "COUNTRY_ALPHA3",
    "COUNTRY_NAMES",
    "CURRENCY_CODES",
    "DATE_FORMATS",
    "GENDER_TOKENS",
    "PII_KINDS",
    "QUASI_IDENTIFIERS",
    "SEMANTIC_TYPES",
    "TIME_FORMATS",
    "SemanticGuess",
    "date_formats",
    "datetime_formats",
    "detect",
    "detect_values",
    "iban_valid",
    "luhn",
    "name_words",
    "suggest_rules",
    "time_formats",
    "value_kinds",
]
