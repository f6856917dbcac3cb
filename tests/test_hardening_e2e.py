"""Pathological files through the real platform (issue 12): each ends in a terminal run
within a bounded time, with counts that reconcile or a clear error naming the line or the
limit, while a small file to another dataset still lands in seconds."""

from __future__ import annotations

import time

import pytest

from flowforge.common.testing import unique

pytestmark = pytest.mark.e2e


def reconciles(run: dict) -> None:
    c = run["counts"]
    assert c["parsed"] == c["rejected"] + c["bronze"], c
    assert c["bronze"] == c["duplicates"] + c["silver"], c
    assert c["silver"] == c["quarantined"] + c["valid"], c


def test_a_quote_never_closed_is_one_rejected_line_and_the_rest_is_read(platform):
    rows = "".join(f"{i},item {i}\n" for i in range(3, 2003))
    text = f'id,name\n1,fine\n2,"never closed\n{rows}'.encode()
    run = platform.land(text, "open_quote.csv", dataset=unique("open_quote"))
    assert run["status"] == "succeeded", run
    reconciles(run)
    assert run["counts"]["rejected"] == 1 and run["counts"]["valid"] == 2001
    with platform.client() as c:
        rejected = c.get(f"/api/v1/runs/{run['run_id']}/rejected").json()["rows"]
    assert [(r["line"], r["raw"]) for r in rejected] == [(3, '2,"never closed')]
    assert rejected[0]["reason"].startswith("unterminated quoted field")


def test_a_quote_never_closed_in_the_header_fails_naming_line_1(platform):
    run = platform.land(b'id,"name\n1,a\n2,b\n', "open_header.csv", dataset=unique("open_hdr"))
    assert run["status"] == "failed"
    assert "open_header.csv: line 1: unterminated quoted field" in run["error"], run


def test_a_100_mb_line_fails_naming_the_line_and_the_limit_while_others_land(platform):
    body = b"id,v\n1,a\n2," + b"x" * (100 * 2**20) + b"\n3,c\n"
    accepted = platform.upload(body, "long_line.csv", dataset=unique("long_line"))
    began = time.monotonic()
    small = platform.land(b"id\n1\n", "small.csv", dataset=unique("bystander"))
    assert small["status"] == "succeeded" and time.monotonic() - began < 30
    run = platform.wait_run(accepted["run_id"], timeout=120)
    assert run["status"] == "failed"
    assert "long_line.csv: line 3: a record longer than 8 MiB" in run["error"], run
    assert "straddl" not in run["error"]


def test_a_file_with_3000_columns_lands_in_bounded_time_and_blocks_nobody(platform):
    width = 3000
    header = ",".join(f"c{i}" for i in range(width))
    rows = "\n".join(",".join(str((r * width + i) % 97) for i in range(width)) for r in range(5))
    began = time.monotonic()
    wide = platform.upload(f"{header}\n{rows}\n".encode(), "wide.csv", dataset=unique("wide"))
    small = platform.land(b"id\n1\n", "small.csv", dataset=unique("bystander"))
    small_done = time.monotonic()
    assert small["status"] == "succeeded" and small_done - began < 60
    run = platform.wait_run(wide["run_id"], timeout=240)
    elapsed = time.monotonic() - began
    assert run["status"] == "succeeded", run
    # The wide file's Silver step (seconds) did not hold back the other dataset's.
    silver = next(s for s in run["stages"] if s["name"] == "silver")
    small_silver = next(s for s in small["stages"] if s["name"] == "silver")
    assert small_silver["finished_at"] < silver["finished_at"], (small_silver, silver)
    reconciles(run)
    assert run["counts"]["valid"] == 5
    with platform.client() as c:
        schema = c.get(f"/api/v1/datasets/{run['dataset']}/schema", params={"layer": "silver"})
    assert len(schema.json()["columns"]) == width
    print(f"3000 columns: {elapsed:.1f}s to a terminal run")


