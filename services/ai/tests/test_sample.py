"""Reading a bounded sample of a Bronze Parquet file: runs spread from head to tail."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from flowforge.ai import sample
from flowforge.ai.sample import BronzeSample, windows


def test_windows_are_spread_over_the_file_in_order_without_overlap():
    runs = windows(5_000_000, 200_000)
    assert len(runs) == 32
    assert sum(n for _, n in runs) == 200_000
    assert all(a + n <= b for (a, n), (b, _) in zip(runs, runs[1:], strict=False))
    assert runs[0][0] < 5_000_000 // 32 and runs[-1][0] > 5_000_000 * 31 // 32


def test_a_file_that_fits_in_the_sample_is_read_whole():
    assert windows(1_000, 1_000) == [(0, 1_000)]
    assert windows(1_000, 5_000) == [(0, 1_000)]


def test_reads_a_sample_of_a_large_file_from_head_to_tail(tmp_path):
    path = tmp_path / "bronze.parquet"
    pl.DataFrame({"n": [str(i) for i in range(100_000)]}).write_parquet(path, row_group_size=30_000)
    bronze = BronzeSample(path)
    values = bronze.read("n", rows=3_200).cast(pl.Int64)
    assert bronze.rows == 100_000 and values.len() == 3_200
    assert values.is_sorted() and values.n_unique() == 3_200
    assert values.min() < 3_200 and values.max() > 96_800  # not the head alone


def test_a_column_of_long_values_gets_fewer_rows(tmp_path, monkeypatch):
    path = tmp_path / "bronze.parquet"
    rows = 20_000
    pl.DataFrame(
        {"short": ["x"] * rows, "long": [f"{i:05d}" + "y" * 995 for i in range(rows)]}
    ).write_parquet(path)
    monkeypatch.setattr(sample, "SAMPLE_BYTES", 1_000_000)
    bronze = BronzeSample(path)
    assert bronze.rows_to_read("short") == rows
    assert 500 <= bronze.rows_to_read("long") <= 1_100
    assert bronze.read("long").len() == bronze.rows_to_read("long")


def test_a_dictionary_coded_column_of_long_values_is_thinned_to_the_byte_budget(
    tmp_path, monkeypatch
):
    path = tmp_path / "bronze.parquet"
    rows = 20_000
    long = [f"v{i % 3}" + "y" * 998 for i in range(rows)]
    pq.write_table(pa.table({"long": long}), path, use_dictionary=True)
    monkeypatch.setattr(sample, "SAMPLE_BYTES", 1_000_000)
    bronze = BronzeSample(path)
    assert bronze.rows_to_read("long") == rows  # the metadata sees ~1 byte a row
    values = bronze.read("long")
    assert 500 <= values.len() <= 1_000
    assert values.str.len_bytes().sum() <= 1_000_000
    assert set(values.str.slice(0, 2)) == {"v0", "v1", "v2"}
