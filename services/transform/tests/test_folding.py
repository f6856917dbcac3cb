"""Silver folds after the Gold stage: every marked dataset is folded, a mark made during its
fold folds it again, and a failing fold stops neither the queue nor the other datasets."""

from __future__ import annotations

import asyncio

from flowforge.transform.folding import FoldQueue, fold_due


def test_a_dataset_marked_while_it_folds_is_folded_again_and_failures_are_contained():
    async def scenario() -> list[str]:
        folded: list[str] = []
        started = asyncio.Event()

        async def fold(dataset: str) -> None:
            folded.append(dataset)
            if dataset == "broken":
                raise RuntimeError("the store refused the commit")
            if len(folded) == 1:
                started.set()
                await asyncio.sleep(0.05)

        queue = FoldQueue(fold, settle=0)
        runner = asyncio.create_task(queue.run())
        queue.mark("orders")
        await started.wait()
        queue.mark("orders")  # a batch promoted while the fold of the last one runs
        queue.mark("broken")
        queue.mark("customers")
        queue.mark("customers")
        await asyncio.wait_for(queue.idle(), 5)
        runner.cancel()
        return folded

    assert asyncio.run(scenario()) == ["orders", "orders", "broken", "customers"]


def test_folds_due_at_start_skip_past_a_failing_dataset():
    async def scenario() -> list[str]:
        folded: list[str] = []

        async def fold(dataset: str) -> None:
            folded.append(dataset)
            if dataset == "a":
                raise ConnectionResetError("lost the database")

        await fold_due(["a", "b"], fold)
        return folded

    assert asyncio.run(scenario()) == ["a", "b"]


def test_view_refreshes_are_spaced_and_a_bursts_marks_merge_into_one_pass():
    from flowforge.transform.folding import ViewsQueue

    async def scenario() -> tuple[list[tuple[str, list[str]]], list[float]]:
        passes: list[tuple[str, list[str]]] = []
        times: list[float] = []
        loop = asyncio.get_running_loop()

        async def refresh(dataset: str, models: list[str]) -> None:
            passes.append((dataset, models))
            times.append(loop.time())

        queue = ViewsQueue(refresh, settle=0.01, spacing=0.3)
        runner = asyncio.create_task(queue.run())
        queue.mark("orders", ["a"])
        await asyncio.wait_for(queue.idle(), 5)  # the first one at once (after the settle)
        for model in ("b", "c", "d"):  # a burst right after it: one pass, a spacing later
            queue.mark("orders", [model])
            await asyncio.sleep(0.02)
        await asyncio.wait_for(queue.idle(), 5)
        runner.cancel()
        return passes, times

    passes, times = asyncio.run(scenario())
    assert passes == [("orders", ["a"]), ("orders", ["b", "c", "d"])]
    assert times[1] - times[0] >= 0.29
