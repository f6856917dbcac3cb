"""Column profiles of Bronze text: exact counts, null tokens, shapes, samples, Parquet input
(whole, or a sample of a large file with estimated counts)."""

from __future__ import annotations

import json
from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowforge.ai.profile import (
    NULL_TOKENS,
    estimate_distinct,
    profile_frame,
    profile_parquet,
    profile_series,
    shapes,
)


def bronze(columns: dict[str, list]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    lineage = {
        "_source_file": ["orders.csv"] * n,
        "_source_line": [str(i + 2) for i in range(n)],
        "_ingested_at": ["2024-05-01T00:00:00Z"] * n,
        "_run_id": ["run-1"] * n,
    }
    return pl.DataFrame({**columns, **lineage}, schema={k: pl.String for k in [*columns, *lineage]})


def test_profiles_every_data_column_and_skips_lineage():
    profiles = profile_frame(bronze({"a": ["1"], "b": ["x"]}))
    assert [p.name for p in profiles] == ["a", "b"]


def test_counts_are_exact_on_a_small_frame():
    values = [" 10", "2", "2", "NA", None, "  ", "3,000", "x", "n/a", "Null", "-", ""]
    (p,) = profile_frame(bronze({"qty": values}))
    assert p.rows == 12
    assert p.nulls == 7  # NA, None, "  ", n/a, Null, -, ""
    assert p.present == 5
    assert p.null_pct == pytest.approx(100 * 7 / 12, abs=1e-3)
    assert p.distinct == 4  # 10, 2, 3,000, x
    assert (p.min_length, p.max_length) == (1, 5)
    assert p.mean_length == pytest.approx((2 + 1 + 1 + 5 + 1) / 5)
    assert (p.min, p.max) == ("10", "x")  # text order, of trimmed values
    assert p.numeric_min is None  # 4 of 5 parse: below 95 %
    assert p.top_values == [("2", 2), ("10", 1), ("3,000", 1), ("x", 1)]
    assert p.patterns == [("9", 2), ("9,999", 1), ("99", 1), ("a", 1)]  # ties by text
    assert p.sample == ["10", "2", "3,000", "x"]
    assert p.sample_counts == [1, 2, 1, 1]


def test_numeric_range_when_values_read_as_numbers():
    (p,) = profile_frame(bronze({"amount": ["1,234.50", "-3", "0.25", "12", "NULL"]}))
    assert (p.numeric_min, p.numeric_max) == (-3.0, 1234.5)


def test_shapes_map_digits_and_letters_of_any_script_and_cut_long_values():
    values = ["Ab-12 é", "x" * 30, "123456789012345678901234", "Иван 山田 ١٢"]
    got = shapes(pl.Series(values)).to_list()
    assert got == ["Aa-99 a", "a" * 23 + "…", "9" * 24, "Aaaa aa 99"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=60))
def test_shapes_by_byte_table_equal_shapes_by_unicode_classes(values):
    from flowforge.ai.profile import SHAPE_WIDTH, _script_shapes

    series = pl.Series("v", values, dtype=pl.String)
    by_class = _script_shapes(series).to_list()
    expected = [
        None if s is None else s if len(s) <= SHAPE_WIDTH else s[: SHAPE_WIDTH - 1] + "…"
        for s in by_class
    ]
    assert shapes(series).to_list() == expected
    sliced = series.slice(1)  # an Arrow array with an offset
    assert shapes(sliced).to_list() == expected[1:]


def test_top_values_patterns_and_sample_come_from_an_even_sample_but_counts_from_all():
    values = [str(i % 7) for i in range(10_000)] + [None] * 1_000
    p = profile_series(pl.Series("code", values), sample_rows=1_000)
    assert p.rows == 11_000 and p.nulls == 1_000 and p.distinct == 7
    assert p.sampled <= 1_000
    assert sum(n for _, n in p.top_values) == p.sampled
    assert sorted(p.sample) == [str(i) for i in range(7)]


def test_sample_is_spread_over_the_column_and_deterministic():
    values = [f"id-{i}" for i in range(5_000)]
    first = profile_series(pl.Series("id", values))
    assert len(first.sample) == 50
    assert first.sample[0] == "id-0" and first.sample[-1] == "id-4900"
    assert profile_series(pl.Series("id", values)).sample == first.sample


def test_distinct_is_approximate_on_large_columns():
    values = [str(i) for i in range(120_000)]
    p = profile_series(pl.Series("id", values))
    assert not p.distinct_exact
    assert p.distinct == pytest.approx(120_000, rel=0.05)
    assert p.distinct <= p.present


