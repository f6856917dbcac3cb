"""The drop zone's rules. Pure: object keys and notification payloads in, drops out.

A file put under `landing/` starts a run: `landing/<dataset>/.../<file>` lands in that
dataset, `landing/<file>` in a dataset named after the file. Each object version (S3 ETag,
or the content hash of a local file) gets one deterministic run id, so announcing it twice
(a notification and a sweep, two replicas) cannot start two runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote_plus

from flowforge.common.lake import LANDING_PREFIX, normalise_name

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".swp")


@dataclass(frozen=True)
class Drop:
    key: str
    version: str
    size: int


def is_drop(key: str) -> bool:
    """A file in the drop zone that is not a hidden or temporary file."""
    if not key.startswith(LANDING_PREFIX) or key.endswith("/"):
        return False
    name = PurePosixPath(key).name
    return not name.startswith((".", "~")) and not name.endswith(IGNORED_SUFFIXES)


def dataset_for(key: str) -> str:
    parts = PurePosixPath(key.removeprefix(LANDING_PREFIX)).parts
    raw = parts[0] if len(parts) > 1 else PurePosixPath(parts[-1]).stem
    return normalise_name(raw) or "landing"


def run_id_for(source: str, drop: Drop) -> str:
    digest = hashlib.sha256(f"{source}\n{drop.key}\n{drop.version}".encode())
    return digest.hexdigest()[:32]


def minio_drops(payload: dict[str, Any], bucket: str) -> list[Drop]:
    """Object-created records of a MinIO (S3-style) bucket notification for our bucket."""
    drops = []
    for record in payload.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("s3:ObjectCreated:"):
            continue
        s3 = record.get("s3") or {}
        if (s3.get("bucket") or {}).get("name") != bucket:
            continue
        obj = s3.get("object") or {}
        key = unquote_plus(str(obj.get("key", "")))
        etag = str(obj.get("eTag") or obj.get("etag") or "").strip('"')
        if etag and is_drop(key):
            drops.append(Drop(key=key, version=etag, size=int(obj.get("size") or 0)))
    return drops
