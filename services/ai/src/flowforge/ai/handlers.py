"""ai's handlers: analyse each Bronze batch as it lands (offline at once, then an LLM when a key
is configured), and analyse a dataset on request."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowforge.ai import analysis, llm
from flowforge.ai.adapters import AiStore
from flowforge.ai.cpu import idle_workers
from flowforge.ai.ledger import Ledger, PromptCache
from flowforge.ai.profile import ColumnProfile, profile_parquet
from flowforge.ai.semantic import detect, suggest_rules
from flowforge.common import metrics
from flowforge.common.errors import NotFoundError
from flowforge.common.events import BronzeReady, Event, SchemaAnalyzed
from flowforge.common.storage import LakeFiles

log = logging.getLogger(__name__)
SERVICE = "ai"
# One profile at a time in a process: each holds a bounded sample, so the service's memory
# stays bounded however many batches land at once (the profile is advisory; it can wait).
_PROFILING = threading.Lock()


@dataclass
class Deps:
    files: LakeFiles
    store: AiStore
    providers: list[llm.Provider]
    token_budget: int
    mask_pii: bool
    publish: Callable[[Event], Awaitable[None]]
    # The LLM's cost (every call, the daily budget: the providers' gate) and its answers by
    # what was asked; asking another service (a model draft reads the catalog).
    ledger: Ledger | None = None
    cache: PromptCache | None = None
    ask: Callable[..., Awaitable[Any]] | None = None


@dataclass
class Batch:
    run_id: str
    dataset: str
    fingerprint: str
    bronze_uri: str


async def handle_bronze_ready(event: BronzeReady, deps: Deps) -> list[Event]:
    batch = Batch(event.run_id, event.dataset, event.schema_fingerprint, event.bronze_uri)
    return await analyse_batch(batch, deps)


async def analyse_batch(
    batch: Batch, deps: Deps, *, refresh: bool = False, requested: str = ""
) -> list[Event]:
    """Profile and detect offline, publish that at once; then the LLM's view, if any."""
    started = time.perf_counter()
    profiles = await asyncio.to_thread(_profile, deps.files, batch.bronze_uri)
    guesses = await asyncio.to_thread(lambda: [detect(p) for p in profiles])
    columns = analysis.offline_columns(profiles, guesses)
    suggestions = analysis.offline_suggestions(profiles, guesses, suggest_rules)
    suggestions.append(analysis.offline_descriptions(batch.dataset, profiles, guesses))
    seconds = time.perf_counter() - started
    await deps.store.save_profile(
        run_id=batch.run_id,
        dataset=batch.dataset,
        fingerprint=batch.fingerprint,
        bronze_uri=batch.bronze_uri,
        rows=profiles[0].rows if profiles else 0,
        columns=[p.to_dict() for p in profiles],
        seconds=seconds,
    )
    await deps.store.save_analysis(
        run_id=batch.run_id,
        source="offline",
        dataset=batch.dataset,
        fingerprint=batch.fingerprint,
        result={"columns": columns},
    )
    await deps.store.save_suggestions(batch.dataset, batch.run_id, "offline", suggestions)
    metrics.STAGE_SECONDS.labels(SERVICE, "profile").observe(seconds)
    pii = [c["name"] for c in columns if c["pii"]]
    log.info(
        "analysed %d column(s) offline in %.2fs: %d PII, %d suggestion(s)",
        len(columns),
        seconds,
        len(pii),
        len(suggestions),
    )
    offline = SchemaAnalyzed(
        run_id=batch.run_id,
        dataset=batch.dataset,
        schema_fingerprint=batch.fingerprint,
        provider="offline",
        columns=columns,
        pii_columns=pii,
        suggestions=len(suggestions),
        requested=requested,
    )
    # Published now, not with the LLM's answer: that may take a minute, or never come.
    await deps.publish(offline)
    if not deps.providers:
        return []
    event = await _llm(batch, deps, profiles, columns, refresh=refresh, requested=requested)
    return [event] if event is not None else []


def _profile(files: LakeFiles, bronze_uri: str) -> list[ColumnProfile]:
    path = files.path(files.store.key_of(bronze_uri))
    with _PROFILING:
        idle_workers()  # this thread and Polars' pool, whoever started them
        return profile_parquet(path)


@dataclass
class LlmResult:
    answer: llm.Answer
    source: str
    tokens: int
    attempts: list[dict[str, str]]
    cached: bool


