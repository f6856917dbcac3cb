"""The LLM providers, through their official SDKs (`base_url` points them at any compatible
server): Claude with a forced tool call, OpenAI with a `response_format` json_schema, both
answering in the schema of `answers`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from flowforge.ai.answers import ANSWER_SCHEMA, TOOL_NAME


class ProviderError(Exception):
    """The provider could not answer (HTTP error, timeout, a cut answer)."""

    def __init__(self, message: str, usage: Usage | None = None):
        super().__init__(message)
        self.usage = usage


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


class Provider(Protocol):
    name: str
    model: str

    timeout: float

    async def complete(self, system: str, user: str, max_tokens: int) -> tuple[Any, Usage]: ...


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, api_key: str, model: str, base_url: str | None, timeout: float):
        import anthropic

        self.model, self.timeout = model, timeout
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(self, system: str, user: str, max_tokens: int) -> tuple[Any, Usage]:
        import anthropic

        try:
            response = await self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                system=system,
                messages=[{"role": "user", "content": user}],
                tools=[
                    {
                        "name": TOOL_NAME,
                        "description": "Record the analysis of the dataset's columns.",
                        "input_schema": ANSWER_SCHEMA,
                    }
                ],
                tool_choice={"type": "tool", "name": TOOL_NAME},
            )
        except anthropic.APIError as exc:
            raise _provider_error(exc) from exc
        usage = Usage(response.usage.input_tokens or 0, response.usage.output_tokens or 0)
        if response.stop_reason == "max_tokens":
            raise ProviderError(f"the answer was cut at {max_tokens} tokens", usage)
        for block in response.content:
            if block.type == "tool_use" and block.name == TOOL_NAME:
                return block.input, usage
        text = " ".join(getattr(b, "text", "") for b in response.content).strip()
        return text or {}, usage


class OpenAIProvider:
    name = "openai"

    def __init__(self, api_key: str, model: str, base_url: str | None, timeout: float):
        import openai

        self.model, self.timeout = model, timeout
        self.client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(self, system: str, user: str, max_tokens: int) -> tuple[Any, Usage]:
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
                    "json_schema": {"name": TOOL_NAME, "schema": ANSWER_SCHEMA},
                },
                max_completion_tokens=max_tokens,
            )
        except openai.APIError as exc:
            raise _provider_error(exc) from exc
        usage = Usage()
        if response.usage is not None:
            usage = Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0)
        if response.choices and response.choices[0].finish_reason == "length":
            raise ProviderError(f"the answer was cut at {max_tokens} tokens", usage)
        content = response.choices[0].message.content if response.choices else None
        return content or "", usage


def _provider_error(exc: Exception) -> ProviderError:
    """An SDK error (either SDK) as the status and the error type only: a provider's message
    can echo part of the key."""
    status = getattr(exc, "status_code", None)
    if status is None:
        return ProviderError(type(exc).__name__)
    return ProviderError(f"HTTP {status} ({_kind(exc)})")


def _kind(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return error["type"][:60]
    return type(exc).__name__


def providers_from(settings: Any) -> list[Provider]:
    """Claude when it has a key, then OpenAI when it has one (none: offline only)."""
    out: list[Provider] = []
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
    return out
