"""After a large piece of work a service hands its allocators' free memory back."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import psutil
from flowforge.common import memory
process = psutil.Process()
rss = lambda: process.memory_info().rss / 2**20
held = [bytearray(1000) for _ in range(300_000)]  # ~300 MiB of small blocks (glibc arenas)
del held
freed = rss()
memory.release()
print(freed, rss())
"""


def test_release_gives_freed_memory_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    freed, released = map(float, out.stdout.split())
    assert freed - released > 150, (freed, released)  # freed, yet resident until released


def test_release_never_loads_pyarrow_into_a_service_without_it():
    probe = "import sys\nfrom flowforge.common import memory\nmemory.release()\n"
    probe += "print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "False"
