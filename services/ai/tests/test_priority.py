"""The ai service yields the CPU to the pipeline's stages (FLOWFORGE_AI_NICE)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import os, threading
from flowforge.ai.app import yield_cpu
before = os.getpriority(os.PRIO_PROCESS, 0)
early = threading.Event(); done = threading.Event()
threading.Thread(target=lambda: (early.set(), done.wait()), daemon=True).start()
early.wait()
yield_cpu({increment})
later = []
after = threading.Thread(target=lambda: later.append(os.getpriority(os.PRIO_PROCESS, 0)))
after.start()
after.join()
def priority(task):
    try:
        return os.getpriority(os.PRIO_PROCESS, int(task))
    except ProcessLookupError:  # a library's thread that ended meanwhile
        return None
every = {{priority(t) for t in os.listdir("/proc/self/task")}} - {{None}}
done.set()
import json; print(json.dumps([before, sorted(every), later[0]]))
"""


def probe(increment: int) -> tuple[int, list[int], int]:
    """(priority before, every thread's after, a thread started after) in a fresh process."""
    found = subprocess.run([sys.executable, "-c", PROBE.format(increment=increment)],
                           capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    before, every, later = json.loads(found.stdout)
    return before, every, later


def test_every_thread_and_every_later_one_runs_at_the_lower_priority():
    before, every, later = probe(7)
    assert every == [min(before + 7, 19)] and later == min(before + 7, 19)


def test_no_increment_leaves_the_priority_as_it_is():
    before, every, later = probe(0)
    assert every == [before] and later == before


IDLE_PROBE = """
import os, threading
from flowforge.ai.cpu import idle_workers, yield_cpu
def classes():
    found = {{}}
    for t in os.listdir("/proc/self/task"):
        try:
            found[int(t)] = os.sched_getscheduler(int(t))
        except ProcessLookupError:
            pass
    return found
early = threading.Event(); done = threading.Event(); later_ready = threading.Event()
threading.Thread(target=lambda: (early.set(), done.wait()), daemon=True).start()
early.wait()
yield_cpu(0, {idle})
main = threading.main_thread().native_id
at_start = classes()
later = threading.Thread(target=lambda: (later_ready.set(), done.wait()), daemon=True)
later.start(); later_ready.wait()
before_work = classes()[later.native_id]
idle_workers()  # before each piece of work
after_work = classes()
done.set()
import json
print(json.dumps([at_start[main], sorted({{c for t, c in at_start.items() if t != main}}),
                  before_work, after_work[later.native_id], after_work[main]]))
"""


def test_idle_moves_the_worker_threads_to_the_idle_class_and_keeps_the_event_loops():
    import os

    for idle in (True, False):
        found = subprocess.run([sys.executable, "-c", IDLE_PROBE.format(idle=idle)],
                               capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
        main, others, later_before, later_after, main_after = json.loads(found.stdout)
        worker = os.SCHED_IDLE if idle else os.SCHED_OTHER
        assert main == main_after == os.SCHED_OTHER  # the event loop answers and heartbeats
        assert others == [worker]
        assert later_before == os.SCHED_OTHER and later_after == worker
