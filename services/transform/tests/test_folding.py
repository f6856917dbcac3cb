"""Silver folds after the Gold stage: every marked dataset is folded, a mark made during its
fold folds it again, and a failing fold stops neither the queue nor the other datasets; a
fold's rows are computed at a lower CPU priority than the batches beside it."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from flowforge.common.lake import ValidRows
from flowforge.transform.folding import FoldQueue, fold_due
from flowforge.transform.tables import FOLD_NICE, _may_raise_back, low_priority_rows


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


# ------------------------------------------------------- a fold's rows, at a lower priority
def _nice(task: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, task)


def _thread_named(name: str) -> int:
    found = [t.native_id for t in threading.enumerate() if t.name == name]
    assert found and found[0] is not None, f"no thread {name}"
    return found[0]


def _keyed_batches(folder: Path) -> ValidRows:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = []
    for number in range(3):  # each batch updates half the keys of the one before
        ids = list(range(number * 500, number * 500 + 1_000))
        pq.write_table(
            pa.table({
                "id": ids,
                "amount": [i * 10 + number for i in ids],
                "_ingested_at": pa.array([number] * len(ids), pa.int64()),
                "_run_id": [f"run{number}"] * len(ids),
                "_source_line": list(range(2, len(ids) + 2)),
            }),
            folder / f"b{number}.parquet",
        )  # fmt: skip
        files.append(folder / f"b{number}.parquet")
    return ValidRows(silver=files, quarantine=[], key=["id"])


def test_a_folds_rows_come_from_a_lower_priority_thread_and_are_every_valid_row(tmp_path):
    rows = _keyed_batches(tmp_path)
    me = threading.get_native_id()
    before = _nice(me)
    seen: dict[str, int] = {}
    with low_priority_rows(rows) as reader:
        got = []
        for batch in reader:  # this thread consumes, as the Delta writer's would
            got.append(batch)
            seen["consumer"] = _nice(me)
            seen["fold"] = _nice(_thread_named("silver-fold_0"))
    assert seen["fold"] == min(before + FOLD_NICE, 19)
    if _may_raise_back():  # lowered while it consumed, given back after
        assert seen["consumer"] == min(before + FOLD_NICE, 19)
    else:  # never lowered: it could not be raised back
        assert seen["consumer"] == before
    assert _nice(me) == before
    import pyarrow as pa

    table = pa.Table.from_batches(got).sort_by("id")
    assert table.column("id").to_pylist() == list(range(2_000))
    # each key's latest batch wins: keys 0-499 from the first, 500-999 from the second, ...
    assert table.column("amount").to_pylist() == [i * 10 + min(i // 500, 2) for i in range(2_000)]


def test_a_folds_query_error_reaches_the_writer_and_gives_every_priority_back(tmp_path):
    rows = _keyed_batches(tmp_path)
    (tmp_path / "b1.parquet").write_bytes(b"not parquet")
    me = threading.get_native_id()
    before = _nice(me)
    with pytest.raises(Exception, match="b1.parquet"), low_priority_rows(rows) as reader:
        reader.read_all()
    assert _nice(me) == before
    # and the fold thread is free for the next fold
    (tmp_path / "again").mkdir()
    with low_priority_rows(_keyed_batches(tmp_path / "again")) as reader:
        assert reader.read_all().num_rows == 2_000
