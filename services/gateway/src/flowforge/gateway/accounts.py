"""Users, API keys and sessions in the gateway's tables (`gateway.users`, `api_keys`,
`sessions`). Hashes only: no password, key or session token is ever stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

USER_FIELDS = {"password_hash", "role", "disabled", "failed_logins", "locked_until",
               "last_login_at"}  # fmt: skip


class PgIdentities:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def user(self, name: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow("SELECT * FROM gateway.users WHERE name = $1", name)
        return dict(row) if row else None

    async def users(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.pool.fetch("SELECT * FROM gateway.users ORDER BY 1")]

    async def add_user(self, name: str, password_hash: str, role: str) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "INSERT INTO gateway.users (name, password_hash, role) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO NOTHING RETURNING *",
            name,
            password_hash,
            role,
        )
        return dict(row) if row else {}

    async def update_user(self, name: str, **fields: Any) -> dict[str, Any] | None:
        unknown = set(fields) - USER_FIELDS
        if unknown:
            raise ValueError(f"not user fields: {sorted(unknown)}")
        names = list(fields)
        sets = ", ".join(f"{f} = ${i + 2}" for i, f in enumerate(names))
        row = await self.pool.fetchrow(
            f"UPDATE gateway.users SET {sets}, updated_at = now() WHERE name = $1 RETURNING *",
            name,
            *[fields[f] for f in names],
        )
        return dict(row) if row else None

    async def delete_user(self, name: str) -> bool:
        done = await self.pool.execute("DELETE FROM gateway.users WHERE name = $1", name)
        return not done.endswith(" 0")

    async def admins(self) -> int:
        return await self.pool.fetchval(
            "SELECT count(*) FROM gateway.users WHERE role = 'admin' AND NOT disabled"
        )

    async def key(self, key_id: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow("SELECT * FROM gateway.api_keys WHERE id = $1", key_id)
        return dict(row) if row else None

    async def keys(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT * FROM gateway.api_keys ORDER BY created_at, id")
        return [dict(r) for r in rows]

    async def add_key(self, **key: Any) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            "INSERT INTO gateway.api_keys (id, name, role, secret_hash, created_by, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            key["id"],
            key["name"],
            key["role"],
            key["secret_hash"],
            key["created_by"],
            key.get("expires_at"),
        )
        return dict(row)

    async def revoke_key(self, key_id: str) -> bool:
        done = await self.pool.execute(
            "UPDATE gateway.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
            key_id,
        )
        return not done.endswith(" 0")

    async def touch_key(self, key_id: str) -> None:
        await self.pool.execute(
            "UPDATE gateway.api_keys SET last_used_at = now() WHERE id = $1", key_id
        )

    async def add_session(self, token_hash: str, user: str, csrf: str, expires: datetime) -> None:
        await self.pool.execute(
            "INSERT INTO gateway.sessions (token_hash, user_name, csrf_token, expires_at)"
            " VALUES ($1, $2, $3, $4)",
            token_hash,
            user,
            csrf,
            expires,
        )
        # Expired sessions are cleared as new ones start (no sweeper needed).
        await self.pool.execute("DELETE FROM gateway.sessions WHERE expires_at < now()")

    async def session(self, token_hash: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            "SELECT s.*, u.role, u.disabled FROM gateway.sessions s"
            " JOIN gateway.users u ON u.name = s.user_name WHERE s.token_hash = $1",
            token_hash,
        )
        return dict(row) if row else None

    async def drop_session(self, token_hash: str) -> None:
        await self.pool.execute("DELETE FROM gateway.sessions WHERE token_hash = $1", token_hash)

    async def drop_sessions_of(self, user: str) -> None:
        await self.pool.execute("DELETE FROM gateway.sessions WHERE user_name = $1", user)