def test_a_model_past_its_time_limit_fails_with_the_reason_and_blocks_nobody(tuned_platform):
    """A model that runs until its time limit holds only its own models: another dataset's
    Gold builds meanwhile, and the slow one stops at the limit with the reason."""
    p = tuned_platform  # FLOWFORGE_MODEL_TIMEOUT=15 (conftest)
    dataset, slow, fast = unique("limits"), unique("slow"), unique("fast")
    other, other_model = unique("other"), unique("other_model")
    with p.client() as c:
        for name, sql in (
            (slow, f"SELECT count(*) AS n FROM {dataset}, range(100000000) a, range(100000) b"),
            (fast, f"SELECT count(*) AS n FROM {dataset}"),
            (other_model, f"SELECT count(*) AS n FROM {other}"),
        ):
            created = c.post("/api/v1/models", json={"name": name, "sql": sql})
            assert created.status_code == 201, created.text
    began = time.monotonic()
    slow_run = p.upload(b"id\n1\n2\n", "limits.csv", dataset=dataset)["run_id"]
    with p.client() as c:
        deadline = time.monotonic() + 60
        while not _stage_done(c.get(f"/api/v1/runs/{slow_run}").json(), "quality"):
            assert time.monotonic() < deadline, "the slow run never reached Gold"
            time.sleep(0.2)
    # The slow model is building now: another dataset's Gold does not wait for it.
    bystander_began = time.monotonic()
    bystander = p.land(b"id\n1\n", "other.csv", dataset=other)
    bystander_took = time.monotonic() - bystander_began
    bystander_gold = next(s for s in bystander["stages"] if s["name"] == "gold")
    assert bystander_gold["status"] == "succeeded", bystander
    run = p.wait_run(slow_run, timeout=90)
    assert time.monotonic() - began < 75
    gold = next(s for s in run["stages"] if s["name"] == "gold")
    assert gold["status"] == "failed", run
    assert "stopped after 15 s, its time limit (FLOWFORGE_MODEL_TIMEOUT)" in gold["error"], gold
    assert bystander_gold["finished_at"] < gold["finished_at"], (bystander_gold, gold)
    assert bystander_took < 10, f"another dataset's run took {bystander_took:.1f}s"
    with p.client() as c:
        assert c.get(f"/api/v1/models/{fast}/sample").json()["rows"] == [{"n": 2}]
        assert c.get(f"/api/v1/models/{other_model}/sample").json()["rows"] == [{"n": 1}]
        assert "time limit" in c.get(f"/api/v1/models/{slow}").json()["last_error"]


def _stage_done(run: dict, name: str) -> bool:
    return any(s["name"] == name and s["status"] == "succeeded" for s in run.get("stages", []))


def ingest_rss_mib(platform) -> float:
    return peak_mib(platform, "ingest")


def peak_mib(platform, service: str) -> float:
    """The service process's peak resident memory since it started (VmHWM)."""
    with open(f"/proc/{platform.pid(service)}/status") as fh:
        line = next(ln for ln in fh if ln.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


# Each service's memory limit in deploy/k8s (MiB).
BUDGETS = {"ingest": 1536, "transform": 1536, "quality": 1536, "ai": 1536, "catalog": 512,
           "gateway": 1024}  # fmt: skip


def test_a_workbook_bomb_and_json_nested_100000_deep_fail_at_once_in_bounded_memory(platform):
    import io
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["id"])
    raw = io.BytesIO()
    book.save(raw)
    bomb = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":  # 500 MB of blank XML, ~0.5 MB
                data = data.replace(b"</worksheet>", b" " * 500_000_000 + b"</worksheet>")
            dst.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    del data
    began = time.monotonic()
    runs = [
        platform.upload(bomb.getvalue(), "bomb.xlsx", dataset=unique("xlsx_bomb")),
        platform.upload(b"[" * 100_000 + b"]" * 100_000, "deep.json", dataset=unique("deep")),
    ]
    small = platform.land(b"id\n1\n", "small.csv", dataset=unique("bystander"))
    assert small["status"] == "succeeded"
    bomb_run, deep_run = (platform.wait_run(r["run_id"], timeout=60) for r in runs)
    assert time.monotonic() - began < 60
    assert bomb_run["status"] == "failed" and "refused, this workbook unpacks" in bomb_run["error"]
    assert deep_run["status"] == "failed" and "nested too deeply" in deep_run["error"]
    assert ingest_rss_mib(platform) < 1536, "ingest went past its 1.5 GiB budget"


