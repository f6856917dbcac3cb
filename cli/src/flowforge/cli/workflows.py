"""`flowforge workflows list|show|apply|rm|run|backfill|pause|resume|runs|cancel`: scheduled
workflows, defined in YAML (the same document the workflows folder holds)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

import yaml

from flowforge.cli.api import Api
from flowforge.cli.errors import Exit, UsageError
from flowforge.cli.output import Output, when


def _path(name: str, tail: str = "") -> str:
    return f"/api/v1/workflows/{quote(name, safe='')}{tail}"


def _schedule(wf: dict[str, Any]) -> str:
    schedule = wf["definition"].get("schedule") or {}
    if "cron" in schedule:
        return f"{schedule['cron']} ({schedule.get('timezone', 'UTC')})"
    if "every" in schedule:
        return f"every {schedule['every']}"
    after = wf["definition"].get("after")
    return f"after {', '.join(after)}" if after else "manual"


def list_(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("GET", "/api/v1/workflows")
    if out.as_json:
        out.json(body)
        return Exit.OK
    if not body["workflows"]:
        out.line("no workflows yet: `flowforge workflows apply FILE.yaml`")
        return Exit.OK
    out.table(
        ("workflow", "schedule", "paused", "next", "last run", "status"),
        [(w["name"], _schedule(w), "yes" if w["paused"] else "-", when(w["next_tick"]),
          when((w["last_run"] or {}).get("created_at")), (w["last_run"] or {}).get("status", "-"))
         for w in body["workflows"]],
    )  # fmt: skip
    return Exit.OK


def show(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("GET", _path(args.name))
    if args.yaml:
        out.line(yaml.safe_dump(body["definition"], sort_keys=False).rstrip())
    else:
        out.json(body)
    return Exit.OK


def apply(args: argparse.Namespace, api: Api, out: Output) -> int:
    try:
        doc = yaml.safe_load(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from exc
    if not isinstance(doc, dict) or not doc.get("name"):
        raise UsageError(f"{args.file}: a workflow document with a `name`")
    saved = api.json("PUT", _path(str(doc["name"])), json=doc)
    if out.as_json:
        out.json(saved)
    else:
        nxt = f"; next tick {when(saved['next_tick'])}" if saved.get("next_tick") else ""
        out.say(f"workflow {saved['name']} saved ({_schedule(saved)}){nxt}")
    return Exit.OK


def remove(args: argparse.Namespace, api: Api, out: Output) -> int:
    api.request("DELETE", _path(args.name))
    out.say(f"workflow {args.name} removed")
    return Exit.OK


def run(args: argparse.Namespace, api: Api, out: Output) -> int:
    body: dict[str, Any] = {}
    if args.date:
        body["logical_date"] = args.date
    for pair in args.param or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--param takes KEY=VALUE, not {pair!r}")
        body.setdefault("params", {})[key] = value
    started = api.json("POST", _path(args.name, "/runs"), json=body)
    return _said(out, started, f"run {started['id']} of {args.name} {started['status']}")


def backfill(args: argparse.Namespace, api: Api, out: Output) -> int:
    done = api.json("POST", _path(args.name, "/backfill"),
                    json={"start": args.start, "end": args.end})  # fmt: skip
    return _said(out, done, f"{done['runs']} run(s) of {args.name} queued, one per interval")


def pause(args: argparse.Namespace, api: Api, out: Output) -> int:
    return _said(out, api.json("POST", _path(args.name, "/pause")), f"{args.name} paused")


def resume(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("POST", _path(args.name, "/resume"))
    return _said(out, body, f"{args.name} resumed; next tick {when(body.get('next_tick'))}")


def runs(args: argparse.Namespace, api: Api, out: Output) -> int:
    params = {"limit": args.limit, **({"status": args.status} if args.status else {})}
    body = api.json("GET", _path(args.name, "/runs"), params=params)
    if out.as_json:
        out.json(body)
        return Exit.OK
    out.table(
        ("run", "trigger", "status", "logical end", "started", "seconds", "steps"),
        [(r["id"][:12], r["trigger"], r["status"], when(r["logical_end"]), when(r["started_at"]),
          r["seconds"], " ".join(f"{s['name']}:{s['status']}" for s in r["steps"]))
         for r in body["runs"]],
    )  # fmt: skip
    return Exit.OK


def cancel(args: argparse.Namespace, api: Api, out: Output) -> int:
    body = api.json("POST", _path(args.name, f"/runs/{quote(args.run_id, safe='')}/cancel"))
    return _said(out, body, f"run {args.run_id} of {args.name}: {body['status']}")


def _said(out: Output, body: dict, text: str) -> int:
    if out.as_json:
        out.json(body)
    else:
        out.say(text)
    return Exit.OK
