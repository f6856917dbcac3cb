"""The servers `up` needs before any service: embedded NATS and PostgreSQL on stable ports,
unless `NATS_URL` / `DATABASE_URL` point at servers of one's own. A configured database is
asked first, so a wrong URL is said plainly at once instead of through restarting services."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flowforge.cli.embedded import Nats, Postgres, start_nats, start_postgres
from flowforge.cli.ports import free_port, port_free, remember_port, stable_port
from flowforge.common.natsauth import NatsUser

NATS_PORT = 4222
PG_PORT = 5433  # 5432 is the usual system PostgreSQL's
T = TypeVar("T")


class ConfigError(RuntimeError):
    """A configured server that will never work as configured (restarting cannot help)."""


def start_on_stable_port(
    home: Path,
    name: str,
    default: int,
    launch: Callable[[Path, int], T],
    say: Callable[[str], None],
) -> T:
    """Start embedded server `name` on its stable port. Other instances start at the same
    time (tests, a second home), so a port taken between the choice and the start is given
    up for a new free one, unless it was asked for explicitly."""
    explicit = os.environ.get(f"FLOWFORGE_{name.upper()}_PORT")
    port = stable_port(home, name, explicit, default, say)
    for attempt in range(3):
        try:
            return launch(home, port)
        except RuntimeError:
            if explicit or port_free(port) or attempt == 2:
                raise
            taken, port = port, free_port()
            say(f"{name}: port {taken} was taken while starting; using {port}")
            remember_port(home, name, port)
    raise AssertionError("unreachable")


def embedded_nats(
    home: Path,
    say: Callable[[str], None],
    users: Callable[[], list[NatsUser]] | None = None,
) -> Nats:
    def launch(home: Path, port: int) -> Nats:
        return start_nats(home, port, users)

    return start_on_stable_port(home, "nats", NATS_PORT, launch, say)


def embedded_postgres(home: Path, say: Callable[[str], None]) -> Postgres:
    return start_on_stable_port(home, "pg", PG_PORT, start_postgres, say)


def check_database(url: str) -> str | None:
    """Raise ConfigError when the configured database refuses us for good (no such database,
    role or password); return a warning when it does not answer yet (services wait for it)."""
    import asyncio

    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (
        asyncpg.InvalidCatalogNameError,
        asyncpg.InvalidPasswordError,
        asyncpg.InvalidAuthorizationSpecificationError,
    ) as exc:
        raise ConfigError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - not reachable yet: the services keep trying
        return f"not answering yet ({exc or type(exc).__name__}); services will keep trying"
    return None


__all__ = ["ConfigError", "check_database", "embedded_nats", "embedded_postgres"]
