"""The `flowforge` command as a person uses it: ingest with progress, up/stop with no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = pytest.mark.e2e


def test_ingest_uploads_waits_and_prints_the_stage_summary(platform, tmp_path):
    source = tmp_path / "cli_orders.csv"
    source.write_text("id,zip\n1,00501\n2,02134\n2,02134\nbad,line,here\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowforge.cli.main",
            "ingest",
            str(source),
            "--key",
            "id",
            "--url",
            platform.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=platform.env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "uploading cli_orders.csv" in out
    assert "succeeded" in out
    assert "parsed=4" in out and "rejected=1" in out and "duplicates=1" in out
    assert "valid=2" in out


def test_ingest_of_a_missing_file_says_so(platform, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowforge.cli.main",
            "ingest",
            str(tmp_path / "no.csv"),
            "--url",
            platform.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no such file" in done.stderr  # errors go to stderr, answers to stdout


def test_ingest_exits_nonzero_when_the_run_fails(platform, tmp_path):
    source = tmp_path / "only_header.csv"
    source.write_text("a,b\n")
    done = subprocess.run(
        [sys.executable, "-m", "flowforge.cli.main", "ingest", str(source), "--url", platform.url],
        capture_output=True,
        text=True,
        timeout=120,
        env=platform.env,  # its FLOWFORGE_HOME holds the admin key the CLI signs with
    )
    assert done.returncode == 1
    assert "failed" in done.stdout


def test_without_a_key_the_cli_is_refused_with_exit_code_4(platform, tmp_path):
    source = tmp_path / "x.csv"
    source.write_text("a\n1\n")
    env = {k: v for k, v in platform.env.items() if k != "FLOWFORGE_HOME"}
    env["FLOWFORGE_HOME"] = str(tmp_path / "elsewhere")
    done = subprocess.run(
        [sys.executable, "-m", "flowforge.cli.main", "ingest", str(source), "--url", platform.url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "API key" in done.stderr


def test_up_demo_lands_the_sample_in_every_layer_and_sigterm_stops_every_process_it_started(
    tmp_path,
):
    """The README's first command, as a newcomer runs it (on a free port); then SIGTERM, as
    Ctrl-C or a service manager sends it: `up` exits 0 and leaves no process behind (one
    platform for both: each start costs the suite many seconds)."""
    from flowforge.cli.embedded import free_port

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NATS_URL", "DATABASE_URL", "S3_ENDPOINT_URL")
    }
    env.update(
        FLOWFORGE_HOME=str(tmp_path / "home"), FLOWFORGE_PORT=str(free_port()), COLUMNS="200"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flowforge.cli.main", "up", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 240
    for line in process.stdout:
        lines.append(line)
        if line.startswith("A scheduled workflow") or time.monotonic() > deadline:
            break
    children = psutil.Process(process.pid).children(recursive=True)
    names = sorted({c.name() for c in children})
    lock = tmp_path / "home" / "postgres" / "postmaster.pid"
    postmaster = int(lock.read_text().split()[0]) if lock.exists() else None
    assert "nats-server" in names and len(children) >= 7, (names, "".join(lines))
    assert postmaster is not None and psutil.pid_exists(postmaster), "".join(lines)

    process.send_signal(signal.SIGTERM)
    try:
        rest, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        rest, _ = process.communicate()
        pytest.fail("`up` still running 90 s after SIGTERM:\n" + "".join(lines) + rest)
    out = "".join(lines) + rest
    assert process.returncode == 0, out
    assert "FlowForge is up" in out
    assert "parsed=64" in out and "rejected=1" in out and "duplicates=2" in out
    assert "valid=61" in out
    silver = out[out.index("silver orders") : out.index("gold revenue_by_state")]
    assert "order_id:integer" in silver and "zip:string" in silver
    assert "'zip': '02134'" in silver  # leading zeros survive to Silver
    assert "gold revenue_by_state" in out
    assert "rejected line 24: expected 9 fields, found 4" in out
    assert "demo_refresh rebuilds revenue_by_state every minute; next tick" in out

    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [c.info for c in alive]
    deadline = time.monotonic() + 20
    while psutil.pid_exists(postmaster):
        assert time.monotonic() < deadline, "embedded PostgreSQL still running"
        time.sleep(0.2)
    assert not lock.exists()
