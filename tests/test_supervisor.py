"""The supervisor behind `flowforge up`, with stand-in processes: replicas and their files,
restarts that say why, giving up on a service that cannot start, watched servers, scratch
cleaned before a restart, stable ports, and the home a newcomer finds."""

from __future__ import annotations

import json
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest

from flowforge.cli.logtail import last_error
from flowforge.cli.ports import PortTaken, free_port, reserve, stable_port
from flowforge.cli.supervisor import Supervisor
from flowforge.cli.up import prepare_home, write_endpoints

# A stand-in service: reports its environment, leaves a scratch file, then behaves as told.
SERVICE = textwrap.dedent("""
    import json, os, pathlib, sys, time
    scratch = pathlib.Path(os.environ["FLOWFORGE_SCRATCH_DIR"])
    (scratch / "half-written.tmp").write_text("x")
    report = {"replica": os.environ["FLOWFORGE_REPLICA"], "scratch": str(scratch)}
    print(json.dumps(report), flush=True)
    mode = sys.argv[1]
    if mode == "fail":
        raise RuntimeError('cannot connect to PostgreSQL: database "nope" does not exist')
    time.sleep(0.5 if mode == "flaky" else 600)
""")


def supervisor(home: Path, mode: str, said: list[str], **kw) -> Supervisor:
    """Stand-ins for every service; `ai` always just runs."""
    return Supervisor(
        {"PATH": "/usr/bin:/bin"},
        home,
        said.append,
        command=lambda service: [sys.executable, "-c", SERVICE, "run" if service == "ai" else mode],
        **kw,
    )


