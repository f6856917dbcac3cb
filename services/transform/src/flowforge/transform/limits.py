"""Time limits of the work one message asks for: a Silver step, a Gold model build.

The work runs in a worker thread, which Python cannot stop from outside, so it stops itself:
`Deadline.check()` between units of work (a column group, a batch, a column's inference) and
DuckDB's own interruption (`interrupting(con)`) for the queries in between. A unit overruns
the limit by at most its own length.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from flowforge.common.errors import BadInputError


class TimeLimitExceeded(BadInputError):
    """The work took longer than its limit (permanent: the same input takes as long again)."""


class Deadline:
    def __init__(self, seconds: float | None, what: str, setting: str):
        self.seconds = seconds
        self.what = what
        self.setting = setting
        self.ends = time.monotonic() + seconds if seconds else None

    @classmethod
    def none(cls) -> Deadline:
        return cls(None, "", "")

    def left(self) -> float | None:
        return None if self.ends is None else max(self.ends - time.monotonic(), 0.0)

    def exceeded(self) -> TimeLimitExceeded:
        return TimeLimitExceeded(
            f"{self.what} stopped after {self.seconds:.0f} s, its time limit ({self.setting})"
        )

    def check(self) -> None:
        if self.ends is not None and time.monotonic() > self.ends:
            raise self.exceeded()

    @contextmanager
    def interrupting(self, con: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """Interrupt `con`'s running query when the deadline passes; raises the time-limit
        error instead of DuckDB's "Interrupted"."""
        left = self.left()
        if left is None:
            yield
            return
        self.check()
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            con.interrupt()

        timer = threading.Timer(left, stop)
        timer.daemon = True
        timer.start()
        try:
            yield
        except duckdb.Error as exc:
            if fired.is_set():
                raise self.exceeded() from exc
            raise
        finally:
            timer.cancel()
