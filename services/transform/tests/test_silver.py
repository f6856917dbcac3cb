"""Bronze → Silver: cleaning, safe type inference, names and dedupe (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flowforge.common.errors import BadInputError
from flowforge.transform.inference import _decimal_pattern, layout_cast
from flowforge.transform.silver import LINEAGE, bronze_to_silver, dedupe, plan

INGESTED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def bronze(columns: dict[str, list[str | None]], lines: list[int] | None = None) -> pl.DataFrame:
    """A Bronze batch shaped like ingest writes it: string data plus lineage columns."""
    n = len(next(iter(columns.values())))
    lines = lines if lines is not None else list(range(2, n + 2))
    return pl.DataFrame(
        {
            **{name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()},
            "_source_file": pl.Series(["orders.csv"] * n, dtype=pl.String),
            "_source_line": pl.Series(lines, dtype=pl.Int64),
            "_ingested_at": pl.Series([INGESTED_AT] * n, dtype=pl.Datetime("us", "UTC")),
            "_run_id": pl.Series(["run-1"] * n, dtype=pl.String),
        }
    )


def column_of(values: list[str | None]) -> tuple[str, pl.Series]:
    """Infer one column; an `id` column keeps the rows distinct so none is deduped away."""
    ids = [str(i) for i in range(len(values))]
    result = bronze_to_silver(bronze({"id": ids, "value": values}), [])
    return result.types["value"], result.frame.get_column("value")


def test_zip_codes_with_leading_zeros_stay_strings():
    kind, series = column_of(["00501", "10001", "02134"])
    assert kind == "string"
    assert series.to_list() == ["00501", "10001", "02134"]


def test_an_integer_column_with_one_leading_zero_value_stays_string():
    kind, series = column_of(["1", "2", "007"])
    assert kind == "string"
    assert series.to_list() == ["1", "2", "007"]


def test_plain_integers_become_int64():
    kind, series = column_of(["1", "-2", "+3"])
    assert kind == "integer"
    assert series.dtype == pl.Int64 and series.to_list() == [1, -2, 3]


def test_iso_dates_become_dates():
    kind, series = column_of(["2024-01-31", "2024-02-01"])
    assert kind == "date"
    assert series.to_list() == [date(2024, 1, 31), date(2024, 2, 1)]


def test_us_dates_become_dates_when_some_day_is_above_twelve():
    kind, series = column_of(["01/31/2024", "2/1/2024"])
    assert kind == "date"
    assert series.to_list() == [date(2024, 1, 31), date(2024, 2, 1)]


def test_dates_whose_parts_are_all_twelve_or_less_stay_strings():
    kind, series = column_of(["01/02/2024", "03/04/2024"])
    assert kind == "string"
    assert series.to_list() == ["01/02/2024", "03/04/2024"]


def test_eu_dotted_dates_become_dates():
    kind, series = column_of(["31.01.2024", "01.02.2024"])
    assert kind == "date"
    assert series.to_list() == [date(2024, 1, 31), date(2024, 2, 1)]


def test_datetimes_with_z_or_an_offset_become_utc_timestamps():
    kind, series = column_of(
        ["2024-03-01T10:00:00Z", "2024-03-01 12:30:00+02:00", "2024-03-01T23:15:00-05:00"]
    )
    assert kind == "timestamp with time zone"
    assert series.dtype == pl.Datetime("us", "UTC")
    assert series.to_list() == [
        datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 10, 30, tzinfo=UTC),
        datetime(2024, 3, 2, 4, 15, tzinfo=UTC),
    ]


def test_datetimes_as_postgresql_prints_them_hour_only_offsets_included_become_utc():
    kind, series = column_of(
        ["2024-03-01 10:00:00+00", "2024-03-01 12:30:00.5+02", "2024-03-01 10:00:00+05:30"]
    )
    assert kind == "timestamp with time zone"
    assert series.to_list() == [
        datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 10, 30, 0, 500000, tzinfo=UTC),
        datetime(2024, 3, 1, 4, 30, tzinfo=UTC),
    ]


def test_datetimes_mixing_offset_and_no_offset_stay_strings():
    kind, series = column_of(["2024-03-01T10:00:00Z", "2024-03-01T11:00:00"])
    assert kind == "string"
    assert series.to_list() == ["2024-03-01T10:00:00Z", "2024-03-01T11:00:00"]


def test_yes_no_true_false_tokens_in_any_case_become_booleans():
    kind, series = column_of(["Yes", "no", "Y", "n", "TRUE", "false", None])
    assert kind == "boolean"
    assert series.to_list() == [True, False, True, False, True, False, None]


def test_decimals_keep_exact_values_with_the_scale_of_the_longest_fraction():
    kind, series = column_of(["1.5", "2.25", "3", "-0.125", "+0.1"])
    assert kind == "decimal(38,3)"
    assert series.dtype == pl.Decimal(38, 3)
    assert series.to_list() == [Decimal(v) for v in ("1.5", "2.25", "3", "-0.125", "0.1")]


@pytest.mark.parametrize(
    "text",
    ["0.1234567890123456789", "1234567890123456789012345678901234567890.5"],
    ids=["19-decimal-places", "40-digits"],
)
def test_decimals_too_wide_for_decimal_38_18_are_never_rounded(text):
    _, series = column_of([text, "1.5"])
    value = series.to_list()[0]
    assert series.dtype != pl.Float64, "a lossy float would corrupt the value"
    assert Decimal(str(value)) == Decimal(text)


def test_timestamps_with_nanoseconds_are_not_truncated():
    _, series = column_of(["2024-03-01T10:00:00.123456789Z"])
    if series.dtype == pl.String:
        assert series.to_list() == ["2024-03-01T10:00:00.123456789Z"]
    else:
        nanos = series.dt.cast_time_unit("ns").dt.nanosecond().item()
        assert nanos == 123456789


def test_a_numeric_column_with_one_non_numeric_value_stays_string():
    kind, series = column_of(["1", "2.5", "n/k"])
    assert kind == "string"
    assert series.to_list() == ["1", "2.5", "n/k"]


def test_null_tokens_become_null_and_whitespace_is_trimmed():
    tokens = ["", "NA", "N/A", "null", "NULL", "None", "-", "  ", " NA "]
    kind, series = column_of(["  Ada  ", *tokens, "\tBob\n"])
    assert kind == "string"
    assert series.to_list() == ["Ada", *[None] * len(tokens), "Bob"]


def test_column_names_become_unique_snake_case():
    names = ["Order ID", "ZipCode", "name", "Name", "1st"]
    frame = bronze({name: ["x"] for name in names})
    result = bronze_to_silver(frame, [])
    assert result.frame.columns == [
        "order_id",
        "zip_code",
        "name",
        "name_2",
        "c_1st",
        *LINEAGE,
    ]


def test_exact_duplicate_rows_are_removed_keeping_the_first():
    frame = bronze({"sku": ["a", "b", "a ", "a"], "qty": ["1", "2", "1", "1"]})
    result = bronze_to_silver(frame, [])
    expected = pl.DataFrame({"sku": ["a", "b"], "qty": [1, 2], "_source_line": [2, 3]})
    assert_frame_equal(result.frame.select("sku", "qty", "_source_line"), expected)
    assert (result.bronze, result.silver, result.duplicates) == (4, 2, 2)


def test_rows_sharing_a_key_keep_only_the_last_in_the_file():
    frame = bronze({"id": ["1", "2", "1", "1"], "status": ["new", "new", "paid", "shipped"]})
    result = bronze_to_silver(frame, ["id"])
    expected = pl.DataFrame({"id": [2, 1], "status": ["new", "shipped"], "_source_line": [3, 5]})
    assert_frame_equal(result.frame.select("id", "status", "_source_line"), expected)


def test_the_last_row_of_a_key_wins_even_when_it_repeats_an_earlier_row():
    # An order that went pending → shipped → pending again is pending in Silver.
    frame = bronze({"id": ["1", "1", "1"], "status": ["pending", "shipped", "pending"]})
    result = bronze_to_silver(frame, ["id"])
    assert result.frame.get_column("status").to_list() == ["pending"]


def test_rows_with_a_null_key_part_are_never_merged():
    frame = bronze(
        {
            "region": ["eu", "eu", None, "NA"],
            "id": ["", "", "1", "1"],
            "amount": ["1", "2", "3", "4"],
        }
    )
    result = bronze_to_silver(frame, ["region", "id"])
    assert result.frame.get_column("_source_line").to_list() == [2, 3, 4, 5]


@pytest.mark.parametrize("key", [["Order ID"], ["order_id"], ["OrderId"]])
def test_the_key_may_be_given_by_its_original_or_snake_case_name(key):
    frame = bronze({"Order ID": ["1", "1"], "Amount": ["5", "7"]})
    result = bronze_to_silver(frame, key)
    assert result.key == ["order_id"]
    assert result.frame.get_column("amount").to_list() == [7]


def test_an_unknown_key_column_raises_bad_input_naming_the_columns():
    with pytest.raises(BadInputError, match=r"'customer'.*\['Amount', 'Order ID'\]"):
        bronze_to_silver(bronze({"Order ID": ["1"], "Amount": ["5"]}), ["customer"])


# ---- invariants ---------------------------------------------------------------------------

# Letters only, so every column stays a string and cleaned values are easy to predict.
CELL = st.sampled_from(["a", "b", " a", "", "NA"])
KEYS = st.sampled_from([[], ["k"], ["k", "v"]])


@st.composite
def bronze_frames(draw) -> pl.DataFrame:
    lines = sorted(draw(st.lists(st.integers(1, 10_000), max_size=12, unique=True)))
    cols = {c: draw(st.lists(CELL, min_size=len(lines), max_size=len(lines))) for c in "kvw"}
    return bronze(cols, lines) if lines else bronze({c: [] for c in "kvw"}, [])


def cleaned(value: str | None) -> str | None:
    text = value.strip() if value is not None else None
    return None if text in ("", "NA", None) else text


@settings(max_examples=200, deadline=None)
@given(frame=bronze_frames(), key=KEYS)
def test_no_row_is_lost_and_every_silver_line_comes_from_bronze(frame, key):
    result = bronze_to_silver(frame, key)
    assert result.silver + result.duplicates == result.bronze == frame.height
    assert set(result.frame["_source_line"]) <= set(frame["_source_line"])
    bronze_values = {tuple(cleaned(v) for v in row) for row in frame.select("k", "v", "w").rows()}
    silver_values = set(result.frame.select("k", "v", "w").rows())
    if not key:
        assert silver_values == bronze_values
    else:  # rows with a null key part are only ever dropped as exact duplicates
        null_keyed = {r for r in bronze_values if None in (r["kvw".index(k)] for k in key)}
        assert null_keyed <= silver_values


@settings(max_examples=200, deadline=None)
@given(frame=bronze_frames(), key=KEYS)
def test_dedupe_is_idempotent(frame, key):
    once = bronze_to_silver(frame, key).frame
    assert_frame_equal(dedupe(once, ["k", "v", "w"], key), once)


@settings(max_examples=200, deadline=None)
@given(frame=bronze_frames(), key=KEYS.filter(bool))
def test_each_full_key_keeps_the_values_of_its_last_bronze_row(frame, key):
    last: dict[tuple, tuple] = {}
    for row in frame.select("k", "v", "w").rows():
        values = tuple(cleaned(v) for v in row)
        key_values = tuple(values["kvw".index(k)] for k in key)
        if None not in key_values:
            last[key_values] = values
    silver = bronze_to_silver(frame, key).frame
    result_rows = {
        tuple(row[k] for k in key): (row["k"], row["v"], row["w"])
        for row in silver.drop_nulls(subset=key).iter_rows(named=True)
    }
    assert result_rows == last


def test_the_file_path_gives_the_same_silver_as_the_in_memory_path(tmp_path) -> None:
    from flowforge.transform.silver import silver_file

    batch = bronze(
        {
            "Order ID": ["1", "2", "2", "3", None, "3"],
            "zip": ["00501", "02134", "02134", "10001", "60601", "10001"],
            "when": [
                "2024-01-02",
                "2024-01-03",
                "2024-01-03",
                "2024-01-04",
                "2024-01-05",
                "2024-01-06",
            ],
            "amount": ["1.50", " 2 ", " 2 ", "NA", "4.25", "5.00"],
        }
    )
    source, out = tmp_path / "bronze.parquet", tmp_path / "silver.parquet"
    batch.write_parquet(source)
    in_memory = bronze_to_silver(batch, ["Order ID"])

    result = silver_file(source, out, ["Order ID"], tmp_path)

    assert (result.bronze, result.silver, result.duplicates) == (6, 4, 2)
    assert result.types == in_memory.types and result.key == ["order_id"]
    assert_frame_equal(pl.read_parquet(out), in_memory.frame)
    assert sorted(tmp_path.iterdir()) == sorted([source, out])  # no scratch left behind


def test_pinned_types_are_kept_when_every_value_fits_and_dropped_when_one_does_not(
    tmp_path,
) -> None:
    from flowforge.transform.silver import silver_file

    batch = bronze(
        {"day": ["03/04/2024", "05/06/2024"], "amount": ["3", "4"], "code": ["007", "8"]}
    )
    source = tmp_path / "bronze.parquet"
    batch.write_parquet(source)
    pinned = {"day": "date:%m/%d/%Y", "amount": "decimal:2", "code": "integer"}

    result = silver_file(source, tmp_path / "silver.parquet", [], tmp_path, pinned)

    assert result.specs == {"day": "date:%m/%d/%Y", "amount": "decimal:2", "code": "string"}
    assert result.types == {"day": "date", "amount": "decimal(38,2)", "code": "string"}
    silver = pl.read_parquet(tmp_path / "silver.parquet")
    assert silver["day"].to_list() == [date(2024, 3, 4), date(2024, 5, 6)]
    assert silver["code"].to_list() == ["007", "8"]  # a leading zero never fits an integer


def test_a_declared_spec_renames_columns_and_types_what_inference_cannot():
    from flowforge.transform.silver import plan

    bronze = pl.DataFrame(
        {
            "Order Date": ["01/02/2024", "03/04/2024"],  # US or EU: inference keeps text
            "Code": ["007", "123"],
            "Qty": ["1", "x"],
        }
    )
    p = plan(
        bronze.columns,
        bronze.get_column,
        ["order_date"],
        types={"order_date": "date:%d/%m/%Y", "qty": "integer", "code": "string"},
        renames={"order_date": "ordered_on", "code": "qty"},  # the second one collides
    )
    assert p.names == {"Order Date": "ordered_on", "Code": "code", "Qty": "qty"}
    assert p.types == {"ordered_on": "date", "code": "string", "qty": "string"}  # "x" ≠ int
    assert p.key == ["ordered_on"]
    lineage = {c: [None, None] for c in LINEAGE}
    typed = p.apply(bronze.with_columns(**lineage).lazy()).collect()
    assert typed.get_column("ordered_on").to_list()[1] == date(2024, 4, 3)


def test_a_wide_file_is_cleaned_and_typed_column_group_by_column_group(tmp_path) -> None:
    """More columns than one group: the same Silver as one query would give, by name and
    type (issue 12: 3,000 columns took minutes when planned as one Polars query)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flowforge.transform import silver as module

    width = module.COLUMN_GROUP * 2 + 5
    columns = {f"Col {i}": [str(i), f" {i + 1} ", "NA"] for i in range(width)}
    columns |= {"_source_file": ["f"] * 3, "_source_line": [2, 3, 4],
                "_ingested_at": [None] * 3, "_run_id": ["r"] * 3}  # fmt: skip
    bronze = tmp_path / "bronze.parquet"
    table = pa.table(columns).cast(
        pa.schema(
            [
                *(pa.field(n, pa.string()) for n in list(columns)[:width]),
                pa.field("_source_file", pa.string()),
                pa.field("_source_line", pa.int64()),
                pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
                pa.field("_run_id", pa.string()),
            ]
        )  # fmt: skip
    )
    pq.write_table(table, bronze)
    result = module.silver_file(bronze, tmp_path / "silver.parquet", [], tmp_path)
    out = pl.read_parquet(tmp_path / "silver.parquet").sort("_source_line")
    assert out.columns[:width] == [f"col_{i}" for i in range(width)]
    assert set(result.types.values()) == {"integer"}
    assert out["col_7"].to_list() == [7, 8, None]
    assert out[f"col_{width - 1}"].to_list() == [width - 1, width, None]


