"""The gateway's own tables: uploads it accepted and extractions it started (so a run is
visible before the catalog has it, and a re-upload of the same content is recognised) and the
jobs it runs for clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import asyncpg


class Uploads(Protocol):
    async def record(self, **upload: Any) -> None: ...
    async def get(self, run_id: str) -> dict[str, Any] | None: ...
    async def same_content(self, dataset: str, content_hash: str) -> list[dict[str, Any]]: ...


class Jobs(Protocol):
    async def create(self, job_id: str, kind: str, dataset: str | None, request: dict) -> None: ...
    async def started(self, job_id: str, owner: str) -> None: ...
    async def heartbeat(self, owner: str) -> None: ...
    async def finished(
        self, job_id: str, *, result: Any = None, error: str | None = None
    ) -> None: ...
    async def get(self, job_id: str) -> dict[str, Any] | None: ...
    async def page(self, before: tuple[datetime, str] | None, limit: int) -> list[dict]: ...
    async def abandon_stale(self) -> int: ...


UPLOAD_FIELDS = ("run_id", "dataset", "filename", "size_bytes", "content_hash", "landing_uri")


class PgUploads:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def record(self, **upload: Any) -> None:
        await self.pool.execute(
            f"INSERT INTO gateway.uploads ({', '.join(UPLOAD_FIELDS)})"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            *[upload[f] for f in UPLOAD_FIELDS],
        )

    async def get(self, run_id: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow("SELECT * FROM gateway.uploads WHERE run_id = $1", run_id)
        return dict(row) if row else None

    async def same_content(self, dataset: str, content_hash: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM gateway.uploads WHERE dataset = $1 AND content_hash = $2"
            " ORDER BY created_at DESC LIMIT 20",
            dataset,
            content_hash,
        )
        return [dict(r) for r in rows]


JOB_FIELDS = (
    "id, kind, dataset, status, request, result, error, created_at, started_at, finished_at"
)


class PgJobs:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def create(self, job_id: str, kind: str, dataset: str | None, request: dict) -> None:
        await self.pool.execute(
            "INSERT INTO gateway.jobs (id, kind, dataset, request) VALUES ($1, $2, $3, $4)",
            job_id,
            kind,
            dataset,
            request,
        )

    async def started(self, job_id: str, owner: str) -> None:
        await self.pool.execute(
            "UPDATE gateway.jobs SET status = 'running', started_at = now(), owner = $2,"
            " heartbeat_at = now() WHERE id = $1",
            job_id,
            owner,
        )

    async def heartbeat(self, owner: str) -> None:
        await self.pool.execute(
            "UPDATE gateway.jobs SET heartbeat_at = now() WHERE owner = $1 AND status = 'running'",
            owner,
        )

    async def finished(self, job_id: str, *, result: Any = None, error: str | None = None) -> None:
        await self.pool.execute(
            "UPDATE gateway.jobs SET status = $2, result = $3, error = $4, finished_at = now()"
            " WHERE id = $1",
            job_id,
            "failed" if error is not None else "succeeded",
            result,
            error,
        )

    async def get(self, job_id: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            f"SELECT {JOB_FIELDS} FROM gateway.jobs WHERE id = $1", job_id
        )
        return dict(row) if row else None

    async def page(self, before: tuple[datetime, str] | None, limit: int) -> list[dict]:
        rows = await self.pool.fetch(
            f"SELECT {JOB_FIELDS} FROM gateway.jobs WHERE $1::timestamptz IS NULL"
            " OR (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT $3",
            before[0] if before else None,
            before[1] if before else None,
            limit,
        )
        return [dict(r) for r in rows]

    async def abandon_stale(self) -> int:
        """Jobs whose gateway process stopped saying it runs them (it died): failed, saying so."""
        done = await self.pool.execute(
            "UPDATE gateway.jobs SET status = 'failed', finished_at = now(), error = 'the"
            " gateway process running this job stopped; the work may have completed in its"
            " service: check the dataset, then ask again if needed' WHERE status IN"
            " ('queued', 'running') AND coalesce(heartbeat_at, created_at)"
            " < now() - interval '60 seconds'"
        )
        return int(done.split()[-1])
