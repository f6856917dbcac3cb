"""Start-up errors are printed plainly: a configured database that does not exist is named on
the console and stops `up` (exit code 1) instead of services restarting in silence."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from flowforge.cli.embedded import free_port
from flowforge.cli.supervisor import Supervisor, child_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def missing_database(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(URL, name) of a database that does not exist on a running PostgreSQL: the machine's
    own on 5432 when it lets us in, else a test platform's embedded one."""
    name = f"no_such_db_{uuid.uuid4().hex[:8]}"

    async def reachable(url: str) -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=3)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    server = "postgresql://postgres@127.0.0.1:5432"
    if not asyncio.run(reachable(f"{server}/postgres")):
        server = request.getfixturevalue("platform").endpoints["database_url"].rsplit("/", 1)[0]
    return f"{server}/{name}", name


def test_up_with_a_database_that_does_not_exist_names_it_and_exits_1(tmp_path, missing_database):
    url, name = missing_database
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "S3_ENDPOINT_URL")}
    env.update(
        DATABASE_URL=url,
        FLOWFORGE_HOME=str(tmp_path / "home"),
        FLOWFORGE_PORT=str(free_port()),
        COLUMNS="200",
    )
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "flowforge.cli.main", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f'database "{name}" does not exist' in out, out
    assert time.monotonic() - began < 30, out
    assert "FlowForge is up" not in out


def test_a_service_that_cannot_start_is_reported_with_the_reason_from_its_log(
    tmp_path: Path, missing_database
):
    """The same error met by a service (no check before it, e.g. a database dropped since):
    the console shows the reason from the service's log, not only its exit code."""
    url, name = missing_database
    env = child_env(dict(os.environ), DATABASE_URL=url, NATS_URL="nats://127.0.0.1:1",
                    FLOWFORGE_HOME=str(tmp_path))  # fmt: skip
    said: list[str] = []
    supervisor = Supervisor(env, tmp_path, said.append, services=("quality",))
    supervisor.start()
    try:
        deadline = time.monotonic() + 120
        while not any("exited" in line for line in said):
            assert time.monotonic() < deadline, said
            supervisor.poll()
            time.sleep(0.5)
    finally:
        supervisor.stop()
    expected = (
        f'quality exited (code 1): PostgreSQL refused the connection: database "{name}" does not'
    )
    assert expected in said[-1], said
