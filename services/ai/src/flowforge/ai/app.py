"""AI service: composition root.

Analyses every Bronze batch as it lands (`bronze.ready`): column profiles and the offline
semantic detector always, an LLM (Claude, then OpenAI) when a key is configured, and answers
`ai.analyze` requests (core NATS request/reply) from the gateway.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flowforge.ai import handlers, llm
from flowforge.ai.adapters import AiStore
from flowforge.ai.handlers import Deps
from flowforge.common.bus import consume, publish
from flowforge.common.events import AI_ANALYZE, BronzeReady, Event
from flowforge.common.lake import check_name
from flowforge.common.service import Runtime, answer_request, run_service
from flowforge.common.storage import LakeFiles

SERVICE = "ai"
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def register(rt: Runtime) -> None:
    deps: list[Deps] = []

    async def publish_event(event: Event) -> None:
        await publish(rt.broker, event, rt.settings)

    def resolve() -> Deps:
        # Resources open in the lifespan hook, after registration; bind them on first use.
        if not deps:
            settings = rt.settings
            deps.append(
                Deps(
                    files=LakeFiles(rt.store, settings.home_dir / "cache" / SERVICE),
                    store=AiStore(rt.pool),
                    providers=llm.providers_from(settings),
                    token_budget=settings.ai_token_budget,
                    mask_pii=settings.ai_mask_pii,
                    publish=publish_event,
                )
            )
            names = [f"{p.name}:{p.model}" for p in deps[0].providers] or ["offline only"]
            log.info("schema analysis: %s", " → ".join(names))
        return deps[0]

    async def on_bronze(event: BronzeReady):
        return await handlers.handle_bronze_ready(event, resolve())

    consume(rt.broker, BronzeReady, on_bronze, service=SERVICE, settings=rt.settings)

    @rt.broker.subscriber(AI_ANALYZE, queue=SERVICE, title="ai:analyze")
    async def on_analyze(body: dict) -> dict:
        async def work():
            dataset = check_name(str(body.get("dataset", "")))
            return await handlers.analyse_dataset(
                dataset, resolve(), refresh=body.get("refresh") is True
            )

        return await answer_request(work, "the analysis")


def main() -> None:
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