def poll_until(sup: Supervisor, done, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "condition not reached in time"
        sup.poll()
        time.sleep(0.1)


def reports(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_each_worker_runs_as_n_replicas_with_their_own_logs_pids_and_scratch(tmp_path):
    said: list[str] = []
    sup = supervisor(tmp_path, "run", said, replicas=2, services=("ingest", "gateway"))
    sup.start()
    try:
        assert [c.name for c in sup.children] == ["ingest", "ingest-1", "gateway"]
        poll_until(sup, lambda: all(c.log_path.stat().st_size for c in sup.children))
        assert reports(tmp_path / "logs" / "ingest.log")[0]["replica"] == "0"
        assert reports(tmp_path / "logs" / "ingest-1.log")[0] == {
            "replica": "1",
            "scratch": str(tmp_path / "scratch" / "ingest-1"),
        }
        pids = sup.pids()
        assert len(pids["ingest"]) == 2 and len(pids["gateway"]) == 1
        assert int((tmp_path / "run" / "ingest-1.pid").read_text()) == pids["ingest"][1]
    finally:
        sup.stop()
    assert not list((tmp_path / "run").glob("*.pid"))


def test_a_service_that_exits_is_restarted_with_the_reason_from_its_log(tmp_path):
    said: list[str] = []
    sup = supervisor(tmp_path, "fail", said, services=("quality",))
    sup.settle()  # the platform was healthy once: restart forever
    sup.start()
    try:
        poll_until(sup, lambda: sup.children[0].restarts >= 3)
        assert sup.failed is None
    finally:
        sup.stop()
    exits = [line for line in said if "exited" in line]
    assert exits[0].startswith(
        '  ! quality exited (code 1): cannot connect to PostgreSQL: database "nope" does not '
        "exist; restarting in 1s (restart #1"
    ), said
    assert "restarting in 2s (restart #2" in exits[1]


def test_a_service_that_cannot_start_makes_the_supervisor_give_up_with_the_reason(tmp_path):
    said: list[str] = []
    sup = supervisor(tmp_path, "fail", said, services=("quality",))
    sup.start()
    try:
        poll_until(sup, lambda: sup.failed is not None)
    finally:
        sup.stop()
    assert (
        sup.failed
        == 'quality cannot start: cannot connect to PostgreSQL: database "nope" does not exist'
    )
    assert said[-1].startswith("  ✗ quality exited (code 1)")
    assert "giving up after 3 tries" in said[-1]


def test_a_dead_process_leftover_scratch_files_are_removed_before_it_restarts(tmp_path):
    said: list[str] = []
    sup = supervisor(tmp_path, "flaky", said, services=("ingest", "ai"))
    sibling = tmp_path / "scratch" / "ai-0" / "half-written.tmp"
    sup.start()
    try:
        poll_until(sup, lambda: sup.children[0].restarts >= 1 and sup.children[0].process)
        poll_until(sup, lambda: (tmp_path / "scratch" / "ingest-0" / "half-written.tmp").exists())
    finally:
        sup.stop()
    assert any("removed 1 leftover scratch file(s) of ingest" in line for line in said), said
    assert sibling.exists()  # another process's files are not touched by ingest's restart


class DyingServer:
    """Dies once (as after kill -9), then runs again when restarted."""

    def __init__(self) -> None:
        self.process = None
        self.status: str | None = "signal 9"
        self.restarted = 0

    def exit_status(self) -> str | None:
        return self.status

    def restart(self) -> None:
        self.restarted += 1
        self.status = None


def test_a_watched_server_that_dies_is_restarted_and_the_console_says_so(tmp_path):
    said: list[str] = []
    sup = supervisor(tmp_path, "run", said, services=())
    server = DyingServer()
    sup.watch("nats", server)
    sup.poll()
    assert server.restarted == 1
    assert said == [
        "  ! nats exited (signal 9); restarting (restart #1)",
        "  nats is running again (restart #1)",
    ]
    server.status = "signal 9"
    sup.poll()
    assert "restarting in 1s (restart #2)" in said[-1]  # a second death soon after: backoff
    assert server.restarted == 1


def test_the_reason_is_the_exception_of_a_plain_traceback(tmp_path):
    log = tmp_path / "quality.log"
    log.write_text(
        "starting\nTraceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n    boom()\n'
        'asyncpg.exceptions.InvalidCatalogNameError: database "x" does not exist\n\n'
        "The above exception was the direct cause of the following exception:\n\n"
        'Traceback (most recent call last):\n  File "y.py", line 2, in <module>\n'
        "flowforge.common.errors.TransientError: cannot connect to PostgreSQL: "
        'database "x" does not exist\n'
    )
    assert last_error(log) == 'cannot connect to PostgreSQL: database "x" does not exist'


def test_the_reason_is_the_last_error_record_of_a_json_log_not_a_generic_closing_line(tmp_path):
    log = tmp_path / "gateway.log"
    records = [
        {"level": "info", "msg": "Waiting for application startup."},
        {"level": "error", "msg": "Traceback (most recent call last):\n  File ...\n"
         "flowforge.common.errors.TransientError: cannot connect: role \"bob\" does not exist\n"},
        {"level": "error", "msg": "Application startup failed. Exiting."},
    ]  # fmt: skip
    log.write_text("old crash\n" + "\n".join(json.dumps(r) for r in records) + "\n")
    assert last_error(log) == 'cannot connect: role "bob" does not exist'
    assert last_error(log, offset=log.stat().st_size) is None  # nothing since this start


def test_the_landing_folder_exists_on_a_fresh_home_so_the_readme_copy_works(tmp_path):
    home = tmp_path / ".flowforge"
    prepare_home(home, local_lake=True)
    assert (home / "landing").is_dir() and (home / "logs").is_dir()
    (home / "landing" / "sales").mkdir()  # `cp orders.csv .flowforge/landing/sales/`
    prepare_home(tmp_path / "s3home", local_lake=False)
    assert not (tmp_path / "s3home" / "landing").exists()  # landing is the bucket's prefix


def test_an_embedded_server_keeps_its_port_across_restarts_of_the_same_home(tmp_path):
    said: list[str] = []
    default = free_port()
    assert stable_port(tmp_path, "nats", None, default, said.append) == default
    with socket.socket() as holder:  # the default is taken now (another platform)
        holder.bind(("127.0.0.1", default))
        holder.listen()
        assert stable_port(tmp_path, "nats", None, default, said.append) != default
        assert "port" in said[-1] and "is taken" in said[-1]
        moved = stable_port(tmp_path, "nats", None, default, said.append)
        with pytest.raises(PortTaken):
            stable_port(tmp_path, "nats", str(default), 1, said.append)
    assert stable_port(tmp_path, "nats", None, default, said.append) == moved  # remembered
    assert (tmp_path / "run" / "nats.port").read_text().strip() == str(moved)


def test_an_embedded_server_never_takes_the_port_promised_to_the_gateway(tmp_path, monkeypatch):
    """`up` reserves the gateway's port before starting NATS and PostgreSQL: nothing listens
    there yet, so the kernel could hand it out as free (a PostgreSQL once took it)."""
    from flowforge.cli import ports

    gateway = free_port()
    monkeypatch.setattr(ports, "_RESERVED", set())
    handed = iter([gateway, gateway, gateway + 1])

    class Socket:  # the kernel's choices: the gateway's port twice, then another
        def __init__(self, *a):
            self.port = next(handed)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def bind(self, address):
            pass

        def getsockname(self):
            return ("127.0.0.1", self.port)

    reserve(gateway)
    monkeypatch.setattr(ports.socket, "socket", Socket)
    assert ports.free_port() == gateway + 1
    monkeypatch.undo()
    monkeypatch.setattr(ports, "_RESERVED", {gateway})
    assert stable_port(tmp_path, "pg", None, gateway, lambda _: None) != gateway
    with pytest.raises(PortTaken):
        stable_port(tmp_path / "other", "pg", str(gateway), 1, lambda _: None)


def test_endpoints_are_written_for_this_user_only_with_lake_logs_and_pids(tmp_path):
    (tmp_path / "run").mkdir()
    env = {"NATS_URL": "nats://127.0.0.1:4222", "DATABASE_URL": "postgresql://u:p@h/db"}
    write_endpoints(tmp_path, "http://127.0.0.1:8000", env, {"ingest": [10, 11]})
    path = tmp_path / "run" / "endpoints.json"
    assert path.stat().st_mode & 0o777 == 0o600
    endpoints = json.loads(path.read_text())
    assert endpoints["lake"] == {"folder": str(tmp_path)}
    assert endpoints["logs"] == str(tmp_path / "logs")
    assert endpoints["pids"] == {"ingest": [10, 11]}
    assert endpoints["nats_url"] == "nats://127.0.0.1:4222"
