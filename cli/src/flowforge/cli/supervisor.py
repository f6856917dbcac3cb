"""Runs every FlowForge service as its own process (N replicas of each worker), restarts one
that dies (with backoff, saying why from its log), watches the embedded servers and starts
them again when they die, and stops everything on Ctrl-C or SIGTERM: no orphan processes.

While the platform has never been healthy, a service that keeps failing at start-up is a
configuration error that restarting cannot fix: after `GIVE_UP_AFTER` quick exits in a row
the supervisor gives up (`failed` says why) and `up` stops with exit code 1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from flowforge.cli.logtail import last_error
from flowforge.cli.ports import describe_exit
from flowforge.common.topology import SERVICES, WORKERS

# Workers share durable JetStream consumers, so replicas split the work; the gateway holds
# the HTTP port and stays one process.
SCALED = frozenset(WORKERS)
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0
GIVE_UP_AFTER = 3


def service_command(service: str) -> list[str]:
    return [sys.executable, "-m", f"flowforge.{service}.app"]


class Server(Protocol):
    """An embedded server the supervisor watches (`Nats`, `Postgres`)."""

    process: subprocess.Popen | None

    def exit_status(self) -> str | None: ...
    def restart(self) -> None: ...


@dataclass
class Child:
    service: str
    replica: int
    home: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0  # exits in a row, each soon after its start
    backoff: float = 1.0
    next_start: float = 0.0
    log_offset: int = 0
    log_file: object = field(default=None, repr=False)

    @property
    def name(self) -> str:
        # Replica 0 keeps the plain names that tools and tests read (`logs/ingest.log`).
        return self.service if self.replica == 0 else f"{self.service}-{self.replica}"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.home / "run" / f"{self.name}.pid"

    @property
    def scratch(self) -> Path:
        return self.home / "scratch" / f"{self.service}-{self.replica}"


@dataclass
class Watched:
    name: str
    server: Server
    restarts: int = 0
    backoff: float = 0.0  # the first restart is at once: every service needs the server
    down: bool = False
    next_try: float = 0.0
    up_since: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(
        self,
        env: dict[str, str],
        home: Path,
        say: Callable[[str], None] = print,
        *,
        replicas: int = 1,
        services: tuple[str, ...] = SERVICES,
        command: Callable[[str], list[str]] = service_command,
        on_change: Callable[[], None] = lambda: None,
        service_env: dict[str, dict[str, str]] | None = None,
    ):
        self.env = env
        self.service_env = service_env or {}  # per service (its NATS user and password)
        self.home = home
        self.say = say
        self.command = command
        self.on_change = on_change
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.failed: str | None = None
        self.settled = False
        (home / "logs").mkdir(parents=True, exist_ok=True)
        (home / "run").mkdir(parents=True, exist_ok=True)
        self.children = [
            Child(service, replica, home)
            for service in services
            for replica in range(replicas if service in SCALED else 1)
        ]
        self.servers: list[Watched] = []

    def watch(self, name: str, server: Server) -> None:
        self.servers.append(Watched(name, server))

    def settle(self) -> None:
        """The platform has been healthy: from now on a failing service is restarted forever."""
        self.settled = True

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def pids(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for child in self.children:
            if child.process is not None:
                found.setdefault(child.service, []).append(child.process.pid)
        for watched in self.servers:
            if watched.server.process is not None and not watched.down:
                found[watched.name] = [watched.server.process.pid]
        return found

    def _spawn(self, child: Child) -> None:
        if self.stopping.is_set():
            return
        self._clean_scratch(child)
        if child.log_file is None:
            child.log_file = open(child.log_path, "ab")  # noqa: SIM115 - closed in stop()
        child.log_offset = child.log_path.stat().st_size
        env = {
            **self.env,
            **self.service_env.get(child.service, {}),
            "FLOWFORGE_REPLICA": str(child.replica),
            "FLOWFORGE_SCRATCH_DIR": str(child.scratch),
        }
        child.process = subprocess.Popen(
            self.command(child.service),
            env=env,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        child.started_at = time.monotonic()
        # Written whole or not at all: a tool reading it during a restart never sees it
        # empty (write_text truncates first).
        staged = child.pid_path.with_name(child.pid_path.name + ".tmp")
        staged.write_text(str(child.process.pid))
        os.replace(staged, child.pid_path)
        self.on_change()

    def _clean_scratch(self, child: Child) -> None:
        """A process's scratch folder is its own: what a dead one left there is garbage."""
        if child.scratch.exists():
            left = sum(1 for p in child.scratch.rglob("*") if not p.is_dir())
            shutil.rmtree(child.scratch, ignore_errors=True)
            if left:
                self.say(f"  removed {left} leftover scratch file(s) of {child.name}")
        child.scratch.mkdir(parents=True, exist_ok=True)

    def poll(self) -> None:
        """Restart servers and children that exited; call it periodically."""
        with self.lock:
            if self.stopping.is_set():
                return
            now = time.monotonic()
            for watched in self.servers:
                self._poll_server(watched, now)
            for child in self.children:
                self._poll_child(child, time.monotonic())

    def _poll_child(self, child: Child, now: float) -> None:
        if child.process is None:
            if now >= child.next_start and self.failed is None:
                self._spawn(child)
            return
        code = child.process.poll()
        if code is None:
            if now - child.started_at > STABLE_AFTER:
                child.backoff, child.failures = 1.0, 0
            return
        child.failures = child.failures + 1 if now - child.started_at < STABLE_AFTER else 1
        child.restarts += 1
        child.process = None
        reason = last_error(child.log_path, child.log_offset)
        why = f"{child.name} exited ({describe_exit(code)})" + (f": {reason}" if reason else "")
        if not self.settled and child.failures >= GIVE_UP_AFTER:
            self.failed = f"{child.name} cannot start: {reason or describe_exit(code)}"
            self.say(f"  ✗ {why}; giving up after {child.failures} tries (log: {child.log_path})")
            return
        self.say(
            f"  ! {why}; restarting in {child.backoff:.0f}s "
            f"(restart #{child.restarts}, log: {child.log_path})"
        )
        child.next_start = now + child.backoff
        child.backoff = min(child.backoff * 2, MAX_BACKOFF)

    def _poll_server(self, watched: Watched, now: float) -> None:
        if not watched.down:
            status = watched.server.exit_status()
            if status is None:
                if now - watched.up_since > STABLE_AFTER:
                    watched.backoff = 0.0
                return
            watched.down, watched.restarts = True, watched.restarts + 1
            watched.next_try = now + watched.backoff
            delay = f" in {watched.backoff:.0f}s" if watched.backoff else ""
            self.say(f"  ! {watched.name} exited ({status}); restarting{delay} "
                     f"(restart #{watched.restarts})")  # fmt: skip
            watched.backoff = min(max(watched.backoff * 2, 1.0), MAX_BACKOFF)
        if now < watched.next_try:
            return
        try:
            watched.server.restart()
        except Exception as exc:  # noqa: BLE001 - said on the console, tried again later
            watched.next_try = time.monotonic() + watched.backoff
            self.say(f"  ! {watched.name} did not start: {exc}; trying again in "
                     f"{watched.backoff:.0f}s")  # fmt: skip
            watched.backoff = min(watched.backoff * 2, MAX_BACKOFF)
            return
        watched.down, watched.up_since = False, time.monotonic()
        self.say(f"  {watched.name} is running again (restart #{watched.restarts})")
        self.on_change()

    def run_until_stopped(self, interval: float = 0.5) -> None:
        while not self.stopping.wait(interval):
            self.poll()

    def stop(self, timeout: float = 15.0) -> None:
        self.stopping.set()
        with self.lock:  # no restart can be half-way through once we hold it
            live = [
                c.process
                for c in self.children
                if c.process is not None and c.process.poll() is None
            ]
        for process in live:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in live:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for child in self.children:
            child.pid_path.unlink(missing_ok=True)
            if child.log_file is not None:
                child.log_file.close()


class StopFlag:
    """Set from a signal handler, read from any thread, without a lock.

    A `threading.Event` is the wrong tool here: `Event.set()` takes the event's lock, and a
    signal that lands while the main thread holds that very lock (inside `Event.wait()`)
    deadlocks the process, which then never stops.
    """

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None, interval: float = 0.2) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._set:
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(interval)
        return self._set


def install_signal_handlers(on_stop) -> None:
    def handler(signum, frame):  # noqa: ARG001
        on_stop()  # must not take a lock: see StopFlag

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, handler)


def child_env(base: dict[str, str], **overrides: str) -> dict[str, str]:
    env = dict(base)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


__all__ = [
    "SCALED",
    "SERVICES",
    "StopFlag",
    "Supervisor",
    "child_env",
    "install_signal_handlers",
    "service_command",
]
