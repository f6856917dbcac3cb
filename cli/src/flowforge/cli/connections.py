"""`flowforge connections add|list|show|test|tables|preview|rm`: source databases. A password
is read from a file, stdin or the terminal, never from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any
from urllib.parse import quote

from flowforge.cli.access import given_password
from flowforge.cli.api import Api
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.ingest import follow_run
from flowforge.cli.output import Output, when


def _path(name: str, tail: str = "") -> str:
    return f"/api/v1/connections/{quote(name, safe='')}{tail}"


def _password(args: argparse.Namespace) -> str | None:
    if (text := given_password(args)) is not None or not args.ask_password:
        return text
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: use --password-file or "
                         "--password-stdin")  # fmt: skip
    return getpass.getpass(f"password of {args.user or 'the user'} on {args.host}: ")


def _options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--option takes KEY=VALUE, not {pair!r}")
        options[key] = int(value) if value.isdigit() else value
    return options


def add(args: argparse.Namespace, api: Api, out: Output) -> int:
    body: dict[str, Any] = {
        "kind": args.kind, "host": args.host, "database": args.database or "",
        "user": args.user or "", "options": _options(args.option or []),
    }  # fmt: skip
    if args.port:
        body["port"] = args.port
    if (password := _password(args)) is not None:
        body["password"] = password
    saved = api.json("PUT", _path(args.name), json=body)
    if out.as_json:
        out.json(saved)
    else:
        out.say(f"connection {args.name} saved ({saved['kind']} {saved['host']}:{saved['port']}"
                f", password {'set' if saved['has_password'] else 'none'}); "
                f"`flowforge connections test {args.name}` tries it")  # fmt: skip
    return Exit.OK


def list_(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("GET", "/api/v1/connections")
    if out.as_json:
        out.json(body)
        return Exit.OK
    if not body["connections"]:
        out.line("no connections yet: `flowforge connections add NAME --kind ... --host ...`")
        return Exit.OK
    out.table(
        ("connection", "kind", "host", "port", "database", "user", "password", "updated"),
        [(c["name"], c["kind"], c["host"], c["port"], c["database"], c["user"],
          "set" if c["has_password"] else "-", when(c["updated_at"]))
         for c in body["connections"]],
    )  # fmt: skip
    return Exit.OK


def show(args: argparse.Namespace, api: Api, out: Output) -> int:
    out.json(api.json("GET", _path(args.name)))
    return Exit.OK


def test(args: argparse.Namespace, api: Api, out: Output) -> int:
    result = api.json("POST", _path(args.name, "/test"))
    if out.as_json:
        out.json(result)
    elif result["ok"]:
        out.say(f"{args.name}: connected in {result['connect_ms']} ms, round trip "
                f"{result['round_trip_ms']} ms — {result['server_version']}")  # fmt: skip
    else:
        out.line(f"{args.name}: {result['error']['kind']}: {result['error']['detail']}")
    return Exit.OK if result["ok"] else Exit.FAILED


def tables(args: argparse.Namespace, api: Api, out: Output) -> int:
    params = {"schema": args.schema} if args.schema else None
    body = api.json("GET", _path(args.name, "/tables"), params=params)
    if out.as_json:
        out.json(body)
        return Exit.OK
    out.table(
        ("schema", "table", "type", "rows (est.)", "columns", "primary key"),
        [(t["schema"], t["name"], t["type"], t["row_estimate"], len(t["columns"]),
          ", ".join(t["primary_key"])) for t in body["tables"]],
    )  # fmt: skip
    return Exit.OK


def preview(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("GET", _path(args.name, "/preview"),
                    params={"table": args.table, "limit": args.limit})  # fmt: skip
    if out.as_json:
        out.json(body)
        return Exit.OK
    out.table(tuple(c["name"] for c in body["columns"]), [tuple(r) for r in body["rows"]])
    return Exit.OK


def remove(args: argparse.Namespace, api: Api, out: Output) -> int:
    api.request("DELETE", _path(args.name))
    out.say(f"connection {args.name} removed")
    return Exit.OK


def set_source(args: argparse.Namespace, api: Api, out: Output) -> int:
    """`flowforge sources set DATASET --connection C --table T | --query-file F ...`"""
    body: dict[str, Any] = {"connection": args.connection, "mode": args.mode}
    if args.query_file:
        try:
            body["query"] = args.query_file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {args.query_file}: {exc}") from exc
    else:
        body["table"] = args.table
    for field in ("cursor", "lookback", "initial"):
        if getattr(args, field) is not None:
            body[field] = getattr(args, field)
    if args.key:
        body["key"] = [k.strip() for k in args.key.split(",") if k.strip()]
    saved = api.json("PUT", f"/api/v1/datasets/{quote(args.dataset, safe='')}/source", json=body)
    if out.as_json:
        out.json(saved)
    else:
        what = saved["table"] or "a query"
        how = f"incremental by {saved['cursor']}" if saved["mode"] == "incremental" else "full"
        out.say(f"{args.dataset} now comes from {saved['connection']}:{what} ({how}); "
                f"`flowforge extract {args.dataset}` runs it")  # fmt: skip
    return Exit.OK


def show_source(args: argparse.Namespace, api: Api, out: Output) -> int:
    out.json(api.json("GET", f"/api/v1/datasets/{quote(args.dataset, safe='')}/source"))
    return Exit.OK


def extract(args: argparse.Namespace, api: Api, out: Output) -> int:
    """Start an extraction run and, unless --no-wait, follow it like `ingest` does."""
    started = api.json("POST", f"/api/v1/datasets/{quote(args.dataset, safe='')}/extract")
    said = f"extracting: run {started['run_id']} ({started['window']})"
    if args.no_wait:
        if out.as_json:
            out.json(started)
        else:
            out.line(said)
        return Exit.OK
    (out.err if out.as_json else out.console).print(said, markup=False)
    return follow_run(api, out, started["run_id"], args.timeout)
