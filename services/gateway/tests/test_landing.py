"""Uploads land in the scratch folder as their body arrives (`landing`): the bytes and hash
of a multi-block file are exact, and nothing is left behind by a refused or broken upload."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx

from flowforge.gateway import landing


def answer_ingest(harness) -> None:
    harness.owners.answer("ingest", "dataset.put", lambda r: {
        "name": r["name"], "key": r["key"] or [], "schema_policy": "evolve",
        "array_policy": "json"})  # fmt: skip


def leftovers(harness) -> list[str]:
    return sorted(p.name for p in Path(harness.gateway.settings.scratch_dir).glob("upload-*"))


async def test_a_file_of_many_blocks_lands_byte_for_byte_with_its_hash(harness):
    answer_ingest(harness)
    body = os.urandom(3 * landing.BLOCK + 12_345)  # three full blocks and a tail
    response = await harness.client.post(
        "/api/v1/files", files={"file": ("big.csv", body, "text/csv")}, data={"dataset": "big"}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["size_bytes"] == len(body)
    assert accepted["content_hash"] == hashlib.sha256(body).hexdigest()
    key = f"uploads/{accepted['run_id']}/big.csv"
    assert harness.gateway.store.get_bytes(key) == body
    assert leftovers(harness) == []


async def test_a_file_over_the_upload_limit_is_refused_and_leaves_nothing(harness):
    answer_ingest(harness)
    harness.gateway.settings.upload_limit_bytes = landing.BLOCK + 10
    response = await harness.client.post(
        "/api/v1/files", files={"file": ("x.csv", b"a" * (landing.BLOCK + 11))}, data={}
    )
    assert response.status_code == 400
    assert "larger than the upload limit" in response.json()["detail"]
    assert harness.published == [] and leftovers(harness) == []


async def test_a_broken_form_is_a_400_and_leaves_nothing(harness):
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = head + b"x" * (landing.BLOCK + 100) + b"\r\n--not-the-boundary--\r\n"
    response = await harness.client.post(
        "/api/v1/files",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code in (400, 422), response.text
    assert harness.published == [] and leftovers(harness) == []


async def test_a_body_cut_off_mid_file_leaves_nothing(harness):
    async def cut_off():
        yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n\r\n')
        yield b"y" * (landing.BLOCK * 2)
        raise httpx.ReadError("the client went away")

    try:
        response = await harness.client.post(
            "/api/v1/files",
            content=cut_off(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    except httpx.ReadError:
        pass
    else:
        assert response.status_code >= 400, response.text
    assert harness.published == [] and leftovers(harness) == []
