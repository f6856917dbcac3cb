"""`flowforge up`: the whole platform on one machine, in the foreground, until Ctrl-C/SIGTERM."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
from rich.markup import escape

from flowforge.cli.client import console, print_run, upload, wait_for_run
from flowforge.cli.infra import ConfigError, check_database, embedded_nats, embedded_postgres
from flowforge.cli.natscreds import configured_service_env, load_credentials
from flowforge.cli.ports import port_free, reserve
from flowforge.cli.supervisor import StopFlag, Supervisor, child_env, install_signal_handlers
from flowforge.common.settings import redact_url

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_MODEL = (
    "revenue_by_state",
    "SELECT state, count(*) AS orders, sum(amount) AS revenue, "
    "count(*) FILTER (WHERE is_gift) AS gifts FROM orders GROUP BY state ORDER BY revenue DESC",
)


def say(text: str) -> None:
    """A console line with text from elsewhere (log messages, paths): never read as markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def wait_healthy(url: str, timeout: float, stopping: StopFlag, supervisor: Supervisor) -> bool:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline and not stopping.is_set():
        if supervisor.failed:
            return False
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


def admin_headers(home: Path) -> dict[str, str]:
    """The local admin key (made by the gateway at its first start) as request headers."""
    key_file = home / "admin.key"
    return {"authorization": f"Bearer {key_file.read_text().strip()}"} if key_file.exists() else {}


def run_demo(url: str, home: Path, stopping: StopFlag) -> None:
    with httpx.Client(base_url=url, timeout=60, headers=admin_headers(home)) as client:
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
        _demo_workflow(client, name, stopping)


def _demo_workflow(client: httpx.Client, model: str, stopping: StopFlag) -> None:
    """A scheduled workflow rebuilding the demo's model every minute: the first tick is
    shown as it fires (the scheduler keeps ticking after the demo)."""
    flow = "demo_refresh"
    doc = {"description": "the demo: rebuild the Gold model every minute",
           "schedule": {"every": "1m"}, "catchup": "none",
           "steps": [{"name": "rebuild", "build": [model], "timeout": "5m"}]}  # fmt: skip
    saved = client.put(f"/api/v1/workflows/{flow}", json=doc)
    if saved.status_code >= 300:
        console.print(f"[yellow]demo workflow not saved: {saved.text}[/yellow]")
        return
    console.print(f"\n[bold]A scheduled workflow[/bold]: {flow} rebuilds {model} every minute; "
                  f"next tick {saved.json()['next_tick']} (UTC)")  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not stopping.is_set():
        runs = client.get(f"/api/v1/workflows/{flow}/runs").json().get("runs", [])
        done = [r for r in runs if r["status"] in ("succeeded", "failed")]
        if done:
            run = done[-1]
            console.print(f"    tick {run['logical_end']}: run {run['id'][:8]} {run['status']} "
                          f"in {run['seconds']:.1f} s; `flowforge workflows runs {flow}` "
                          "shows the next ones")  # fmt: skip
            return
        time.sleep(1)


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


def prepare_home(home: Path, *, local_lake: bool) -> None:
    """The folders a person or a service expects to exist: the drop zone is where the README
    tells a newcomer to copy a file, before any service has run."""
    for folder in ("logs", "run", "scratch"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    if local_lake:
        (home / "landing").mkdir(exist_ok=True)


def other_up(home: Path) -> int | None:
    """The pid of another `flowforge up` still running on this home, if any."""
    import json

    import psutil

    try:
        pid = int(json.loads((home / "run" / "endpoints.json").read_text())["pid"])
        process = psutil.Process(pid)
        running = pid != os.getpid() and "flowforge" in " ".join(process.cmdline())
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None
    return pid if running else None


def write_endpoints(
    home: Path, url: str, env: dict[str, str], pids: dict, nats_url: str | None = None
) -> None:
    """Where this instance's servers are (`run/endpoints.json`, readable by this user only:
    a database URL may carry its password, the embedded NATS's URL carries the operator's), for
    tools and tests; rewritten when a process is restarted."""
    import json

    lake = (
        {"endpoint": env["S3_ENDPOINT_URL"], "bucket": env.get("S3_BUCKET_NAME", "flowforge")}
        if env.get("S3_ENDPOINT_URL")
        else {"folder": str(home)}
    )
    endpoints = {
        "gateway_url": url,
        "nats_url": nats_url or env.get("NATS_URL", ""),
        "database_url": env.get("DATABASE_URL", ""),
        "lake": lake,
        "logs": str(home / "logs"),
        "pid": os.getpid(),
        "pids": pids,
    }
    path = home / "run" / "endpoints.json"
    fresh = path.with_name(f".endpoints.{os.getpid()}.tmp")
    fresh.unlink(missing_ok=True)
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(endpoints, indent=2))
    fresh.replace(path)  # readers never see half a file


def replica_count(given: int | None) -> int:
    count = given if given is not None else int(os.environ.get("FLOWFORGE_REPLICAS", "1"))
    if count < 1:
        raise ValueError(f"replicas must be at least 1, not {count}")
    return count