def test_a_wide_file_with_no_rows_yields_an_empty_silver_file(tmp_path) -> None:
    """5,000 columns and no row (every line rejected): one lazy Polars plan over all of them
    crashed the process (stack overflow); column groups keep it linear."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flowforge.transform import silver as module

    fields = [pa.field(f"c{i}", pa.string()) for i in range(5000)] + [
        pa.field("_source_file", pa.string()), pa.field("_source_line", pa.int64()),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")), pa.field("_run_id", pa.string()),
    ]  # fmt: skip
    bronze = tmp_path / "bronze.parquet"
    pq.write_table(pa.schema(fields).empty_table(), bronze)
    result = module.silver_file(bronze, tmp_path / "silver.parquet", [], tmp_path)
    assert (result.bronze, result.silver) == (0, 0)
    assert len(pq.read_schema(tmp_path / "silver.parquet").names) == 5000 + len(LINEAGE)


def test_a_silver_step_past_its_time_limit_stops_with_the_reason(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flowforge.transform import silver as module
    from flowforge.transform.limits import Deadline, TimeLimitExceeded

    bronze = tmp_path / "bronze.parquet"
    pq.write_table(
        pa.table(
            {
                "a": ["1", "2"],
                "_source_file": ["f", "f"],
                "_source_line": [2, 3],
                "_ingested_at": pa.array([None, None], pa.timestamp("us", tz="UTC")),
                "_run_id": ["r", "r"],
            }
        ),  # fmt: skip
        bronze,
    )
    spent = Deadline(0.001, "the Silver step of sales", "FLOWFORGE_SILVER_TIMEOUT")
    import time

    time.sleep(0.01)
    with pytest.raises(TimeLimitExceeded, match="Silver step of sales stopped after 0 s"):
        module.silver_file(bronze, tmp_path / "s.parquet", [], tmp_path, deadline=spent)


# ---------------------------------------------------------------- a large file, from a sample


def _bronze_file(tmp_path, columns: dict[str, list[str | None]], name: str = "bronze.parquet"):
    path = tmp_path / name
    bronze(columns).write_parquet(path, row_group_size=50)
    return path


def _both_ways(tmp_path, monkeypatch, columns, key):
    """Silver of one Bronze file typed from a sample (tiny sample windows) and from all its
    values; both results and frames."""
    from flowforge.transform import silver as module

    source = _bronze_file(tmp_path, columns)
    results = []
    for sample_rows, name in ((40, "sampled"), (10**9, "exact")):
        monkeypatch.setattr(module, "SAMPLE_ROWS", sample_rows)
        out = tmp_path / f"{name}.parquet"
        result = module.silver_file(source, out, key, tmp_path)
        results.append((result, pl.read_parquet(out)))
    return results


LATE_BREAKERS = {
    "a leading-zero code": ("code", [str(i) for i in range(1, 400)] + ["0042"], "string"),
    "a late non-date": ("day", ["2024-01-02"] * 399 + ["soon"], "string"),
    "a wider decimal scale": ("amount", ["1.5"] * 399 + ["2.125"], "decimal:3"),
    "a nanosecond timestamp": (
        "at",
        ["2024-01-02T03:04:05Z"] * 399 + ["2024-01-02T03:04:05.123456789Z"],
        "timestamptz:ns",
    ),
    "a 19-digit integer": ("n", ["7"] * 399 + ["1234567890123456789"], "string"),
    "a yes among flags": ("flag", ["true", "false"] * 199 + ["yes", "maybe"], "string"),
}


@pytest.mark.parametrize("case", list(LATE_BREAKERS), ids=list(LATE_BREAKERS))
def test_a_value_that_breaks_a_sampled_type_late_in_a_large_file_never_corrupts_it(
    tmp_path, monkeypatch, caplog, case
) -> None:
    column, values, spec = LATE_BREAKERS[case]
    ids = [str(i) for i in range(len(values))]
    with caplog.at_level("INFO", logger="flowforge.transform.silver"):
        (sampled, frame), (exact, exact_frame) = _both_ways(
            tmp_path, monkeypatch, {"id": ids, column: values}, ["id"]
        )
    assert f"column(s) {column} of bronze.parquet break the type" in caplog.text
    assert sampled.specs[column] == exact.specs[column] == spec
    assert_frame_equal(frame.drop("_ingested_at"), exact_frame.drop("_ingested_at"))
    if spec == "string":  # every text kept as written
        assert frame[column].to_list() == values


def test_dates_a_sample_cannot_tell_us_from_eu_are_settled_by_all_values(
    tmp_path, monkeypatch
) -> None:
    """Only the last window has a day above 12: the sample alone would keep the text."""
    days = [f"{m:02d}/{d:02d}/2024" for m in range(1, 13) for d in range(1, 13)] * 3
    days = days[:399] + ["12/25/2024"]
    (sampled, frame), (exact, _) = _both_ways(
        tmp_path, monkeypatch, {"id": [str(i) for i in range(400)], "day": days}, ["id"]
    )
    assert sampled.specs["day"] == exact.specs["day"] == "date:%m/%d/%Y"
    assert frame["day"][-1] == date(2024, 12, 25)


def test_a_large_file_gives_the_silver_the_in_memory_path_gives(tmp_path, monkeypatch) -> None:
    """Keyed with repeats, null key parts and exact repeats among them: streamed or through
    DuckDB's hashes (many null keys), the same rows as `bronze_to_silver`."""
    from flowforge.transform import silver as module

    n = 600
    columns = {
        "k": [None if i % 7 == 0 else str(i % 150) for i in range(n)],
        "v": [str(i % 5) for i in range(n)],
        "w": [f"{i % 3}.25" for i in range(n)],
    }
    in_memory = bronze_to_silver(bronze(columns), ["k"]).frame
    source = _bronze_file(tmp_path, columns)
    monkeypatch.setattr(module, "SAMPLE_ROWS", 60)
    for rows in (64, 65_536):  # batches of 64 rows / the whole file as one batch
        monkeypatch.setattr(module, "batch_rows", lambda columns, rows=rows: rows)
        for loose_limit in (10**6, 0):  # streamed / DuckDB over every row's hashes
            monkeypatch.setattr(module, "STREAMED_LOOSE_ROWS", loose_limit)
            out = tmp_path / f"silver-{rows}-{loose_limit}.parquet"
            result = module.silver_file(source, out, ["k"], tmp_path)
            assert result.silver == in_memory.height
            assert_frame_equal(pl.read_parquet(out), in_memory)


