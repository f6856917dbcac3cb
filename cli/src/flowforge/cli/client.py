"""A small client of the gateway: upload with a progress bar, follow a run, print its summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from flowforge.cli.errors import TimedOut
from flowforge.cli.follow import describe_run, follow

COUNTS = ("parsed", "rejected", "bronze", "duplicates", "silver", "quarantined", "valid")
console = Console(stderr=False)


class _ProgressFile:
    """A file whose reads advance a progress bar (httpx streams multipart bodies by reading)."""

    def __init__(self, path: Path, progress: Progress, task: Any):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._progress, self._task = progress, task
        self.name = path.name

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._progress.update(self._task, advance=len(data))
        return data

    def seek(self, *args: int) -> int:
        return self._file.seek(*args)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


def upload(
    client: httpx.Client,
    path: Path,
    dataset: str | None,
    key: str | None,
    *,
    out: Console | None = None,
) -> dict:
    """Post the file with a progress bar (on `out`, stdout by default); the 202 answer."""
    data = {k: v for k, v in {"dataset": dataset, "key": key}.items() if v}
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=out or console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"uploading {path.name}", total=path.stat().st_size)
        body = _ProgressFile(path, progress, task)
        try:
            response = client.post("/api/v1/files", files={"file": (path.name, body)}, data=data)
        finally:
            body.close()
    if response.status_code not in (200, 201, 202):  # 200: the same file, answered earlier
        raise SystemExit(f"upload refused ({response.status_code}): {_error(response)}")
    return response.json()


def _error(response: httpx.Response) -> str:
    try:
        return response.json().get("error", response.text)
    except ValueError:
        return response.text


def wait_for_run(
    client: httpx.Client, run_id: str, timeout: float, cancelled: Callable[[], bool] | None = None
) -> dict | None:
    """Poll the run until it ends (its last state), or None once `cancelled()` says so."""
    try:
        return follow(
            lambda: client.get(f"/api/v1/runs/{run_id}").json(),
            describe_run,
            timeout=timeout,
            what=f"run {run_id}",
            console=console,
            cancelled=cancelled,
        )
    except TimedOut as exc:
        raise SystemExit(str(exc)) from exc


def print_run(run: dict) -> None:
    table = Table(title=f"run {run['run_id']} · dataset {run['dataset']} · {run['status']}")
    for column in ("stage", "status", "seconds", "error"):
        table.add_column(column)
    for stage in run["stages"]:
        seconds = ""
        if stage.get("started_at") and stage.get("finished_at"):
            from datetime import datetime

            started = datetime.fromisoformat(stage["started_at"])
            finished = datetime.fromisoformat(stage["finished_at"])
            seconds = f"{(finished - started).total_seconds():.2f}"
        error = escape(stage.get("error") or "")  # an error's text is not markup
        table.add_row(stage["name"], stage["status"], seconds, error)
    console.print(table)
    counts = run.get("counts", {})
    console.print("rows: " + "  ".join(f"{k}={counts.get(k)}" for k in COUNTS))