def test_the_encoding_read_is_recorded_declared_or_refused_when_the_file_mixes_them(platform):
    """Issue 12 item 5: invalid UTF-8 bytes were silently read as cp1252."""
    ascii_rows = "".join(f"{i},plain {i}\n" for i in range(1, 40_001)).encode()

    # Mostly UTF-8, one line of other bytes: refused naming both lines.
    mixed = "id,name\n1,Zoë\n".encode() + ascii_rows.replace(b"300,plain", b"300,\xff\xfe")
    run = platform.land(mixed, "mixed.csv", dataset=unique("enc_mixed"))
    assert run["status"] == "failed", run
    assert "mixed.csv: line 302: byte 0xFF is not UTF-8, while line 2 is UTF-8" in run["error"]

    # ASCII for 40,000 lines, then cp1252: read so, with a warning naming the line.
    late = b"id,name\n" + ascii_rows + "40001,“Zoë” – 5 €\n".encode("cp1252")
    run = platform.land(late, "late.csv", dataset=unique("enc_late"))
    assert run["status"] == "succeeded", run
    reconciles(run)
    assert run["reading"]["encoding"] == "cp1252", run["reading"]
    assert run["reading"]["encoding_source"] == "fallback"
    assert 0 < run["reading"]["encoding_confidence"] < 1
    [warning] = run["warnings"]
    assert "not UTF-8 from line 40002 on" in warning and "`encoding`" in warning, warning

    # Declared: used as given (these UTF-8 bytes of é are read as the two cp1252 letters Ã©).
    dataset = unique("enc_declared")
    run = platform.land("id,name\n1,René\n".encode(), "declared.csv", dataset=dataset,
                        encoding="windows-1252")  # fmt: skip
    assert run["status"] == "succeeded", run
    assert run["reading"] | {"delimiter": None} == {
        "format": "csv", "encoding": "cp1252", "encoding_confidence": 1.0,
        "encoding_source": "declared", "delimiter": None, "has_header": True,
    }  # fmt: skip
    assert run["warnings"] == []
    with platform.client() as c:
        sample = c.get(f"/api/v1/datasets/{dataset}/sample").json()
        assert [r["name"] for r in sample["rows"]] == ["RenÃ©"], sample
        # An encoding no one knows is refused before anything lands.
        refused = c.post(
            "/api/v1/files",
            files={"file": ("x.csv", b"a\n1\n")},
            data={"dataset": unique("enc_bad"), "encoding": "klingon"},
        )
    assert refused.status_code == 400, refused.text
    assert "unknown encoding 'klingon'" in refused.json()["detail"]
    # A plain UTF-8 file: certain, no warning.
    run = platform.land("id,name\n1,Zoë\n".encode(), "plain.csv", dataset=unique("enc_ok"))
    assert run["reading"]["encoding"] == "utf-8" and run["reading"]["encoding_confidence"] == 1
    assert run["warnings"] == []


def test_10000_columns_land_their_events_claim_checked_and_20000_are_refused(platform):
    """Issue 12 items 1 and 4: events of a 10,000-column schema (~0.7 MB each) travel as
    CloudEvents envelopes with `dataref` to the object store; past FLOWFORGE_MAX_COLUMNS
    (16,384) a file is refused naming the count; a small file lands meanwhile."""
    import asyncio
    import json

    import nats

    def wide(width: int) -> bytes:
        header = ",".join(f"a_fairly_long_column_name_number_{i:05d}" for i in range(width))
        rows = [",".join(str((r * 31 + i) % 97) for i in range(width)) for r in range(3)]
        return ("\n".join([header, *rows]) + "\n").encode()

    accepted = platform.upload(wide(10_000), "wide10k.csv", dataset=unique("wide10k"))
    refused = platform.upload(wide(20_000), "wide20k.csv", dataset=unique("wide20k"))
    began = time.monotonic()
    small = platform.land(b"id\n1\n", "small.csv", dataset=unique("bystander"))
    assert small["status"] == "succeeded" and time.monotonic() - began < 30

    run = platform.wait_run(refused["run_id"], timeout=120)
    assert run["status"] == "failed", run
    assert "wide20k.csv: 20,000 columns, more than the 16,384" in run["error"], run
    run = platform.wait_run(accepted["run_id"], timeout=300)
    assert run["status"] == "succeeded", run
    reconciles(run)
    assert run["counts"]["silver"] == 3

    async def stored(subject: str) -> bytes:
        client = await nats.connect(platform.endpoints["nats_url"])
        try:
            js = client.jetstream()
            last = (await js.stream_info("FLOWFORGE")).state.last_seq
            for seq in range(last, max(0, last - 500), -1):
                try:
                    msg = await js.get_msg("FLOWFORGE", seq)
                except Exception:  # noqa: BLE001 - a deleted sequence
                    continue
                if msg.subject == subject and accepted["run_id"].encode() in msg.data:
                    return msg.data
        finally:
            await client.close()
        raise AssertionError(f"no {subject} of the run in the stream")

    for subject in ("bronze.ready", "silver.ready"):
        envelope = json.loads(asyncio.run(stored(subject)))
        assert envelope["datasize"] > 500_000 and "dataref" in envelope, envelope.keys()
        assert envelope["data"]["run_id"] == accepted["run_id"]
        assert "columns" not in envelope["data"]
    over = {s: round(peak_mib(platform, s)) for s, mib in BUDGETS.items()
            if peak_mib(platform, s) > mib}  # fmt: skip
    assert not over, f"services past their memory budget (MiB): {over}"