def test_an_empty_column_has_no_lengths_or_sample():
    p = profile_series(pl.Series("empty", [None, "", "NA"], dtype=pl.String))
    assert (p.rows, p.nulls, p.distinct) == (3, 3, 0)
    assert p.min_length is None and p.sample == [] and p.top_values == []


def test_to_dict_is_json_safe():
    (p,) = profile_frame(bronze({"v": ["1e999", "2", "abc"]}))
    assert p.numeric_max is None  # infinity is not JSON
    data = json.loads(json.dumps(p.to_dict(), allow_nan=False))
    assert data["top_values"][0] == ["1e999", 1]


def test_profile_parquet_reads_the_same_as_the_frame(tmp_path):
    frame = bronze({"zip": ["00501", "02134", None], "email": ["a@b.io", "NA", "c@d.io"]})
    path = tmp_path / "bronze.parquet"
    frame.write_parquet(path)
    assert profile_parquet(path) == profile_frame(frame)


def test_a_large_file_is_profiled_from_a_sample_that_says_so(tmp_path):
    rows = 120_000
    frame = bronze(
        {
            "id": [f"o-{i}" for i in range(rows)],
            "status": [("shipped", "pending", "NA", "cancelled")[i % 4] for i in range(rows)],
        }
    )
    path = tmp_path / "bronze.parquet"
    frame.write_parquet(path, row_group_size=25_000)
    key, status = profile_parquet(path, sample_rows=6_400)
    assert (key.rows, key.rows_profiled) == (rows, 6_400)
    assert not key.nulls_exact and not key.distinct_exact
    assert key.nulls == 0 and key.distinct == key.present == rows  # all different: a key
    assert status.nulls == pytest.approx(rows / 4, rel=0.02)
    assert status.null_pct == pytest.approx(25.0, abs=0.5)
    assert status.distinct == 3
    assert status.sampled == pytest.approx(0.75 * 6_400, rel=0.02)
    assert sum(n for _, n in status.top_values) == status.sampled


def test_an_appended_file_is_not_judged_by_its_head(tmp_path):
    rows = 100_000
    codes = ["A-1"] * (rows // 2) + ["12345"] * (rows // 2)  # a second batch appended
    path = tmp_path / "bronze.parquet"
    bronze({"code": codes}).write_parquet(path)
    (p,) = profile_parquet(path, sample_rows=3_200)
    assert {v for v, _ in p.top_values} == {"A-1", "12345"}
    assert (p.min, p.max) == ("12345", "A-1")
    assert {s for s, _ in p.patterns} == {"A-9", "99999"}


def test_distinct_estimate_of_a_sample():
    def counts(*ns):
        return pl.Series("n", ns)

    assert estimate_distinct(counts(*[1] * 1_000), 50_000) == 50_000  # all different
    assert estimate_distinct(counts(400, 300, 300), 50_000) == 3  # no value seen once
    assert 5 < estimate_distinct(counts(*[1] * 50, *[10] * 95), 50_000) < 50_000
    assert estimate_distinct(counts(2, 1), 3) == 2  # the sample is everything
    assert estimate_distinct(counts(), 10) == 0


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "NA", "n/a", "NULL", "None", "-", "nan", "NaN", " null "]),
    st.from_regex(r"[+-]?\d{1,4}(,\d{3})?(\.\d{0,3})?", fullmatch=True),
    st.sampled_from(["1e5", "-2.5E-3", "1e999", "inf", ".5", "12.", "0x1A", "1,2,3"]),
    st.text(max_size=30),
    st.text(alphabet="aZ9-@. é山", min_size=20, max_size=40),
    st.from_regex(r"[a-z]{24}[0-9]{1,3}", fullmatch=True),  # shapes alike once cut
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_VALUES, max_size=80))
def test_a_whole_batch_counted_by_distinct_values_equals_the_profile_of_its_values(values):
    from flowforge.ai.profile import _profile_by_counts, _profile_by_values

    text = pl.Series("c", values, dtype=pl.String).str.strip_chars()
    by_counts = _profile_by_counts("c", text).to_dict()
    assert by_counts == _profile_by_values("c", text, text.len(), 100_000).to_dict()
    assert profile_series(pl.Series("c", values, dtype=pl.String)).to_dict() == by_counts
    # patterns as their definition says: each present value shaped, then counted
    present = [v for v in text.to_list() if v is not None and v.lower() not in NULL_TOKENS]
    counted = Counter(shapes(pl.Series(present, dtype=pl.String)).to_list())
    top = sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert [tuple(p) for p in by_counts["patterns"]] == top
