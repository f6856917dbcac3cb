"""`flowforge lakehouse`: where the lake's tables are and how another engine reads them
(`GET /api/v1/lakehouse`)."""

from __future__ import annotations

import argparse

from flowforge.cli.api import Api
from flowforge.cli.errors import Exit
from flowforge.cli.output import Output


def run(args: argparse.Namespace, api: Api, out: Output) -> int:
    found = api.json("GET", "/api/v1/lakehouse")
    if out.as_json:
        out.json(found)
        return Exit.OK
    catalog = found["catalog"]
    out.fields([("format", found["format"]), ("warehouse", catalog["warehouse"])]
               + sorted(catalog["storage_options"].items()))  # fmt: skip
    out.table(
        ["table", "version", "rows", "updated", "location"],
        [
            [t["name"], t["version"], t["rows"], t["updated_at"][:19], t["location"]]
            for t in found["tables"]
        ],
        title="tables",
    )
    for engine, how in found["engines"].items():
        out.line(f"{engine}: {how}")
    return Exit.OK
