"""The LLM providers, through their official SDKs (`base_url` points them at any compatible
server): Claude with a forced tool call, OpenAI with a `response_format` json_schema, both
answering in the schema of the task's tool (the column analysis of `answers` by default).

Every way a call can fail is a `ProviderError` with a `kind`: `http`, `rate_limit` (with the
server's `retry-after`), `timeout`, `connection`, `cut` (the answer hit its token limit) or
`refusal` (Anthropic's `stop_reason: refusal`, OpenAI's `message.refusal`). Its message is
the status and error type only, never the provider's text, which can echo part of the key.

A provider may carry a `gate` (`llm.Gate`): the ledger that admits each call against the
daily budget and records it; the composition root attaches it, tests leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from flowforge.ai.answers import ANSWER_SCHEMA, TOOL_NAME

REFUSAL_CHARS = 200
MAX_RETRY_AFTER = 600.0


class ProviderError(Exception):
    """The provider could not answer (HTTP error, timeout, a cut answer, a refusal)."""

    def __init__(
        self,
        message: str,
        usage: Usage | None = None,
        *,
        kind: str = "http",
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.usage = usage
        self.kind = kind
        self.retry_after = retry_after


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens


@dataclass(frozen=True)
class Tool:
    """The shape an answer is forced into: a tool call (Anthropic), a json_schema (OpenAI)."""

    name: str
    description: str
    schema: dict[str, Any]


ANALYSIS_TOOL = Tool(TOOL_NAME, "Record the analysis of the dataset's columns.", ANSWER_SCHEMA)


class Provider(Protocol):
    name: str
    model: str

    timeout: float

    async def complete(
        self, system: str, user: str, max_tokens: int, tool: Tool = ANALYSIS_TOOL
    ) -> tuple[Any, Usage]: ...


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, model: str, base_url: str | None, timeout: float):
        import anthropic

        self.model, self.timeout = model, timeout
        self.gate: Any = None
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(
        self, system: str, user: str, max_tokens: int, tool: Tool = ANALYSIS_TOOL
    ) -> tuple[Any, Usage]:
        import anthropic

        try:
            response = await self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                system=system,
                messages=[{"role": "user", "content": user}],
                tools=[
                    {
                        "name": tool.name,
                        "description": tool.description,
                        "input_schema": tool.schema,
                    }
                ],  # fmt: skip
                tool_choice={"type": "tool", "name": tool.name},
            )
        except anthropic.APIError as exc:
            raise _provider_error(exc, self.timeout) from exc
        usage = Usage(response.usage.input_tokens or 0, response.usage.output_tokens or 0)
        text = " ".join(getattr(b, "text", "") for b in response.content).strip()
        if response.stop_reason == "refusal":
            raise _refusal(text, usage)
        if response.stop_reason == "max_tokens":
            raise ProviderError(f"the answer was cut at {max_tokens} tokens", usage, kind="cut")
        for block in response.content:
            if block.type == "tool_use" and block.name == tool.name:
                return block.input, usage
        return text or {}, usage


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: str, model: str, base_url: str | None, timeout: float):
        import openai

        self.model, self.timeout = model, timeout
        self.gate: Any = None
        self.client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(
        self, system: str, user: str, max_tokens: int, tool: Tool = ANALYSIS_TOOL
    ) -> tuple[Any, Usage]:
        import openai

        try:
            response = await self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": tool.name, "schema": tool.schema},
                },
                max_completion_tokens=max_tokens,
            )
        except openai.APIError as exc:
            raise _provider_error(exc, self.timeout) from exc
        usage = Usage()
        if response.usage is not None:
            usage = Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0)
        message = response.choices[0].message if response.choices else None
        if message is not None and getattr(message, "refusal", None):
            raise _refusal(str(message.refusal), usage)
        if response.choices and response.choices[0].finish_reason == "length":
            raise ProviderError(f"the answer was cut at {max_tokens} tokens", usage, kind="cut")
        content = message.content if message is not None else None
        return content or "", usage


def _refusal(text: str, usage: Usage) -> ProviderError:
    said = " ".join(text.split())[:REFUSAL_CHARS]
    return ProviderError(f"the model refused{': ' + said if said else ''}", usage, kind="refusal")


def _provider_error(exc: Exception, timeout: float) -> ProviderError:
    """An SDK error (either SDK) as the status and the error type only: a provider's message
    can echo part of the key."""
    kind = type(exc).__name__
    if kind == "APITimeoutError":
        return ProviderError(f"no answer within {timeout:g}s (timeout)", kind="timeout")
    status = getattr(exc, "status_code", None)
    if status is None:
        return ProviderError(kind, kind="connection")
    if status == 429:
        after = _retry_after(exc)
        wait = f"; retry after {after:g}s" if after is not None else ""
        return ProviderError(
            f"HTTP 429 ({_kind(exc)}): rate limited{wait}", kind="rate_limit", retry_after=after
        )
    return ProviderError(f"HTTP {status} ({_kind(exc)})")


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        try:
            seconds = float(value) / (1000 if name.endswith("ms") else 1)
        except (TypeError, ValueError):
            continue
        return max(0.0, min(seconds, MAX_RETRY_AFTER))
    return None


def _kind(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):  # Anthropic's {"error": {"type"}}; OpenAI's SDK unwraps it
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return error["type"][:60]
    return type(exc).__name__


def providers_from(settings: Any, gate: Any = None) -> list[Provider]:
    """Claude when it has a key, then OpenAI when it has one (none: offline only), each
    admitted and recorded by `gate` when given."""
    out: list[Any] = []
    if settings.anthropic_api_key is not None:
        out.append(
            AnthropicProvider(
                settings.anthropic_api_key.get_secret_value(),
                settings.anthropic_model,
                settings.anthropic_base_url,
                settings.ai_timeout_seconds,
            )
        )
    if settings.openai_api_key is not None:
        out.append(
            OpenAIProvider(
                settings.openai_api_key.get_secret_value(),
                settings.openai_model,
                settings.openai_base_url,
                settings.ai_timeout_seconds,
            )
        )
    for provider in out:
        provider.gate = gate
    return out
