"""Aggregate models refreshed from changes (`aggregates`): which SQL is recognised, and, over
generated batch histories (updates, late versions, NULL keys and groups and values, quarantined
rows, folds), every refreshed result equal to the model's SQL run over all the rows."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from flowforge.common.lake import ValidRows, sql_list
from flowforge.transform.aggregates import Changes, Refresh, form_of

MODELS = [
    "SELECT country, count(*) AS orders, sum(amount) AS revenue FROM ds GROUP BY 1",
    "SELECT count(*) AS n, sum(amount) AS s, count(amount) AS c, sum(qty) AS q FROM ds",
    "SELECT upper(country) AS c, status, sum(amount) FILTER (WHERE amount > 50) AS big,"
    " round(sum(amount) / count(*), 2) AS mean FROM ds WHERE qty % 3 <> 0 GROUP BY ALL",
    "SELECT status, country, sum(qty) AS q, count(amount) AS priced FROM Ds"
    ' GROUP BY "Status", country',
]


@pytest.mark.parametrize("sql", MODELS)
def test_count_and_sum_aggregates_are_recognised(sql):
    assert form_of(sql, "ds") is not None


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT country, avg(amount) FROM ds GROUP BY 1",
        "SELECT country, max(amount) FROM ds GROUP BY 1",
        "SELECT country, count(DISTINCT id) FROM ds GROUP BY 1",
        "SELECT country, sum(amount) FROM ds GROUP BY 1 HAVING sum(amount) > 0",
        "SELECT country, sum(amount) FROM ds GROUP BY 1 ORDER BY 2 LIMIT 3",
        "SELECT DISTINCT country FROM ds",
        "SELECT * FROM ds",
        "SELECT country, amount FROM ds",
        "SELECT o.country, count(*) FROM ds o JOIN other x ON o.id = x.id GROUP BY 1",
        "SELECT country, sum(amount) OVER () FROM ds",
        "SELECT country, count(*) FROM (SELECT * FROM ds) t GROUP BY 1",
        "SELECT country, count(*) FROM ds WHERE id IN (SELECT id FROM ds) GROUP BY 1",
        "SELECT country, count(*) FROM ds WHERE random() < 0.5 GROUP BY 1",
        "SELECT country, count(*) FROM ds GROUP BY ROLLUP (country)",
        "SELECT country AS status, count(*) FROM ds GROUP BY status",
        "SELECT country, my_agg(amount) FROM ds GROUP BY 1",
        "WITH t AS (SELECT * FROM ds) SELECT country, count(*) FROM t GROUP BY 1",
        "SELECT country, count(*) FROM other GROUP BY 1",
        "SELECT country, status, count(*) FROM ds GROUP BY 1",  # status neither grouped
    ],
)
def test_other_sql_is_built_from_every_row(sql):
    assert form_of(sql, "ds") is None


# ------------------------------------------------------------------- generated histories

COUNTRIES = ["DE", "FR", "us", None]
STATUSES = ["paid", "open", None]


def _batch(con, path: Path, run: str, at: int, rows: list[tuple]) -> Path:
    values = ", ".join(
        f"({'NULL' if i is None else i}, {_text(c)}, {_text(s)},"
        f" {'NULL' if a is None else repr(str(a))}::DECIMAL(38,2), {q},"
        f" TIMESTAMPTZ '2026-12-0{at % 9 + 1} 00:00:{at % 60:02d}+00', '{run}', {n})"
        for n, (i, c, s, a, q) in enumerate(rows, start=2)
    )
    con.execute(
        f"COPY (SELECT * FROM (VALUES {values}) t(id, country, status, amount, qty,"
        f" _ingested_at, _run_id, _source_line)) TO '{path}' (FORMAT parquet)"
    )
    return path


def _text(value):
    return "NULL" if value is None else f"'{value}'"


def _quarantine(con, path: Path, run: str, lines: list[int]) -> Path:
    values = ", ".join(f"('{run}', {n})" for n in lines)
    con.execute(
        f"COPY (SELECT * FROM (VALUES {values}) t(_run_id, _source_line)) TO '{path}'"
        " (FORMAT parquet)"
    )
    return path


def _rows(rng: random.Random, next_id: int, n: int) -> tuple[list[tuple], int]:
    out = []
    for _ in range(n):
        if rng.random() < 0.05:
            key = None
        elif next_id > 1 and rng.random() < 0.4:
            key = rng.randrange(1, next_id)
        else:
            key, next_id = next_id, next_id + 1
        amount = None if rng.random() < 0.1 else Decimal(rng.randrange(-500, 10000)) / 100
        out.append((key, rng.choice(COUNTRIES), rng.choice(STATUSES), amount, rng.randrange(0, 20)))
    return out, next_id


def _build(con, sql: str, now: ValidRows, refresh: Refresh) -> list[tuple]:
    """As build_model runs a model: the dataset bound as a view, the model's result checked
    against its SQL run over every row."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW ds AS {now.sql()}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW __model AS {sql}")
    for table in (
        "_ff_state",
        "_ff_touched",
        "_ff_base",
        "_ff_pending",
        "_ff_now",
        "_ff_before",
        "_ff_added",
    ):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    got = con.execute(refresh.final(con)).fetchall()
    assert refresh.written
    want = con.execute(f"SELECT * FROM ({sql})").fetchall()
    assert sorted(got, key=repr) == sorted(want, key=repr)
    return got