def up(*, demo: bool, port: int | None, replicas: int | None = None) -> int:
    home = Path(os.environ.get("FLOWFORGE_HOME", ".flowforge")).expanduser().resolve()
    port = port or int(os.environ.get("FLOWFORGE_PORT", "8000"))
    if not port_free(port):
        console.print(f"[red]port {port} is in use; stop what uses it or set FLOWFORGE_PORT[/red]")
        return 2
    reserve(port)  # the gateway binds it last: no embedded server may take it meanwhile
    if (pid := other_up(home)) is not None:
        console.print(f"[red]another `flowforge up` (pid {pid}) runs on {home}[/red]")
        return 2
    try:
        replicas = replica_count(replicas)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    prepare_home(home, local_lake=not os.environ.get("S3_ENDPOINT_URL"))
    build_ui()
    stopping = StopFlag()
    nats = pg = supervisor = None
    service_env: dict[str, dict[str, str]] = {}
    operator_url: str | None = None
    install_signal_handlers(stopping.set)
    try:
        overrides = {"FLOWFORGE_HOME": str(home), "FLOWFORGE_PORT": str(port)}
        if configured := os.environ.get("DATABASE_URL"):
            if warning := check_database(configured):
                say(f"postgresql  {redact_url(configured)}: {warning}")
        if not os.environ.get("NATS_URL"):
            creds = load_credentials(home)
            nats = embedded_nats(home, say, lambda: load_credentials(home).users())
            overrides["NATS_URL"] = nats.url
            service_env = creds.service_env()
            operator_url = creds.operator_url(nats.url)
            say(f"nats        embedded, {nats.url} (JetStream in {home / 'nats'}; a user per "
                f"service, passwords in {creds.path})")  # fmt: skip
        else:
            service_env = configured_service_env(dict(os.environ))
        if not configured:
            pg = embedded_postgres(home, say)
            overrides["DATABASE_URL"] = pg.url
            say(f"postgresql  embedded, 127.0.0.1:{pg.port} (data in {pg.data}, "
                f"password in {home / 'postgres.password'})")  # fmt: skip
        store = os.environ.get("S3_ENDPOINT_URL") or f"local folder {home}"
        say(f"lake        {store}")
        if replicas > 1:
            say(f"replicas    {replicas} of each worker")
        env = child_env(dict(os.environ), **overrides)
        url = f"http://127.0.0.1:{port}"
        supervisor = Supervisor(env, home, say, replicas=replicas, service_env=service_env)
        supervisor.on_change = lambda: write_endpoints(
            home, url, env, supervisor.pids(), operator_url
        )
        for name, server in (("nats", nats), ("postgresql", pg)):
            if server is not None:
                supervisor.watch(name, server)
        supervisor.start()
        return _serve(url, home, demo, stopping, supervisor)
    except ConfigError as exc:
        problem = escape(f"DATABASE_URL {redact_url(configured)}: {exc}")
        console.print(f"[red]{problem}[/red]")
        say("Fix DATABASE_URL (or create the database), then start again.")
        return 1
    finally:
        # Each step is bounded (services 15 s, PostgreSQL 50 s, NATS 10 s) and says how long it
        # took, so a slow stop shows where the time went.
        for name, part in (("services", supervisor), ("postgresql", pg), ("nats", nats)):
            if part is not None:
                began = time.monotonic()
                part.stop()
                console.print(f"  stopped {name} in {time.monotonic() - began:.1f}s")


def build_ui() -> None:
    """Build the web UI when its sources changed; without it the API still serves."""
    if os.environ.get("FLOWFORGE_UI_DIR"):
        return  # a bundle built elsewhere (a container image)
    from flowforge.cli import webui

    began = time.monotonic()
    try:
        dist = webui.ensure_built(say)
    except webui.UiBuildError as exc:
        console.print(
            f"[yellow]ui: not built, the API works without it: {escape(str(exc))}[/yellow]"
        )
        return
    if (took := time.monotonic() - began) > 1:
        say(f"ui          built in {took:.0f} s ({dist})")


def _announce_admin(home: Path, first_start: bool) -> None:
    """Print the first admin's password once: on the start that created it."""
    password = home / "admin.password"
    if first_start and password.exists():
        console.print(
            f"first admin: user [bold]admin[/bold], password [bold]{password.read_text().strip()}"
            f"[/bold] (kept in {password}, readable by you only; sign in with "
            f"POST /api/v1/auth/login). The local CLI uses the admin key in {home / 'admin.key'}."
        )


def _serve(url: str, home: Path, demo: bool, stopping: StopFlag, supervisor: Supervisor) -> int:
    """Watch the platform until asked to stop; 1 when it could not start."""
    first_start = not (home / "admin.password").exists()
    watcher = threading.Thread(target=supervisor.run_until_stopped, daemon=True)
    watcher.start()
    if not wait_healthy(url, 180, stopping, supervisor):
        if supervisor.failed:
            console.print(f"[red]FlowForge could not start: {escape(supervisor.failed)}[/red]")
            return 1
        return 0 if stopping.is_set() else 1  # asked to stop while starting: not a failure
    supervisor.settle()
    console.print(
        f"[green]FlowForge is up[/green]: {url} (web UI; API docs {url}/docs); "
        f"logs in {home / 'logs'}; Ctrl-C stops everything"
    )
    _announce_admin(home, first_start)
    if demo:
        try:
            run_demo(url, home, stopping)
        except (httpx.HTTPError, SystemExit) as exc:
            console.print(f"[red]demo failed: {exc}[/red]")
    stopping.wait()
    console.print("stopping...")
    return 0
