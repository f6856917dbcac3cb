"""A column's evidence: its distinct values weighted by how often they occur, and the share
of that weight each value kind holds (so a 3 % sprinkle of garbage weighs 3 %)."""

from __future__ import annotations

from collections import defaultdict

from flowforge.ai.profile import ColumnProfile
from flowforge.ai.semantic.kinds import value_kinds
from flowforge.ai.semantic.reference import PLACEHOLDERS


def weighted_values(profile: ColumnProfile) -> list[tuple[str, float]]:
    """(value, weight) over the profile's top values and sample; weights sum to 1.

    Top values weigh their counts; the rows they do not cover are shared among the other
    sample values in proportion to their counts, so a rare garbage value weighs little in a
    column of few values, and every value weighs the same in a column of unique ones.
    Placeholders (`#N/A`, `#REF!`, `(blank)`) are left out, as Silver's nulls already are."""
    weights = {v: float(n) for v, n in profile.top_values}
    counts = profile.sample_counts or [1] * len(profile.sample)
    others = {
        v: max(n, 1) for v, n in zip(profile.sample, counts, strict=False) if v not in weights
    }
    rest = max(profile.sampled - sum(weights.values()), 0)
    seen = sum(others.values())
    for v, n in others.items():
        weights[v] = rest * n / seen
    # A column of nothing but placeholders keeps them: they are then all there is to judge.
    kept = {v: w for v, w in weights.items() if v.lower() not in PLACEHOLDERS}
    weights = kept or weights
    total = sum(weights.values())
    if total <= 0:
        return [(v, 1.0 / len(weights)) for v in weights] if weights else []
    return [(v, w / total) for v, w in weights.items()]


class Shares:
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