@pytest.mark.parametrize("keyed", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_refreshed_results_equal_the_sql_over_every_row(tmp_path, keyed, seed):
    rng = random.Random(seed)
    con = duckdb.connect()
    key = ["id"] if keyed else []
    batches: list[tuple[str, Path, Path | None]] = []
    base: list[Path] = []
    base_runs: set[str] = set()
    kept: dict[str, tuple[Path, set[str]]] = {}
    next_id = 1
    for step in range(14):
        run = f"r{step:02d}"
        rows, next_id = _rows(rng, next_id, rng.randrange(1, 30) if step else 20)
        if keyed:  # as Silver writes a batch: the last row of each key (loose rows kept)
            last = {r[0]: i for i, r in enumerate(rows) if r[0] is not None}
            rows = [r for i, r in enumerate(rows) if r[0] is None or last[r[0]] == i]
        at = step if rng.random() > 0.2 else rng.randrange(0, step + 1)  # a late batch
        silver = _batch(con, tmp_path / f"{run}.parquet", run, at, rows)
        lines = set()
        if rng.random() < 0.4:
            lines = set(rng.sample(range(2, len(rows) + 2), k=max(1, len(rows) // 4)))
        if keyed:  # quality quarantines every row with a null key part
            lines |= {n for n, r in enumerate(rows, start=2) if r[0] is None}
        quarantine = None
        if lines:
            quarantine = _quarantine(con, tmp_path / f"{run}.q.parquet", run, sorted(lines))
        batches.append((run, silver, quarantine))
        pending = [b for b in batches if b[0] not in base_runs]
        now = ValidRows(
            silver=[b[1] for b in pending],
            quarantine=[b[2] for b in pending if b[2]],
            key=key,
            base=list(base),
        )
        for i, sql in enumerate(MODELS):
            form = form_of(sql, "ds")
            assert form is not None
            out = tmp_path / f"state-{i}-{step}.parquet"
            refresh = Refresh(form, out)
            if i in kept:
                previous, seen = kept[i]
                fresh = [b for b in batches if b[0] not in seen]
                old = [b for b in pending if b[0] in seen]
                before = ValidRows(silver=[b[1] for b in old], key=key, base=list(base),
                                   quarantine=[b[2] for b in old if b[2]])  # fmt: skip
                refresh.previous = previous
                refresh.changes = Changes(
                    new_silver=[b[1] for b in fresh],
                    new_quarantine=[b[2] for b in fresh if b[2]],
                    key=key,
                    before=before if (before.base or before.silver) else None,
                    now=now,
                )
            _build(con, sql, now, refresh)
            assert not refresh.note
            kept[i] = (out, {b[0] for b in batches})
        if rng.random() < 0.3:  # a fold of every batch so far into the table
            folded = tmp_path / f"base-{step}.parquet"
            con.execute(f"COPY ({now.sql()}) TO '{folded}' (FORMAT parquet)")
            base, base_runs = [folded], {b[0] for b in batches}


def test_a_float_sum_is_built_from_every_row_without_a_state(tmp_path):
    con = duckdb.connect()
    path = tmp_path / "r.parquet"
    con.execute(f"COPY (SELECT 'DE' AS country, 1.5::DOUBLE AS x) TO '{path}'")
    sql = "SELECT country, sum(x) AS s FROM ds GROUP BY 1"
    refresh = Refresh(form_of(sql, "ds"), tmp_path / "state.parquet")
    con.execute(f"CREATE TEMP VIEW ds AS SELECT * FROM read_parquet({sql_list([path])})")
    con.execute(f"CREATE TEMP VIEW __model AS {sql}")
    assert refresh.final(con) == "SELECT * FROM __model"
    assert not refresh.written


def test_the_table_rows_of_touched_keys_are_read_by_duckdb_when_polars_cannot(
    tmp_path, monkeypatch
):
    import polars as pl

    def refuse(*args, **kwargs):
        raise pl.exceptions.SchemaError("a schema Polars reads otherwise")

    monkeypatch.setattr(pl, "scan_parquet", refuse)
    test_refreshed_results_equal_the_sql_over_every_row(tmp_path, True, 1)
