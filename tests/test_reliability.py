"""Redelivery and crashes never duplicate data; dead services come back."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from datetime import datetime

import httpx
import nats
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.e2e


def metric(platform, service: str, subject: str, outcome: str = "ok") -> float:
    with platform.client() as c:
        text = c.get(f"/api/v1/services/{service}/metrics").text
    pattern = r"^flowforge_messages_total\{([^}]*)\} (\S+)$"
    for labels, value in re.findall(pattern, text, flags=re.M):
        if (
            f'service="{service}"' in labels
            and f'subject="{subject}"' in labels
            and f'outcome="{outcome}"' in labels
        ):
            return float(value)
    return 0.0


async def _republish_bronze_ready(nats_url: str, run_id: str) -> None:
    """Publish the run's `bronze.ready` again, as JetStream does when an ack is lost."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("FLOWFORGE")
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg("FLOWFORGE", seq)
            if msg.subject == "bronze.ready" and json.loads(msg.data)["data"]["run_id"] == run_id:
                # A new message id: the copy must reach the consumer, not be deduplicated.
                await js.publish(
                    "bronze.ready", msg.data, headers={"Nats-Msg-Id": f"redelivery-{uuid.uuid4()}"}
                )
                return
        raise AssertionError(f"no bronze.ready for run {run_id} in the stream")
    finally:
        await nc.close()


def silver_rows(platform, dataset: str, run_id: str) -> pl.DataFrame:
    return pl.read_parquet(platform.home / "silver" / dataset / f"{run_id}.parquet")


def test_a_redelivered_bronze_ready_produces_no_duplicate_silver_rows(platform):
    dataset = f"redeliver_{uuid.uuid4().hex[:6]}"
    body = "id,zip,v\n1,00501,a\n2,02134,b\n2,02134,b\n3,10001,c\n"
    run = platform.land(body.encode(), "r.csv", dataset=dataset, key="id")
    assert run["status"] == "succeeded"
    before = silver_rows(platform, dataset, run["run_id"])
    handled = metric(platform, "transform", "bronze.ready")

    asyncio.run(_republish_bronze_ready(platform.endpoints["nats_url"], run["run_id"]))
    deadline = time.monotonic() + 60
    while metric(platform, "transform", "bronze.ready") < handled + 1:
        assert time.monotonic() < deadline, "transform never handled the redelivered event"
        time.sleep(0.3)

    after = silver_rows(platform, dataset, run["run_id"])
    assert after.height == before.height == 3
    assert after["_source_line"].is_unique().all()
    assert sorted((platform.home / "silver" / dataset).iterdir()) == [
        platform.home / "silver" / dataset / f"{run['run_id']}.parquet"
    ]
    again = platform.wait_run(run["run_id"])
    assert again["counts"] == run["counts"]
    with platform.client() as c:
        rows = c.get(f"/api/v1/datasets/{dataset}/sample", params={"limit": 100}).json()["rows"]
        detail = c.get(f"/api/v1/datasets/{dataset}").json()
    assert sorted(r["id"] for r in rows) == [1, 2, 3]
    assert detail["layers"]["silver"]["row_count"] == 3


def big_csv(rows: int) -> bytes:
    rng = np.random.default_rng(7)
    frame = pl.DataFrame(
        {
            "id": np.arange(rows).astype(str),
            "zip": pl.Series(rng.integers(0, 99_999, rows)).cast(pl.String).str.zfill(5),
            "amount": pl.Series(rng.integers(0, 100_000, rows) / 100).cast(pl.String),
            "flag": rng.choice(["yes", "no"], rows),
        }
    )
    return frame.write_csv().encode()


