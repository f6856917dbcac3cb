"""Silver column names: the one rule, shared by transform (which applies it) and the services
that speak about Silver columns before Silver exists (ai's suggestions, quality's rules)."""

from __future__ import annotations

import re

from flowforge.common.lake import LINEAGE_COLUMNS


def snake_case(name: str) -> str:
    """snake_case, keeping `__` (the separator of flattened nested fields: `shop__city`)."""
    parts = [re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", p.strip()) for p in name.split("__")]
    parts = [re.sub(r"[^0-9a-zA-Z]+", "_", p).strip("_").lower() for p in parts]
    text = "__".join(p for p in parts if p)
    if not text:
        text = "column"
    if text[0].isdigit():
        text = f"c_{text}"
    return text


def normalise_names(names: list[str]) -> dict[str, str]:
    """Original → snake_case, made unique with a numeric suffix."""
    out: dict[str, str] = {}
    seen: set[str] = set(LINEAGE_COLUMNS)
    for name in names:
        base = snake_case(name)
        candidate, n = base, 2
        while candidate in seen:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate)
        out[name] = candidate
    return out


__all__ = ["normalise_names", "snake_case"]
