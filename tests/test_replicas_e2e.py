"""Two replicas of every worker on real NATS: a batch of files is processed once each, and the
work is spread over both replicas (they share one durable pull consumer per subject)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nats
import polars as pl
import pytest

pytestmark = pytest.mark.e2e

FILES = 12
ROWS = 200
SHARED = (("ingest", "file.landed"), ("transform", "bronze.ready"), ("quality", "silver.ready"))


async def _waiting_pulls(nats_url: str) -> dict[tuple[str, str], int]:
    """(service, subject) → pull requests waiting on that durable consumer: one per idle
    replica that is consuming."""
    nc = await nats.connect(nats_url)
    try:
        consumers = await nc.jetstream().consumers_info("FLOWFORGE")
    finally:
        await nc.close()
    return {(c.name.split("--")[0], c.config.filter_subject): c.num_waiting or 0 for c in consumers}


def wait_until_every_replica_consumes(nats_url: str, replicas: int, timeout: float = 90) -> None:
    """/healthz is ok once any replica answers; the test needs all of them pulling."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = asyncio.run(_waiting_pulls(nats_url))
        if all(waiting.get(pair, 0) >= replicas for pair in SHARED):
            return
        assert time.monotonic() < deadline, f"pull requests waiting: {waiting}"
        time.sleep(0.5)


def handled(home: Path, service: str, subject: str) -> dict[str, list[str]]:
    """run_id → the replicas' log names that handled `subject` (one entry per delivery)."""
    seen: dict[str, list[str]] = defaultdict(list)
    for log in sorted((home / "logs").glob(f"{service}*.log")):
        if log.stem not in (service, *(f"{service}-{i}" for i in range(1, 10))):
            continue
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if str(record.get("msg", "")).startswith(f"handling {subject} (delivery"):
                seen[record["run_id"]].append(log.stem)
    return seen


def orders(n: int, seed: int) -> bytes:
    rows = [f"{i},{seed},{(i * 7 + seed) % 1000 / 10}" for i in range(n)]
    return ("id,batch,amount\n" + "\n".join([*rows, rows[0]]) + "\n").encode()  # one duplicate


def test_two_replicas_of_each_worker_process_every_file_once_and_share_the_work(
    replicas_platform,
):
    p = replicas_platform  # two replicas of each worker (conftest)
    assert p.pid("ingest") != int((p.home / "run" / "ingest-1.pid").read_text())
    assert not (p.home / "run" / "gateway-1.pid").exists()
    assert len(p.endpoints["pids"]["transform"]) == 2
    wait_until_every_replica_consumes(p.endpoints["nats_url"], 2)
    tag = uuid.uuid4().hex[:6]
    datasets = [f"rep_{tag}_{i}" for i in range(FILES)]
    with ThreadPoolExecutor(4) as pool:  # land them together, as a batch arrives
        accepted = list(pool.map(
            lambda i: p.upload(orders(ROWS, i), f"part{i}.csv", dataset=datasets[i], key="id"),
            range(FILES),
        ))  # fmt: skip
    runs = {a["run_id"]: p.wait_run(a["run_id"], timeout=240) for a in accepted}

    for run_id, run in runs.items():
        assert run["status"] == "succeeded", run
        assert run["counts"]["bronze"] == ROWS + 1 and run["counts"]["duplicates"] == 1, run
        assert run["counts"]["silver"] == ROWS, run
        dataset = run["dataset"]
        assert [f.name for f in (p.home / "bronze" / dataset).glob("*.parquet")] == [
            f"{run_id}.parquet"
        ]
        [silver] = (p.home / "silver" / dataset).glob("*.parquet")
        ids = pl.read_parquet(silver)["id"]
        assert ids.len() == ROWS and ids.n_unique() == ROWS  # no duplicate Silver rows

    spread = {}
    for service, subject in SHARED:
        seen = handled(p.home, service, subject)
        assert set(seen) >= set(runs), f"{service} never handled some runs"
        twice = {r: who for r, who in seen.items() if r in runs and len(who) != 1}
        assert not twice, f"{service} handled {subject} more than once: {twice}"
        spread[service] = Counter(who[0] for r, who in seen.items() if r in runs)
    print("work per replica:", {s: dict(c) for s, c in spread.items()})
    for service, _ in SHARED:
        assert set(spread[service]) == {service, f"{service}-1"}, spread
