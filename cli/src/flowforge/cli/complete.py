"""Tab completion of names (datasets, models, recent runs) asked of the gateway, briefly:
a gateway that is down or slow completes nothing rather than hanging the shell."""

from __future__ import annotations

import argparse
from typing import Any

COMPLETION_TIMEOUT = 2.0


def _names(
    parsed_args: argparse.Namespace, path: str, member: str, field: str, **params: Any
) -> list[str]:
    from flowforge.cli import config
    from flowforge.cli.api import Api
    from flowforge.cli.errors import CliError

    try:
        target = config.resolve(
            getattr(parsed_args, "url", None),
            getattr(parsed_args, "api_key", None),
            getattr(parsed_args, "api_key_file", None),
        )
        with Api(target, timeout=COMPLETION_TIMEOUT) as api:
            body = api.json("GET", path, params={"limit": 100, **params})
    except CliError:
        return []
    return [str(item[field]) for item in body.get(member) or [] if field in item]


def datasets(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    names = _names(parsed_args, "/api/v1/datasets", "datasets", "name")
    return [n for n in names if n.startswith(prefix)]


def models(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    names = _names(parsed_args, "/api/v1/models", "models", "name")
    return [n for n in names if n.startswith(prefix)]


def runs(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    dataset = getattr(parsed_args, "dataset", None)  # replay/release name it first
    only = {"dataset": dataset} if dataset else {}
    names = _names(parsed_args, "/api/v1/runs", "runs", "run_id", **only)
    return [n for n in names if n.startswith(prefix)]
