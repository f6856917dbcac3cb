"""AI service: composition root.

Analyses every Bronze batch as it lands (`bronze.ready`): column profiles and the offline
semantic detector always, an LLM (Claude, then OpenAI) when a key is configured; answers
questions about its analyses and suggestions (`flowforge.svc.ai.<verb>`, and `ai.analyze`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flowforge.ai import handlers, llm, proposal_verbs, verbs
from flowforge.ai.adapters import AiStore
from flowforge.ai.cpu import yield_cpu
from flowforge.ai.handlers import Deps
from flowforge.ai.ledger import DailyBudget, Ledger, Prices, PromptCache
from flowforge.common import rpc
from flowforge.common.bus import consume, publish
from flowforge.common.events import AI_ANALYZE, BronzeReady, DeadLettered, Event, SchemaAnalyzed
from flowforge.common.service import Runtime, run_service
from flowforge.common.settings import Settings
from flowforge.common.storage import LakeFiles

SERVICE = "ai"
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def _deps(rt: Runtime) -> Deps:
    async def publish_event(event: Event) -> None:
        await publish(rt.broker, event, rt.settings)

    async def ask(service: str, verb: str, **request: object) -> object:
        return await rt.ask(service, verb, request)

    settings = rt.settings
    budget = DailyBudget(settings.ai_daily_tokens, settings.ai_daily_cost)
    ledger = Ledger(rt.pool, Prices(settings.ai_prices), budget)
    deps = Deps(
        files=LakeFiles(rt.store, settings.home_dir / "cache" / SERVICE),
        store=AiStore(rt.pool),
        providers=llm.providers_from(settings, gate=ledger),
        token_budget=settings.ai_token_budget,
        mask_pii=settings.ai_mask_pii,
        publish=publish_event,
        ledger=ledger,
        cache=PromptCache(rt.pool),
        ask=ask,
    )
    names = [f"{p.name}:{p.model}" for p in deps.providers] or ["offline only"]
    log.info("schema analysis: %s", " → ".join(names))
    return deps


def register(rt: Runtime) -> None:
    rt.publishes(SchemaAnalyzed, DeadLettered)
    deps = rt.lazy(_deps)

    async def on_bronze(event: BronzeReady):
        return await handlers.handle_bronze_ready(event, deps())

    consume(rt.broker, BronzeReady, on_bronze, service=SERVICE, settings=rt.settings)
    rt.serve_verbs(verbs.VERBS, deps)
    rt.serve_verbs(proposal_verbs.VERBS, deps)  # whole-pipeline proposals

    @rt.broker.subscriber(AI_ANALYZE, queue=SERVICE, title=f"ai:{AI_ANALYZE}")
    async def on_analyze(body: dict) -> dict:
        """The public name of `flowforge.svc.ai.analyze`, for other systems."""
        return await rpc.answer(lambda: verbs.analyze(body, deps()), "the analysis")


def main() -> None:
    settings = Settings()
    yield_cpu(settings.ai_nice, settings.ai_idle)  # the service's own process (not a test's)
    run_service(SERVICE, register, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
