"""Files dropped into the landing folder or bucket start exactly one run each."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid

import nats
import pytest
from minio import Minio

pytestmark = pytest.mark.e2e


def runs_of(platform, dataset: str) -> list[dict]:
    with platform.client() as c:
        return c.get("/api/v1/runs", params={"dataset": dataset}).json()["runs"]


def wait_for_runs(platform, dataset: str, count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(runs := runs_of(platform, dataset)) < count:
        assert time.monotonic() < deadline, f"{len(runs)} run(s) of {dataset} after {timeout}s"
        time.sleep(0.3)
    return [platform.wait_run(r["run_id"]) for r in runs]


def test_a_file_copied_into_the_landing_folder_starts_exactly_one_run(platform):
    dataset = f"dropped_{uuid.uuid4().hex[:6]}"
    folder = platform.home / "landing" / dataset
    folder.mkdir(parents=True)
    (folder / "orders.csv.part").write_text("id,zip\n1,00501\n")  # still being copied
    target = folder / "orders.csv"
    (folder / "orders.csv.part").rename(target)

    [run] = wait_for_runs(platform, dataset, 1, timeout=60)
    assert run["status"] == "succeeded" and run["counts"]["valid"] == 1
    assert run["filename"] == "orders.csv"

    time.sleep(4)  # several more sweeps see the same file
    assert len(runs_of(platform, dataset)) == 1
    target.write_text("id,zip\n1,00501\n2,02134\n")  # a new version is a new run
    runs = wait_for_runs(platform, dataset, 2, timeout=60)
    assert sorted(r["counts"]["valid"] for r in runs) == [1, 2]


async def _notify(nats_url: str, payload: dict) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.publish("minio.landing", json.dumps(payload).encode())
        await nc.flush()
    finally:
        await nc.close()


def minio_notification(bucket: str, key: str, etag: str, size: int) -> dict:
    return {
        "EventName": "s3:ObjectCreated:Put",
        "Key": f"{bucket}/{key}",
        "Records": [{
            "eventVersion": "2.0", "eventSource": "minio:s3",
            "eventName": "s3:ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket},
                   "object": {"key": key.replace("/", "%2F"), "size": size, "eTag": etag}},
        }],
    }  # fmt: skip


def test_a_bucket_drop_announced_by_notification_and_sweep_starts_exactly_one_run(s3_platform):
    p = s3_platform
    sweep = float(p.env["FLOWFORGE_LANDING_SWEEP"])
    dataset = f"bucket_{uuid.uuid4().hex[:6]}"
    key = f"landing/{dataset}/orders.csv"
    body = b"id,zip\n1,00501\n2,02134\n"
    client = Minio(p.extra["endpoint"].removeprefix("http://"), access_key=p.extra["access_key"],
                   secret_key=p.extra["secret_key"], secure=False)  # fmt: skip
    put = client.put_object("lake", key, io.BytesIO(body), len(body))
    notification = minio_notification("lake", key, put.etag, len(body))
    for _ in range(2):  # announced twice
        asyncio.run(_notify(p.extra["minio_nats_url"], notification))  # as MinIO's user

    [run] = wait_for_runs(p, dataset, 1, timeout=sweep / 2)  # before any sweep
    assert run["status"] == "succeeded" and run["counts"]["valid"] == 2

    time.sleep(sweep + 3)  # the sweep has now listed it too
    assert len(runs_of(p, dataset)) == 1


def test_a_bucket_drop_nobody_announced_is_found_by_the_sweep(s3_platform):
    p = s3_platform
    sweep = float(p.env["FLOWFORGE_LANDING_SWEEP"])
    dataset = f"silent_{uuid.uuid4().hex[:6]}"
    body = b"a,b\n1,2\n"
    client = Minio(p.extra["endpoint"].removeprefix("http://"), access_key=p.extra["access_key"],
                   secret_key=p.extra["secret_key"], secure=False)  # fmt: skip
    client.put_object("lake", f"landing/{dataset}/x.csv", io.BytesIO(body), len(body))

    [run] = wait_for_runs(p, dataset, 1, timeout=sweep * 2 + 10)
    assert run["status"] == "succeeded"
