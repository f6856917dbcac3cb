"""Ingest service: composition root."""

from __future__ import annotations

from flowforge.common.bus import consume
from flowforge.common.events import FileLanded
from flowforge.common.service import Runtime, run_service
from flowforge.ingest.handlers import Deps, handle_file_landed

SERVICE = "ingest"


def register(rt: Runtime) -> None:
    async def on_file_landed(event: FileLanded):
        deps = Deps(store=rt.store, scratch=rt.settings.scratch_dir)
        return await handle_file_landed(event, deps)

    consume(
        rt.broker, FileLanded, on_file_landed, service=SERVICE, settings=rt.settings, stage="ingest"
    )


def main() -> None:
    run_service(SERVICE, register)


if __name__ == "__main__":
    main()
