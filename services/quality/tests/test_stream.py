"""The file engine (`stream.evaluate_file`, one streaming pass over the file) gives what the
frame engine (`engine.evaluate`, the whole batch in memory) gives: checks, examples, quarantine
row for row; also when a rule breaks at run time and the rules are evaluated one by one, and
for a file small enough to be evaluated in memory."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flowforge.common.rules import parse_rules
from flowforge.quality import engine, stream
from flowforge.quality.engine import evaluate

NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
RULES = [
    {"name": "a_not_null", "type": "not_null", "column": "a"},
    {"name": "a_unique", "type": "unique", "column": "a"},
    {"name": "u_unique", "type": "unique", "column": "u"},  # no repeat: no line read
    {"name": "a_s_unique", "type": "unique", "columns": ["a", "s"]},
    {"name": "s_accepted", "type": "accepted_values", "column": "s", "values": ["x", "y"]},
    {"name": "n_range", "type": "range", "column": "n", "min": 0, "max": 10},
    {"name": "s_regex", "type": "regex", "column": "s", "pattern": "[xyz]"},
    {"name": "s_length", "type": "length", "column": "s", "min": 1, "max": 1, "action": "warn"},
    {"name": "n_after_a", "type": "sql", "expression": "n > a"},
    {"name": "n_mean", "type": "sql", "expression": "n <= (SELECT avg(n) FROM batch) * 2"},
    {"name": "missing", "type": "not_null", "column": "nope"},
    {"name": "bad_sql", "type": "sql", "expression": "no_such_column > 1"},
    {"name": "rows", "type": "row_count", "min": 100},
]
# Accepted by the parser, refused by Polars when it runs ("specify both hour and minute").
REFUSED = {"name": "s_hour", "type": "format", "column": "s", "format": "datetime",
           "date_format": "%Y-%m-%d %H"}  # fmt: skip
# A rule whose expression breaks only on some values (see `breaks_on_letters`).
BREAKS = {"name": "s_cast", "type": "not_null", "column": "s"}


def breaks_on_letters(failing):
    """`engine._failing`, but the `s_cast` rule casts `s` to a number strictly: it runs on no
    rows and on digits, and breaks on the first letter."""

    def patched(silver, rule, references):
        if rule.name == "s_cast":
            return pl.col("s").cast(pl.Int64, strict=True).is_null()
        return failing(silver, rule, references)

    return patched


def silver(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [None if i % 11 == 5 else i % 17 for i in range(n)],
            "a": [None if i % 7 == 0 else i % 13 for i in range(n)],
            "s": [["x", "y", "z", "ww", None][i % 5] for i in range(n)],
            "n": [(i * 37) % 23 - 3 for i in range(n)],
            "u": [None if i % 9 == 4 else i * 3 for i in range(n)],
            "_run_id": ["run"] * n,
            "_source_file": ["f.csv"] * n,
            "_source_line": list(range(2, n + 2)),
        }
    )


def comparable(checks):
    """The checks, but for how many values Polars says broke `s_cast` (the file's rows at
    once, or a morsel's)."""
    return [
        c.model_copy(update={"detail": c.detail.split(" for ")[0]}) if c.name == "s_cast" else c
        for c in checks
    ]


@pytest.mark.parametrize("rows", [0, 1, 50])
@pytest.mark.parametrize("key", [["id"], ["id", "s"], [], ["absent"]])
@pytest.mark.parametrize("breaking", [[], [REFUSED, BREAKS]], ids=["one-pass", "rule-by-rule"])
@pytest.mark.parametrize("small", [-1, stream.IN_MEMORY_ROWS], ids=["streamed", "in-memory"])
def test_the_file_engine_matches_the_frame_engine(
    tmp_path, monkeypatch, rows, key, breaking, small
):
    monkeypatch.setattr(stream, "IN_MEMORY_ROWS", small)
    monkeypatch.setattr(engine, "_failing", breaks_on_letters(engine._failing))
    frame = silver(rows)
    path = tmp_path / "silver.parquet"
    frame.write_parquet(path, row_group_size=9)
    rules = parse_rules({"rules": [*RULES[:4], *breaking, *RULES[4:]]}).rules
    released = pl.DataFrame(
        {"_source_line": [4, 9], "rule": ["n_range", "*"]},
        schema={"_source_line": pl.Int64, "rule": pl.String},
    )
    expected = evaluate(frame, rules, key=key, released=released, now=NOW)
    out = tmp_path / "quarantine.parquet"
    got = stream.evaluate_file(
        path, rules, key=key, out=out, scratch=tmp_path, released=released, now=NOW
    )
    assert comparable(got.checks) == comparable(expected.checks)
    if breaking:
        refused, broken = (next(c for c in got.checks if c.name == r["name"]) for r in breaking)
        assert refused.detail.startswith("could not evaluate: Invalid format string")
        assert broken.detail.startswith("could not evaluate: conversion") == bool(rows)
    assert got.examples == expected.examples
    assert got.verdict == expected.verdict and got.rows == expected.rows
    assert got.quarantine_rows == expected.quarantine.height
    if expected.quarantine.height:
        assert_frame_equal(pl.read_parquet(out), expected.quarantine)
        lines = expected.quarantine.get_column("_source_line").unique()
        assert got.quarantined == frame.get_column("_source_line").is_in(lines.implode()).sum()
        assert got.valid == rows - got.quarantined
    else:
        assert not out.exists() and (got.quarantined, got.valid) == (0, rows)
