"""Masking personal data for display and prompts: a value's shape without its content."""

from __future__ import annotations

import unicodedata


def mask(value: str) -> str:
    """A value's shape without its content, in any script: upper-case letters → A, other
    letters → a, digits → 9, combining marks dropped, ASCII punctuation and spaces kept, any
    other character → x (`Ann Lee, 4111` → `Aaa Aaa, 9999`; `Иван` → `Aaaa`)."""
    out = []
    for ch in value:
        kind = unicodedata.category(ch)
        if kind == "Lu":
            out.append("A")
        elif kind[0] == "L":
            out.append("a")
        elif kind[0] == "N":
            out.append("9")
        elif kind[0] == "M":
            continue
        else:
            out.append(ch if ch.isascii() else "x")
    return "".join(out)


__all__ = ["mask"]
