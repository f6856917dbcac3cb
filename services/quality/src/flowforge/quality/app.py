"""Quality service: composition root."""

from __future__ import annotations

from flowforge.common.bus import consume
from flowforge.common.events import SilverReady
from flowforge.common.service import Runtime, run_service
from flowforge.quality.handlers import Deps, handle_silver_ready

SERVICE = "quality"


def register(rt: Runtime) -> None:
    async def on_silver_ready(event: SilverReady):
        return await handle_silver_ready(
            event, Deps(store=rt.store, scratch=rt.settings.scratch_dir)
        )

    consume(
        rt.broker,
        SilverReady,
        on_silver_ready,
        service=SERVICE,
        settings=rt.settings,
        stage="quality",
    )


def main() -> None:
    run_service(SERVICE, register)


if __name__ == "__main__":
    main()
