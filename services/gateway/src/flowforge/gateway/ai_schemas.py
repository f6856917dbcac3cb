"""Request and response models of the LLM's usage (tokens, cost, the daily budget) and of
Gold models drafted from a question."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class UsageTotals(BaseModel):
    calls: int = Field(description="calls made (not skipped, not answered from the cache)")
    cached: int = Field(description="answers from the prompt cache: no call made")
    failed: int = Field(description="calls that gave no usable answer (error, invalid, refused)")
    skipped: int = Field(description="calls not made: over a budget, a provider rate-limited")
    input_tokens: int
    output_tokens: int
    cost_usd: float = Field(description="estimated from the price table (US dollars)")


class UsageDay(UsageTotals):
    day: date = Field(description="the UTC day")
    purposes: dict[str, UsageTotals] = Field(description="by purpose: analysis, model_draft")


class UsageToday(BaseModel):
    tokens: int
    cost_usd: float
    budget_tokens: int | None = Field(description="FLOWFORGE_AI_DAILY_TOKENS (None: no limit)")
    budget_cost_usd: float | None = Field(description="FLOWFORGE_AI_DAILY_COST (None: no limit)")


class UsageCall(BaseModel):
    id: int
    at: datetime
    purpose: str
    dataset: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cached: bool
    outcome: Literal["pending", "ok", "invalid", "refused", "error", "skipped", "cached"]
    reason: str


class UsagePublic(BaseModel):
    days: list[UsageDay] = Field(description="per UTC day, newest first (days with calls)")
    today: UsageToday
    prices: dict[str, list[float]] = Field(
        description="US dollars per million tokens [input, output] by model-name prefix"
    )
    calls: list[UsageCall] = Field(description="the latest calls, newest first")


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3, max_length=1000, description="what the model should "
                          "answer, e.g. 'monthly revenue by country for paid orders'")  # fmt: skip
    datasets: list[str] | None = Field(
        default=None,
        max_length=50,
        description="the datasets and models it may read (default: every one in the catalog)",
    )
    refresh: bool = Field(False, description="ask the LLM again even if asked this before")


class DraftDryRun(BaseModel):
    columns: list[dict[str, str]] = Field(description="the result's columns: name, type")
    rows: list[list[Any]] = Field(description="its first rows")
    sample_rows: int = Field(description="rows read of each input at most")
    seconds: float


class DraftPublic(BaseModel):
    status: Literal["ready", "refused", "unavailable"] = Field(
        description="ready: valid and dry-run, save it with POST /api/v1/models; refused: the "
        "LLM's draft cannot be used (`reason`); unavailable: no LLM to ask (`reason`)"
    )
    reason: str = ""
    question: str
    name: str | None = Field(None, description="the model's name (a refused draft's as given)")
    sql: str | None = None
    explanation: str = ""
    tables: list[str] = Field(default_factory=list, description="datasets and models it reads")
    columns_used: dict[str, list[str]] = Field(
        default_factory=dict, description="lineage: the columns it reads, by dataset or model"
    )
    lineage: dict[str, list[str]] = Field(
        default_factory=dict, description="each result column's input columns (table.column)"
    )
    dry_run: DraftDryRun | None = None
    source: str = Field("offline", description="provider:model, or offline")
    cached: bool = False
    tokens: int = 0
    attempts: list[dict[str, Any]] = Field(default_factory=list)