def test_batches_cut_at_row_groups_keep_every_line_once_and_in_order(tmp_path, monkeypatch):
    """Row groups of uneven sizes, batches smaller and larger than them, a two-part key with
    repeats across batches: the Silver the in-memory path gives."""
    import pyarrow.parquet as pq

    from flowforge.transform import silver as module

    n = 700
    columns = {
        "a": [str(i % 4) for i in range(n)],
        "b": [None if i % 11 == 0 else str(i % 90) for i in range(n)],
        "v": [str(i) for i in range(n)],
    }
    in_memory = bronze_to_silver(bronze(columns), ["a", "b"]).frame
    source = tmp_path / "bronze.parquet"
    table = bronze(columns).to_arrow()
    with pq.ParquetWriter(source, table.schema) as writer:
        at = 0
        for size in (13, 200, 1, 90, 300, 96):
            writer.write_table(table.slice(at, size), row_group_size=size)
            at += size
    assert pq.ParquetFile(source).metadata.num_row_groups == 6
    monkeypatch.setattr(module, "SAMPLE_ROWS", 60)
    for rows in (7, 100, 250, 10_000):
        monkeypatch.setattr(module, "batch_rows", lambda columns, rows=rows: rows)
        cuts = list(module._slices(pq.ParquetFile(source).metadata, rows))
        starts, lengths = [s for s, _ in cuts], [length for _, length in cuts]
        assert starts == [sum(lengths[:i]) for i in range(len(cuts))]  # consecutive
        assert sum(lengths) == n and all(0 < length <= rows for length in lengths)
        out = tmp_path / f"silver-{rows}.parquet"
        assert module.silver_file(source, out, ["a", "b"], tmp_path).silver == in_memory.height
        assert_frame_equal(pl.read_parquet(out), in_memory)


