"""The `flowforge` command: `up` runs the platform, `ingest` lands a file, `test` runs the suite."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowforge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser(
        "up",
        help="start NATS, PostgreSQL (embedded unless configured), every service and the gateway",
    )
    up.add_argument(
        "--demo", action="store_true", help="also load the bundled sample dataset and a Gold model"
    )
    up.add_argument("--port", type=int, default=None, help="gateway port (FLOWFORGE_PORT)")

    ingest = sub.add_parser("ingest", help="upload a file through the gateway and follow its run")
    ingest.add_argument("file", type=Path)
    ingest.add_argument("--dataset", help="dataset name (default: the file's stem)")
    ingest.add_argument("--key", help="key column(s), comma-separated: latest row per key wins")
    ingest.add_argument("--url", default=None, help="gateway URL (default from FLOWFORGE_PORT)")
    ingest.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the run")
    ingest.add_argument("--no-wait", action="store_true", help="return once the file is accepted")

    test = sub.add_parser("test", help="run the whole test suite (starts what it needs)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "up":
        from flowforge.cli.up import up

        return up(demo=args.demo, port=args.port)
    if args.command == "ingest":
        from flowforge.cli.client import ingest

        url = args.url or f"http://127.0.0.1:{os.environ.get('FLOWFORGE_PORT', '8000')}"
        return ingest(
            args.file,
            url=url,
            dataset=args.dataset,
            key=args.key,
            wait=not args.no_wait,
            timeout=args.timeout,
        )
    if args.command == "test":
        import pytest

        os.chdir(REPO_ROOT)
        # The suite talks to a fake LLM of its own: a key in the caller's environment must
        # never send test data to a real provider.
        for name in (
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
        ):
            os.environ.pop(name, None)
        extra = [a for a in args.pytest_args if a != "--"]
        return int(pytest.main(extra))
    return 2


if __name__ == "__main__":
    sys.exit(main())
