# PYTHON_ARGCOMPLETE_OK
"""The `flowforge` command: `up` runs the platform, `test` runs the suite, and every other verb
talks to a gateway, local or remote (see `flowforge --help` and docs/cli.md)."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

from flowforge.cli.errors import CliError, Exit

REPO_ROOT = Path(__file__).resolve().parents[4]
# The suite talks to a fake LLM of its own: a key in the caller's environment must never send
# test data to a real provider.
LLM_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL")


def main(argv: list[str] | None = None, *, transport: Any = None) -> int:
    """`transport` (an httpx transport) lets tests answer for the gateway."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["test"]:
        # Everything after `test` is pytest's, options first included (`test -k e2e -x`).
        return run_tests(argv[1:])
    from flowforge.cli.parser import build

    parser = build()
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        return int(dispatch(args, transport))
    except CliError as exc:
        print(f"flowforge: {exc}", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print("flowforge: interrupted", file=sys.stderr)
        return 130


def dispatch(args: argparse.Namespace, transport: Any) -> int:
    if args.handler == "up":
        from flowforge.cli.up import up

        return up(demo=args.demo, port=args.port, replicas=args.replicas)
    if args.handler == "ui":
        return run_ui(args.action, args.rest)
    if args.handler == "completion":
        import argcomplete

        sys.stdout.write(argcomplete.shellcode(["flowforge"], shell=args.shell))
        return Exit.OK
    from flowforge.cli import config
    from flowforge.cli.api import Api
    from flowforge.cli.output import Output

    module, _, name = args.handler.partition(":")
    handler = getattr(import_module(module), name)
    target = config.resolve(args.url, args.api_key, args.api_key_file)
    with Api(target, transport=transport) as api:
        return handler(args, api, Output(args.json))


def run_ui(action: str, rest: list[str]) -> int:
    from flowforge.cli import webui

    try:
        if action == "build":
            print(webui.ensure_built(force=True))
        elif action == "types":
            print(webui.write_api_types())
        else:
            webui.install_packages()
            print(webui.run_npm(*rest), end="")
    except webui.UiBuildError as exc:
        print(f"flowforge: {exc}", file=sys.stderr)
        return 1
    return 0


def run_tests(pytest_args: list[str]) -> int:
    import pytest

    os.chdir(REPO_ROOT)
    for name in LLM_VARIABLES:
        os.environ.pop(name, None)
    return int(pytest.main([a for a in pytest_args if a != "--"]))


if __name__ == "__main__":
    sys.exit(main())
