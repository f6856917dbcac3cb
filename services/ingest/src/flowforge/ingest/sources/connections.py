"""`ingest.connections`: source databases, each with its password sealed at rest. Ingest owns
them because it is the service that connects (it extracts into Bronze as it lands files).

What leaves this module never holds the password: `public()` says only whether one is set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from flowforge.common.errors import BadInputError, ConflictError, NotFoundError
from flowforge.common.lake import check_name
from flowforge.common.secretbox import SecretBox

KINDS = {"postgresql": 5432, "mysql": 3306, "sqlserver": 1433, "oracle": 1521}
# The options each kind takes, with what each may be (None: any short text).
OPTIONS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "postgresql": {"sslmode": ("disable", "prefer", "require", "verify-ca", "verify-full"),
                   "schema": None, "connect_timeout": None},
    "mysql": {"ssl": ("disabled", "preferred", "required", "verify_identity"),
              "connect_timeout": None},
    "sqlserver": {"encrypt": ("no", "yes", "strict"), "trust_server_certificate": ("no", "yes"),
                  "schema": None, "connect_timeout": None},
    "oracle": {"service_name": None, "sid": None, "schema": None, "connect_timeout": None},
}  # fmt: skip
_HOST = re.compile(r"^[A-Za-z0-9._:\-\[\]]{1,253}$")


@dataclass(frozen=True)
class Connection:
    name: str
    kind: str
    host: str
    port: int
    database: str = ""
    user: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def timeout(self) -> float:
        return float(self.options.get("connect_timeout") or 10)

    def public(self, has_password: bool, **times: Any) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "host": self.host, "port": self.port,
                "database": self.database, "user": self.user, "options": dict(self.options),
                "has_password": has_password, **times}  # fmt: skip


def parse(request: dict[str, Any], name: str) -> Connection:
    """A connection from a request's fields, each checked, with a message naming the field."""
    kind = str(request.get("kind") or "")
    if kind not in KINDS:
        raise BadInputError(f"`kind` must be one of {', '.join(KINDS)}, not {kind!r}")
    host = str(request.get("host") or "")
    if not _HOST.match(host):
        raise BadInputError(f"`host` must be a host name or IP address, not {host!r}")
    port = request.get("port") or KINDS[kind]
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise BadInputError(f"`port` must be a number from 1 to 65535, not {port!r}")
    options = request.get("options") or {}
    if not isinstance(options, dict):
        raise BadInputError("`options` must be an object")
    allowed = OPTIONS[kind]
    for key, value in options.items():
        if key not in allowed:
            raise BadInputError(
                f"option {key!r} is not one a {kind} connection takes ({', '.join(allowed)})"
            )
        choices = allowed[key]
        if key == "connect_timeout":
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not 0 < value <= 300
            ):
                raise BadInputError("option `connect_timeout` must be seconds from 1 to 60")
        elif choices is not None and value not in choices:
            raise BadInputError(f"option {key!r} must be one of {', '.join(choices)}")
        elif choices is None and (not isinstance(value, str) or len(value) > 128):
            raise BadInputError(f"option {key!r} must be text of at most 128 characters")
    for text in ("database", "user"):
        value = request.get(text) or ""
        if not isinstance(value, str) or len(value) > 128:
            raise BadInputError(f"`{text}` must be text of at most 128 characters")
    return Connection(name=name, kind=kind, host=host, port=port,
                      database=request.get("database") or "", user=request.get("user") or "",
                      options=options)  # fmt: skip


class Connections:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox):
        self.pool = pool
        self.box = box

    async def put(self, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create or replace; a password left out keeps the one stored. (public, created)"""
        name = check_name(str(request.get("name") or ""), "connection")
        conn = parse(request, name)
        password = request.get("password")
        if password is not None and (not isinstance(password, str) or len(password) > 1024):
            raise BadInputError("`password` must be text of at most 1024 characters")
        sealed = self.box.seal(password) if password else None
        row = await self.pool.fetchrow(
            "INSERT INTO ingest.connections AS c (name, kind, host, port, database, username,"
            " password_sealed, options) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (name) DO UPDATE SET kind = $2, host = $3, port = $4, database = $5,"
            " username = $6, password_sealed = CASE WHEN $9 THEN $7"
            " ELSE c.password_sealed END, options = $8, updated_at = now()"
            " RETURNING *, (xmax = 0) AS created",
            name, conn.kind, conn.host, conn.port, conn.database, conn.user, sealed,
            conn.options, password is not None,
        )  # fmt: skip
        return _public(row), bool(row["created"])

    async def get(self, name: str) -> dict[str, Any]:
        return _public(await self._row(name))

    async def list(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT * FROM ingest.connections ORDER BY name")
        return [_public(r) for r in rows]

    async def delete(self, name: str) -> None:
        try:
            done = await self.pool.execute("DELETE FROM ingest.connections WHERE name = $1", name)
        except (asyncpg.ForeignKeyViolationError, asyncpg.RestrictViolationError):
            raise ConflictError(
                f"connection {name!r} feeds a dataset's source (GET /api/v1/datasets/"
                "{name}/source); point that source elsewhere first"
            ) from None
        if done.endswith(" 0"):
            raise NotFoundError(f"no connection named {name!r}")

    async def open(self, name: str) -> tuple[Connection, str]:
        """The connection and its password in clear, for connecting only."""
        row = await self._row(name)
        password = self.box.open(row["password_sealed"]) if row["password_sealed"] else ""
        return _connection(row), password

    async def reseal(self) -> int:
        """Seal every stored password again under the first key (after a rotation)."""
        rows = await self.pool.fetch(
            "SELECT name, password_sealed FROM ingest.connections WHERE password_sealed IS NOT NULL"
        )
        for row in rows:
            await self.pool.execute(
                "UPDATE ingest.connections SET password_sealed = $2 WHERE name = $1",
                row["name"], self.box.reseal(row["password_sealed"]),
            )  # fmt: skip
        return len(rows)

    async def _row(self, name: str) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT * FROM ingest.connections WHERE name = $1", check_name(name, "connection")
        )
        if row is None:
            raise NotFoundError(f"no connection named {name!r}")
        return row


def _connection(row: asyncpg.Record) -> Connection:
    return Connection(name=row["name"], kind=row["kind"], host=row["host"], port=row["port"],
                      database=row["database"], user=row["username"],
                      options=dict(row["options"] or {}))  # fmt: skip


def _public(row: asyncpg.Record) -> dict[str, Any]:
    return _connection(row).public(
        row["password_sealed"] is not None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
