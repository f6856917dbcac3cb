"""What a killed PostgreSQL leaves behind, cleared before it starts again.

After `kill -9` of the postmaster, `postmaster.pid` stays, and its children (backends,
checkpointer, ...) live on for a moment with the old shared memory attached; a new postmaster
refuses to start while they do ("pre-existing shared memory block is still in use"). Each
child runs in a session of its own, but all of them work in the data folder, which is how
they are found.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil

log = logging.getLogger(__name__)


def release_stale_lock(data: Path, *, stop_live: Callable[[], None], grace: float = 10.0) -> None:
    """Make `data` startable: a live server of an earlier session is stopped (`stop_live`);
    a dead one's orphans are waited for (then killed) and its lock file removed."""
    lock = data / "postmaster.pid"
    try:
        pid = int(lock.read_text().split()[0])
    except FileNotFoundError:
        return
    except (OSError, ValueError, IndexError):
        lock.unlink(missing_ok=True)  # unreadable or half-written: nothing to protect
        return
    if _is_live_postmaster(pid, data):
        stop_live()
        return
    _end_orphans(data, grace)
    lock.unlink(missing_ok=True)


def _is_live_postmaster(pid: int, data: Path) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or "postgres" not in process.name():
            return False
        # A recycled pid may belong to another cluster's process: only ours counts.
        return str(data) in process.cmdline()
    except psutil.Error:
        return False


def orphans(data: Path) -> list[int]:
    """PostgreSQL processes working in `data` (called before our postmaster starts, so any
    found are a dead one's children)."""
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        name, cwd = process.info["name"] or "", process.info["cwd"]
        if "postgres" in name and cwd and Path(cwd) == data.resolve():
            found.append(process.pid)
    return found


def _end_orphans(data: Path, grace: float) -> None:
    """Orphans notice their postmaster's death within a second or two and exit; those that
    do not within `grace` are killed (they serve no one any more)."""
    deadline = time.monotonic() + grace
    while (left := orphans(data)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
    if left:
        log.warning("killed %d leftover PostgreSQL process(es) in %s", len(left), data)
        _wait_gone(left, 5.0)


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(psutil.pid_exists(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)


__all__ = ["orphans", "release_stale_lock"]
