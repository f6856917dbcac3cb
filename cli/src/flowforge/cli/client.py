"""A small client of the gateway: upload with a progress bar, follow a run, print its summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

TERMINAL = {"succeeded", "failed"}
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


def upload(client: httpx.Client, path: Path, dataset: str | None, key: str | None) -> dict:
    data = {k: v for k, v in {"dataset": dataset, "key": key}.items() if v}
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"uploading {path.name}", total=path.stat().st_size)
        body = _ProgressFile(path, progress, task)
        try:
            response = client.post("/api/v1/files", files={"file": (path.name, body)}, data=data)
        finally:
            body.close()
    if response.status_code != 202:
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
    deadline = time.monotonic() + timeout
    with console.status("processing...") as status:
        while True:
            run = client.get(f"/api/v1/runs/{run_id}").json()
            done = [s["name"] for s in run.get("stages", []) if s["status"] == "succeeded"]
            figure = run.get("progress") or {}
            live = ""
            if figure.get("total"):
                live = f"; {figure['stage']} {100 * figure['done'] / figure['total']:.0f}%"
            status.update(
                f"run {run_id[:8]}: {run.get('status')} "
                f"(done: {', '.join(done) or 'nothing yet'}{live})"
            )
            if run.get("status") in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise SystemExit(f"run {run_id} did not finish within {timeout:.0f}s")
            if cancelled is not None and cancelled():
                return None
            time.sleep(0.5)


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
        table.add_row(stage["name"], stage["status"], seconds, stage.get("error") or "")
    console.print(table)
    counts = run.get("counts", {})
    console.print("rows: " + "  ".join(f"{k}={counts.get(k)}" for k in COUNTS))


def ingest(
    path: Path, *, url: str, dataset: str | None, key: str | None, wait: bool, timeout: float
) -> int:
    if not path.is_file():
        console.print(f"[red]no such file: {path}[/red]")
        return 2
    with httpx.Client(base_url=url, timeout=httpx.Timeout(600, connect=10)) as client:
        try:
            accepted = upload(client, path, dataset, key)
        except httpx.ConnectError:
            console.print(
                f"[red]cannot reach the gateway at {url}; is `./flowforge up` running?[/red]"
            )
            return 2
        console.print(f"accepted: run {accepted['run_id']} → dataset {accepted['dataset']}")
        if not wait:
            return 0
        run = wait_for_run(client, accepted["run_id"], timeout)
    print_run(run)
    return 0 if run["status"] == "succeeded" else 1