def test_a_key_that_breaks_its_sampled_type_late_is_typed_from_all_values(
    tmp_path, monkeypatch
) -> None:
    """Keys "7" and "007" are different orders: never merged as the integer 7."""
    keys = [str(i) for i in range(1, 400)] + ["007"]
    (sampled, frame), (exact, _) = _both_ways(
        tmp_path, monkeypatch, {"id": keys, "v": ["x"] * 400}, ["id"]
    )
    assert sampled.specs["id"] == exact.specs["id"] == "string"
    assert sampled.silver == 400 and "007" in frame["id"].to_list()


LAYOUTS = {
    "utc Z": ["2023-07-12T20:38:48Z", "2024-02-29T00:00:01Z", None],
    "offset with colon": ["2023-07-12T20:38:48.123456+02:00", "2023-01-01T00:00:00.5-05:30"],
    "offset without colon": ["2023-07-12 20:38:48-0530", "2023-07-12 20:38:48+0100"],
    "minutes only": ["2023-07-12T20:38+01:00", "2023-12-31T23:59+01:00"],
    "hour-only offset": ["2023-07-12 20:38:48+05", "2023-07-12 20:38:48-08"],
    "naive with fraction": ["2023-07-12 20:38:48.25", "2023-07-12 20:38:48.000001"],
    "naive nanoseconds": ["2023-07-12 20:38:48.123456789", "2023-07-12 20:38:48.1"],
    "mixed offsets (first value's layout misses the rest)": [
        "2023-07-12T20:38:48Z", "2023-07-12T20:38:48+02:00", "2023-07-12 20:38:48+05",
    ],
}  # fmt: skip


