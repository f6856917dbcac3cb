"""The one list of FlowForge's services and what each owns in PostgreSQL.

The supervisor starts `SERVICES` in this order, the gateway's health asks the `WORKERS`, and
the boundary test checks that no service's SQL names another's schema.
"""

from __future__ import annotations

# Start order: the catalog first, so it records the first events; the gateway last, so it
# answers only once the others can.
SERVICES: tuple[str, ...] = (
    "catalog",
    "ingest",
    "transform",
    "quality",
    "ai",
    "scheduler",
    "gateway",
)
WORKERS: tuple[str, ...] = tuple(s for s in SERVICES if s != "gateway")


def schema_of(service: str) -> str:
    """The PostgreSQL schema a service owns (writes, and alone reads)."""
    return service


def entry_module(service: str) -> str:
    return f"flowforge.{service}.app"


__all__ = ["SERVICES", "WORKERS", "entry_module", "schema_of"]
