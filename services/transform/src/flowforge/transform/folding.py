"""Silver folds off the Gold stage's critical path.

Readers never need a fold: a promoted batch is read beside its dataset's table until one
writes it in (`flowforge.transform.tables`). So the Gold stage only marks the dataset, and
`gold.ready` leaves without waiting for a rewrite of the table (seconds on a large dataset).
A task of the process folds the marked datasets one at a time, each fold idempotent under
its per-dataset lock; a mark made while its dataset folds is kept, so the fold runs again
and reads that batch too. A crash loses the marks only: start-up and the hourly housekeeping
fold every dataset that is due (`fold_due`).

The analytics file's views (`ViewsQueue`) are refreshed the same way, after `gold.ready`: a
reader of `analytics.duckdb` sees a run's views a moment after its event (at most about a
second later), and a burst's refreshes merge: at most one pass a second (each copies the
file and rebinds every view; in a burst of 1k-row files they took ~15% of transform's CPU)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)


class FoldQueue:
    """Datasets a fold may be due for, folded by `run` (the service's background task)."""

    def __init__(
        self,
        fold: Callable[[str], Awaitable[object]],
        *,
        settle: float = 0.05,
        spacing: float = 0.0,
    ):
        self._fold = fold
        self._settle = settle  # lets the handler's events leave first; a burst's marks merge
        self._spacing = spacing  # seconds from one pass to the next, at least
        self._last = float("-inf")
        self._marked: dict[str, None] = {}  # an ordered set: first marked, first folded
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def mark(self, dataset: str) -> None:
        self._marked[dataset] = None
        self._idle.clear()
        self._wake.set()

    async def idle(self) -> None:
        """Until every marked dataset was folded (for tests and a graceful stop)."""
        await self._idle.wait()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            clock = asyncio.get_running_loop().time
            await asyncio.sleep(max(self._settle, self._last + self._spacing - clock()))
            self._last = clock()
            while self._marked:
                dataset = next(iter(self._marked))
                del self._marked[dataset]
                await fold_quietly(self._fold, dataset)
            if not self._marked:
                self._idle.set()


class ViewsQueue(FoldQueue):
    """Datasets whose analytics views are to be refreshed, with the models built for each
    since (they accumulate until the refresh), refreshed by `run` like folds."""

    def __init__(
        self,
        refresh: Callable[[str, list[str]], Awaitable[object]],
        *,
        settle: float = 0.05,
        spacing: float = 1.0,
    ):
        super().__init__(self._refresh_one, settle=settle, spacing=spacing)
        self._refresh = refresh
        self._models: dict[str, set[str]] = {}

    def mark(self, dataset: str, models: Iterable[str] = ()) -> None:
        self._models.setdefault(dataset, set()).update(models)
        super().mark(dataset)

    async def _refresh_one(self, dataset: str) -> None:
        models = sorted(self._models.pop(dataset, ()))
        try:
            await self._refresh(dataset, models)
        except Exception as exc:  # the next run's refresh writes them again
            log.error("analytics views of %s not refreshed this time: %s", dataset or "models",
                      exc, exc_info=True)  # fmt: skip


async def fold_quietly(fold: Callable[[str], Awaitable[object]], dataset: str) -> None:
    """A fold that fails leaves the table behind, never the data: readers read the batches
    beside it, and the next fold catches up."""
    try:
        await fold(dataset)
    except Exception as exc:  # the batches are promoted and read beside the table either way
        log.error("silver table %s not updated this time: %s", dataset, exc, exc_info=True)


async def fold_due(datasets: list[str], fold: Callable[[str], Awaitable[object]]) -> None:
    """Fold each dataset whose table is due (a fold reads its state and returns at once when
    it is not)."""
    for dataset in datasets:
        await fold_quietly(fold, dataset)
