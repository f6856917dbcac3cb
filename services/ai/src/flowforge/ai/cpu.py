"""The ai service's CPU priority below the pipeline's.

Its profiles and suggestions are advisory, so on a busy machine the stages a run waits for
get the cores first: every thread runs `FLOWFORGE_AI_NICE` below them, and with
`FLOWFORGE_AI_IDLE` the threads that do the work (all but the main one, which runs the event
loop: its heartbeats keep long messages from redelivery, and it answers requests) are in
Linux's idle scheduling class, run only on a core nothing else wants."""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)
_idle: list[bool] = [False]


def yield_cpu(increment: int, idle: bool = False) -> None:
    """Lower this process's CPU priority by `increment` (every thread it has, and those it
    starts after: Linux keeps a priority per thread, and a new thread takes its creator's);
    with `idle`, its worker threads go to the idle class (`idle_workers`)."""
    if increment:
        try:
            target = min(os.getpriority(os.PRIO_PROCESS, 0) + increment, 19)
            for task in _tasks():
                try:
                    os.setpriority(os.PRIO_PROCESS, task, target)
                except ProcessLookupError:  # the thread ended meanwhile
                    pass
        except OSError as exc:  # a platform without it: the same priority as the others
            log.warning("the ai service keeps its CPU priority (%s)", exc)
    _idle[0] = idle
    idle_workers()


def idle_workers() -> None:
    """Every thread but the main one in the idle scheduling class, when the service runs so
    (called before each piece of work: a thread started since, by the main thread, took its
    normal class)."""
    if not _idle[0]:
        return
    main = threading.main_thread().native_id
    try:
        for task in _tasks():
            if task != main:
                try:
                    os.sched_setscheduler(task, os.SCHED_IDLE, os.sched_param(0))
                except ProcessLookupError:
                    pass
    except (OSError, AttributeError) as exc:  # not Linux: the nice increment alone
        _idle[0] = False
        log.warning("the ai service's workers stay in the normal scheduling class (%s)", exc)


def _tasks() -> list[int]:
    if os.path.isdir("/proc/self/task"):
        return [int(t) for t in os.listdir("/proc/self/task")]
    return [0]
