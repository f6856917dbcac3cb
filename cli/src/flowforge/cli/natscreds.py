"""The embedded NATS's users (docs/architecture.md, "Bus permissions"): a password per service
and one for the operator (this CLI, tools and tests), made on first start and kept in
`$FLOWFORGE_HOME/nats.credentials.json` (readable by this user only, like postgres.password);
read-only subscribers for other systems, kept only as bcrypt hashes (their password is shown
once). The server's configuration holds hashes only and is rendered from the permission tables
in `flowforge.common.natsauth`, so it cannot disagree with them.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import bcrypt

from flowforge.common.natsauth import (
    OPERATOR,
    NatsUser,
    check_subscriber_name,
    service_permissions,
    subscriber_permissions,
)
from flowforge.common.topology import SERVICES

FILE = "nats.credentials.json"
# nats-server checks the hash on every connect: 10 rounds cost ~60 ms, once per connection.
ROUNDS = 10


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(ROUNDS)).decode()


def _new_login() -> dict[str, str]:
    password = secrets.token_urlsafe(24)
    return {"password": password, "hash": _hash(password)}


@dataclass
class Credentials:
    path: Path
    services: dict[str, dict[str, str]] = field(default_factory=dict)
    operator: dict[str, str] = field(default_factory=dict)
    subscribers: dict[str, dict[str, str]] = field(default_factory=dict)

    def users(self) -> list[NatsUser]:
        users = [
            NatsUser(name, self.services[name]["hash"], service_permissions(name))
            for name in SERVICES
        ]
        users.append(NatsUser(OPERATOR, self.operator["hash"]))
        users += [
            NatsUser(name, entry["hash"], subscriber_permissions(name))
            for name, entry in sorted(self.subscribers.items())
        ]
        return users

    def service_env(self) -> dict[str, dict[str, str]]:
        """NATS_USER / NATS_PASSWORD for each service's processes."""
        return {
            name: {"NATS_USER": name, "NATS_PASSWORD": self.services[name]["password"]}
            for name in SERVICES
        }

    def operator_url(self, url: str) -> str:
        """`url` carrying the operator's user and password (for endpoints.json, 0600)."""
        parts = urlsplit(url)
        user = quote(OPERATOR, safe="")
        password = quote(self.operator["password"], safe="")
        netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def save(self) -> None:
        body = {
            "services": self.services,
            "operator": self.operator,
            "subscribers": self.subscribers,
        }
        fresh = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fresh.unlink(missing_ok=True)
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(body, indent=2))
        fresh.replace(self.path)

    def add_subscriber(self, name: str) -> str:
        """A new read-only user; its password is returned once and kept only as a hash."""
        check_subscriber_name(name)
        if name in self.subscribers:
            raise ValueError(f"subscriber {name!r} exists; remove it first to change its password")
        password = secrets.token_urlsafe(24)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        self.subscribers[name] = {"hash": _hash(password), "created_at": created}
        return password

    def remove_subscriber(self, name: str) -> None:
        if self.subscribers.pop(name, None) is None:
            raise KeyError(name)


def configured_service_env(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    """Configured NATS (compose, one's own server): each service's user and its password from
    `NATS_<SERVICE>_PASSWORD`, as the deployments' server configuration expects them."""
    found = {}
    for service in SERVICES:
        if password := environ.get(f"NATS_{service.upper()}_PASSWORD"):
            found[service] = {"NATS_USER": service, "NATS_PASSWORD": password}
    return found


def load_credentials(home: Path) -> Credentials:
    """The home's NATS users, made (or completed, when a service is new) on first use."""
    path = home / FILE
    creds = Credentials(path)
    if path.exists():
        body = json.loads(path.read_text())
        creds.services = dict(body.get("services", {}))
        creds.operator = dict(body.get("operator", {}))
        creds.subscribers = dict(body.get("subscribers", {}))
    changed = False
    for service in SERVICES:
        if service not in creds.services:
            creds.services[service] = _new_login()
            changed = True
    if not creds.operator:
        creds.operator = _new_login()
        changed = True
    if changed or not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        creds.save()
    return creds


__all__ = ["FILE", "Credentials", "configured_service_env", "load_credentials"]
