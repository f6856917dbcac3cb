"""`flowforge jobs show|wait`, and the answer of any long operation: its result at once
(today's 200), or a job (202 + Location) shown, or followed to its end with --wait."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from flowforge.cli.api import Api, job_location
from flowforge.cli.errors import CliError, Exit
from flowforge.cli.follow import describe_job, follow
from flowforge.cli.output import Output, when

ShowResult = Callable[[Any, Output], None]


def _path(job_id: str) -> str:
    return f"/api/v1/jobs/{quote(job_id, safe='')}"


def show_job(args: argparse.Namespace, api: Api, out: Output) -> int:
    job = api.json("GET", _path(args.job_id))
    print_job(job, out, show_any)
    return Exit.OK


def wait_job(args: argparse.Namespace, api: Api, out: Output) -> int:
    """Exit 0 when the job succeeded, 1 when it failed, 7 past --timeout."""
    return follow_job(_path(args.job_id), args.timeout, api, out, show_any)


def finish(
    response: httpx.Response, args: argparse.Namespace, api: Api, out: Output, show: ShowResult
) -> int:
    try:
        body = response.json()
    except ValueError as exc:
        raise CliError(f"the gateway answered {response.request.url.path} with no JSON") from exc
    location = job_location(response)
    if location is None:
        if out.as_json:
            out.json(body)
        else:
            show(body, out)
        return Exit.OK
    if getattr(args, "wait", False):
        return follow_job(location, args.timeout, api, out, show)
    if out.as_json:
        out.json(body)
    else:
        job_id = body.get("id") or location.rstrip("/").rsplit("/", 1)[-1]
        out.line(f"job {job_id}: {body.get('status', 'queued')}")
        out.say(f"follow it with `flowforge jobs wait {job_id}` (or pass --wait)")
    return Exit.OK


def follow_job(location: str, timeout: float, api: Api, out: Output, show: ShowResult) -> int:
    job = follow(
        lambda: api.json("GET", location),
        describe_job,
        timeout=timeout,
        what=f"job {location.rstrip('/').rsplit('/', 1)[-1]}",
        console=out.err,
    )
    assert job is not None  # not cancellable from here
    print_job(job, out, show)
    return Exit.OK if job.get("status") == "succeeded" else Exit.FAILED


def print_job(job: dict[str, Any], out: Output, show: ShowResult) -> None:
    if out.as_json:
        out.json(job)
        return
    out.fields(
        [
            ("job", job.get("id")),
            ("kind", job.get("kind")),
            ("status", job.get("status")),
            ("created", when(job.get("created_at"))),
            ("finished", when(job.get("finished_at"))),
            ("error", job.get("error")),
        ]
    )
    if job.get("result") is not None:
        show(job["result"], out)


def show_any(result: Any, out: Output) -> None:
    """A result whose shape this CLI does not know: as fields, or as JSON."""
    if isinstance(result, dict) and all(not isinstance(v, dict | list) for v in result.values()):
        out.fields(result.items())
    else:
        out.json(result)
