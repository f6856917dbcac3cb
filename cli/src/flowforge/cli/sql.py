"""`flowforge sql "SELECT ..." [--limit N] [--out FILE.csv|FILE.parquet]`: read-only SQL over
datasets (their valid Silver rows) and Gold models (`POST /api/v1/sql`)."""

from __future__ import annotations

import argparse
import sys

from flowforge.cli.api import Api
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.output import Output


def run(args: argparse.Namespace, api: Api, out: Output) -> int:
    query = sys.stdin.read() if args.query == "-" else args.query
    body = {"sql": query, "limit": args.limit}
    if args.out is not None:
        fmt = args.out.suffix.lstrip(".").lower()
        if fmt not in ("csv", "parquet"):
            raise UsageError("--out takes a .csv or .parquet file")
        answer = api.post("/api/v1/sql", params={"format": fmt}, json=body)
        args.out.write_bytes(answer.content)
        out.say(f"written to {args.out} ({len(answer.content):,} bytes)")
        return Exit.OK
    result = api.json("POST", "/api/v1/sql", json=body)
    if out.as_json:
        out.json(result)
        return Exit.OK
    out.table([c["name"] for c in result["columns"]], result["rows"])
    more = f", more than {args.limit} matched (--limit)" if result["truncated"] else ""
    out.line(f"{len(result['rows'])} row(s) in {result['seconds']} s{more}")
    return Exit.OK