@pytest.mark.parametrize("values", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_timestamps_cast_by_their_layout_equal_the_general_cast(values):
    """Batches cast a timestamp by the explicit layout of their first value (fast), falling
    back to the general cast when another layout follows: the values are the same."""
    frame = bronze({"id": [str(i) for i in range(len(values))], "at": values})
    p = plan(frame.columns, frame.get_column, ["id"])
    assert p.specs["at"].startswith("timestamp"), p.specs
    batched = p.apply_batch(frame)
    general = p.apply(frame.lazy()).collect()
    assert_frame_equal(batched, general)
    assert batched.get_column("at").null_count() == values.count(None)
    fast = layout_cast(p.specs["at"], "at", values[0])  # the fast path is taken but one
    assert (fast is None) == values[0].endswith(("+05", "-08"))  # (+HH is left to the other)


@settings(max_examples=400, deadline=None)
@given(
    sign=st.sampled_from(["", "+", "-", "--"]),
    whole=st.text("0123456789", max_size=40),
    dot=st.sampled_from(["", ".", ".."]),
    places=st.text("0123456789", max_size=20),
    scale=st.integers(0, 18),
)
def test_a_decimal_fits_its_scale_by_digits_counted_as_inference_counts_them(
    sign, whole, dot, places, scale
):
    """The one-regex check of a sampled decimal: an integer or decimal text (no leading zero,
    some digit) with at most `scale` places and 38 - `scale` whole digits."""
    text = sign + whole + dot + (places if dot else "")
    digits_after = places if dot == "." else ""
    lexical = (
        sign in ("", "+", "-")
        and dot in ("", ".")
        and (whole != "" or digits_after != "")
        and (whole in ("", "0") or not whole.startswith("0"))
        and not (dot == "" and whole == "")
    )
    expected = lexical and len(digits_after) <= scale and len(whole) <= 38 - scale
    found = pl.Series([text]).str.contains(_decimal_pattern(scale)).item()
    assert found == expected, (text, scale)


@settings(max_examples=400, deadline=None)
@given(
    sign=st.sampled_from(["", "+", "-", "+-", "-+"]),
    digits=st.text("0123456789\u0663", max_size=24),
    tail=st.sampled_from(["", "+", " ", "x"]),
)
def test_a_sampled_integer_is_checked_as_an_integer_of_at_most_18_digits(sign, digits, tail):
    """The one-regex check of a sampled integer equals `_INT` and at most 18 digits."""
    from flowforge.transform.inference import _INT, _INT_18

    text = pl.Series([sign + digits + tail])
    expected = (text.str.contains(_INT) & (text.str.strip_chars("+-").str.len_chars() <= 18)).item()
    assert text.str.contains(_INT_18).item() == expected, text.item()


def test_a_sampled_timestamp_is_checked_by_one_regex_as_by_three():
    """The one-regex check of a sampled timestamp equals `_DATETIME`, an offset present
    (timestamptz) or absent (timestamp), and at most 6 places unless the unit is ns: every
    combination of these parts, good and bad."""
    import itertools

    from flowforge.transform.inference import (
        _DATETIME,
        _DATETIME_TZ,
        _MORE_THAN_US,
        _datetime_pattern,
    )

    parts = [
        ["2024-01-02", "2024-1-02", "24-01-02", "2024-01-0\u0663", ""],
        ["T", " ", "t", ""],
        ["03:04:05", "03:04", "3:04", "03:04:5", "03", "-03:04", ""],
        ["", *("." + "7" * n for n in range(11))],
        ["", "Z", "z", "+05", "-08", "+0530", "-05:30", "+5", "+05:3", "-"],
        ["", " ", "x", "Z"],
    ]
    text = pl.Series("t", ["".join(p) for p in itertools.product(*parts)])
    with_tz = text.str.contains(_DATETIME_TZ)
    for kind, ns in itertools.product(("timestamp", "timestamptz"), (False, True)):
        expected = text.str.contains(_DATETIME) & (with_tz if kind == "timestamptz" else ~with_tz)
        if not ns:
            expected = expected & ~text.str.contains(_MORE_THAN_US)
        found = text.str.contains(_datetime_pattern(kind == "timestamptz", ns))
        assert expected.sum() > 0
        differ = text.filter(found != expected).to_list()
        assert not differ, (kind, ns, differ[:5])


def test_a_mid_sized_file_typed_from_every_kth_row_still_sees_a_late_breaker(tmp_path, caplog):
    """Over EXACT_ROWS rows, a file is typed from every k-th row: the one leading-zero code
    the sample skips still keeps the column text (found as it is cast)."""
    from flowforge.transform import silver as module

    n = 2 * module.EXACT_ROWS + 500
    codes = [str(i) for i in range(1, n)] + ["0042"]  # the last row: not a sampled one
    assert (n - 1) % (n // module.EXACT_ROWS) != 0
    source = _bronze_file(tmp_path, {"id": [str(i) for i in range(n)], "code": codes})
    with caplog.at_level("INFO", logger="flowforge.transform.silver"):
        result = module.silver_file(source, tmp_path / "silver.parquet", ["id"], tmp_path)
    assert "column(s) code of bronze.parquet break the type" in caplog.text
    assert result.specs["code"] == "string" and result.specs["id"] == "integer"
    assert pl.read_parquet(tmp_path / "silver.parquet")["code"].to_list() == codes


def test_a_one_batch_silver_file_written_by_polars_reads_as_pyarrow_writes_it(tmp_path):
    """`write_whole` (Polars' writer, for speed) gives every Silver type the Parquet and Arrow
    form pyarrow's writer gives it (readers see one schema whichever wrote a batch)."""
    import pyarrow.parquet as pq

    from flowforge.transform.silver import write_whole

    n = 300
    frame = pl.DataFrame(
        {
            "i": [None if k % 7 == 0 else k - 150 for k in range(n)],
            "f": [None if k % 5 == 0 else k / 3 for k in range(n)],
            "s": [None if k % 4 == 0 else f"v{k % 9}" for k in range(n)],
            "b": [None if k % 6 == 0 else k % 2 == 0 for k in range(n)],
            "d": [date(2024, 1, 1 + k % 28) for k in range(n)],
            "d2": [Decimal(k) / 100 for k in range(n)],
            "d0": [Decimal(k * 1000) for k in range(n)],
        },
        schema_overrides={"d2": pl.Decimal(38, 2), "d0": pl.Decimal(38, 0)},
    ).with_columns(
        us=pl.datetime(2024, 1, 2, 3, pl.col("i").fill_null(0).abs() % 60, time_unit="us"),
        ns=pl.datetime(2024, 1, 2, 3, 4, 5, time_unit="ns", time_zone="UTC"),
        tz=pl.datetime(2024, 1, 2, 3, 4, 5, time_unit="us", time_zone="UTC"),
        _source_line=pl.int_range(2, n + 2),
    )
    polars_out, arrow_out = tmp_path / "polars.parquet", tmp_path / "arrow.parquet"
    assert write_whole(frame, polars_out)
    pq.write_table(frame.to_arrow(), arrow_out, compression="zstd")
    got, want = pq.read_table(polars_out), pq.read_table(arrow_out)
    assert got.schema.equals(want.schema) and got.equals(want)
    a, b = pq.ParquetFile(polars_out).schema, pq.ParquetFile(arrow_out).schema
    for k in range(len(frame.columns)):
        assert (a.column(k).physical_type, str(a.column(k).logical_type)) == (
            b.column(k).physical_type,
            str(b.column(k).logical_type),
        ), frame.columns[k]
    # an empty frame or a type outside the checked ones: left to pyarrow's writer
    assert not write_whole(frame.clear(), tmp_path / "empty.parquet")
    assert not write_whole(frame.with_columns(x=pl.lit(None)), tmp_path / "null.parquet")
    assert not (tmp_path / "empty.parquet").exists() and not (tmp_path / "null.parquet").exists()


_SPECS = [
    "string", "boolean", "integer", "decimal:0", "decimal:2", "decimal:36", "double",
    "date:%Y-%m-%d", "date:%m/%d/%Y", "date:%d/%m/%Y", "timestamp:us", "timestamp:ns",
    "timestamptz:us", "timestamptz:ns", "unknown",
]  # fmt: skip
_KINDS_OF_CELL = (
    st.none(),
    st.sampled_from(["true", "No", "y", "T", "maybe", "-", "NA", ""]),
    st.from_regex(r"[+-]?[0-9]{1,20}", fullmatch=True),
    st.from_regex(r"[+-]?[0-9]{0,3}\.[0-9]{0,4}", fullmatch=True),
    st.sampled_from(["1e5", "-2.5E-3", "1e999", "inf", "nan", "12.", ".5", "0042"]),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.sampled_from(["2024-02-30", "13/13/2024", "1/2/2024"]),
    st.sampled_from(
        [
            "2024-01-02T03:04:05Z",
            "2024-01-02 03:04:05",
            "2024-01-02T03:04:05.123456789Z",
            "2024-01-02T03:04:05.1234567",
            "2024-01-02T03:04+02:00",
            "2024-01-02T03:04:05+0530",
            "2024-01-02T25:04:05",
            "2024-01-02T03:04:05.5+01",
        ]
    ),  # fmt: skip
    st.text(max_size=6),
)
_COLUMNS = st.one_of(  # one kind of value (with nulls), or any mix
    *(st.lists(st.one_of(st.none(), kind), max_size=30) for kind in _KINDS_OF_CELL[1:]),
    st.lists(st.one_of(*_KINDS_OF_CELL), max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(_COLUMNS, st.sampled_from(_SPECS))
@example(["1e999", "2"], "double")  # an infinity
@example(["123", "4.5"], "decimal:36")  # more whole digits than 38 - scale
@example(["2024-01-02T03:04:05.1234567"], "timestamp:us")  # finer than microseconds
@example(["12345678901234567890"], "integer")  # more than 18 digits
def test_a_pinned_type_checked_in_one_query_gives_the_verdict_of_fits(values, spec):
    from flowforge.transform.inference import clean_expr, fits, fits_expr

    cleaned = pl.DataFrame({"c": values}, schema={"c": pl.String}).select(clean_expr("c"))
    assert cleaned.select(fits_expr(spec, "c")).item() == fits(spec, cleaned.to_series())


@settings(max_examples=300, deadline=None)
@given(_COLUMNS, st.sampled_from(_SPECS), st.booleans())
@example(["007", "8"], "integer", False)  # a leading zero: the pinned type goes
@example(["2024-01-02", "2024-01-02 03:04"], "date:%Y-%m-%d", True)  # a late timestamp
def test_a_batch_cast_straight_to_its_pinned_types_is_what_inference_would_make(
    values, spec, keyed
):
    """`pinned_plan` (every column pinned: cast, each value checked, no sample judged first)
    writes the same Silver file, types and specs as planning the batch does."""
    import tempfile
    from pathlib import Path
    from unittest import mock

    from flowforge.transform import silver

    if not values:
        values = [None]
    batch = bronze({"id": [str(i % 7) for i in range(len(values))], "c": values})
    pinned = {"id": "integer", "c": spec}
    seen = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bronze.parquet"
        batch.write_parquet(source)
        outputs = []
        for fast in (True, False):
            out = Path(tmp) / f"silver-{fast}.parquet"
            with mock.patch.object(silver, "plan", wraps=silver.plan) as planned:
                if not fast:
                    with mock.patch.object(silver, "pinned_plan", lambda *a, **k: None):
                        result = silver.silver_file(source, out, ["id"] * keyed, Path(tmp), pinned)
                else:
                    result = silver.silver_file(source, out, ["id"] * keyed, Path(tmp), pinned)
                seen.append(planned.called)
            outputs.append((result.silver, result.types, result.key, result.specs))
            outputs.append(pl.read_parquet(out))
    assert outputs[0] == outputs[2]
    assert_frame_equal(outputs[1], outputs[3])
    assert seen[1]  # the reference planned the batch


def test_a_batch_whose_values_fit_its_pinned_types_is_not_planned_again(tmp_path) -> None:
    from unittest import mock

    from flowforge.transform import silver

    batch = bronze({"id": ["1", "2", "2"], "day": ["2024-01-02", None, "2024-02-03"],
                    "amount": ["1.5", "2", ""], "note": ["a", "b", "c"]})  # fmt: skip
    source = tmp_path / "bronze.parquet"
    batch.write_parquet(source)
    pinned = {"id": "integer", "day": "date:%Y-%m-%d", "amount": "decimal:2", "note": "string"}
    with mock.patch.object(silver, "plan", wraps=silver.plan) as planned:
        result = silver.silver_file(source, tmp_path / "s.parquet", ["id"], tmp_path, pinned)
    assert not planned.called
    assert result.specs == pinned and result.silver == 2
    assert pl.read_parquet(tmp_path / "s.parquet")["amount"].to_list() == [Decimal("1.50"), None]
