"""Ingest's handler: a landed file becomes Bronze Parquet plus its rejected lines."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowforge.common import lake, metrics
from flowforge.common.errors import BadInputError
from flowforge.common.events import (
    BronzeReady,
    Column,
    Event,
    FileLanded,
    IngestFailed,
    StageTiming,
    utcnow,
)
from flowforge.common.lake import normalise_name
from flowforge.common.storage import ObjectStore
from flowforge.ingest.bronze import BronzeResult
from flowforge.ingest.contract import check_contract, discard_rows
from flowforge.ingest.formats import Limits, to_bronze
from flowforge.ingest.sources import extract as extraction

log = logging.getLogger(__name__)
SERVICE = "ingest"


@dataclass
class Deps:
    store: ObjectStore
    scratch: Path
    limits: Limits
    # The dataset's Bronze columns so far (None for a new dataset), for its schema contract.
    previous_columns: Callable[[str], Awaitable[list[str] | None]]
    # Remembers the columns a dataset's Bronze now has (the next file's contract compares).
    record_columns: Callable[[str, list[str]], Awaitable[None]] | None = None
    progress: Callable[[str, dict], Awaitable[None]] | None = None
    # Source databases (issue 13): the connections to extract from, and each source's
    # watermark, advanced once an extract is committed.
    connections: Any = None
    sources: Any = None


def _convert(event: FileLanded, deps: Deps, work: Path, progress) -> BronzeResult:
    store = deps.store
    landing = store.key_of(event.landing_uri)
    with store.readable(landing, deps.scratch) as source:
        return to_bronze(
            source,
            event.filename or Path(landing).name,
            work / "bronze.parquet",
            work / "rejected.parquet",
            run_id=event.run_id,
            ingested_at=event.landed_at,
            limits=deps.limits,
            progress=progress,
            sheet=event.sheet,
            arrays=event.array_policy,
            encoding=event.encoding,
        )


def _commit(event: FileLanded, deps: Deps, work: Path) -> None:
    if (work / "rejected.parquet").exists():
        deps.store.put_file(
            lake.rejected_key(event.dataset, event.run_id), work / "rejected.parquet"
        )
    deps.store.put_file(lake.bronze_key(event.dataset, event.run_id), work / "bronze.parquet")


async def _extract(event: FileLanded, deps: Deps, work: Path) -> BronzeResult:
    assert event.extract is not None
    conn, password = await deps.connections.open(event.extract.connection)
    result, specs = await extraction.to_bronze(
        conn, password, event.extract, work / "bronze.parquet",
        run_id=event.run_id, ingested_at=event.landed_at,
        progress=_progress_reporter(event, deps, unit="rows"),
    )  # fmt: skip
    result.source_types = specs
    log.info("extracted %d row(s) from %s", result.bronze, extraction.source_name(event.extract))
    return result


async def _land(event: FileLanded, deps: Deps, work: Path) -> BronzeResult:
    if event.extract is not None:
        result = await _extract(event, deps, work)
    else:
        result = await asyncio.to_thread(
            _convert, event, deps, work, _progress_reporter(event, deps)
        )
    previous = await deps.previous_columns(event.dataset)
    name = event.filename or "the file"
    diff = check_contract(event.schema_policy, previous, result.columns, name)
    if event.schema_policy == "discard_row" and previous is not None and diff and not diff.empty:
        moved = await asyncio.to_thread(
            discard_rows, work / "bronze.parquet", work / "rejected.parquet", previous, name
        )
        result.bronze -= moved
        result.rejected += moved
        result.columns = list(previous)
        log.info("discard_row: %d row(s) with values in unknown columns rejected", moved)
    await asyncio.to_thread(_commit, event, deps, work)
    if event.extract is not None and event.extract.mode == "incremental":
        # Only now, with Bronze committed: a crash before this re-extracts the same window.
        if event.extract.advance:
            await deps.sources.advance(event.dataset, event.extract.high, event.run_id)
    if deps.record_columns is not None:
        await deps.record_columns(event.dataset, list(result.columns))
    return result


def _sheet_runs(event: FileLanded, sheets: list[str]) -> list[Event]:
    """Each other sheet of a workbook lands as a run of its own, in `<dataset>_<sheet>`."""
    runs: list[Event] = []
    for sheet in sheets:
        run_id = hashlib.sha256(f"{event.run_id}\n{sheet}".encode()).hexdigest()[:32]
        dataset = normalise_name(f"{event.dataset}_{sheet}")[:63]
        runs.append(FileLanded(**(event.model_dump() | {"run_id": run_id, "dataset": dataset,
                                                         "sheet": sheet, "key": []})))  # fmt: skip
    return runs


def _progress_reporter(event: FileLanded, deps: Deps, unit: str = "bytes"):
    """Called from the parsing thread with bytes read (or rows extracted): logs every ~10%
    (every million rows), and sends the live figure (at most once a second) to
    `flowforge.progress.<run_id>` for the gateway."""
    total = max(event.size_bytes, 1) if unit == "bytes" else None
    step = max((total or 0) // 10, 64 * 1024 * 1024) if total else 1_000_000
    state = {"log": step, "sent": 0.0}
    loop = asyncio.get_running_loop()

    def report(done: int) -> None:
        if done >= state["log"]:
            state["log"] += step
            if total:
                log.info("ingest progress: %d of %d bytes (%.0f%%)", done, total,
                         100 * done / total)  # fmt: skip
            else:
                log.info("ingest progress: %d rows extracted", done)
        now = time.monotonic()
        if deps.progress is not None and now - state["sent"] >= 1.0:
            state["sent"] = now
            figure = {"run_id": event.run_id, "stage": "ingest", "done": done,
                      "total": total, "unit": unit}  # fmt: skip
            loop.call_soon_threadsafe(
                lambda: asyncio.ensure_future(deps.progress(event.run_id, figure))
            )

    return report


async def handle_file_landed(event: FileLanded, deps: Deps) -> list[Event]:
    """Parse one landed file into Bronze. A file that cannot be read fails the run, clearly."""
    started = utcnow()
    work = Path(tempfile.mkdtemp(dir=deps.scratch))
    try:
        result = await _land(event, deps, work)
    except BadInputError as exc:
        message = str(exc)
        if event.filename and not message.startswith(event.filename):
            message = f"{event.filename}: {message}"
        log.warning("ingest failed: %s", message)
        return [
            IngestFailed.following(
                event,
                stage="ingest",
                error=message,
                timing=StageTiming(started_at=started, finished_at=utcnow()),
            )
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timing = StageTiming(started_at=started, finished_at=utcnow())
    metrics.STAGE_SECONDS.labels(SERVICE, "ingest").observe(timing.seconds)
    metrics.count_rows(
        SERVICE, "ingest", parsed=result.parsed, rejected=result.rejected, bronze=result.bronze
    )
    metrics.count_bytes(SERVICE, "ingest", event.size_bytes)
    log.info(
        "bronze: %d rows parsed, %d rejected, in %.2fs",
        result.parsed,
        result.rejected,
        timing.seconds,
    )
    rejected_uri = (
        deps.store.uri(lake.rejected_key(event.dataset, event.run_id)) if result.rejected else None
    )
    d = result.dialect
    return [
        *_sheet_runs(event, result.other_sheets),
        BronzeReady.following(
            event,
            bronze_uri=deps.store.uri(lake.bronze_key(event.dataset, event.run_id)),
            rejected_uri=rejected_uri,
            columns=[Column(name=c, type="string") for c in result.columns],
            schema_fingerprint=result.fingerprint,
            encoding=d.encoding,
            encoding_confidence=d.confidence,
            encoding_source=d.encoding_source,
            warnings=result.warnings,
            source_types=result.source_types,
            delimiter=d.delimiter,
            has_header=d.has_header,
            format=result.format,
            blank_lines=result.blank,
            timing=timing,
            counts={"parsed": result.parsed, "rejected": result.rejected, "bronze": result.bronze},
        ),
    ]
