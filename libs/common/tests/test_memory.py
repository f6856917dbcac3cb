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


DUCKDB_PROBE = """
import time, psutil
from flowforge.common.models import sandboxed
process = psutil.Process()
rss = lambda: process.memory_info().rss / 2**20
con = sandboxed([], memory_limit="1GB")
con.execute("SELECT count(DISTINCT i::VARCHAR || 'x') FROM range(4000000) t(i)").fetchall()
after = rss()
deadline = time.monotonic() + 10
while rss() > after - 100 and time.monotonic() < deadline:
    time.sleep(0.2)
print(after, rss())
"""


def test_duckdb_gives_a_large_querys_memory_back_while_the_database_stays_open():
    """Kept databases (warm sandboxes, Silver's) hold what a large query freed until they
    close, unless DuckDB's allocator purges in the background (`memory.DUCKDB_CONFIG`)."""
    out = subprocess.run([sys.executable, "-c", DUCKDB_PROBE], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    after, later = map(float, out.stdout.split())
    assert after - later > 100, (after, later)