def test_killing_transform_mid_run_completes_the_run_with_no_duplicates(platform):
    dataset = f"crash_{uuid.uuid4().hex[:6]}"
    rows = 3_000_000
    accepted = platform.upload(big_csv(rows), "big.csv", dataset=dataset, key="id")
    run_id = accepted["run_id"]
    with platform.client() as c:
        deadline = time.monotonic() + 120
        while True:  # wait until transform has started on Silver
            run = c.get(f"/api/v1/runs/{run_id}").json()
            stages = {s["name"]: s["status"] for s in run["stages"]}
            if stages["ingest"] == "succeeded":
                break
            assert run["status"] != "failed", run
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
    time.sleep(1.0)
    old_pid = platform.pid("transform")
    os.kill(old_pid, signal.SIGKILL)
    killed_at = datetime.now().astimezone()

    run = platform.wait_run(run_id, timeout=240)

    assert run["status"] == "succeeded", run
    # The killed handler's message came back after the ack wait (5 s here), not a minute.
    redelivered = [
        datetime.fromisoformat(r["ts"])
        for line in (platform.home / "logs" / "transform.log").read_text().splitlines()
        if line.startswith("{")
        for r in [json.loads(line)]
        if r.get("run_id") == run_id and str(r.get("msg", "")).startswith("handling bronze.ready")
    ]
    assert redelivered and redelivered[-1] > killed_at, redelivered
    assert (redelivered[-1] - killed_at).total_seconds() < 5 + 15, (killed_at, redelivered)
    silver = {s["name"]: s for s in run["stages"]}["silver"]
    assert datetime.fromisoformat(silver["finished_at"]) > killed_at, (
        "Silver finished before the kill: the test did not interrupt it"
    )
    assert platform.pid("transform") != old_pid
    assert run["counts"]["silver"] == rows and run["counts"]["duplicates"] == 0
    table = pq.read_table(
        platform.home / "silver" / dataset / f"{run_id}.parquet", columns=["id", "_source_line"]
    )
    assert table.num_rows == rows
    assert pl.from_arrow(table)["id"].n_unique() == rows
    assert len(list((platform.home / "silver" / dataset).glob("*.parquet"))) == 1


def test_a_service_that_dies_is_restarted_and_health_recovers(platform):
    old = platform.pid("quality")
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 60
    seen_down = False
    while True:
        response = httpx.get(f"{platform.url}/healthz", timeout=10)
        if response.status_code == 503:
            seen_down = True
            assert response.json()["services"]["quality"] != "ok"
        new = platform.pid("quality")
        if response.status_code == 200 and new != old:
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.3)
    assert new != old
    assert response.json() == {
        "status": "ok",
        "services": {
            "ingest": "ok",
            "transform": "ok",
            "quality": "ok",
            "catalog": "ok",
            "ai": "ok",
            "scheduler": "ok",
            "gateway": "ok",
        },
    }
    assert seen_down or new != old
    run = platform.land(b"a,b\n1,2\n", "after_restart.csv")
    assert run["status"] == "succeeded"


def test_killing_ingest_mid_drop_still_yields_one_run_and_one_bronze_object(platform):
    dataset = f"dropkill_{uuid.uuid4().hex[:6]}"
    # Large enough that ingest is still converting when it is killed (3M rows finished within
    # the 0.5 s once ingest got faster: the kill came after it).
    rows = 8_000_000
    folder = platform.home / "landing" / dataset
    folder.mkdir(parents=True)
    staging = platform.home / f".{dataset}.csv"
    staging.write_bytes(big_csv(rows))
    staging.rename(folder / "big.csv")  # appears whole, as a copy tool's rename does
    with platform.client() as c:
        deadline = time.monotonic() + 60
        while not (runs := c.get("/api/v1/runs", params={"dataset": dataset}).json()["runs"]):
            assert time.monotonic() < deadline, "the drop was never picked up"
            time.sleep(0.1)
    time.sleep(0.5)
    old_pid = platform.pid("ingest")
    os.kill(old_pid, signal.SIGKILL)
    killed_at = datetime.now().astimezone()

    run = platform.wait_run(runs[0]["run_id"], timeout=240)

    assert run["status"] == "succeeded", run
    ingest = {s["name"]: s for s in run["stages"]}["ingest"]
    assert datetime.fromisoformat(ingest["finished_at"]) > killed_at, (
        "ingest finished before the kill: the test did not interrupt it"
    )
    assert platform.pid("ingest") != old_pid
    with platform.client() as c:
        assert len(c.get("/api/v1/runs", params={"dataset": dataset}).json()["runs"]) == 1
    bronze = list((platform.home / "bronze" / dataset).glob("*.parquet"))
    assert len(bronze) == 1
    assert pq.ParquetFile(bronze[0]).metadata.num_rows == rows == run["counts"]["bronze"]


def test_a_long_ingest_shows_its_progress_on_the_run(platform):
    accepted = platform.upload(big_csv(2_000_000), "progress.csv",
                               dataset=f"progress_{uuid.uuid4().hex[:6]}")  # fmt: skip
    seen = []
    with platform.client() as c:
        deadline = time.monotonic() + 120
        while (run := c.get(f"/api/v1/runs/{accepted['run_id']}").json())["status"] not in (
            "succeeded",
            "failed",
        ):
            if run.get("progress"):
                seen.append(run["progress"])
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert run["status"] == "succeeded" and run.get("progress") is None
    assert seen and seen[0]["stage"] == "ingest"
    assert all(0 < f["done"] <= f["total"] == accepted["size_bytes"] for f in seen)
