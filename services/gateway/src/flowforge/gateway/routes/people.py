"""Users (people) and API keys (machines), for admins. A key is shown once, when created."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from flowforge.common.errors import BadInputError, ConflictError, NotFoundError
from flowforge.gateway.access_schemas import (
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyPublic,
    UserCreate,
    UserList,
    UserPatch,
    UserPublic,
)
from flowforge.gateway.audit import note
from flowforge.gateway.identity import hash_password, new_key, now

router = APIRouter(prefix="/api/v1", tags=["access"])


def _identities(request: Request):
    return request.app.state.authenticator.identities


@router.post("/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
async def create_key(body: KeyCreate, request: Request) -> KeyCreated:
    """A new API key with a role (and an expiry if given). The answer is the only time the
    key is shown: keep it; FlowForge keeps only a hash."""
    if body.expires_at is not None and body.expires_at <= now():
        raise BadInputError("expires_at is in the past")
    key_id, key, secret_hash = new_key()
    row = await _identities(request).add_key(
        id=key_id,
        name=body.name,
        role=body.role,
        secret_hash=secret_hash,
        created_by=request.state.principal.actor,
        expires_at=body.expires_at,
    )
    public = KeyPublic.model_validate(row)
    note(request, target=key_id, after=public.model_dump(mode="json"))
    return KeyCreated(**public.model_dump(), key=key)


@router.get("/keys", response_model=KeyList)
async def list_keys(request: Request) -> KeyList:
    """Every key (never the key itself): name, role, expiry, revocation, last use."""
    return KeyList(keys=[KeyPublic.model_validate(k) for k in await _identities(request).keys()])


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: str, request: Request) -> Response:
    """Revoke a key: it is refused from the next request on."""
    found = await _identities(request).key(key_id)
    if found is None:
        raise NotFoundError(f"no API key {key_id!r}; list them at GET /api/v1/keys")
    if request.state.principal.key_id == key_id:
        raise ConflictError(
            f"API key {key_id!r} signs this request: revoke it with another admin key or a "
            "signed-in admin, so nobody locks themselves out by mistake"
        )
    if not await _identities(request).revoke_key(key_id):
        raise ConflictError(f"API key {key_id!r} was already revoked")
    note(request, before=KeyPublic.model_validate(found).model_dump(mode="json"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, request: Request) -> UserPublic:
    row = await _identities(request).add_user(
        body.name, await hash_password(body.password), body.role
    )
    if not row:
        raise ConflictError(f"a user named {body.name!r} exists already")
    public = UserPublic.model_validate(row)
    note(request, target=body.name, after=public.model_dump(mode="json"))
    return public


@router.get("/users", response_model=UserList)
async def list_users(request: Request) -> UserList:
    return UserList(
        users=[UserPublic.model_validate(u) for u in await _identities(request).users()]
    )


async def _user(request: Request, name: str) -> dict:
    found = await _identities(request).user(name)
    if found is None:
        raise NotFoundError(f"no user named {name!r}; list them at GET /api/v1/users")
    return found


async def _keep_an_admin(request: Request, user: dict, role: str | None, disabled: bool) -> None:
    """Refuse to take away the last enabled admin (nobody could administer FlowForge)."""
    stays_admin = (role or user["role"]) == "admin" and not disabled
    if user["role"] == "admin" and not user["disabled"] and not stays_admin:
        if await _identities(request).admins() <= 1:
            raise ConflictError(f"{user['name']!r} is the last admin; make another admin first")


@router.patch("/users/{name}", response_model=UserPublic)
async def update_user(name: str, body: UserPatch, request: Request) -> UserPublic:
    """Change a user's password, role or disabled flag (a new password, a new role or
    disabling ends the user's sessions)."""
    user = await _user(request, name)
    disabled = body.disabled if body.disabled is not None else user["disabled"]
    await _keep_an_admin(request, user, body.role, disabled)
    fields = {
        k: v for k, v in {"role": body.role, "disabled": body.disabled}.items() if v is not None
    }
    if body.password is not None:
        fields |= {"password_hash": await hash_password(body.password), "failed_logins": 0,
                   "locked_until": None}  # fmt: skip
    row = await _identities(request).update_user(name, **fields) if fields else user
    if fields:
        await _identities(request).drop_sessions_of(name)
    before, after = UserPublic.model_validate(user), UserPublic.model_validate(row)
    note(request, before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
         detail={"password_changed": body.password is not None})  # fmt: skip
    return after


@router.delete("/users/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(name: str, request: Request) -> Response:
    user = await _user(request, name)
    await _keep_an_admin(request, user, "viewer", True)
    await _identities(request).delete_user(name)
    note(request, before=UserPublic.model_validate(user).model_dump(mode="json"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
