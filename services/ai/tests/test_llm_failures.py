"""How each SDK's failures end (issue 18 part 5), through the real anthropic/openai SDKs
against a local fake server: a refusal, an answer that breaks the schema or is not JSON, a
timeout, a rate limit with retry-after. Each is an attempt with a clear reason, recorded by
the gate (the ledger), and the next provider answers; nothing raises, no key is ever shown."""

from __future__ import annotations

import logging

import pytest

from flowforge.ai.chain import Call
from flowforge.ai.ledger import DailyBudget, Ledger, Prices
from flowforge.ai.llm import AnthropicProvider, OpenAIProvider, analyse, brief
from flowforge.common.testing import FakeLLM

KEY = "sk-test-3f9c2a7d41"
BRIEFS = [
    brief(
        {"name": "Email", "rows": 2, "sample": ["ann@example.com"]},
        {"type": "email", "pii": True},
        masked=True,
    ),  # fmt: skip
    brief({"name": "Tier", "rows": 2, "sample": ["gold"]}, {"type": "category"}, masked=True),
]


class FakeGate:
    """The ledger's part in a call, in memory: admits unless told why not, keeps records."""

    def __init__(self, refuse: str = ""):
        self.refuse, self.admitted, self.records = refuse, [], []

    async def admit(self, call: Call):
        self.admitted.append(call)
        return (None, self.refuse) if self.refuse else (len(self.admitted), "")

    async def record(self, ticket, call: Call) -> None:
        self.records.append((ticket, call))


@pytest.fixture(scope="module")
def fake():
    server = FakeLLM().start()
    server.hang_seconds = 5
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean(fake):
    for key in fake.script:
        fake.script[key] = []
        fake.requests[key].clear()


def chain(fake, first: str, gate=None) -> list:
    """Both providers, `first` asked first, each with the gate."""
    made = {
        "anthropic": AnthropicProvider(KEY, "claude-test", fake.anthropic_url, 1.5),
        "openai": OpenAIProvider(KEY, "gpt-test", fake.openai_url, 1.5),
    }
    for provider in made.values():
        provider.gate = gate
    second = "openai" if first == "anthropic" else "anthropic"
    return [made[first], made[second]]


CASES = {
    # failure scripted for the first provider: (attempt outcomes, words in the first reason)
    "refusal": (["refused", "ok"], "the model refused: I can't help with that."),
    "malformed": (["invalid", "invalid", "ok"], "columns"),
    "invalid_json": (["invalid", "invalid", "ok"], "not JSON"),
    "timeout": (["error", "ok"], "timeout"),
    "429": (["error", "ok"], "HTTP 429"),
}


@pytest.mark.parametrize("first", ["anthropic", "openai"])
@pytest.mark.parametrize("failure", sorted(CASES))
async def test_each_failure_is_recorded_with_its_reason_and_the_next_provider_answers(
    fake, first, failure, caplog
):
    caplog.set_level(logging.INFO)
    fake.script[first] = [failure, failure]
    gate = FakeGate()
    outcome = await analyse(chain(fake, first, gate), "people", BRIEFS, budget_left=100_000)

    outcomes, words = CASES[failure]
    assert [a["outcome"] for a in outcome.attempts] == outcomes
    assert words in outcome.attempts[0]["reason"]
    assert outcome.answer is not None and outcome.provider != first
    # Every attempt went through the gate and was recorded with its outcome and tokens.
    assert [c.outcome for _, c in gate.records] == outcomes
    assert all(ticket is not None for ticket, _ in gate.records)
    assert gate.records[-1][1].input_tokens > 0 and gate.records[-1][1].output_tokens == 200
    if failure in ("refusal", "malformed", "invalid_json"):  # answered, so tokens were spent
        assert gate.records[0][1].output_tokens > 0
    assert KEY not in caplog.text and KEY not in str(outcome.attempts)


@pytest.mark.parametrize("first", ["anthropic", "openai"])
async def test_a_rate_limit_says_when_to_retry_and_rests_the_provider_that_long(fake, first):
    fake.retry_after = 30
    fake.script[first] = ["429"]
    providers = chain(fake, first)
    outcome = await analyse(providers, "people", BRIEFS, budget_left=100_000)
    assert "retry after 30s" in outcome.attempts[0]["reason"]
    asked = len(fake.requests[first])

    again = await analyse(providers, "people", BRIEFS, budget_left=100_000)
    assert again.attempts[0]["outcome"] == "skipped"
    assert again.attempts[0]["reason"].startswith("rate limited: retry after")
    assert len(fake.requests[first]) == asked  # not asked while it rests
    assert again.answer is not None and again.provider != first


@pytest.mark.parametrize("first", ["anthropic", "openai"])
async def test_a_server_repeating_the_key_never_gets_it_into_a_reason_or_log(fake, first, caplog):
    caplog.set_level(logging.DEBUG)
    fake.script[first] = ["echo_key"]
    outcome = await analyse(chain(fake, first), "people", BRIEFS, budget_left=100_000)
    assert outcome.attempts[0]["reason"] == "HTTP 401 (authentication_error)"
    assert KEY not in caplog.text and KEY not in str(outcome.attempts)


async def test_when_every_provider_fails_there_is_no_answer_and_the_reason_names_each(fake):
    fake.script["anthropic"] = ["refusal"]
    fake.script["openai"] = ["500"]
    outcome = await analyse(chain(fake, "anthropic"), "people", BRIEFS, budget_left=100_000)
    assert outcome.answer is None and outcome.source == "offline"
    assert outcome.reason == (
        "anthropic: the model refused: I can't help with that.; openai: HTTP 500 (server)"
    )


async def test_over_the_daily_budget_no_call_is_made_and_the_reason_says_so(fake):
    gate = FakeGate(refuse="daily LLM budget: 10 of 10 tokens used today")
    outcome = await analyse(chain(fake, "anthropic", gate), "people", BRIEFS, budget_left=100_000)
    assert outcome.answer is None
    assert [a["outcome"] for a in outcome.attempts] == ["skipped"]
    assert "daily LLM budget" in outcome.reason
    assert not fake.requests["anthropic"] and not fake.requests["openai"]
    call = gate.admitted[0]
    assert call.purpose == "analysis" and call.dataset == "people"
    assert call.estimated_input > 0 and call.estimated_output > 0


def test_prices_use_the_longest_model_prefix_and_overrides():
    prices = Prices({"claude-sonnet-4-5": (2.0, 10.0)})
    assert prices.per_million("claude-sonnet-4-5-20250929") == (2.0, 10.0)
    assert prices.per_million("claude-sonnet-4-20250514") == (3.0, 15.0)
    assert prices.per_million("gpt-4.1-mini-2025") == (0.4, 1.6)
    assert prices.per_million("some-new-model") == prices.table["*"]
    assert prices.cost("gpt-4.1", 1_000_000, 500_000) == 2.0 + 4.0


def test_the_daily_budget_refuses_past_tokens_or_cost_and_says_which():
    ledger = Ledger(None, Prices(), DailyBudget(tokens=1_000, cost=0.5))  # type: ignore[arg-type]
    assert ledger._over(500, 0.1, 400, 0.1) == ""
    assert "FLOWFORGE_AI_DAILY_TOKENS" in ledger._over(700, 0.1, 400, 0.1)
    assert "FLOWFORGE_AI_DAILY_COST" in ledger._over(100, 0.45, 400, 0.1)
    unlimited = Ledger(None, Prices(), DailyBudget(tokens=0, cost=0))  # type: ignore[arg-type]
    assert unlimited._over(10**9, 10**6, 10**6, 10.0) == ""
