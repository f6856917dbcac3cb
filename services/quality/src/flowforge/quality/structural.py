"""Structural checks of one Silver batch. Pure: a frame in, check results and quarantine out.

- row_count: a batch with no rows fails (nothing to promote);
- key_not_null: rows with a null key part are quarantined (they can never be matched);
- key_unique: after transform's dedupe no key repeats; a repeat fails the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from flowforge.common.events import CheckResult

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)
QUARANTINE_SCHEMA = {
    "_run_id": pl.String,
    "_source_file": pl.String,
    "_source_line": pl.Int64,
    "rule": pl.String,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
}


@dataclass(frozen=True)
class Verdict:
    verdict: str
    checks: list[CheckResult]
    quarantine: pl.DataFrame

    @property
    def quarantined(self) -> int:
        return (
            self.quarantine.select(pl.col("_source_line")).n_unique()
            if self.quarantine.height
            else 0
        )


def check_batch(
    silver: pl.DataFrame, key: list[str], repeats: int | None = None, *, empty_ok: bool = False
) -> Verdict:
    """`repeats`: rows repeating a key when already known (a `unique` rule on exactly the
    key has counted them), so the key is not sorted a second time. `empty_ok`: an extract's
    window with nothing new (a warning, not a failure)."""
    quarantine = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    keyed = bool(key) and all(k in silver.columns for k in key)
    if keyed:
        quarantine = _null_keys(silver, key)
        if repeats is None:
            repeats = _repeated_keys(silver, key)
    checks = batch_checks(
        silver.height, key, silver.columns, quarantine.height, repeats, empty_ok=empty_ok
    )
    return Verdict(verdict=verdict_of(checks), checks=checks, quarantine=quarantine)


def batch_checks(
    rows: int,
    key: list[str],
    columns: list[str],
    null_keys: int,
    repeats: int | None,
    *,
    empty_ok: bool = False,
) -> list[CheckResult]:
    """The structural checks of a batch of `rows` rows with these `columns`, given its rows
    with a null key part and its rows repeating a key (counted by the caller)."""
    empty = "warned" if empty_ok else "failed"
    checks = [
        CheckResult(
            name="row_count > 0",
            status="passed" if rows > 0 else empty,
            failed_rows=0,
            detail=f"{rows} rows"
            + (": nothing new in the source's window" if empty_ok and not rows else ""),
        )
    ]
    if key:
        missing = [k for k in key if k not in columns]
        if missing:
            checks.append(
                CheckResult(
                    name="key present",
                    status="failed",
                    detail=f"key column(s) {missing} not in the batch",
                )
            )
        else:
            checks += _key_checks(key, null_keys, repeats or 0)
    return checks


def verdict_of(checks: list[CheckResult]) -> str:
    """The batch's verdict: its worst check status."""
    statuses = {c.status for c in checks}
    return "failed" if "failed" in statuses else "warned" if "warned" in statuses else "passed"


def _key_checks(key: list[str], null_keys: int, repeats: int) -> list[CheckResult]:
    return [
        CheckResult(
            name=f"key not null ({', '.join(key)})",
            status="warned" if null_keys else "passed",
            failed_rows=null_keys,
            detail=f"{null_keys} rows quarantined" if null_keys else "",
        ),
        CheckResult(
            name=f"key unique ({', '.join(key)})",
            status="failed" if repeats else "passed",
            failed_rows=repeats,
            detail=f"{repeats} rows repeat an earlier key" if repeats else "",
        ),
    ]


def _repeated_keys(silver: pl.DataFrame, key: list[str]) -> int:
    """Rows whose key equals another row's. Sort-based: a hash group-by of 5M keys held
    ~650 MB; sorting the key columns holds little more than the columns themselves."""
    keys = silver.select(key).drop_nulls().sort(key)
    same = pl.all_horizontal(pl.col(k) == pl.col(k).shift(1) for k in key)
    return int(keys.select(same.fill_null(False).sum()).item())


def _null_keys(silver: Frame, key: list[str]) -> Frame:
    """Quarantine entries of the rows with a null key part (of a frame or a lazy scan)."""
    null_any = pl.any_horizontal(pl.col(k).is_null() for k in key)
    first_null = pl.coalesce([pl.when(pl.col(k).is_null()).then(pl.lit(k)) for k in key])
    rows = silver.filter(null_any)
    return rows.select(
        pl.col("_run_id"),
        pl.col("_source_file"),
        pl.col("_source_line"),
        pl.lit("key_not_null").alias("rule"),
        first_null.alias("column"),
        pl.lit(None, dtype=pl.String).alias("value"),
        pl.format("key column {} is null", first_null).alias("reason"),
    ).cast(QUARANTINE_SCHEMA)
