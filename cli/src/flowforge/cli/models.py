"""`flowforge models list|show|apply`: Gold models (DuckDB SQL over Silver datasets)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from flowforge.cli.api import Api
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.jobs import finish
from flowforge.cli.output import Output, when


def _error(model: dict[str, Any]) -> Any:
    return model.get("error") or model.get("last_error")


def list_models(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.collect("/api/v1/models", "models", {}, None if args.all else args.limit)
    if out.as_json:
        out.json(body)
        return Exit.OK
    if not body["models"]:
        out.line("no models yet: `flowforge models apply NAME FILE.sql` adds one")
        return Exit.OK
    out.table(
        ("model", "built", "rows", "reads", "updated", "error"),
        [
            (
                m["name"],
                m.get("built"),
                m.get("row_count"),
                m.get("depends_on"),
                when(m.get("updated_at")),
                _error(m),
            )
            for m in body["models"]
        ],
    )
    return Exit.OK


def show_model(args: argparse.Namespace, api: Api, out: Output) -> int:
    model = api.json("GET", f"/api/v1/models/{quote(args.name, safe='')}")
    if out.as_json:
        out.json(model)
    else:
        print_model(model, out)
    return Exit.OK


def apply_model(args: argparse.Namespace, api: Api, out: Output) -> int:
    """Register or replace a model; the gateway builds it from the data already landed."""
    try:
        sql = args.file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from exc
    body = {"name": args.name, "sql": sql, "reconcile": parse_reconcile(args.reconcile or [])}
    response = api.post("/api/v1/models", json=body)
    return finish(response, args, api, out, print_model)


def parse_reconcile(pairs: list[str]) -> dict[str, str]:
    """`revenue=orders.amount` pairs to the API's `{gold column: 'dataset.column'}`."""
    out = {}
    for pair in pairs:
        column, sep, source = pair.partition("=")
        if not sep or not column.strip() or "." not in source:
            raise UsageError(f"--reconcile {pair!r}: write it as gold_column=dataset.column")
        out[column.strip()] = source.strip()
    return out


def print_model(model: dict[str, Any], out: Output) -> None:
    out.fields(
        [
            ("model", model.get("name")),
            ("built", model.get("built")),
            ("rows", model.get("row_count")),
            ("reads", model.get("depends_on")),
            ("reconcile", model.get("reconcile")),
            ("updated", when(model.get("updated_at"))),
            ("error", _error(model)),
        ]
    )
    if model.get("columns"):
        out.line("columns: " + ", ".join(f"{c['name']}:{c['type']}" for c in model["columns"]))
    if model.get("sql"):
        out.line(model["sql"])


def sync_models(args: argparse.Namespace, api: Api, out: Output) -> int:
    """Apply every model of a folder (`.sql` files with dbt's config/ref/source, `.yml` with
    descriptions and tests), those read first first; `--dry-run` only checks and lists."""
    from flowforge.common.errors import BadInputError
    from flowforge.common.modelfiles import load_project

    try:
        bodies = load_project(args.folder)
    except BadInputError as exc:
        raise UsageError(str(exc)) from None
    if not bodies:
        raise UsageError(f"no .sql model files under {args.folder}")
    rows = []
    for body in bodies:
        if args.dry_run:
            rows.append((body["name"], body.get("materialized", "table"), "checked", ""))
            continue
        saved = api.json("POST", "/api/v1/models", json=body)
        rows.append((saved["name"], saved.get("materialized"), "applied", _error(saved) or ""))
    if out.as_json:
        out.json({"models": [dict(zip(("name", "materialized", "status", "error"), r,
                                       strict=True)) for r in rows]})  # fmt: skip
    else:
        out.table(("model", "materialized", "status", "last error"), rows)
        verb = "would be applied" if args.dry_run else "applied; each is built from the data"
        out.line(f"{len(rows)} model(s) {verb}")
    return Exit.OK