async def _llm(
    batch: Batch,
    deps: Deps,
    profiles: list[ColumnProfile],
    offline: list[dict[str, Any]],
    *,
    refresh: bool,
    requested: str = "",
) -> SchemaAnalyzed | None:
    """The LLM's analysis of the batch (from the prompt cache for a schema seen before),
    stored with its suggestions; None when every provider failed (recorded as such)."""
    # Per dataset: an answer drawn from one dataset's values is not another's.
    key = ("analysis", llm.PROMPT_VERSION, batch.fingerprint,
           batch.dataset if deps.mask_pii else f"{batch.dataset}:unmasked")  # fmt: skip
    cached = None if refresh or deps.cache is None else await deps.cache.get(*key)
    if cached is not None:
        answer = llm.Answer.model_validate(cached["answer"])
        result = LlmResult(answer, cached["source"], 0, [], cached=True)
        if deps.ledger is not None:
            await deps.ledger.record_cached("analysis", batch.dataset, cached["source"])
    else:
        result = await _ask_llm(batch, deps, profiles, offline)
        if result is None:
            return None
        if deps.cache is not None:
            await deps.cache.put(*key, source=result.source, tokens=result.tokens,
                                 answer=result.answer.model_dump(mode="json"))  # fmt: skip
    columns = analysis.llm_columns(result.answer, profiles)
    suggestions = analysis.llm_suggestions(result.answer, profiles, result.source)
    await deps.store.save_analysis(
        run_id=batch.run_id,
        source=result.source,
        dataset=batch.dataset,
        fingerprint=batch.fingerprint,
        result={"answer": result.answer.model_dump(mode="json"), "columns": list(columns.values())},
        tokens=result.tokens,
        attempts=result.attempts,
        cached=result.cached,
    )
    await deps.store.save_suggestions(batch.dataset, batch.run_id, result.source, suggestions)
    log.info(
        "%s analysis of %s: %d suggestion(s)%s",
        result.source,
        batch.dataset,
        len(suggestions),
        " (cached for this schema)" if result.cached else f", {result.tokens} tokens",
    )
    return SchemaAnalyzed(
        run_id=batch.run_id,
        dataset=batch.dataset,
        schema_fingerprint=batch.fingerprint,
        provider=result.source,
        columns=list(columns.values()),
        pii_columns=[c["name"] for c in columns.values() if c["pii"]],
        suggestions=len(suggestions),
        cached=result.cached,
        requested=requested,
    )


async def _ask_llm(
    batch: Batch, deps: Deps, profiles: list[ColumnProfile], offline: list[dict[str, Any]]
) -> LlmResult | None:
    """Ask the providers, within the dataset's token budget (one analysis of a dataset at a
    time, so each reads what the previous one spent)."""
    async with deps.store.budget_lock(batch.dataset):
        spent = await deps.store.tokens_spent(batch.dataset)
        briefs = [
            llm.brief(
                p.to_dict(), {"type": c["semantic_type"], "pii": c["pii"]}, masked=deps.mask_pii
            )  # fmt: skip
            for p, c in zip(profiles, offline, strict=True)
        ]
        keyable = {
            p.name for p in profiles if p.nulls == 0 and p.present and p.distinct >= p.present
        }
        masked = {c["name"] for c in offline if c["pii"]} if deps.mask_pii else set()
        timeout = max((p.timeout for p in deps.providers), default=60.0)
        outcome = await llm.analyse(
            deps.providers,
            batch.dataset,
            briefs,
            budget_left=deps.token_budget - spent,
            keyable=keyable,
            masked=masked,
            # Every provider, each with its retry, at most this long: the batch's consumer is
            # not held by a slow or hanging provider.
            deadline_seconds=2 * timeout + 30,
        )
        calls = sum(1 for a in outcome.attempts if a["outcome"] != "skipped")
        await deps.store.add_usage(batch.dataset, outcome.usage.total, calls)
    if outcome.answer is None:
        await deps.store.save_analysis(
            run_id=batch.run_id,
            source="llm-failed",
            dataset=batch.dataset,
            fingerprint=batch.fingerprint,
            result={},
            tokens=outcome.usage.total,
            attempts=outcome.attempts,
        )
        return None
    return LlmResult(
        outcome.answer, outcome.source, outcome.usage.total, outcome.attempts, cached=False
    )


async def analyse_dataset(dataset: str, deps: Deps, *, refresh: bool) -> dict[str, Any]:
    """On request: analyse the dataset's latest batch again (`refresh` skips the LLM cache)."""
    latest = await deps.store.latest_profile(dataset)
    if latest is None:
        raise NotFoundError(f"dataset {dataset!r} has no Bronze batch to analyse yet")
    batch = Batch(latest["run_id"], dataset, latest["schema_fingerprint"], latest["bronze_uri"])
    requested = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    events = await analyse_batch(batch, deps, refresh=refresh, requested=requested)
    for event in events:
        await deps.publish(event)
    return {
        "run_id": batch.run_id,
        "providers": ["offline", *[e.provider for e in events if isinstance(e, SchemaAnalyzed)]],
    }


__all__ = ["Deps", "analyse_dataset", "handle_bronze_ready"]
