"""Schema differences between two versions of a dataset: added, removed, probably renamed
and retyped columns. Pure: column lists in, a diff out."""

from __future__ import annotations

import difflib

from flowforge.common.events import Column, Rename, Retype, SchemaDiff

POLICIES = ("evolve", "freeze", "discard_row")
RENAME_SIMILARITY = 0.75


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def schema_diff(old: list[Column], new: list[Column]) -> SchemaDiff:
    """What changed from `old` to `new`. A removed column and an added one with a similar
    name (`customer_name` / `CustomerName` / `customer_nme`) are a probable rename."""
    old_types = {c.name: c.type for c in old}
    new_types = {c.name: c.type for c in new}
    added = [c.name for c in new if c.name not in old_types]
    removed = [c.name for c in old if c.name not in new_types]
    renames: list[Rename] = []
    candidates = list(added)
    for gone in removed:
        scores = [
            (difflib.SequenceMatcher(None, _key(gone), _key(name)).ratio(), name)
            for name in candidates
        ]
        best = max(scores, default=(0.0, ""))
        match = best[1] if best[0] >= RENAME_SIMILARITY else ""
        if match:
            renames.append(Rename(old=gone, new=match))
            candidates.remove(match)
    retyped = [
        Retype(column=name, old=old_types[name], new=new_types[name])
        for name in new_types
        if name in old_types and old_types[name] != new_types[name]
    ]
    return SchemaDiff(added=added, removed=removed, probable_renames=renames, retyped=retyped)
