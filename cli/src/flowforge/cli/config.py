"""Which gateway to talk to and with which key: flags first, then the environment, then the
local instance's own files in `$FLOWFORGE_HOME`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flowforge.cli.errors import UsageError

LOOPBACK = ("localhost", "::1")


@dataclass(frozen=True)
class Target:
    url: str
    key: str | None = field(default=None, repr=False)  # never shown, not even in a repr
    key_source: str = "no API key"  # where the key came from, safe to print


def home(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("FLOWFORGE_HOME", ".flowforge")).expanduser()


def gateway_url(flag: str | None, env: Mapping[str, str] = os.environ) -> str:
    local = f"http://127.0.0.1:{env.get('FLOWFORGE_PORT', '8000')}"
    url = flag or env.get("FLOWFORGE_URL") or local
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"the gateway URL {url!r} should look like http://host:port")
    return url.rstrip("/")


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in LOOPBACK or host.startswith("127.")


def read_key_file(path: Path) -> str:
    try:
        key = path.expanduser().read_text().strip()
    except OSError as exc:
        raise UsageError(f"cannot read the API key file {path}: {exc.strerror}") from exc
    if not key:
        raise UsageError(f"the API key file {path} is empty")
    return key


def resolve(
    url_flag: str | None,
    key_flag: str | None,
    key_file_flag: Path | None,
    env: Mapping[str, str] = os.environ,
) -> Target:
    """Flags beat the environment; the local admin key (written by `up`) is used only for a
    gateway on this machine, so it is never sent to another host by accident."""
    url = gateway_url(url_flag, env)
    if key_flag:
        return Target(url, key_flag.strip(), "key from --api-key")
    if key_file_flag:
        return Target(url, read_key_file(key_file_flag), f"key from {key_file_flag}")
    if env.get("FLOWFORGE_API_KEY"):
        return Target(url, env["FLOWFORGE_API_KEY"].strip(), "key from FLOWFORGE_API_KEY")
    if env.get("FLOWFORGE_API_KEY_FILE"):
        path = Path(env["FLOWFORGE_API_KEY_FILE"])
        return Target(url, read_key_file(path), f"key from {path}")
    admin = home(env) / "admin.key"
    if _is_local(url) and admin.is_file():
        return Target(url, read_key_file(admin), f"key from {admin}")
    return Target(url)


def endpoints(env: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """What `up` wrote about the servers it started (`run/endpoints.json`), if it did."""
    path = home(env) / "run" / "endpoints.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
