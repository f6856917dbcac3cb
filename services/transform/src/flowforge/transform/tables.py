"""Each dataset's Silver table in the lakehouse (a Delta table, `flowforge.common.lakehouse`).

A promoted batch is first *pending*: its Silver file and quarantine object are read beside the
table (latest row per key across both, see `ValidRows`). A *fold* writes the dataset's valid
rows as the table's next version and records it (`transform.tables`), after which its batches
are part of the table. Folding rewrites the table, so it is done when the pending rows reach a
share of the table (FLOWFORGE_FOLD_RATIO) or a number of batches (FLOWFORGE_FOLD_BATCHES):
every batch while a table is small, now and then once it is large, so a batch's own cost stays
that of its rows. A batch demoted, released or replaced by a full snapshot after it was folded
makes the version stale: readers then read the batches alone until the next fold rebuilds it.
The service folds after `gold.ready`, off the run's path (`flowforge.transform.folding`)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from flowforge.common.errors import ConflictError, NotFoundError
from flowforge.common.lake import ValidRows
from flowforge.common.lakehouse import WRITE_BATCH_ROWS, Lakehouse
from flowforge.common.models import warm_sandboxed
from flowforge.common.storage import LakeFiles
from flowforge.transform.adapters import Batches

log = logging.getLogger(__name__)

LAYER = "silver"
FOLD_LOCK = 0x466F6C64  # "Fold": first half of the per-dataset advisory lock


@dataclass(frozen=True)
class SilverState:
    """What a dataset's valid rows are made of, read in one transaction."""

    dataset: str
    batches: list[asyncpg.Record]  # the current batches, in promotion order
    version: int | None = None  # the table version to read (None: none usable)
    base_runs: frozenset[str] = frozenset()
    base_rows: int = 0
    stale: bool = False  # a table exists that no longer matches the batches
    latest_silver: str | None = None  # for an empty relation's shape

    @property
    def key(self) -> list[str]:
        return list(self.batches[-1]["key_columns"]) if self.batches else []

    @property
    def pending(self) -> list[asyncpg.Record]:
        return [b for b in self.batches if b["run_id"] not in self.base_runs]


