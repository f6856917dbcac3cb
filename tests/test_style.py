"""House style is checked with the tests: ruff lint and format over every Python folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ["libs", "services", "cli", "tests", "bench"]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *FOLDERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_code_passes_ruff_lint():
    done = ruff("check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_ruff_formatted():
    done = ruff("format", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
