"""`flowforge runs list|show|wait`: the runs of landed files, their stages and row counts."""

from __future__ import annotations

import argparse
from typing import Any

from flowforge.cli.api import Api
from flowforge.cli.errors import Exit
from flowforge.cli.follow import describe_run, follow
from flowforge.cli.output import Output, when


def list_runs(args: argparse.Namespace, api: Api, out: Output) -> int:
    # The status filter is also applied here: a gateway that ignores it still gets it right.
    wanted = args.status
    body = api.collect(
        "/api/v1/runs",
        "runs",
        {"dataset": args.dataset, "status": wanted},
        None if args.all else args.limit,
        keep=lambda run: not wanted or run.get("status") == wanted,
    )
    if out.as_json:
        out.json(body)
        return Exit.OK
    runs = body["runs"]
    if not runs:
        out.line("no runs")
        return Exit.OK
    out.table(
        ("run", "dataset", "file", "status", "verdict", "created", "valid", "quar.", "rej."),
        [
            (
                r["run_id"],
                r.get("dataset"),
                r.get("filename"),
                r.get("status"),
                r.get("verdict"),
                when(r.get("created_at")),
                (r.get("counts") or {}).get("valid"),
                (r.get("counts") or {}).get("quarantined"),
                (r.get("counts") or {}).get("rejected"),
            )
            for r in runs
        ],
    )
    if body.get("next") and not args.all:
        out.say(f"showing {len(runs)}; more with --limit N or --all")
    return Exit.OK


def show_run(args: argparse.Namespace, api: Api, out: Output) -> int:
    run = api.json("GET", f"/api/v1/runs/{args.run_id}")
    if out.as_json:
        out.json(run)
    else:
        print_run_details(run, out)
    return Exit.OK


def wait_run(args: argparse.Namespace, api: Api, out: Output) -> int:
    """Exit 0 when the run succeeded, 1 when it failed, 7 past --timeout."""
    run = follow(
        lambda: api.json("GET", f"/api/v1/runs/{args.run_id}"),
        describe_run,
        timeout=args.timeout,
        what=f"run {args.run_id}",
        console=out.err,
    )
    assert run is not None  # not cancellable from here
    if out.as_json:
        out.json(run)
    else:
        print_run_details(run, out)
    return Exit.OK if run.get("status") == "succeeded" else Exit.FAILED


def print_run_details(run: dict[str, Any], out: Output) -> None:
    from flowforge.cli.client import print_run

    out.fields(
        [
            ("file", run.get("filename")),
            ("created", when(run.get("created_at"))),
            ("updated", when(run.get("updated_at"))),
            ("verdict", run.get("verdict")),
            ("error", run.get("error")),
        ]
    )
    print_run(run)
    failed = [c for c in run.get("checks") or [] if c.get("status") not in (None, "passed")]
    for check in failed:
        out.line(f"check {check.get('name')}: {check.get('status')} ({check.get('detail', '')})")
