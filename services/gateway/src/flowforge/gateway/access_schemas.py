"""Request and response models of sign-in, users, API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from flowforge.gateway.access import Role

USER_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=USER_NAME, description="the user name")
    password: str = Field(min_length=1, max_length=1024)


class MePublic(BaseModel):
    kind: str = Field(description="user (a signed-in person) or key (an API key)")
    name: str
    role: Role
    key_id: str | None = None
    csrf_token: str | None = Field(
        default=None, description="a session's token to echo in X-CSRF-Token on changes"
    )
    expires_at: datetime | None = None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=USER_NAME)
    password: str = Field(min_length=12, max_length=1024, description="at least 12 characters")
    role: Role = "viewer"


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, min_length=12, max_length=1024)
    role: Role | None = None
    disabled: StrictBool | None = None


class UserPublic(BaseModel):
    name: str
    role: Role
    disabled: bool
    last_login_at: datetime | None = None
    locked_until: datetime | None = None
    created_at: datetime
    updated_at: datetime


class UserList(BaseModel):
    users: list[UserPublic]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="what the key is for")
    role: Role
    expires_at: datetime | None = Field(default=None, description="none: until revoked")


class KeyPublic(BaseModel):
    id: str
    name: str
    role: Role
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class KeyCreated(KeyPublic):
    key: str = Field(description="the key itself: shown this once, kept only as a hash")


class KeyList(BaseModel):
    keys: list[KeyPublic]


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str | None = None
    action: str
    method: str
    path: str
    target: str | None = None
    status: int
    before: Any = None
    after: Any = None
    detail: dict[str, Any] = Field(default_factory=dict)
    source_ip: str | None = None
    user_agent: str | None = None


class AuditList(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None = None
    next: str | None = None
