"""`flowforge replay` and `flowforge release`: the two actions that change which rows are
valid (re-check batches with today's rules; let quarantined rows back in, with a reason)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from flowforge.cli.api import Api
from flowforge.cli.errors import UsageError
from flowforge.cli.jobs import finish
from flowforge.cli.output import Output


def _path(dataset: str) -> str:
    return f"/api/v1/datasets/{quote(dataset, safe='')}"


def replay(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = {"run_ids": args.runs} if args.runs else {"all": True}
    response = api.post(f"{_path(args.dataset)}/quality/replay", json=body)
    return finish(response, args, api, out, print_batches)


def release(args: argparse.Namespace, api: Api, out: Output) -> int:
    if args.lines and not args.run:
        raise UsageError("line numbers belong to one file: give --run with --line")
    if not (args.run or args.rule or args.lines or args.all):
        raise UsageError("say which rows: --run ID, --rule NAME, --line N (with --run), or --all")
    body = {
        "reason": args.reason,
        "run_id": args.run,
        "rule": args.rule,
        "lines": args.lines,
        "all": args.all or None,
    }
    response = api.post(
        f"{_path(args.dataset)}/quarantine/release",
        json={k: v for k, v in body.items() if v is not None},
    )
    return finish(response, args, api, out, print_release)


def print_batches(result: dict[str, Any], out: Output) -> None:
    runs = result.get("runs") or []
    if not runs:
        out.line("no batch to re-check")
        return
    out.table(
        ("run", "revision", "verdict", "quarantined", "valid", "status"),
        [
            (
                r.get("run_id"),
                r.get("revision"),
                r.get("verdict"),
                r.get("quarantined"),
                r.get("valid"),
                r.get("status", "done"),
            )
            for r in runs
        ],
    )
    if result.get("note"):
        out.say(result["note"])


def print_release(result: dict[str, Any], out: Output) -> None:
    out.fields(
        [
            ("released rows", result.get("released_rows")),
            ("released entries", result.get("released_entries")),
            ("kept back", result.get("not_released")),
        ]
    )
    print_batches(result, out)
