"""`flowforge keys|users|whoami`: API keys for machines, users for people (admins only).

A new key is printed once (the gateway keeps only its hash); a password is read from a
prompt, a file or stdin, never from the command line (other local users see arguments)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any
from urllib.parse import quote

from flowforge.cli.api import Api
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.output import Output, when

MIN_PASSWORD = 12


def whoami(args: argparse.Namespace, api: Api, out: Output) -> int:
    me = api.json("GET", "/api/v1/auth/me")
    if out.as_json:
        out.json(me)
        return Exit.OK
    out.fields(
        [("name", me.get("name")), ("kind", me.get("kind")), ("role", me.get("role")),
         ("key", me.get("key_id")), ("expires", when(me.get("expires_at")))]
    )  # fmt: skip
    return Exit.OK


def create_key(args: argparse.Namespace, api: Api, out: Output) -> int:
    body: dict[str, Any] = {"name": args.name, "role": args.role}
    if args.expires:
        body["expires_at"] = args.expires
    created = api.json("POST", "/api/v1/keys", json=body)
    if out.as_json:
        out.json(created)
        return Exit.OK
    out.fields([("id", created["id"]), ("name", created["name"]), ("role", created["role"]),
                ("expires", when(created.get("expires_at")))])  # fmt: skip
    out.say("the key is shown this once; FlowForge keeps only its hash:")
    out.line(created["key"])
    return Exit.OK


def list_keys(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("GET", "/api/v1/keys")
    keys = [k for k in body["keys"] if args.all or not k.get("revoked_at")]
    if out.as_json:
        out.json({"keys": keys})
        return Exit.OK
    if not keys:
        out.line("no API keys: `flowforge keys create NAME --role viewer` makes one")
        return Exit.OK
    out.table(
        ("id", "name", "role", "created by", "expires", "last used", "revoked"),
        [(k["id"], k["name"], k["role"], k.get("created_by"), when(k.get("expires_at")),
          when(k.get("last_used_at")), when(k.get("revoked_at"))) for k in keys],
    )  # fmt: skip
    return Exit.OK


def revoke_key(args: argparse.Namespace, api: Api, out: Output) -> int:
    api.request("DELETE", f"/api/v1/keys/{quote(args.key_id, safe='')}")
    if out.as_json:
        out.json({"revoked": args.key_id})
    else:
        out.say(f"revoked key {args.key_id}: refused from the next request on")
    return Exit.OK


def given_password(args: argparse.Namespace) -> str | None:
    """The password from --password-file or stdin (--password-stdin); None if neither."""
    if args.password_file:
        try:
            return args.password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read {args.password_file}: {exc}") from exc
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return None


def read_password(args: argparse.Namespace, prompt: str) -> str:
    """The password from --password-file, from stdin (--password-stdin), or typed twice."""
    text = given_password(args)
    if text is None:
        if not sys.stdin.isatty():
            raise UsageError("no terminal to ask for a password: use --password-file or "
                             "--password-stdin")  # fmt: skip
        text = getpass.getpass(prompt)
        if getpass.getpass("again: ") != text:
            raise UsageError("the two passwords differ")
    if len(text) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    return text


def add_user(args: argparse.Namespace, api: Api, out: Output) -> int:
    password = read_password(args, f"password for {args.name}: ")
    user = api.json(
        "POST", "/api/v1/users", json={"name": args.name, "password": password, "role": args.role}
    )
    return _print_user(user, out, f"user {args.name} ({args.role}) added")


def list_users(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("GET", "/api/v1/users")
    if out.as_json:
        out.json(body)
        return Exit.OK
    out.table(
        ("name", "role", "disabled", "last login", "locked until"),
        [(u["name"], u["role"], u["disabled"], when(u.get("last_login_at")),
          when(u.get("locked_until"))) for u in body["users"]],
    )  # fmt: skip
    return Exit.OK


def set_user(args: argparse.Namespace, api: Api, out: Output) -> int:
    body: dict[str, Any] = {}
    if args.role:
        body["role"] = args.role
    if args.disable or args.enable:
        body["disabled"] = bool(args.disable)
    if args.password or args.password_file or args.password_stdin:
        body["password"] = read_password(args, f"new password for {args.name}: ")
    if not body:
        raise UsageError("nothing to change: give --role, --password, --disable or --enable")
    user = api.json("PATCH", f"/api/v1/users/{quote(args.name, safe='')}", json=body)
    return _print_user(user, out, f"user {args.name} changed")


def remove_user(args: argparse.Namespace, api: Api, out: Output) -> int:
    api.request("DELETE", f"/api/v1/users/{quote(args.name, safe='')}")
    if out.as_json:
        out.json({"removed": args.name})
    else:
        out.say(f"user {args.name} removed")
    return Exit.OK


def _print_user(user: dict[str, Any], out: Output, message: str) -> int:
    if out.as_json:
        out.json(user)
    else:
        out.say(message)
        out.fields([("name", user["name"]), ("role", user["role"]),
                    ("disabled", user["disabled"])])  # fmt: skip
    return Exit.OK
