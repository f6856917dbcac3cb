"""Asking the LLM providers in turn for one answer of a task (an analysis of a dataset's
columns, a Gold model drafted from a question): each provider is asked once and, after an
invalid answer, once more with the reason; a refusal, an error, a timeout or a rate limit
moves on to the next provider. Nothing here retries past that or waits for a rate limit: the
caller falls back (offline analysis, a draft refused with the reason).

Limits checked before every call, each recorded as a `skipped` attempt when it stops one:
the task's own token budget (per dataset), its deadline, a provider's rate-limit cool-down
(its `retry-after`), and the provider's `gate` (the ledger: the daily budget). Every call,
made or not, is an attempt with its outcome, reason and tokens; a gate records each one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from flowforge.ai.answers import InvalidAnswer
from flowforge.ai.providers import Provider, ProviderError, Tool, Usage

log = logging.getLogger(__name__)


@dataclass
class Task:
    """One question for the LLM: what is sent, the shape the answer is forced into, and the
    check that turns a raw answer into a usable one (raising InvalidAnswer otherwise)."""

    purpose: str  # analysis | proposal | model_draft (the ledger's purpose)
    subject: str  # the dataset (or question) it is about, for the ledger and logs
    system: str
    user: str
    tool: Tool
    check: Callable[[Any], Any]
    answer_tokens: int


@dataclass
class Call:
    """One call as the ledger sees it: before (estimates) and after (tokens, outcome)."""

    purpose: str
    dataset: str
    provider: str
    model: str
    estimated_input: int = 0
    estimated_output: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    outcome: str = "pending"  # ok | invalid | refused | error | skipped | cached
    reason: str = ""


class Gate(Protocol):
    """Admits a call (returns a ticket, or why not: it then records the refusal itself) and
    records how each call went."""

    async def admit(self, call: Call) -> tuple[Any, str]: ...

    async def record(self, ticket: Any, call: Call) -> None: ...


@dataclass
class Outcome:
    answer: Any = None
    provider: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    dropped_rules: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"{self.provider}:{self.model}" if self.provider else "offline"

    @property
    def reason(self) -> str:
        """Why there is no answer, from the attempts (empty when there is one)."""
        if self.answer is not None:
            return ""
        failed = [f"{a['provider']}: {a['reason']}" for a in self.attempts if a["reason"]]
        return "; ".join(failed) or "no LLM provider is configured"


@dataclass
class _Run:
    task: Task
    budget_left: int
    deadline: float | None  # on the event loop's clock


async def ask(
    providers: list[Provider],
    task: Task,
    *,
    budget_left: int,
    deadline_seconds: float | None = None,
) -> Outcome:
    """Ask each provider in turn until one gives a valid answer (each gets one retry). Each
    call is bounded by its provider's timeout as a whole (not per read), and all of them
    together by `deadline_seconds`, so a slow or hanging provider cannot hold the caller."""
    now = asyncio.get_running_loop().time()
    run = _Run(task, budget_left, None if deadline_seconds is None else now + deadline_seconds)
    outcome = Outcome()
    for provider in providers:
        if await _ask(provider, run, outcome):
            break
    return outcome


async def _ask(provider: Provider, run: _Run, outcome: Outcome) -> bool:
    """One provider, asked again once after an invalid answer. True when the chain ends
    here: an answer, or no budget or time left for any further call."""
    task, message = run.task, run.task.user
    for attempt in (1, 2):
        estimate = _estimate(task, message)
        call = Call(task.purpose, task.subject, provider.name, provider.model,
                    estimated_input=estimate, estimated_output=task.answer_tokens)  # fmt: skip
        wait, skipped, final = _limits(provider, call, run, outcome.usage)
        if skipped:
            await _note(provider, None, call, outcome, "skipped", skipped, Usage())
            return final
        gate = getattr(provider, "gate", None)
        ticket = None
        if gate is not None:
            ticket, refused = await gate.admit(call)
            if refused:  # the daily budget: no provider may be called now
                outcome.attempts.append(_attempt(call, "skipped", refused, Usage()))
                log.warning("LLM call for %s not made: %s", task.subject, refused)
                return True
        try:
            raw, used = await asyncio.wait_for(
                provider.complete(task.system, message, task.answer_tokens, task.tool), wait
            )
        except ProviderError as exc:
            used = exc.usage or Usage()
            outcome.usage.add(used)
            _cool_down(provider, exc)
            status = "refused" if exc.kind == "refusal" else "error"
            await _note(provider, ticket, call, outcome, status, str(exc), used)
            log.warning("%s could not answer (%s): %s", provider.name, task.subject, exc)
            return False  # the next provider
        except TimeoutError:
            reason = f"no answer within {wait:.0f}s (timeout)"
            await _note(provider, ticket, call, outcome, "error", reason, Usage())
            log.warning("%s could not answer (%s): %s", provider.name, task.subject, reason)
            return False
        outcome.usage.add(used)
        try:
            value = task.check(raw)
        except InvalidAnswer as exc:
            await _note(provider, ticket, call, outcome, "invalid", str(exc), used)
            if attempt == 1:
                log.info("%s gave an invalid answer (%s); asking again", provider.name, exc)
                message = _ask_again(task, exc)
                continue
            log.warning("%s answered invalidly twice (%s); discarded: %s", provider.name,
                        task.subject, exc)  # fmt: skip
            return False
        await _note(provider, ticket, call, outcome, "ok", "", used)
        outcome.answer, outcome.provider, outcome.model = value, provider.name, provider.model
        return True
    return False


def _estimate(task: Task, message: str) -> int:
    """Prompt tokens, generously: characters / 3 undercounts CJK text, and the tool schema
    is sent on every call too."""
    return (len(task.system) + len(message) * 2 + len(json.dumps(task.tool.schema))) // 3


def _limits(provider: Provider, call: Call, run: _Run, usage: Usage) -> tuple[float, str, bool]:
    """How long the next call may take, why it must not be made ("" when it may), and
    whether that also stops every other provider."""
    needed = call.estimated_input + call.estimated_output
    if usage.total + needed > run.budget_left:
        reason = (
            f"token budget: about {needed} more tokens needed, "
            f"{max(run.budget_left - usage.total, 0)} left for {run.task.subject!r}"
        )
        log.warning("LLM call for %s not sent to %s: %s", run.task.subject, provider.name, reason)
        return 0.0, reason, True
    now = asyncio.get_running_loop().time()
    cooling = getattr(provider, "cooldown_until", 0.0) - now
    if cooling > 0:
        return 0.0, f"rate limited: retry after {cooling:.0f}s", False
    wait = provider.timeout
    if run.deadline is not None:
        wait = min(wait, run.deadline - now)
        if wait <= 1:
            return wait, "the deadline passed", True
    return wait, "", False


def _cool_down(provider: Provider, exc: ProviderError) -> None:
    """After a 429, leave the provider alone for as long as it asked (this process)."""
    if exc.kind == "rate_limit" and exc.retry_after:
        until = asyncio.get_running_loop().time() + exc.retry_after
        try:
            provider.cooldown_until = until  # type: ignore[attr-defined]
        except AttributeError:  # a provider that cannot be told: it is asked next time
            pass


async def _note(
    provider: Provider,
    ticket: Any,
    call: Call,
    outcome: Outcome,
    status: str,
    reason: str,
    used: Usage,
) -> None:
    """The attempt in the outcome and, through the provider's gate, in the ledger."""
    outcome.attempts.append(_attempt(call, status, reason, used))
    gate = getattr(provider, "gate", None)
    if gate is None:
        return
    done = replace(call, outcome=status, reason=reason, input_tokens=used.input_tokens,
                   output_tokens=used.output_tokens)  # fmt: skip
    try:
        await gate.record(ticket, done)
    except Exception as exc:  # noqa: BLE001 - the answer is worth more than its ledger line
        log.warning("LLM call of %s not recorded in the ledger: %s", provider.name, exc)


def _ask_again(task: Task, problem: InvalidAnswer) -> str:
    return (
        f"{task.user}\n\nYour previous answer was invalid: {problem}. Answer again with "
        f"the {task.tool.name} tool, following its schema exactly."
    )


def _attempt(call: Call, outcome: str, reason: str, used: Usage) -> dict[str, Any]:
    return {
        "provider": call.provider,
        "model": call.model,
        "outcome": outcome,
        "reason": reason,
        "input_tokens": used.input_tokens,
        "output_tokens": used.output_tokens,
    }
