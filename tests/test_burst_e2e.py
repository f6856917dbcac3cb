"""A burst of small files into one dataset with a Gold model: batches that pass quality while
the dataset's Gold is being built are promoted and built together (bus group handler), and
every run still ends with its own Gold stage done and every row in Gold once."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from flowforge.common.testing import unique

pytestmark = pytest.mark.e2e
FILES = 10
ROWS = 50


def part(i: int) -> bytes:
    rows = [f"{i * ROWS + n},{(n % 7) + 1}" for n in range(ROWS)]
    return ("id,amount\n" + "\n".join(rows) + "\n").encode()


def test_a_burst_into_one_dataset_reaches_gold_with_every_run_and_row(platform):
    dataset, model = unique("burst"), unique("burst_total")
    with platform.client() as c:
        sql = f"SELECT count(*) AS n, sum(amount) AS total FROM {dataset}"
        assert c.post("/api/v1/models", json={"name": model, "sql": sql}).status_code == 201
    with ThreadPoolExecutor(4) as pool:
        accepted = list(pool.map(
            lambda i: platform.upload(part(i), f"part{i}.csv", dataset=dataset, key="id"),
            range(FILES),
        ))  # fmt: skip
    runs = [platform.wait_run(a["run_id"], timeout=240) for a in accepted]
    for run in runs:
        assert run["status"] == "succeeded", run
        gold = next(s for s in run["stages"] if s["name"] == "gold")
        assert gold["status"] == "succeeded", run
    with platform.client() as c:
        found = c.post("/api/v1/sql", json={"sql": f"SELECT n, total FROM {model}"}).json()
    expected_total = FILES * sum((n % 7) + 1 for n in range(ROWS))
    assert found["rows"] == [[FILES * ROWS, expected_total]]

    # How the Gold builds went (grouping depends on timing, so it is reported, not required;
    # libs/common/tests/test_bus.py checks the grouping itself).
    ours = {r["run_id"] for r in runs}
    sizes = []
    for line in platform.log("transform").splitlines():
        if line.startswith("{") and (record := json.loads(line)).get("run_id") in ours:
            if m := re.match(
                r"gold: \d+ model\(s\) built, \d+ failed, for (\d+) batch", record["msg"]
            ):
                sizes.append(int(m.group(1)))
    print(f"{FILES} files; Gold builds shared by several batches: {sizes}")