@dataclass
class SilverTables:
    pool: asyncpg.Pool
    lakehouse: Lakehouse
    files: LakeFiles
    fold_ratio: float = 0.1
    fold_batches: int = 32

    @property
    def batches(self) -> Batches:
        return Batches(self.pool)

    # ------------------------------------------------------------------ reading
    async def state(self, dataset: str, *, without: str = "") -> SilverState:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            table = await conn.fetchrow(
                "SELECT version, runs, rows FROM transform.tables WHERE dataset = $1", dataset
            )
            batches = await self.batches.promoted(dataset, without=without, conn=conn)
            latest = await self.batches.latest_silver_key(dataset, conn=conn)
        state = SilverState(dataset, list(batches), latest_silver=latest)
        if table is None:
            return state
        runs: dict[str, str | None] = json.loads(table["runs"])
        current = {b["run_id"]: b["quarantine_key"] for b in batches}
        if any(run not in current or current[run] != q for run, q in runs.items()):
            return SilverState(dataset, list(batches), stale=True, latest_silver=latest)
        return SilverState(
            dataset,
            list(batches),
            version=int(table["version"]),
            base_runs=frozenset(runs),
            base_rows=int(table["rows"]),
            latest_silver=latest,
        )

    def valid_rows(self, state: SilverState) -> ValidRows | None:
        """Local files of the state's valid rows (blocking: may download); None when the
        dataset never reached Silver."""
        base = (
            self.lakehouse.data_paths(self.files, LAYER, state.dataset, state.version)
            if state.version is not None
            else []
        )
        pending = state.pending
        if not pending and state.version is None:
            if state.latest_silver is None:
                return None
            empty = self.files.path(state.latest_silver)
            return ValidRows(silver=[], quarantine=[], key=[], empty_from=empty)
        return ValidRows(
            silver=[self.files.path(b["silver_key"]) for b in pending],
            quarantine=[
                self.files.path(b["quarantine_key"]) for b in pending if b["quarantine_key"]
            ],
            key=state.key,
            base=base,
        )

    def base_keys(self, state: SilverState) -> list[str]:
        if state.version is None:
            return []
        return self.lakehouse.data_keys(LAYER, state.dataset, state.version)

    async def as_of(
        self, dataset: str, *, at: datetime | None = None, run_id: str | None = None,
        version: int | None = None,
    ) -> int:  # fmt: skip
        """The table version holding the dataset as it was at a time, right after a run was
        folded in, or a given version (time travel); refused once housekeeping expired it."""
        found = await self._as_of(dataset, at=at, run_id=run_id, version=version)
        keys = await asyncio.to_thread(self.lakehouse.data_keys, LAYER, dataset, found)
        if not await asyncio.to_thread(self.files.store.exists, keys[0]):
            raise NotFoundError(
                f"version {found} of the Silver table of {dataset!r} has expired: housekeeping "
                "removed its files (FLOWFORGE_LAKEHOUSE_RETENTION_HOURS)"
            )
        return found

    async def _as_of(
        self, dataset: str, *, at: datetime | None, run_id: str | None, version: int | None
    ) -> int:
        history = await asyncio.to_thread(self.lakehouse.history, LAYER, dataset, 10_000)
        if not history:
            raise NotFoundError(f"dataset {dataset!r} has no Silver table yet")
        if version is not None:
            if all(v.version != version for v in history):
                raise NotFoundError(
                    f"the Silver table of {dataset!r} has no version {version} (it has "
                    f"{history[-1].version}-{history[0].version}, older ones expire)"
                )
            return version
        if run_id is not None:
            found = [v.version for v in history if run_id in v.runs]
            if not found:
                raise ConflictError(
                    f"run {run_id} is not in the Silver table of {dataset!r}: it is not a "
                    "promoted batch of it, or it is still read beside the table (not folded "
                    "yet); the current rows include it"
                )
            return min(found)
        assert at is not None
        before = [v.version for v in history if v.timestamp <= at]
        if not before:
            raise NotFoundError(
                f"the Silver table of {dataset!r} is younger than {at.isoformat()} (its first "
                f"version kept is from {history[-1].timestamp.isoformat()})"
            )
        return max(before)

    # ------------------------------------------------------------------ folding
    def due(self, state: SilverState) -> bool:
        pending = state.pending
        if state.stale or (state.version is None and state.batches):
            return True
        if not pending:
            return False
        rows = sum(b["rows"] if b["rows"] is not None else state.base_rows for b in pending)
        return rows >= state.base_rows * self.fold_ratio or len(pending) >= self.fold_batches

    async def fold(self, dataset: str, *, force: bool = False) -> int | None:
        """Write the dataset's valid rows as its table's next version when due (or `force`d);
        the version, None when nothing was written."""
        async with self._locked(dataset):
            state = await self.state(dataset)
            if not (self.due(state) or (force and (state.pending or state.stale))):
                return None
            if not state.batches and state.version is None and not state.stale:
                return None
            version, rows = await asyncio.to_thread(self._write, state)
            await self.pool.execute(
                "INSERT INTO transform.tables (dataset, version, runs, rows) VALUES ($1, $2,"
                " $3, $4) ON CONFLICT (dataset) DO UPDATE SET version = EXCLUDED.version,"
                " runs = EXCLUDED.runs, rows = EXCLUDED.rows, folded_at = now()",
                dataset,
                version,
                json.dumps({b["run_id"]: b["quarantine_key"] for b in state.batches}),
                rows,
            )
        log.info(
            "silver table %s: version %d, %d row(s), %d batch(es) folded%s",
            dataset,
            version,
            rows,
            len(state.pending),
            " (rebuilt)" if state.stale else "",
        )
        return version

    def _write(self, state: SilverState) -> tuple[int, int]:
        rebuilt = SilverState(  # a stale table is rebuilt from the batches alone
            state.dataset, state.batches, latest_silver=state.latest_silver
        ) if state.stale else state  # fmt: skip
        rows = self.valid_rows(rebuilt)
        assert rows is not None
        con = warm_sandboxed(rows.paths, memory_limit="512MB")
        try:
            reader = con.sql(rows.sql()).to_arrow_reader(WRITE_BATCH_ROWS)
            counted = Counting(reader)
            version = self.lakehouse.overwrite(
                LAYER,
                state.dataset,
                counted.reader(),
                kind="rebuild" if state.stale else "fold",
                runs=[b["run_id"] for b in rebuilt.pending],
                key=rows.key,
            )
        finally:
            con.close()
        return version, counted.rows

    async def vacuum(self, dataset: str, retention: timedelta) -> int:
        """Expire the dataset's table versions past `retention` and remove files none of the
        kept versions reads (the recorded one is always kept); the number of files removed."""
        async with self._locked(dataset):
            version = await self.pool.fetchval(
                "SELECT version FROM transform.tables WHERE dataset = $1", dataset
            )
            if version is None:
                return 0
            removed = await asyncio.to_thread(
                self.lakehouse.vacuum, LAYER, dataset, retention, [int(version)]
            )
        return len(removed)

    @asynccontextmanager
    async def _locked(self, dataset: str) -> AsyncIterator[None]:
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1, hashtext($2))", FOLD_LOCK, dataset)
            try:
                yield
            finally:
                await conn.execute(
                    "SELECT pg_advisory_unlock($1, hashtext($2))", FOLD_LOCK, dataset
                )


class Counting:
    """Counts the rows of a record batch stream as it is consumed."""

    def __init__(self, reader: Any):
        self.source = reader
        self.rows = 0

    def reader(self) -> Any:
        import pyarrow as pa

        def batches():
            for batch in self.source:
                self.rows += batch.num_rows
                yield batch

        return pa.RecordBatchReader.from_batches(self.source.schema, batches())
