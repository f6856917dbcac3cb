"""The bus and the files are part of the perimeter (issue 11, item 6), on a running platform:
the embedded NATS refuses anonymous clients; a subscriber made with `flowforge subscribers`
follows a run's events and can forge none; an event pointing at the state beside the lake
fails its run without reading the file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import nats
import pytest

from flowforge.common.events import FileLanded


def cli(platform, *args: str) -> subprocess.CompletedProcess:
    env = {**platform.env, "FLOWFORGE_HOME": str(platform.home)}
    return subprocess.run(
        [sys.executable, "-m", "flowforge.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def public_url(platform) -> str:
    parts = urlsplit(platform.endpoints["nats_url"])
    return f"nats://{parts.hostname}:{parts.port}"


def test_an_anonymous_client_is_refused(platform):
    async def connect() -> None:
        await nats.connect(public_url(platform), allow_reconnect=False, max_reconnect_attempts=0)

    with pytest.raises(Exception, match="Authorization Violation"):
        asyncio.run(connect())


def test_a_subscriber_follows_a_run_and_cannot_forge_events(platform):
    name = f"watcher-{uuid.uuid4().hex[:6]}"
    made = cli(platform, "subscribers", "add", name, "--json")
    assert made.returncode == 0, made.stderr
    answer = json.loads(made.stdout)
    assert answer["active"] is True and answer["inbox_prefix"] == f"_INBOX.{name}"
    assert answer["url"] == public_url(platform)
    stored = (platform.home / "nats.credentials.json").read_text()
    assert answer["password"] not in stored  # only its hash is kept
    listed = json.loads(cli(platform, "subscribers", "list", "--json").stdout)
    assert name in [s["name"] for s in listed["items"]]

    dataset = f"perimeter_{uuid.uuid4().hex[:6]}"
    run = platform.land(b"id,amount\n1,10\n2,20\n", "orders.csv", dataset=dataset)
    assert run["status"] == "succeeded"

    async def follow() -> tuple[list[str], list[str]]:
        errors: list[str] = []

        async def note(exc: Exception) -> None:
            errors.append(str(exc))

        nc = await nats.connect(
            answer["url"],
            user=name,
            password=answer["password"],
            inbox_prefix=answer["inbox_prefix"],
            error_cb=note,
            allow_reconnect=False,
        )
        js = nc.jetstream()
        sub = await js.pull_subscribe(">", durable=name, stream="FLOWFORGE")
        seen: list[str] = []
        while True:
            try:
                batch = await sub.fetch(200, timeout=2)
            # nats-py raises its own TimeoutError, or asyncio's when the fetch's deadline ran
            # out between its two requests
            except (nats.errors.TimeoutError, TimeoutError):
                break
            for msg in batch:
                if json.loads(msg.data).get("data", {}).get("run_id") == run["run_id"]:
                    seen.append(msg.subject)
                await msg.ack()
        forged = FileLanded(
            run_id=f"forged-{uuid.uuid4().hex[:8]}",
            dataset=dataset,
            landing_uri=f"file://{platform.home}/postgres.password",
        )
        with pytest.raises(Exception):  # noqa: B017 - refused: no answer, or an error
            await js.publish("file.landed", forged.to_bytes(), timeout=2)
        with pytest.raises(Exception):  # noqa: B017
            await asyncio.wait_for(js.delete_stream("FLOWFORGE"), 2)
        await asyncio.sleep(0.3)
        await nc.close()
        return seen, errors

    seen, errors = asyncio.run(follow())
    assert {"file.landed", "bronze.ready", "silver.ready", "quality.checked"} <= set(seen)
    assert any("permissions violation" in e.lower() and "file.landed" in e for e in errors), errors

    removed = cli(platform, "subscribers", "rm", name)
    assert removed.returncode == 0, removed.stderr

    async def again() -> None:
        await nats.connect(
            answer["url"], user=name, password=answer["password"], allow_reconnect=False,
            max_reconnect_attempts=0,
        )  # fmt: skip

    with pytest.raises(Exception, match="Authorization Violation"):
        asyncio.run(again())


def test_an_event_pointing_at_the_state_folder_fails_its_run_unread(platform):
    """Even with a publisher's credentials (the operator's here), a file.landed whose object
    is the database password beside the lake is refused: the run fails naming the reason,
    and nothing of the file reaches Bronze or any answer."""
    secret = (platform.home / "postgres.password").read_text().strip()
    run_id = f"forged-{uuid.uuid4().hex[:8]}"
    dataset = f"forged_{uuid.uuid4().hex[:6]}"
    forged = FileLanded(
        run_id=run_id,
        dataset=dataset,
        landing_uri=(platform.home / "postgres.password").as_uri(),
        filename="postgres.password",
    )

    async def publish() -> None:
        nc = await nats.connect(platform.endpoints["nats_url"])
        js = nc.jetstream()
        await js.publish(
            "file.landed",
            forged.to_bytes(),
            headers={"Nats-Msg-Id": forged.event_id},
        )
        await nc.close()

    asyncio.run(publish())
    run = platform.wait_run(run_id, timeout=60)
    assert run["status"] == "failed"
    assert "outside the lake's data" in json.dumps(run), run
    with platform.client() as c:
        sample = c.get(f"/api/v1/datasets/{dataset}/sample", params={"layer": "bronze"})
        assert secret not in sample.text
        assert str(platform.home) not in json.dumps(run)  # no absolute server path either
    assert not list((platform.home / "bronze").glob(f"{dataset}/**/*.parquet"))
    assert os.stat(platform.home / "nats.credentials.json").st_mode & 0o077 == 0


BROKEN_FILES = {
    "sheet.xlsx": b"PK\x03\x04 not really a workbook",
    "table.parquet": b"PAR1 truncated",
    "rows.json": b'[{"a": 1}, {"a": ',
    "packed.csv.gz": b"\x1f\x8b\x08\x00 broken gzip",
    "archive.zip": b"PK\x05\x06" + b"\x00" * 10,
    "data.csv": b"a,b\n1,2\n",
}


def test_no_answer_or_error_shows_a_server_path(platform):
    """Runs that fail inside parsers (whose messages name the file they read) and every
    listing a client sees: no absolute path of the server in any of them."""
    dataset = f"paths_{uuid.uuid4().hex[:6]}"
    runs = [platform.land(content, name, dataset=dataset) for name, content in BROKEN_FILES.items()]
    assert sum(r["status"] == "failed" for r in runs) >= 4, runs
    answers = [json.dumps(runs)]
    with platform.client() as c:
        for path in (
            "/api/v1/runs?limit=50",
            f"/api/v1/datasets/{dataset}",
            f"/api/v1/datasets/{dataset}/schema",
            f"/api/v1/datasets/{dataset}/sample?layer=bronze",
            f"/api/v1/datasets/{dataset}/lineage",
            "/api/v1/datasets",
            "/api/v1/models",
            "/healthz",
            "/readyz",
            "/openapi.json",
            "/api/v1/nope",
            f"/api/v1/runs/{runs[0]['run_id']}/rejected",
            f"/api/v1/runs/{runs[0]['run_id']}/events",
        ):
            answers.append(f"{path} {c.get(path).text}")
    home = str(platform.home.resolve())
    leaks = [a[:300] for a in answers if home in a or "/tmp/" in a or str(platform.home) in a]
    assert not leaks, leaks


def test_the_documented_example_subscriber_receives_gold_ready(platform, tmp_path):
    """docs/subscribers.md's example, run as written (its name made unique) against a
    subscriber made with the CLI: it prints the model that a landed file rebuilt."""
    import re
    import time
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "subscribers.md").read_text()
    [code] = re.findall(r"```python\n(.*?)```", doc, re.S)
    name = f"loader-{uuid.uuid4().hex[:6]}"
    code = code.replace('NAME = "warehouse-loader"', f'NAME = "{name}"')
    made = json.loads(cli(platform, "subscribers", "add", name, "--json").stdout)
    model = f"by_kind_{uuid.uuid4().hex[:6]}"
    dataset = f"kinds_{uuid.uuid4().hex[:6]}"
    script = tmp_path / "subscriber.py"
    script.write_text(code)
    env = {**os.environ, "NATS_URL": made["url"], "FLOWFORGE_NATS_PASSWORD": made["password"]}
    out = tmp_path / "out.txt"
    with out.open("w") as fh:
        process = subprocess.Popen([sys.executable, str(script)], stdout=fh, stderr=fh, env=env)
    try:
        platform.land(b"kind,n\na,1\nb,2\n", "kinds.csv", dataset=dataset)
        with platform.client() as c:
            sql = f"SELECT kind, sum(n) AS n FROM {dataset} GROUP BY kind"
            created = c.post("/api/v1/models", json={"name": model, "sql": sql})
            assert created.status_code == 201, created.text
        deadline = time.monotonic() + 60
        while model not in out.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, out.read_text()
            time.sleep(0.5)
        assert model in out.read_text(), out.read_text()
    finally:
        process.terminate()
        process.wait(10)
