"""The drop zone watcher: a periodic list-and-reconcile sweep of `landing/` against the
ledger, plus MinIO bucket notifications. Each object version becomes exactly one run.

The sweep alone works against any S3 server and the local folder; notifications only make it
sooner. A local file is taken once it has stopped growing (same size and modification time on
two sweeps, and untouched for `SETTLE_SECONDS`). The ledger row is claimed before the event is
published and marked after; a claim whose publish was lost (a crash in between) is published
again by a later sweep under the same event id, so it is neither lost nor doubled.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import PurePosixPath

import asyncpg

from flowforge.common.events import Event, FileLanded
from flowforge.common.lake import LANDING_PREFIX
from flowforge.common.storage import ObjectInfo, ObjectStore
from flowforge.ingest.datasets import Datasets
from flowforge.ingest.landing import Drop, dataset_for, is_drop, run_id_for

log = logging.getLogger(__name__)
SETTLE_SECONDS = 2.0
REPUBLISH_AFTER_SECONDS = 30.0


class Ledger:
    """`ingest.landed_objects`: one row per object version seen in the drop zone."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def claim(self, source: str, drop: Drop, run_id: str, dataset: str, by: str):
        """The new row (with `first_seen`), or None when this version was seen before."""
        return await self.pool.fetchrow(
            "INSERT INTO ingest.landed_objects (source, key, version, size_bytes, run_id,"
            " dataset, announced_by) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT DO NOTHING RETURNING *",
            source,
            drop.key,
            drop.version,
            drop.size,
            run_id,
            dataset,
            by,
        )

    async def published(self, source: str, key: str, version: str) -> None:
        await self.pool.execute(
            "UPDATE ingest.landed_objects SET published = true"
            " WHERE source = $1 AND key = $2 AND version = $3",
            source,
            key,
            version,
        )

    async def unpublished(self, source: str, older_than: float) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM ingest.landed_objects WHERE source = $1 AND NOT published"
            " AND first_seen < now() - make_interval(secs => $2)",
            source,
            older_than,
        )


class Watcher:
    def __init__(
        self,
        store: ObjectStore,
        ledger: Ledger,
        publish: Callable[[Event], Awaitable[None]],
        datasets: Datasets,
    ):
        self.store = store
        self.ledger = ledger
        self.publish = publish
        self.datasets = datasets
        self.source = store.uri("")
        self._seen: dict[str, tuple[int, float]] = {}  # local files: last (size, mtime)
        self._hashes: dict[tuple[str, int, float], str] = {}
        self._done: set[tuple[str, str]] = set()

    async def announce(self, drop: Drop, by: str) -> bool:
        """Start a run for this object version unless one was started already."""
        if (drop.key, drop.version) in self._done:
            return False
        dataset = dataset_for(drop.key)
        row = await self.ledger.claim(self.source, drop, run_id_for(self.source, drop), dataset, by)
        self._done.add((drop.key, drop.version))
        if row is None:
            return False
        await self._publish(row)
        log.info("drop %s (%s) landed as run %s", drop.key, by, row["run_id"])
        return True

    async def _publish(self, row: asyncpg.Record) -> None:
        version = row["version"]
        config = await self.datasets.get(row["dataset"])
        event = FileLanded(
            run_id=row["run_id"],
            dataset=row["dataset"],
            content_hash=version if len(version) == 64 else f"etag:{version}",
            filename=PurePosixPath(row["key"]).name,
            key=config["key"],
            schema_policy=config["schema_policy"],
            array_policy=config["array_policy"],
            landing_uri=self.store.uri(row["key"]),
            size_bytes=row["size_bytes"],
            landed_at=row["first_seen"],
        )
        await self.publish(event)
        await self.ledger.published(self.source, row["key"], version)

    async def sweep(self) -> int:
        """List the drop zone once; returns how many new runs it started."""
        started = 0
        for info in await asyncio.to_thread(self.store.list, LANDING_PREFIX):
            if not is_drop(info.key):
                continue
            version = info.etag or await self._local_version(info)
            if version and await self.announce(Drop(info.key, version, info.size), "sweep"):
                started += 1
        for row in await self.ledger.unpublished(self.source, REPUBLISH_AFTER_SECONDS):
            log.warning("drop %s was claimed but not announced; announcing it", row["key"])
            await self._publish(row)
        return started

    async def _local_version(self, info: ObjectInfo) -> str | None:
        """The content hash of a local file that has stopped growing, else None."""
        current = (info.size, info.modified)
        previous = self._seen.get(info.key)
        self._seen[info.key] = current
        if previous != current or time.time() - info.modified < SETTLE_SECONDS:
            return None
        cache = (info.key, *current)
        if cache not in self._hashes:
            self._hashes[cache] = await asyncio.to_thread(self._sha256, info.key)
        return self._hashes[cache]

    def _sha256(self, key: str) -> str:
        path = self.store.local_path(key)
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()

    async def pickup(self, prefix: str, since: datetime | None, until: datetime | None) -> list:
        """Sweep now, then the runs of the drops under `landing/<prefix>` first seen in
        (since, until] (a workflow's interval), oldest first."""
        await self.sweep()
        key = f"{LANDING_PREFIX.rstrip('/')}/{prefix.strip('/')}/" if prefix.strip("/") else ""
        rows = await self.ledger.pool.fetch(
            "SELECT run_id, key, dataset, first_seen FROM ingest.landed_objects"
            " WHERE source = $1 AND key LIKE $2 || '%' AND ($3::timestamptz IS NULL OR"
            " first_seen > $3) AND ($4::timestamptz IS NULL OR first_seen <= $4)"
            " ORDER BY first_seen, key",
            self.source, key or LANDING_PREFIX, since, until,
        )  # fmt: skip
        return [dict(r) for r in rows]

    async def run(self, every: float) -> None:
        """Sweep forever; a failed sweep is logged and tried again next time."""
        while True:
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - the watcher must outlive a bad sweep
                log.exception("landing sweep failed; retrying in %.0fs", every)
            await asyncio.sleep(every)
