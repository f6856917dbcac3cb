"""`flowforge subscribers`: read-only NATS users for other systems that follow the platform's
events (docs/subscribers.md). They may read every public subject, live or from the stream
through consumers named after them, and publish nothing that other services would believe.

For the embedded NATS of `flowforge up` the user is added to `$FLOWFORGE_HOME` and the running
server reloads its configuration (SIGHUP); for a server of one's own (compose, Kubernetes) the
verb prints the entry to add to its configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from flowforge.cli import config
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.natscreds import load_credentials
from flowforge.cli.output import Output
from flowforge.common.natsauth import (
    NatsUser,
    render_authorization,
    subscriber_inbox,
    subscriber_permissions,
)

STREAM = "FLOWFORGE"


def _endpoints(home: Path) -> dict[str, Any]:
    try:
        return json.loads((home / "run" / "endpoints.json").read_text())
    except (OSError, ValueError):
        return {}


def _public_url(endpoints: dict[str, Any]) -> str | None:
    """The embedded NATS's address without the operator's credentials."""
    from urllib.parse import urlsplit

    url = endpoints.get("nats_url")
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"


def _reload(home: Path, endpoints: dict[str, Any], timeout: float = 10) -> bool:
    """Rewrite the embedded server's configuration; SIGHUP it when it runs. True when it said
    it reloaded (its log), False when no server runs (the next `up` reads the new file)."""
    from flowforge.cli.embedded import write_nats_config

    write_nats_config(home, load_credentials(home).users())
    pids = endpoints.get("pids", {}).get("nats") or []
    if not pids:
        return False
    log = home / "logs" / "nats.log"
    offset = log.stat().st_size if log.exists() else 0
    try:
        os.kill(int(pids[0]), signal.SIGHUP)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
        if "Reloaded server configuration" in text:
            return True
        if "[ERR]" in text and "reload" in text.lower():
            raise UsageError(f"NATS refused the new configuration; see {log}")
        time.sleep(0.1)
    raise UsageError(f"NATS did not say it reloaded within {timeout:.0f}s; see {log}")


def _embedded(home: Path) -> bool:
    """This home runs (or ran) the embedded NATS, and no server of one's own is configured."""
    return not os.environ.get("NATS_URL") and (home / "nats" / "nats.conf").exists()


def add(args: argparse.Namespace, _api: object, out: Output) -> int:
    home = config.home().resolve()
    name = args.name
    if not _embedded(home):
        return _print_entry(name, out)
    creds = load_credentials(home)
    try:
        password = creds.add_subscriber(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    creds.save()
    endpoints = _endpoints(home)
    reloaded = _reload(home, endpoints)
    answer = {
        "name": name,
        "password": password,
        "url": _public_url(endpoints),
        "inbox_prefix": subscriber_inbox(name),
        "stream": STREAM,
        "durable": f"{name} (or {name}-<anything>)",
        "active": reloaded,
    }
    if args.json:
        out.json(answer)
        return Exit.OK
    out.fields(answer.items())
    out.say(
        "The password is shown this once (only its hash is kept). "
        + ("NATS has reloaded: the user works now." if reloaded else
           "NATS is not running: the user works from the next `flowforge up`.")
        + " Example subscriber: docs/subscribers.md"
    )  # fmt: skip
    return Exit.OK


def _print_entry(name: str, out: Output) -> int:
    """A server of one's own: the user's entry for its configuration, with a bcrypt hash."""
    import secrets

    from flowforge.cli.natscreds import _hash

    try:
        permissions = subscriber_permissions(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    password = secrets.token_urlsafe(24)
    block = render_authorization([NatsUser(name, _hash(password), permissions)])
    entry = block.splitlines()[2].strip()
    if out.as_json:
        out.json({"name": name, "password": password, "users_entry": entry})
        return Exit.OK
    out.say(
        "No embedded NATS here (NATS_URL is set or `flowforge up` never ran in "
        f"{config.home()}): add this entry to the `authorization.users` list of your "
        "server's configuration (deploy/nats/nats.conf), then reload it (nats-server --signal "
        "reload)."
    )
    out.line(entry)
    out.fields((("name", name), ("password", password), ("inbox_prefix", subscriber_inbox(name))))
    return Exit.OK


def list_(args: argparse.Namespace, _api: object, out: Output) -> int:
    home = config.home().resolve()
    path = home / "nats.credentials.json"
    subscribers = load_credentials(home).subscribers if path.exists() else {}
    rows = [{"name": n, "created_at": e.get("created_at")} for n, e in sorted(subscribers.items())]
    if args.json:
        out.json({"items": rows})
    elif rows:
        out.table(("name", "created"), ((r["name"], r["created_at"]) for r in rows))
    else:
        out.say("no subscribers (add one with `flowforge subscribers add NAME`)")
    return Exit.OK


def remove(args: argparse.Namespace, _api: object, out: Output) -> int:
    home = config.home().resolve()
    if not (home / "nats.credentials.json").exists():
        raise UsageError(f"no subscriber {args.name!r} in {home}")
    creds = load_credentials(home)
    try:
        creds.remove_subscriber(args.name)
    except KeyError:
        raise UsageError(f"no subscriber {args.name!r} in {home}") from None
    creds.save()
    reloaded = _reload(home, _endpoints(home))
    if args.json:
        out.json({"name": args.name, "removed": True, "active": reloaded})
    else:
        out.say(
            f"removed {args.name}"
            + ("; NATS has reloaded and closed its connections" if reloaded else "")
        )
    return Exit.OK


__all__ = ["add", "list_", "remove"]
