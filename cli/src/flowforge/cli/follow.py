"""Waiting for a run or a job to end, with its progress on a status line."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flowforge.cli.errors import TimedOut

TERMINAL = ("succeeded", "failed")
POLL_SECONDS = 0.5


def follow(
    fetch: Callable[[], dict[str, Any]],
    describe: Callable[[dict[str, Any]], str],
    *,
    timeout: float,
    what: str,
    console: Any,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, Any] | None:
    """Poll `fetch` until its `status` is terminal (its last state), or None once
    `cancelled()` says so; TimedOut past `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with console.status(f"{what}: waiting...") as status:
        while True:
            state = fetch()
            status.update(describe(state))
            if state.get("status") in TERMINAL:
                return state
            if time.monotonic() > deadline:
                raise TimedOut(
                    f"{what} did not finish within {timeout:.0f}s "
                    f"(still {state.get('status', 'unknown')})"
                )
            if cancelled is not None and cancelled():
                return None
            time.sleep(POLL_SECONDS)


def describe_run(run: dict[str, Any]) -> str:
    done = [s["name"] for s in run.get("stages", []) if s.get("status") == "succeeded"]
    figure = run.get("progress") or {}
    live = ""
    if figure.get("total"):
        live = f"; {figure['stage']} {100 * figure['done'] / figure['total']:.0f}%"
    elif figure.get("unit") == "rows" and figure.get("done"):
        live = f"; {figure['stage']} {figure['done']:,} rows"
    return (
        f"run {str(run.get('run_id', ''))[:8]}: {run.get('status')} "
        f"(done: {', '.join(done) or 'nothing yet'}{live})"
    )


def describe_job(job: dict[str, Any]) -> str:
    return f"job {str(job.get('id', ''))[:8]} ({job.get('kind', 'job')}): {job.get('status')}"
