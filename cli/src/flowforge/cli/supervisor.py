"""Runs every FlowForge service as its own process, restarts one that dies (with backoff), and
stops them all, and the embedded servers, on Ctrl-C or SIGTERM: no orphan processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("catalog", "ingest", "transform", "quality", "ai", "gateway")
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0


@dataclass
class Child:
    name: str
    log_path: Path
    pid_path: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    next_start: float = 0.0
    log_file: object = field(default=None, repr=False)


class Supervisor:
    def __init__(self, env: dict[str, str], home: Path, say=print):
        self.env = env
        self.home = home
        self.say = say
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        (home / "logs").mkdir(parents=True, exist_ok=True)
        (home / "run").mkdir(parents=True, exist_ok=True)
        self.children = {
            name: Child(name, home / "logs" / f"{name}.log", home / "run" / f"{name}.pid")
            for name in SERVICES
        }

    def _spawn(self, child: Child) -> None:
        if self.stopping.is_set():
            return
        if child.log_file is None:
            child.log_file = open(child.log_path, "ab")  # noqa: SIM115 - closed in stop()
        child.process = subprocess.Popen(
            [sys.executable, "-m", f"flowforge.{child.name}.app"],
            env=self.env,
            stdout=child.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        child.started_at = time.monotonic()
        child.pid_path.write_text(str(child.process.pid))

    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def poll(self) -> None:
        """Restart children that exited; call it periodically."""
        with self.lock:
            self._poll()

    def _poll(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            proc = child.process
            if proc is None:
                if now >= child.next_start:
                    self._spawn(child)
                continue
            code = proc.poll()
            if code is None:
                if now - child.started_at > STABLE_AFTER:
                    child.backoff = 1.0
                continue
            child.restarts += 1
            self.say(
                f"  ! {child.name} exited with code {code}; restarting in {child.backoff:.0f}s "
                f"(restart #{child.restarts}, log: {child.log_path})"
            )
            child.process = None
            child.next_start = now + child.backoff
            child.backoff = min(child.backoff * 2, MAX_BACKOFF)

    def run_until_stopped(self, interval: float = 0.5) -> None:
        while not self.stopping.wait(interval):
            self.poll()

    def stop(self, timeout: float = 15.0) -> None:
        self.stopping.set()
        with self.lock:  # no restart can be half-way through once we hold it
            live = [
                c.process
                for c in self.children.values()
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
        for child in self.children.values():
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


__all__ = ["SERVICES", "StopFlag", "Supervisor", "child_env", "install_signal_handlers"]
