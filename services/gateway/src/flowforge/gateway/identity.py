"""Identities: users (Argon2id password hashes), API keys (random, kept as SHA-256 hashes,
shown once) and browser sessions; and authenticating a request with one of them.

A key reads `ffk_<id>_<secret>`: the id finds the row, the secret is compared with its hash in
constant time. Secrets never leave this module except once, in the answer that creates them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request

from flowforge.gateway.access import SESSION_COOKIE, Principal, RateLimited, Unauthorized

KEY_PREFIX = "ffk"
HASHER = PasswordHasher()  # Argon2id, the library's (RFC 9106) defaults
# Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
LOCK_AFTER = 5  # failed sign-ins in a row before the user is locked out for a while
MAX_LOCK = timedelta(minutes=15)
TOUCH_EVERY = timedelta(seconds=60)  # last-used times are written at most this often


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


def new_key() -> tuple[str, str, str]:
    """(id, the whole key to show once, the hash to keep)."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}", sha256(secret)


def parse_key(token: str) -> tuple[str, str] | None:
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def password_matches(stored: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def lock_for(failures: int) -> timedelta | None:
    """How long a user is locked after `failures` failed sign-ins in a row (doubling)."""
    if failures < LOCK_AFTER:
        return None
    return min(timedelta(seconds=30 * 2 ** (failures - LOCK_AFTER)), MAX_LOCK)


class Identities(Protocol):
    """Users, keys and sessions as stored (PostgreSQL, or memory in tests)."""

    async def user(self, name: str) -> dict[str, Any] | None: ...
    async def users(self) -> list[dict[str, Any]]: ...
    async def add_user(self, name: str, password_hash: str, role: str) -> dict[str, Any]: ...
    async def update_user(self, name: str, **fields: Any) -> dict[str, Any] | None: ...
    async def delete_user(self, name: str) -> bool: ...
    async def admins(self) -> int: ...
    async def key(self, key_id: str) -> dict[str, Any] | None: ...
    async def keys(self) -> list[dict[str, Any]]: ...
    async def add_key(self, **key: Any) -> dict[str, Any]: ...
    async def revoke_key(self, key_id: str) -> bool: ...
    async def touch_key(self, key_id: str) -> None: ...
    async def add_session(
        self, token_hash: str, user: str, csrf: str, expires: datetime
    ) -> None: ...
    async def session(self, token_hash: str) -> dict[str, Any] | None: ...
    async def drop_session(self, token_hash: str) -> None: ...
    async def drop_sessions_of(self, user: str) -> None: ...


@dataclass
class Session:
    token: str
    csrf_token: str
    expires_at: datetime
    principal: Principal


class Authenticator:
    def __init__(self, identities: Identities, session_hours: float = 12.0):
        self.identities = identities
        self.session_life = timedelta(hours=session_hours)

    async def authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("send the API key as `Authorization: Bearer <key>`")
            return await self.by_key(token.strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return await self.by_session(cookie)
        raise Unauthorized(
            "sign in (POST /api/v1/auth/login) or send an API key as `Authorization: Bearer <key>`"
        )

    async def by_key(self, token: str) -> Principal:
        parsed = parse_key(token)
        row = await self.identities.key(parsed[0]) if parsed else None
        if row is None or not hmac.compare_digest(row["secret_hash"], sha256(parsed[1])):
            raise Unauthorized("this API key is not valid")
        if row["revoked_at"] is not None:
            raise Unauthorized(f"API key {row['id']} ({row['name']}) was revoked")
        if row["expires_at"] is not None and row["expires_at"] <= now():
            raise Unauthorized(f"API key {row['id']} ({row['name']}) has expired")
        last = row.get("last_used_at")
        if last is None or now() - last > TOUCH_EVERY:
            await self.identities.touch_key(row["id"])
        return Principal(kind="key", name=row["name"], role=row["role"], key_id=row["id"])

    async def by_session(self, token: str) -> Principal:
        row = await self.identities.session(sha256(token))
        if row is None or row["expires_at"] <= now() or row["disabled"]:
            raise Unauthorized("the session has ended; sign in again")
        return Principal(
            kind="user", name=row["user_name"], role=row["role"], csrf_token=row["csrf_token"]
        )

    async def login(self, name: str, password: str) -> Session:
        user = await self.identities.user(name)
        locked = user["locked_until"] if user else None
        if locked is not None and locked > now():
            wait = (locked - now()).total_seconds()
            raise RateLimited(
                f"too many failed sign-ins for {name!r}; try again in {wait:.0f} s", wait
            )
        ok = await password_matches(user["password_hash"] if user else None, password)
        if not ok or user is None or user["disabled"]:
            if user is not None and not ok:
                failures = user["failed_logins"] + 1
                lock = lock_for(failures)
                await self.identities.update_user(
                    name, failed_logins=failures, locked_until=now() + lock if lock else None
                )
            raise Unauthorized("wrong name or password (or the user is disabled)")
        await self.identities.update_user(
            name, failed_logins=0, locked_until=None, last_login_at=now()
        )
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = now() + self.session_life
        await self.identities.add_session(sha256(token), name, csrf, expires)
        principal = Principal(kind="user", name=name, role=user["role"], csrf_token=csrf)
        return Session(token, csrf, expires, principal)

    async def logout(self, token: str | None) -> None:
        if token:
            await self.identities.drop_session(sha256(token))
