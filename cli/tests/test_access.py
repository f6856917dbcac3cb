"""`flowforge whoami|keys|users` against a fake gateway: the key printed once, passwords never
taken from the command line, the API's refusals as exit codes."""

from __future__ import annotations

import httpx

KEY_ROW = {
    "id": "k1",
    "name": "ci",
    "role": "operator",
    "created_by": "admin",
    "created_at": "2026-12-01T10:00:00+00:00",
    "expires_at": None,
    "revoked_at": None,
    "last_used_at": None,
}
USER = {
    "name": "ana",
    "role": "analyst",
    "disabled": False,
    "last_login_at": None,
    "locked_until": None,
    "created_at": "2026-12-01T10:00:00+00:00",
    "updated_at": "2026-12-01T10:00:00+00:00",
}


def test_keys_create_prints_the_key_once_on_stdout(cli, gateway):
    gateway.on("POST", "/api/v1/keys", httpx.Response(201, json={**KEY_ROW, "key": "ffk_k1_s3"}))

    done = cli("keys", "create", "ci", "--role", "operator", "--expires", "2027-01-01T00:00:00Z")

    assert done.code == 0, done.err
    expected = {"name": "ci", "role": "operator", "expires_at": "2027-01-01T00:00:00Z"}
    assert gateway.body() == expected
    assert done.out.strip().splitlines()[-1] == "ffk_k1_s3"


def test_keys_list_hides_revoked_keys_unless_all(cli, gateway):
    revoked = {**KEY_ROW, "id": "k2", "name": "old", "revoked_at": "2026-12-02T10:00:00+00:00"}
    gateway.on("GET", "/api/v1/keys", {"keys": [KEY_ROW, revoked]})

    some, every = cli("keys", "list", "--json"), cli("keys", "list", "--all", "--json")

    assert [k["id"] for k in some.json()["keys"]] == ["k1"]
    assert [k["id"] for k in every.json()["keys"]] == ["k1", "k2"]


def test_keys_revoke_of_an_unknown_key_exits_not_found(cli, gateway):
    gateway.on("DELETE", "/api/v1/keys/nope", gateway.problem(404, "no API key 'nope'"))

    done = cli("keys", "revoke", "nope")

    assert done.code == 5
    assert "no API key 'nope'" in done.err


def test_users_add_reads_the_password_from_a_file_never_argv(cli, gateway, tmp_path):
    gateway.on("POST", "/api/v1/users", httpx.Response(201, json=USER))
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery\n")

    done = cli("users", "add", "ana", "--role", "analyst", "--password-file", str(secret))

    assert done.code == 0, done.err
    assert gateway.body() == {"name": "ana", "password": "correct horse battery", "role": "analyst"}
    assert "correct horse" not in done.out + done.err


def test_users_add_refuses_a_short_password_before_asking_the_gateway(cli, gateway, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("short")

    done = cli("users", "add", "ana", "--password-file", str(secret))

    assert done.code == 2
    assert "12 characters" in done.err
    assert gateway.requests == []


def test_users_set_sends_only_what_changes_and_the_last_admin_conflict_exits_6(cli, gateway):
    gateway.on(
        "PATCH",
        "/api/v1/users/admin",
        gateway.problem(409, "'admin' is the last admin; make another admin first"),
    )

    done = cli("users", "set", "admin", "--role", "viewer")

    assert gateway.body() == {"role": "viewer"}
    assert done.code == 6 and "last admin" in done.err


def test_users_set_without_a_change_is_a_usage_error(cli, gateway):
    done = cli("users", "set", "ana")

    assert done.code == 2 and "nothing to change" in done.err


def test_whoami_shows_the_role_and_a_refused_key_exits_4(cli, gateway, key):
    gateway.on(
        "GET",
        "/api/v1/auth/me",
        {"kind": "key", "name": "ci", "role": "operator", "key_id": "k1"},
        gateway.problem(401, "this API key was revoked"),
    )

    first = cli("whoami", "--api-key", key)
    second = cli("whoami", "--api-key", key)

    assert first.code == 0 and "operator" in first.out
    assert gateway.requests[0].headers["authorization"] == f"Bearer {key}"
    assert second.code == 4 and "revoked" in second.err
