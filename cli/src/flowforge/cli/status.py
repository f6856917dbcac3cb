"""`flowforge status`: where every server is (gateway, NATS, database, lake, logs) and
whether each service is healthy, so another system can connect without reading a console."""

from __future__ import annotations

import argparse
import os
from typing import Any

from flowforge.cli import config
from flowforge.cli.api import Api
from flowforge.cli.errors import CliError, Exit
from flowforge.cli.output import Output, cell_text

SECRET_WORDS = ("password", "secret", "token", "key")


def status(args: argparse.Namespace, api: Api, out: Output) -> int:
    home = config.home()
    found = redacted(config.endpoints() or {})
    report: dict[str, Any] = {
        "gateway": {"url": api.target.url, "api_key": api.target.key_source},
        "endpoints": found or None,
        "lake": found.get("lake") or _lake(home),
        "logs": found.get("logs") or str(home.resolve() / "logs"),
        "health": None,
        "status": None,
    }
    code = Exit.OK
    try:
        health = api.json("GET", "/healthz", allow=(503,))
        report["health"] = health
        if health.get("status") != "ok":
            code = Exit.FAILED
        report["status"] = _status(api)
    except CliError as exc:
        report["error"] = str(exc)
        code = exc.code
    if out.as_json:
        out.json(report)
    else:
        print_status(report, out)
    if report.get("error"):
        out.say(f"flowforge: {report['error']}")
    return code


def _status(api: Api) -> Any:
    """The workers' states (`/api/v1/status`), where the gateway has that endpoint."""
    try:
        return api.json("GET", "/api/v1/status")
    except CliError as exc:
        if exc.code == Exit.NOT_FOUND:
            return None
        raise


def _lake(home: Any) -> str:
    if os.environ.get("S3_ENDPOINT_URL"):
        bucket = os.environ.get("S3_BUCKET_NAME", "")
        return f"{redact(os.environ['S3_ENDPOINT_URL'])} bucket {bucket}".strip()
    return f"local folder {home.resolve()}"


def redact(url: str) -> str:
    from flowforge.common.settings import redact_url

    return redact_url(url)


def redacted(endpoints: dict[str, Any]) -> dict[str, Any]:
    """endpoints.json without secrets: URLs lose their credentials, secret values are hidden."""
    out: dict[str, Any] = {}
    for name, value in endpoints.items():
        if isinstance(value, dict):
            out[name] = redacted(value)
        elif isinstance(value, str) and "://" in value:
            out[name] = redact(value)
        elif isinstance(value, str) and any(w in name.lower() for w in SECRET_WORDS):
            out[name] = "***"
        else:
            out[name] = value
    return out


def print_status(report: dict[str, Any], out: Output) -> None:
    gateway, health = report["gateway"], report.get("health") or {}
    state = health.get("status") or ("unreachable" if report.get("error") else "unknown")
    found = report.get("endpoints") or {}
    local = {k: v for k, v in found.items() if k not in ("lake", "logs")}
    if local.get("gateway_url") == gateway["url"]:
        del local["gateway_url"]  # the same gateway as the first line
    rows = [
        ("gateway", f"{gateway['url']} ({state}; {gateway['api_key']})"),
        *((f"local {name}" if name == "gateway_url" else name, v) for name, v in local.items()),
        ("lake", report["lake"]),
        ("logs", report["logs"]),
    ]
    out.fields((name.removesuffix("_url"), value) for name, value in rows)
    if not found:
        out.line("(no run/endpoints.json in FLOWFORGE_HOME: no local `flowforge up` found)")
    services = _services(report.get("status")) or health.get("services") or {}
    if services:
        out.table(("service", "state"), sorted(services.items()))


def _services(status: Any) -> dict[str, str]:
    """/api/v1/status as `{service: one line}`, whatever its detail per service."""
    if not isinstance(status, dict):
        return {}
    services = status.get("services", status)
    if isinstance(services, list):
        services = {str(s.get("name") or s.get("service")): s for s in services}
    if not isinstance(services, dict):
        return {}
    return {name: cell_text(detail) for name, detail in services.items()}
