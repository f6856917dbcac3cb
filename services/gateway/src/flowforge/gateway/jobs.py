"""Long operations as jobs: the request is answered at once with 202 and the job's URL; the
job asks the owner and records the outcome. `Prefer: wait=N` (RFC 7240) lets a client wait up
to N seconds for the result in the same request."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from flowforge.common.errors import FlowForgeError, NotFoundError
from flowforge.gateway.records import Jobs

log = logging.getLogger(__name__)
MAX_WAIT = 50.0  # within the gateway's request time limit (FLOWFORGE_REQUEST_TIMEOUT, 60 s)
HEARTBEAT_SECONDS = 15.0


class JobRunner:
    """Runs jobs in this gateway process; several gateway replicas share one jobs table."""

    def __init__(self, jobs: Jobs):
        self.jobs = jobs
        self.tasks: dict[str, asyncio.Task] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    async def watch(self) -> None:
        """Say which jobs this process still runs, and fail those of processes that died."""
        while True:
            try:
                await self.jobs.heartbeat(self.owner)
                abandoned = await self.jobs.abandon_stale()
                if abandoned:
                    log.warning("%d job(s) of a gateway process that stopped marked failed",
                                abandoned)  # fmt: skip
            except Exception:  # noqa: BLE001 - the next round tries again
                log.warning("job heartbeat failed", exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def start(
        self,
        kind: str,
        dataset: str | None,
        request: dict[str, Any],
        work: Callable[[], Awaitable[Any]],
    ) -> str:
        job_id = uuid.uuid4().hex
        await self.jobs.create(job_id, kind, dataset, request)
        task = asyncio.create_task(self._run(job_id, work))
        self.tasks[job_id] = task
        task.add_done_callback(lambda _: self.tasks.pop(job_id, None))
        return job_id

    async def _run(self, job_id: str, work: Callable[[], Awaitable[Any]]) -> None:
        await self.jobs.started(job_id, self.owner)
        try:
            result = await work()
        except FlowForgeError as exc:
            await self.jobs.finished(job_id, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a job reports its failure, the log the trace
            log.exception("job %s failed", job_id)
            await self.jobs.finished(job_id, error=f"internal error: {type(exc).__name__}")
        else:
            await self.jobs.finished(job_id, result=result)

    async def wait(self, job_id: str, seconds: float) -> dict[str, Any]:
        """The job, after waiting up to `seconds` for it to finish (here, or in another
        gateway replica: then by reading its row)."""
        deadline = time.monotonic() + min(seconds, MAX_WAIT)
        task = self.tasks.get(job_id)
        if task is not None and seconds > 0:
            await asyncio.wait({task}, timeout=min(seconds, MAX_WAIT))
        while True:
            job = await self.jobs.get(job_id)
            if job is None:
                raise NotFoundError(f"no job with id {job_id!r}")
            if job["status"] in ("succeeded", "failed") or time.monotonic() >= deadline:
                return job
            await asyncio.sleep(0.5)

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


def preferred_wait(prefer: str | None) -> float:
    """Seconds from a `Prefer: wait=N` header (0 when absent or unreadable)."""
    for part in (prefer or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "wait":
            try:
                return max(0.0, min(float(value.strip()), MAX_WAIT))
            except ValueError:
                return 0.0
    return 0.0
