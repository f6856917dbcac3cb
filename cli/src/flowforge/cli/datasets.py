"""`flowforge datasets list|show` and `flowforge rules get|apply`."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import quote

from flowforge.cli.api import Api
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.output import Output, when

RULE_FIELDS = ("name", "type", "column", "action")


def _path(name: str) -> str:
    return f"/api/v1/datasets/{quote(name, safe='')}"


def _rows(dataset: dict[str, Any], layer: str) -> Any:
    return ((dataset.get("layers") or {}).get(layer) or {}).get("row_count")


def list_datasets(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.collect("/api/v1/datasets", "datasets", {}, None if args.all else args.limit)
    if out.as_json:
        out.json(body)
        return Exit.OK
    if not body["datasets"]:
        out.line("no datasets yet: `flowforge ingest FILE` lands one")
        return Exit.OK
    out.table(
        ("dataset", "key", "bronze rows", "silver rows", "runs", "last run", "status", "at"),
        [
            (
                d["name"],
                d.get("key"),
                _rows(d, "bronze"),
                _rows(d, "silver"),
                d.get("runs"),
                (d.get("last_run") or {}).get("run_id"),
                (d.get("last_run") or {}).get("status"),
                when((d.get("last_run") or {}).get("created_at")),
            )
            for d in body["datasets"]
        ],
    )
    if body.get("next") and not args.all:
        out.say(f"showing {len(body['datasets'])}; more with --limit N or --all")
    return Exit.OK


def show_dataset(args: argparse.Namespace, api: Api, out: Output) -> int:
    dataset = api.json("GET", _path(args.name))
    if out.as_json:
        out.json(dataset)
        return Exit.OK
    last = dataset.get("last_run") or {}
    out.fields(
        [
            ("dataset", dataset.get("name")),
            ("key", dataset.get("key")),
            ("runs", dataset.get("runs")),
            ("last run", f"{last.get('run_id')} ({last.get('status')})" if last else None),
        ]
    )
    layers = (dataset.get("layers") or {}).values()
    out.table(
        ("layer", "version", "rows", "columns", "updated", "location"),
        [
            (
                layer.get("layer"),
                layer.get("version"),
                layer.get("row_count"),
                layer.get("columns"),
                when(layer.get("updated_at")),
                layer.get("location"),
            )
            for layer in layers
        ],
    )
    return Exit.OK


def get_rules(args: argparse.Namespace, api: Api, out: Output) -> int:
    if args.yaml:
        if out.as_json:
            raise UsageError("--yaml and --json: choose one")
        response = api.get(f"{_path(args.dataset)}/rules.yaml")
        sys.stdout.write(response.text if response.text.endswith("\n") else response.text + "\n")
        return Exit.OK
    body = api.json("GET", f"{_path(args.dataset)}/rules")
    if out.as_json:
        out.json(body)
    else:
        print_rules(body, out)
    return Exit.OK


def apply_rules(args: argparse.Namespace, api: Api, out: Output) -> int:
    try:
        text = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from exc
    body = api.json(
        "PUT",
        f"{_path(args.dataset)}/rules.yaml",
        content=text,
        headers={"content-type": "application/yaml"},
    )
    if out.as_json:
        out.json(body)
        return Exit.OK
    print_rules(body, out)
    out.say(
        f"{len(body.get('rules') or [])} rule(s) now apply to the next batches of {args.dataset}; "
        f"`flowforge replay {args.dataset}` re-checks the batches already landed"
    )
    return Exit.OK


def print_rules(body: dict[str, Any], out: Output) -> None:
    rules = body.get("rules") or []
    if not rules:
        out.line(f"dataset {body.get('dataset')} has no rules")
        return
    out.table(
        (*RULE_FIELDS, "settings"),
        [
            (
                *(rule.get(f) for f in RULE_FIELDS),
                {k: v for k, v in rule.items() if k not in RULE_FIELDS},
            )
            for rule in rules
        ],
        title=f"rules of {body.get('dataset')}",
    )
