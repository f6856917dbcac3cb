"""`flowforge ingest FILE`: upload through the gateway with a progress bar, follow the run."""

from __future__ import annotations

import argparse
import time

from flowforge.cli.api import Api
from flowforge.cli.client import print_run, upload
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.follow import describe_run, follow
from flowforge.cli.output import Output

# A run the platform just started (an extraction, say) is in the run history once the catalog
# has its first event: until then (at most this long) following it sees it queued, not gone.
RECORDING_GRACE_SECONDS = 30.0


def ingest(args: argparse.Namespace, api: Api, out: Output) -> int:
    if not args.file.is_file():
        raise UsageError(f"no such file: {args.file}")
    progress = out.err if out.as_json else out.console
    accepted = upload(api, args.file, args.dataset, args.key, out=progress)
    if args.no_wait:
        if out.as_json:
            out.json(accepted)
        else:
            out.line(f"accepted: run {accepted['run_id']} → dataset {accepted['dataset']}")
        return Exit.OK
    progress.print(
        f"accepted: run {accepted['run_id']} → dataset {accepted['dataset']}", markup=False
    )
    return follow_run(api, out, accepted["run_id"], args.timeout)


def follow_run(api: Api, out: Output, run_id: str, timeout: float) -> int:
    """Follow a run to its end and print it: exit 0 if it succeeded."""
    began = time.monotonic()

    def fetch() -> dict:
        ref = f"/api/v1/runs/{run_id}"
        if time.monotonic() - began > RECORDING_GRACE_SECONDS:
            return api.json("GET", ref)
        answer = api.request("GET", ref, allow=(404,))
        if answer.status_code == 404:  # not recorded yet
            return {"run_id": run_id, "status": "queued"}
        return answer.json()

    run = follow(
        fetch,
        describe_run,
        timeout=timeout,
        what=f"run {run_id}",
        console=out.err if out.as_json else out.console,
    )
    if out.as_json:
        out.json(run)
    else:
        print_run(run)
    return Exit.OK if run["status"] == "succeeded" else Exit.FAILED
