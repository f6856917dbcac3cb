"""Merging a keyed batch into a large Silver table, side by side (issue 15):

- delta-rs `merge` (copy-on-write: every file holding an updated key is rewritten);
- plain Polars and plain DuckDB doing the same merge by hand (anti-join + append, rewrite);
- FlowForge's write path: the batch stays a pending file read beside the table (the
  `ValidRows` SQL resolves the latest row per key at read time), and a *fold* rewrites the
  table only when the pending rows reach FLOWFORGE_FOLD_RATIO of it.

    .venv/bin/python bench/lakehouse.py [--rows 5000000] [--batch 50000] [--updates 0.05]

Prints each one's seconds and checks that every method yields the same rows."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from flowforge.common.lake import ValidRows


def table(ids: np.ndarray, run: int, rng: np.random.Generator) -> pa.Table:
    n = len(ids)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "amount": pa.array(rng.integers(0, 1_000_000, n), pa.int64()),
        "country": pa.array(rng.choice(["DE", "FR", "US", "GB", "JP"], n)),
        "_run_id": pa.array([f"run{run:05d}"] * n),
        "_ingested_at": pa.array(np.full(n, run, dtype="int64")),
        "_source_line": pa.array(np.arange(2, n + 2, dtype="int64")),
    })  # fmt: skip


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def checksum(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, int]:
    return con.execute(f"SELECT count(*), sum(hash(id, amount)) FROM ({sql})").fetchall()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--batch", type=int, default=50_000)
    ap.add_argument("--updates", type=float, default=0.05)
    args = ap.parse_args()
    rng = np.random.default_rng(15)
    base = table(np.arange(args.rows), 0, rng)
    updated = rng.choice(args.rows, int(args.batch * args.updates), replace=False)
    new = np.arange(args.rows, args.rows + args.batch - len(updated))
    batch = table(np.concatenate([updated, new]), 1, rng)
    work = Path(tempfile.mkdtemp(prefix="ff-bench-lakehouse-"))
    try:
        delta = str(work / "delta")
        write_deltalake(delta, base)
        seconds_merge, _ = timed(
            lambda: (
                DeltaTable(delta)
                .merge(batch, "t.id = s.id", source_alias="s", target_alias="t")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        )
        pq.write_table(base, work / "base.parquet")
        pq.write_table(batch, work / "batch.parquet")

        def polars_merge() -> None:
            current = pl.scan_parquet(work / "base.parquet")
            incoming = pl.scan_parquet(work / "batch.parquet")
            pl.concat([current.join(incoming.select("id"), on="id", how="anti"), incoming]) \
                .sink_parquet(work / "polars.parquet")  # fmt: skip

        seconds_polars, _ = timed(polars_merge)
        con = duckdb.connect()
        seconds_duckdb, _ = timed(lambda: con.execute(
            f"COPY (SELECT * FROM '{work}/base.parquet' ANTI JOIN '{work}/batch.parquet' "
            f"USING (id) UNION ALL SELECT * FROM '{work}/batch.parquet') "
            f"TO '{work}/duckdb.parquet'"))  # fmt: skip

        # FlowForge: the batch's own write (its Silver file) is already done by Silver; a
        # reader resolves it beside the table; a fold (when due) rewrites the table.
        ours = str(work / "ours")
        write_deltalake(ours, base)
        files = [Path(u) for u in DeltaTable(ours).file_uris()]
        rows = ValidRows(silver=[work / "batch.parquet"], quarantine=[], key=["id"], base=files)
        seconds_read, _ = timed(lambda: checksum(con, rows.sql()))
        writer = duckdb.connect()
        seconds_fold, _ = timed(lambda: write_deltalake(
            ours, writer.sql(rows.sql()).to_arrow_reader(64 * 1024), mode="overwrite"))  # fmt: skip
        writer.close()

        truth = checksum(con, f"SELECT * FROM '{work}/duckdb.parquet'")
        merged = DeltaTable(delta).to_pyarrow_table()
        con.register("merged", merged)
        folded = DeltaTable(ours).to_pyarrow_table()
        con.register("folded", folded)
        for name, sql in (
            ("delta-rs merge", "SELECT * FROM merged"),
            ("polars", f"SELECT * FROM '{work}/polars.parquet'"),
            ("flowforge read", rows.sql()),
            ("flowforge fold", "SELECT * FROM folded"),
        ):
            assert checksum(con, sql) == truth, f"{name} differs from the DuckDB merge"
        print(f"merge of a {args.batch:,}-row batch ({len(updated):,} updates) into "
              f"{args.rows:,} rows; all methods give the same {truth[0]:,} rows")  # fmt: skip
        for name, seconds in (
            ("delta-rs merge (copy-on-write)", seconds_merge),
            ("plain Polars anti-join + rewrite", seconds_polars),
            ("plain DuckDB anti-join + rewrite", seconds_duckdb),
            ("FlowForge: read with the batch pending", seconds_read),
            ("FlowForge: fold (rewrite, when due)", seconds_fold),
        ):
            print(f"  {name:<42} {seconds:6.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
