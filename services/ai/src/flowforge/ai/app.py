"""AI service: composition root.

Schema analysis (semantic types, PII, suggested Silver spec and rules) is a separate issue; in
this version the service starts, joins the bus and answers health and metrics requests, so
the deployment topology is final.
"""

from __future__ import annotations

from flowforge.common.service import Runtime, run_service

SERVICE = "ai"


def register(rt: Runtime) -> None:
    """No subscriptions yet: `bronze.ready` analysis and `ai.analyze` come with the AI issue."""


def main() -> None:
    run_service(SERVICE, register)


if __name__ == "__main__":
    main()
