"""Picking a column's type among the candidates its values allow (see `detectors`):

    score = priority (more specific types first: uuid > ... > integer > category > text)
            + 20 if the column name agrees  (a tie-breaker between types the values allow)
            - 150 x (best share - this type's share)  (10 % behind the best-supported type: -15)

Every guess carries a confidence (0-1) and its runner-up type: the next candidate, or a
type that half the values support (a near miss, see `detectors`). Below `UNCERTAIN` (0.6), or
when a `text` column has a near miss, the guess is marked `uncertain` and its reason says so:
a person should look before any rule is built on it.

The name is never the sole evidence: a type the values do not support is not a candidate,
so a column named `phone` full of emails is `email`. The name only decides what the values
cannot: plain 5-digit strings are `code` unless named like a ZIP, 0/1 is `boolean` only
under a flag-like name, plain numbers are `percentage` only under a percent-like name."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

from flowforge.ai.profile import ColumnProfile, profile_series
from flowforge.ai.semantic.detectors import Candidate, candidates
from flowforge.ai.semantic.evidence import Shares, weighted_values
from flowforge.ai.semantic.names import agreeing_types, name_words
from flowforge.ai.semantic.pii import QUASI_IDENTIFIERS, pii_of

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
UNCERTAIN = 0.7
# The types whose values include every value of the key type.
_WIDER = {
    "integer": {"decimal"},
    "year": {"integer", "decimal"},
    "percentage": {"integer", "decimal"},
    "currency_amount": {"integer", "decimal"},
    "latitude": {"decimal"},
    "longitude": {"decimal"},
}


@dataclass
class SemanticGuess:
    type: str
    confidence: float
    pii: bool
    pii_kind: str | None
    reason: str
    format: str | None = None  # strftime layout for date, datetime and time
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    runner_up: str | None = None  # the type it would be next, if any
    uncertain: bool = False  # too close or too weak to act on without a person's look

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "confidence": self.confidence,
            "pii": self.pii,
            "pii_kind": self.pii_kind,
            "reason": self.reason,
            "format": self.format,
            "alternatives": [[t, c] for t, c in self.alternatives],
            "runner_up": self.runner_up,
            "uncertain": self.uncertain,
        }


def detect_values(name: str, values: list[str | None]) -> SemanticGuess:
    """The semantic type of a column given as a list of raw values."""
    return detect(profile_series(pl.Series(name, values, dtype=pl.String)))


def detect(profile: ColumnProfile) -> SemanticGuess:
    """The semantic type of a profiled column (see the module docstring for how)."""
    evidence = weighted_values(profile)
    if not evidence:
        return SemanticGuess("text", 0.0, False, None, "no non-null values to judge")
    words = name_words(profile.name)
    agrees = agreeing_types(words)
    ev = Shares(evidence)
    found = candidates(ev, profile, agrees)
    ranked, margin = _rank([c for c in found if not c.near], agrees)
    top = ranked[0]
    near = sorted((c for c in found if c.near and c.type != top.type), key=lambda c: -c.share)
    # A fallback under a name that says otherwise (`country` holding names the lists lack):
    # the name's type is the runner-up, and the guess is not one to act on alone.
    hinted = sorted(agrees - _FALLBACKS - {"free_text", top.type}) if top.type in _FALLBACKS else []
    confidence = _confidence(top, agrees, profile.present, margin)
    if hinted:
        confidence = round(confidence * 0.75, 2)
    alternatives = _alternatives(ranked, near, confidence)
    runner_up = alternatives[0][0] if alternatives else hinted[0] if hinted else None
    uncertain = confidence < UNCERTAIN if top.type != "text" else runner_up is not None
    pii_kind, trace = pii_of(top.type, words, ev)
    reason = _reason(top, profile, agrees, len(evidence), ranked, pii_kind, trace)
    if uncertain:
        rival = f"; it may be {runner_up}" if runner_up else ""
        reason = f"uncertain (confidence {confidence:.2f}{rival}): {reason}"
    return SemanticGuess(
        type=top.type,
        confidence=confidence,
        pii=pii_kind is not None,
        pii_kind=pii_kind,
        reason=reason,
        format=top.format,
        alternatives=alternatives,
        runner_up=runner_up,
        uncertain=uncertain,
    )


def _rank(found: list[Candidate], agrees: set[str]) -> tuple[list[Candidate], float]:
    """The candidates best first, one per type, and how far the first scores above the second."""
    # Shortfall is measured against the best-supported specific type (not the fallbacks,
    # whose share is 1 by construction).
    best = max((c.share for c in found if c.type not in _FALLBACKS), default=1.0)

    def score(c: Candidate) -> float:
        bonus = _NAME_BONUS if c.type in agrees else 0
        priority = _PRIORITY[c.type][0] if c.priority is None else c.priority
        return priority + bonus - _SHARE_PENALTY * max(0.0, min(best, 1.0) - min(c.share, 1.0))

    ranked = sorted(found, key=score, reverse=True)
    seen: set[str] = set()
    ranked = [c for c in ranked if not (c.type in seen or seen.add(c.type))]
    # A rival whose values include the top type's (a decimal for integers) casts no doubt; one
    # the values fit as well (latitude or longitude within ±90) decided by priority or name does.
    rivals = [c for c in ranked[1:] if c.type not in _WIDER.get(ranked[0].type, ())]
    if not rivals:
        return ranked, math.inf
    margin = score(ranked[0]) - score(rivals[0])
    if rivals[0].type != "text" and rivals[0].share >= ranked[0].share:
        margin /= 2
    return ranked, margin


def _alternatives(
    ranked: list[Candidate], near: list[Candidate], confidence: float
) -> list[tuple[str, float]]:
    """Up to three runners-up (never the `text` fallback), each rated below the one before:
    the other candidates, then the near misses."""
    rivals = [c for c in ranked[1:] if c.type != "text"]
    rivals += [c for c in near if c.type not in {r.type for r in rivals}]
    rivals = rivals[:3]
    return [
        (c.type, round(max(0.0, min(_strength(c), confidence - 0.05 * i)), 2))
        for i, c in enumerate(rivals, start=1)
    ]


def _strength(c: Candidate) -> float:
    return min(c.share, 1.0) * _PRIORITY[c.type][1]


def _confidence(top: Candidate, agrees: set[str], present: int, margin: float) -> float:
    """Share x how telling the type is; +0.1 if the name agrees; less if a rival scores close
    (closer still when the values fit it as well) or there are fewer than 10 values."""
    confidence = _strength(top)
    if top.type in agrees:
        confidence = min(0.99, confidence + 0.1)
    if margin < 5:
        confidence *= 0.7
    elif margin < 10:
        confidence *= 0.85
    if present < 10:
        confidence *= 0.5 + 0.05 * present
    return round(confidence, 2)


def _reason(
    top: Candidate,
    profile: ColumnProfile,
    agrees: set[str],
    n: int,
    ranked: list[Candidate],
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
