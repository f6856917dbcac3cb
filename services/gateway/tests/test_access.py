"""Access control on every route: the role table applied to every operation of the OpenAPI
document, keys, users and sessions (with CSRF), the audit log, and the limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from flowforge.gateway.access import POLICY, PUBLIC
from flowforge.gateway.limits import RateLimiter

PARAMS = {
    "name": "orders", "run_id": "r1", "job_id": "0" * 32, "suggestion_id": "1",
    "key_id": "abc123", "rule": "x", "slug": "not-found", "service": "ingest",
}  # fmt: skip
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
ROLES = ("viewer", "analyst", "operator", "admin")  # each may do what the ones before may


PUBLIC_ROUTES = {("GET", "/healthz"), ("GET", "/livez"), ("GET", "/readyz"),
                 ("POST", "/api/v1/auth/login")}  # fmt: skip
ADMIN_ONLY = ("/api/v1/users", "/api/v1/keys", "/api/v1/audit")
ADMIN_POSTS = ("/api/v1/models", "/rules", "/accept", "/dismiss")


def expected_role(method: str, path: str) -> str:
    """The role table as the README states it, written independently of `POLICY`."""
    if (method, path) in PUBLIC_ROUTES:
        return PUBLIC
    if (method, path) == ("POST", "/api/v1/sql"):  # reads rows, as a Gold sample does
        return "analyst"
    if (method, path) == ("GET", "/api/v1/lakehouse"):  # where the tables (their rows) are
        return "analyst"
    if path.startswith("/api/v1/connections"):  # operators read, test, browse; admins change
        changes = method in ("PUT", "DELETE") or (method, path) == ("POST", "/api/v1/connections")
        return "admin" if changes else "operator"
    if path.startswith(ADMIN_ONLY) or method in ("PUT", "PATCH", "DELETE"):
        return "admin"
    if method == "POST":
        if path == "/api/v1/auth/logout":
            return "viewer"
        return "admin" if path.endswith(ADMIN_POSTS) else "operator"
    return "analyst" if path == "/api/v1/models/{name}/sample" else "viewer"


def operations(openapi: dict) -> list[tuple[str, str]]:
    ops = [(m.upper(), p) for p, item in openapi["paths"].items() for m in item]
    return sorted(ops)


def url_of(path: str) -> str:
    for param, value in PARAMS.items():
        path = path.replace("{" + param + "}", value)
    return path


async def call(harness, method: str, path: str, headers: dict) -> httpx.Response:
    body = {"json": {}} if method in UNSAFE and path != "/api/v1/files" else {}
    return await harness.client.request(method, url_of(path), headers=headers, **body)


async def test_every_operation_in_the_openapi_document_has_the_documented_role(harness):
    openapi = (await harness.client.get("/openapi.json")).json()
    missing = [op for op in operations(openapi) if op not in POLICY]
    assert not missing, f"routes with no access rule (refused to everyone): {missing}"
    wrong = {op: POLICY[op] for op in operations(openapi) if POLICY[op] != expected_role(*op)}
    assert not wrong, f"routes whose role differs from the documented table: {wrong}"


async def test_every_operation_refuses_anonymous_callers_and_applies_the_role_table(harness):
    openapi = (await harness.client.get("/openapi.json")).json()
    checked = 0
    for method, path in operations(openapi):
        required = POLICY[(method, path)]
        anonymous = await call(harness, method, path, harness.as_role(None))
        if required == PUBLIC:
            assert anonymous.status_code not in (401, 403), (method, path, anonymous.text)
            continue
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["type"] == "/problems/unauthorized"
        for role in ROLES:
            response = await call(harness, method, path, harness.as_role(role))
            if ROLES.index(role) >= ROLES.index(required):
                assert response.status_code not in (401, 403), (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
                assert f"needs the {required} role" in response.json()["detail"]
        checked += 1
    assert checked >= 50  # the walk covered the API, not a handful of routes


async def test_a_key_is_shown_once_works_until_revoked_and_never_after_expiry(harness):
    created = await harness.client.post("/api/v1/keys", json={"name": "ci", "role": "operator"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(f"ffk_{created.json()['id']}_")
    listed = (await harness.client.get("/api/v1/keys")).text
    assert key not in listed and key.split("_", 2)[2] not in listed
    stored = str(harness.identities.keys_)
    assert key.split("_", 2)[2] not in stored  # only the hash is kept
    me = await harness.client.get("/api/v1/auth/me", headers={"authorization": f"Bearer {key}"})
    assert me.json() == {**me.json(), "kind": "key", "role": "operator", "name": "ci"}
    assert (await harness.client.delete(f"/api/v1/keys/{created.json()['id']}")).status_code == 204
    after = await harness.client.get("/api/v1/auth/me", headers={"authorization": f"Bearer {key}"})
    assert after.status_code == 401 and "revoked" in after.json()["detail"]
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await harness.client.post(
        "/api/v1/keys", json={"name": "tmp", "role": "viewer", "expires_at": soon.isoformat()}
    )
    harness.identities.keys_[expiring.json()["id"]]["expires_at"] = datetime.now(UTC)
    gone = await harness.client.get(
        "/api/v1/auth/me", headers={"authorization": f"Bearer {expiring.json()['key']}"}
    )
    assert gone.status_code == 401 and "expired" in gone.json()["detail"]
    forged = await harness.client.get(
        "/api/v1/auth/me", headers={"authorization": f"Bearer {key[:-3]}abc"}
    )
    assert forged.status_code == 401


async def signed_in(harness, name: str, role: str) -> tuple[httpx.AsyncClient, str]:
    await harness.client.post(
        "/api/v1/users", json={"name": name, "password": "correct horse battery", "role": role}
    )
    browser = httpx.AsyncClient(transport=harness.client._transport, base_url="http://localhost")
    login = await browser.post(
        "/api/v1/auth/login", json={"name": name, "password": "correct horse battery"}
    )
    assert login.status_code == 200, login.text
    cookie = login.headers.get_list("set-cookie")
    assert any("ff_session=" in c and "HttpOnly" in c and "SameSite=strict" in c for c in cookie)
    return browser, login.json()["csrf_token"]


async def test_a_session_cannot_change_anything_without_its_csrf_token(harness):
    browser, csrf = await signed_in(harness, "ada", "admin")
    stored = {"schema_policy": "freeze", "array_policy": "json"}
    harness.owners.answer("ingest", "dataset.put", lambda r: r | stored)
    body = {"schema_policy": "freeze"}
    forged = await browser.put("/api/v1/datasets/orders/contract", json=body)
    cross_site = await browser.put(
        "/api/v1/datasets/orders/contract",
        json=body,
        headers={"x-csrf-token": csrf, "origin": "https://evil.example"},
    )
    honest = await browser.put(
        "/api/v1/datasets/orders/contract", json=body, headers={"x-csrf-token": csrf}
    )
    reading = await browser.get("/api/v1/auth/me")
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    assert cross_site.status_code == 403 and "cross-site" in cross_site.json()["detail"]
    assert honest.status_code == 200, honest.text
    assert reading.json()["name"] == "ada" and reading.json()["csrf_token"] == csrf
    await browser.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf})
    assert (await browser.get("/api/v1/auth/me")).status_code == 401


async def test_repeated_wrong_passwords_lock_the_user_out_for_a_while(harness):
    await harness.client.post(
        "/api/v1/users", json={"name": "bob", "password": "a long good password", "role": "viewer"}
    )
    answers = [
        await harness.client.post("/api/v1/auth/login", json={"name": "bob", "password": "nope"})
        for _ in range(6)
    ]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert answers[0].json()["detail"].startswith("wrong name or password")
    assert answers[5].status_code == 429 and int(answers[5].headers["retry-after"]) >= 1
    right = await harness.client.post(
        "/api/v1/auth/login", json={"name": "bob", "password": "a long good password"}
    )
    assert right.status_code == 429  # even the right password waits out the lock
    unknown = await harness.client.post("/api/v1/auth/login", json={"name": "x", "password": "y"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == answers[0].json()["detail"]


async def test_the_last_admin_cannot_be_demoted_disabled_or_deleted(harness):
    await harness.client.post(
        "/api/v1/users", json={"name": "root", "password": "a long good password", "role": "admin"}
    )
    demote = await harness.client.patch("/api/v1/users/root", json={"role": "viewer"})
    delete = await harness.client.delete("/api/v1/users/root")
    assert demote.status_code == delete.status_code == 409
    assert "last admin" in demote.json()["detail"]


async def test_changes_are_audited_with_who_before_after_and_no_secret(harness):
    def store(request):
        return {"dataset": "orders", "rules": request["rules"]["rules"]}

    harness.owners.answer("quality", "rules.put", store)
    await harness.client.put("/api/v1/datasets/orders/rules", json={"rules": []})
    created = await harness.client.post("/api/v1/keys", json={"name": "x", "role": "viewer"})
    refused = await harness.client.put(
        "/api/v1/datasets/orders/rules", json={"rules": []}, headers=harness.as_role("viewer")
    )
    assert refused.status_code == 403
    entries = harness.audit.entries
    actions = [(e["action"], e["status"], e["role"]) for e in entries]
    assert ("put_rules", 200, "admin") in actions
    assert ("create_key", 201, "admin") in actions
    assert ("put_rules", 403, "viewer") in actions  # refused attempts are recorded too
    key_entry = next(e for e in entries if e["action"] == "create_key")
    assert created.json()["key"] not in str(entries)
    assert key_entry["after"]["id"] == created.json()["id"] and key_entry["target"]
    listed = (await harness.client.get("/api/v1/audit", params={"action": "put_rules"})).json()
    assert {e["status"] for e in listed["entries"]} == {200, 403}


async def test_a_burst_on_an_expensive_route_is_refused_with_retry_after(harness):
    harness.owners.answer("quality", "replay", lambda r: {"runs": []})
    app_state = harness.client._transport.app.state
    app_state.limiter = RateLimiter({"jobs": 3})
    answers = [
        await harness.client.post("/api/v1/datasets/orders/quality/replay", json={"all": True})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
    assert answers[3].json()["type"] == "/problems/rate-limited"
    assert float(answers[3].headers["retry-after"]) >= 1
    other = await harness.client.post(
        "/api/v1/datasets/orders/quality/replay", json={"all": True},
        headers=harness.as_role("operator"),
    )  # fmt: skip
    assert other.status_code == 202  # per caller: another key is not held back


async def test_bodies_over_the_limit_are_refused_before_they_are_read(harness):
    settings = harness.gateway.settings
    big = b"x" * (settings.body_limit_bytes + 10)
    declared = await harness.client.put(
        "/api/v1/datasets/orders/rules.yaml", content=big,
        headers={"content-type": "application/yaml"},
    )  # fmt: skip

    async def chunks():
        for _ in range(11):
            yield b"y" * (settings.body_limit_bytes // 10)

    streamed = await harness.client.put(
        "/api/v1/datasets/orders/rules.yaml", content=chunks(),
        headers={"content-type": "application/yaml"},
    )  # fmt: skip
    assert declared.status_code == streamed.status_code == 413
    assert "FLOWFORGE_BODY_LIMIT" in streamed.json()["detail"]


async def test_an_unknown_host_header_is_refused(harness):
    response = await harness.client.get("/healthz", headers={"host": "evil.example"})
    assert response.status_code == 400


@pytest.mark.parametrize("role", ROLES)
async def test_who_am_i_answers_the_callers_role(harness, role):
    me = await harness.client.get("/api/v1/auth/me", headers=harness.as_role(role))
    assert me.json()["role"] == role and me.json()["kind"] == "key"


async def test_a_key_cannot_revoke_itself_but_another_admin_key_can(harness):
    made = await harness.client.post("/api/v1/keys", json={"name": "ops", "role": "admin"})
    own = {"authorization": f"Bearer {made.json()['key']}"}
    path = f"/api/v1/keys/{made.json()['id']}"

    itself = await harness.client.delete(path, headers=own)
    other = await harness.client.delete(path)

    assert itself.status_code == 409 and "signs this request" in itself.json()["detail"]
    assert other.status_code == 204
