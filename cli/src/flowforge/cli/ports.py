"""Ports on 127.0.0.1: free ones, and stable ones that another system can rely on.

An embedded server listens on its well-known port (NATS 4222, PostgreSQL 5433) when that is
free; otherwise on a port chosen once and remembered in `$FLOWFORGE_HOME/run/<name>.port`,
so restarting the same home keeps its endpoints. An explicit `FLOWFORGE_<NAME>_PORT` is used
as given.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class PortTaken(RuntimeError):
    """A port the user asked for explicitly is in use."""


# Ports this process has promised to a listener of its own that is not up yet (the gateway's):
# the kernel would hand one of them out again as "free" (an embedded PostgreSQL once took the
# gateway's port, which then could not bind).
_RESERVED: set[int] = set()


def reserve(port: int) -> None:
    """Keep `port` out of the ports chosen for embedded servers."""
    _RESERVED.add(port)


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _RESERVED:
            return port


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:<port> now (a listener on any address
    holding it, or a client connecting to it, says no)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is ok
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited ({describe_exit(proc.returncode)}) while starting")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def describe_exit(code: int) -> str:
    """A Popen return code as a person reads it: "code 1", "signal 9"."""
    return f"code {code}" if code >= 0 else f"signal {-code}"


def stable_port(
    home: Path, name: str, explicit: str | None, default: int, say: Callable[[str], None]
) -> int:
    """The port for embedded server `name`: explicit, else remembered, else default, else a
    new free one; remembered for the next start of this home."""
    if explicit:
        port = int(explicit)
        if port in _RESERVED or not port_free(port):
            raise PortTaken(f"port {port} for {name} (FLOWFORGE_{name.upper()}_PORT) is in use")
        return port
    memo = home / "run" / f"{name}.port"
    remembered = _read_port(memo)
    if remembered is not None and remembered not in _RESERVED and port_free(remembered):
        port = remembered
    elif default not in _RESERVED and port_free(default):
        port = default
    else:
        port = free_port()
    if remembered is not None and port != remembered:
        say(f"{name}: port {remembered} (used last time) is taken; using {port} from now on")
    remember_port(home, name, port)
    return port


def remember_port(home: Path, name: str, port: int) -> None:
    memo = home / "run" / f"{name}.port"
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(f"{port}\n")


def _read_port(path: Path) -> int | None:
    try:
        port = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return port if 0 < port < 65536 else None


__all__ = [
    "PortTaken",
    "describe_exit",
    "free_port",
    "port_free",
    "remember_port",
    "reserve",
    "stable_port",
    "wait_for_port",
]
