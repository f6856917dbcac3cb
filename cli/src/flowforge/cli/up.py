"""`flowforge up`: the whole platform on one machine, in the foreground, until Ctrl-C/SIGTERM."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx

from flowforge.cli.client import console, print_run, upload, wait_for_run
from flowforge.cli.embedded import start_nats, start_postgres
from flowforge.cli.supervisor import StopFlag, Supervisor, child_env, install_signal_handlers

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_MODEL = (
    "revenue_by_state",
    "SELECT state, count(*) AS orders, sum(amount) AS revenue, "
    "count(*) FILTER (WHERE is_gift) AS gifts FROM orders GROUP BY state ORDER BY revenue DESC",
)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_healthy(url: str, timeout: float, stopping: StopFlag) -> bool:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline and not stopping.is_set():
        try:
            response = httpx.get(f"{url}/healthz", timeout=5)
            if response.status_code == 200:
                return True
            last = str(response.json().get("services"))
        except (httpx.HTTPError, ValueError):
            last = "gateway not answering yet"
        time.sleep(0.5)
    if not stopping.is_set():
        console.print(f"[red]not healthy after {timeout:.0f}s: {last}[/red]")
    return False


def run_demo(url: str, stopping: StopFlag) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        name, sql = DEMO_MODEL
        client.post("/api/v1/models", json={"name": name, "sql": sql}).raise_for_status()
        accepted = upload(client, DEMO_DIR / "orders.csv", "orders", "order_id")
        run = wait_for_run(client, accepted["run_id"], 300, stopping.is_set)
        if run is None:
            return
        print_run(run)
        console.print("\n[bold]What landed in each layer[/bold]")
        for layer in ("bronze", "silver"):
            sample = client.get(
                "/api/v1/datasets/orders/sample", params={"layer": layer, "limit": 3}
            ).json()
            schema = client.get("/api/v1/datasets/orders/schema", params={"layer": layer}).json()
            types = ", ".join(f"{c['name']}:{c['type']}" for c in schema.get("columns", []))
            console.print(f"[cyan]{layer}[/cyan] orders ({types})")
            for row in sample.get("rows", []):
                console.print(f"    {row}")
        gold = client.get(f"/api/v1/models/{name}/sample", params={"limit": 10}).json()
        console.print(f"[cyan]gold[/cyan] {name}")
        for row in gold.get("rows", []):
            console.print(f"    {row}")
        _print_analysis(client, "orders", stopping)
        rejected = client.get(f"/api/v1/runs/{accepted['run_id']}/rejected").json()
        for row in rejected.get("rows", []):
            console.print(
                f"[yellow]rejected[/yellow] line {row['line']}: {row['reason']}: {row['raw']!r}"
            )
        console.print(f"\nExplore: {url}/docs · {url}/api/v1/datasets/orders/lineage")


def _print_analysis(client: httpx.Client, dataset: str, stopping: StopFlag) -> None:
    """What schema detection found (offline; it lands within seconds of Bronze)."""
    deadline = time.monotonic() + 20
    found: dict = {}
    while time.monotonic() < deadline and not stopping.is_set():
        found = client.get(f"/api/v1/datasets/{dataset}/suggestions").json()
        if found.get("columns"):
            break
        time.sleep(0.5)
    columns = [c for c in found.get("columns", []) if "offline" in c]
    if not columns:
        return
    console.print("\n[bold]What schema detection found[/bold] (offline, no API key needed)")
    for column in columns:
        guess = column["offline"]
        pii = f" [yellow]PII ({guess.get('pii_kind')})[/yellow]" if guess.get("pii") else ""
        console.print(
            f"    {column['name']}: {guess['semantic_type']} ({guess['confidence']:.2f}){pii}"
        )
    open_ones = [s for s in found.get("suggestions", []) if s.get("status") == "open"]
    console.print(
        f"    {len(open_ones)} suggestion(s) to review: GET /api/v1/datasets/{dataset}/suggestions"
    )


def _write_endpoints(home: Path, url: str, overrides: dict[str, str]) -> None:
    """Where this instance's servers are (`run/endpoints.json`, readable by this user only:
    the embedded database URL carries its password), for tools and tests."""
    import json

    endpoints = {
        "gateway_url": url,
        "nats_url": overrides.get("NATS_URL", os.environ.get("NATS_URL", "")),
        "database_url": overrides.get("DATABASE_URL"),
        "pid": os.getpid(),
    }
    path = home / "run" / "endpoints.json"
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(endpoints, indent=2))


def up(*, demo: bool, port: int | None) -> int:
    home = Path(os.environ.get("FLOWFORGE_HOME", ".flowforge")).expanduser().resolve()
    port = port or int(os.environ.get("FLOWFORGE_PORT", "8000"))
    if not _port_free(port):
        console.print(f"[red]port {port} is in use; stop what uses it or set FLOWFORGE_PORT[/red]")
        return 2
    (home / "logs").mkdir(parents=True, exist_ok=True)
    stopping = StopFlag()
    nats = pg = supervisor = None
    install_signal_handlers(stopping.set)
    try:
        overrides = {"FLOWFORGE_HOME": str(home), "FLOWFORGE_PORT": str(port)}
        if not os.environ.get("NATS_URL"):
            nats = start_nats(home)
            overrides["NATS_URL"] = nats.url
            console.print(f"nats        embedded, {nats.url} (JetStream in {home / 'nats'})")
        if not os.environ.get("DATABASE_URL"):
            pg = start_postgres(home)
            overrides["DATABASE_URL"] = pg.url
            console.print(
                f"postgresql  embedded, 127.0.0.1:{pg.port} (data in {pg.data}, "
                f"password in {home / 'postgres.password'})"
            )
        store = os.environ.get("S3_ENDPOINT_URL") or f"local folder {home}"
        console.print(f"lake        {store}")
        supervisor = Supervisor(child_env(dict(os.environ), **overrides), home, say=console.print)
        supervisor.start()
        url = f"http://127.0.0.1:{port}"
        _write_endpoints(home, url, overrides)
        watcher = threading.Thread(target=supervisor.run_until_stopped, daemon=True)
        watcher.start()
        if not wait_healthy(url, 180, stopping):
            return 0 if stopping.is_set() else 1  # asked to stop while starting: not a failure
        console.print(
            f"[green]FlowForge is up[/green]: {url} (API docs {url}/docs); "
            f"logs in {home / 'logs'}; Ctrl-C stops everything"
        )
        if demo:
            try:
                run_demo(url, stopping)
            except (httpx.HTTPError, SystemExit) as exc:
                console.print(f"[red]demo failed: {exc}[/red]")
        stopping.wait()
        console.print("stopping...")
        return 0
    finally:
        # Each step is bounded (services 15 s, PostgreSQL 50 s, NATS 10 s) and says how long it
        # took, so a slow stop shows where the time went.
        for name, part in (("services", supervisor), ("postgresql", pg), ("nats", nats)):
            if part is not None:
                began = time.monotonic()
                part.stop()
                console.print(f"  stopped {name} in {time.monotonic() - began:.1f}s")
