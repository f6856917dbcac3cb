"""Request and response models of the HTTP API, one per purpose."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from flowforge.common.events import RunCounts

RunStatus = Literal["queued", "running", "succeeded", "failed"]


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    type: str = Field(description="a stable URI reference naming the kind of problem")
    title: str = Field(description="a short summary of the kind of problem")
    status: int
    detail: str = Field(description="what was wrong in this request, and what to do")
    instance: str | None = Field(default=None, description="the request's path")
    error: str = Field(description="the same as `detail` (kept for clients of API v1.0)")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="for a request that is not valid: each problem with where"
    )


class Page(BaseModel):
    """A page of a list: `next` is the URL of the next page (absent on the last)."""

    next_cursor: str | None = Field(default=None, description="pass as `cursor` for more")
    next: str | None = None


class UploadAccepted(BaseModel):
    run_id: str
    dataset: str
    status: RunStatus = "queued"
    filename: str
    size_bytes: int
    content_hash: str
    key: list[str]
    duplicate_of: str | None = Field(
        default=None,
        description="set when the dataset already has this very content: the earlier run, "
        "which this answer is about (send `force=true` to land it again)",
    )


class StagePublic(BaseModel):
    name: str
    status: Literal["pending", "running", "succeeded", "failed", "skipped"]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None


class ReadingPublic(BaseModel):
    format: str = Field(description="csv (any delimited text), json, parquet or xlsx")
    encoding: str | None = Field(None, description="the text encoding read (delimited text)")
    encoding_confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="how sure the encoding is: 1 declared, marked (BOM) or "
        "valid UTF-8; lower for a legacy encoding told from the bytes (see docs/formats.md)",
    )
    encoding_source: Literal["declared", "bom", "detected", "fallback"] | None = None
    delimiter: str | None = None
    has_header: bool | None = None


class RunPublic(BaseModel):
    run_id: str
    dataset: str
    filename: str
    status: RunStatus
    verdict: str | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    stages: list[StagePublic]
    counts: RunCounts  # the events' own row accounting, one definition
    checks: list[dict[str, Any]] = Field(default_factory=list)
    reading: ReadingPublic | None = Field(
        None, description="How ingest read the file (None until it has)"
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What the run should tell you though it succeeded, e.g. that the file "
        "stopped being UTF-8 and was read in a legacy encoding",
    )
    # While a long stage works: {"stage", "done", "total", "unit"}: bytes of a file read by
    # ingest, or rows of an extraction (whose total is not known: null).
    progress: dict[str, Any] | None = None


class RunList(Page):
    runs: list[RunPublic]


class RejectedRow(BaseModel):
    line: int | None
    reason: str
    raw: str


class RejectedList(BaseModel):
    run_id: str
    count: int
    rows: list[RejectedRow]


class ColumnPublic(BaseModel):
    name: str
    type: str
    description: str | None = Field(
        default=None, description="from the catalog (accepted or written), Silver columns only"
    )


class LayerPublic(BaseModel):
    layer: str
    location: str = Field(
        description="Where the layer's objects are: `s3://bucket/<layer>/<dataset>/` on S3; "
        "the same key prefix (`<layer>/<dataset>/`) in a local lake folder, whose place on the "
        "server is not shown"
    )
    version: int
    row_count: int
    columns: int
    updated_at: datetime


class DatasetPublic(BaseModel):
    name: str
    key: list[str]
    layers: dict[str, LayerPublic]
    runs: int
    last_run: RunPublic | None = None


class DatasetList(Page):
    datasets: list[DatasetPublic]


class ContractPublic(BaseModel):
    schema_policy: Literal["evolve", "freeze", "discard_row"] = "evolve"
    array_policy: Literal["json", "columns"] = Field(
        default="json",
        description="arrays in JSON/Parquet records: `json` keeps each array as its JSON text "
        "in one column; `columns` spreads it into one column per element (`tags__0`, "
        "`tags__1`, ...; objects flattened inside, past 100 elements the rest as JSON in "
        "`tags__more`)",
    )


class SchemaPublic(BaseModel):
    dataset: str
    layer: str
    version: int
    fingerprint: str
    columns: list[ColumnPublic]
    versions: list[dict[str, Any]]
    description: str | None = Field(default=None, description="the dataset's, from the catalog")


class DescribedPublic(BaseModel):
    description: str
    source: str = Field(description="person, offline, or the LLM as provider:model")
    updated_by: str = Field(description="who wrote it, or accepted the suggestion")
    updated_at: datetime


class DescriptionsPublic(BaseModel):
    name: str
    description: DescribedPublic | None = None
    columns: dict[str, DescribedPublic] = Field(default_factory=dict)


class DescriptionsPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(
        default=None, max_length=2000, description="the dataset's; omitted: unchanged; '': removed"
    )
    columns: dict[str, Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=dict, description="{column: text}; '' removes one", max_length=2000
    )


class SamplePublic(BaseModel):
    dataset: str
    layer: str
    rows: list[dict[str, Any]]
    masked: bool = Field(default=False, description="PII values shown as shapes (a viewer)")


class LineageNode(BaseModel):
    id: str
    layer: str
    name: str


class LineageEdge(BaseModel):
    source: str
    target: str


class ColumnSource(BaseModel):
    node: str = Field(description="silver:<dataset> or gold:<model>")
    column: str


class ColumnLineage(BaseModel):
    node: str = Field(description="the Gold model (gold:<model>)")
    column: str
    sources: list[ColumnSource] = Field(description="the input columns it is computed from")


class LineagePublic(BaseModel):
    dataset: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    columns: list[ColumnLineage] = Field(
        default_factory=list, description="column-level lineage of the Gold models shown"
    )


class ModelCreate(BaseModel):
    name: str = Field(description="lower snake_case name of the Gold model")
    sql: str = Field(description="DuckDB SELECT reading Silver datasets/models by name")
    reconcile: dict[str, str] = Field(
        default_factory=dict,
        description="additive Gold columns: {gold column: 'dataset.column'}; after each build "
        "quality checks that sum(gold column) equals the source column's sum over the "
        "dataset's valid rows",
        examples=[{"revenue": "orders.amount"}],
    )
    materialized: Literal["view", "table", "incremental", "snapshot"] = Field(
        "table",
        description="`table`: rebuilt after each batch; `incremental`: the rows of new input "
        "batches merged by `unique_key`; `snapshot`: SCD type 2 history (`valid_from`, "
        "`valid_to`, `is_current`) by `unique_key`; `view`: stored nowhere, its SQL is bound "
        "over its inputs wherever it is read (SQL explorer, other models, analytics)",
    )
    unique_key: str | list[str] | None = Field(
        None, description="the column(s) identifying a row (incremental and snapshot models)"
    )
    strategy: Literal["timestamp", "check"] | None = Field(
        None, description="snapshot: compare `updated_at`, or the `check_cols` values"
    )
    updated_at: str | None = Field(None, description="snapshot (timestamp): the column")
    check_cols: list[str] | Literal["all"] | None = Field(
        None, description="snapshot (check): the columns compared, or `all`"
    )
    hard_deletes: Literal["ignore", "invalidate"] = Field(
        "ignore", description="snapshot: a key gone from the result stays current, or is closed"
    )
    description: str = Field("", max_length=10_000)
    column_docs: dict[str, str] = Field(default_factory=dict, description="{column: description}")
    tests: list[dict[str, Any]] = Field(
        default_factory=list,
        description="rules in the quality vocabulary (not_null, unique, accepted_values, range, "
        "regex, length, referential, sql, row_count) run over each build's result before it is "
        "committed; `action: fail` (default) fails the build, `warn` records it",
        examples=[[{"type": "not_null", "column": "country"}]],
    )


class ModelPublic(BaseModel):
    name: str
    sql: str
    depends_on: list[str]
    built: bool
    built_at: datetime | None = None
    row_count: int | None = None
    columns: list[ColumnPublic] = Field(default_factory=list)
    updated_at: datetime
    reconcile: dict[str, str] = Field(default_factory=dict)
    last_error: str | None = Field(
        default=None, description="why the last build failed (cleared by a successful build)"
    )
    last_error_at: datetime | None = None
    version: int | None = Field(None, description="the version of its table the last build made")
    materialized: str = "table"
    unique_key: list[str] = Field(default_factory=list)
    snapshot: dict[str, Any] | None = Field(
        None, description="a snapshot's `strategy`, `updated_at`, `check_cols`, `hard_deletes`"
    )
    description: str = ""
    column_docs: dict[str, str] = Field(default_factory=dict)
    tests: list[dict[str, Any]] = Field(default_factory=list)
    test_results: list[dict[str, Any]] = Field(
        default_factory=list, description="the last build's test results"
    )


class ModelList(Page):
    models: list[ModelPublic]


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobPublic(BaseModel):
    """A long operation: follow it at `GET /api/v1/jobs/{id}` until it has finished."""

    id: str
    kind: str
    dataset: str | None = None
    status: JobStatus
    request: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobList(Page):
    jobs: list[JobPublic]


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    services: dict[str, str]


class RuleSetPublic(BaseModel):
    dataset: str
    rules: list[dict[str, Any]] = Field(
        description="each rule as written in YAML/JSON (docs/quality.md)"
    )


class CheckPublic(BaseModel):
    name: str
    rule_type: str
    column: str | None = None
    action: str | None = None
    status: str
    failed_rows: int
    total_rows: int | None = None
    detail: str
    examples: list[str] = Field(default_factory=list)


class EvaluationPublic(BaseModel):
    run_id: str
    revision: int
    trigger: str
    verdict: str
    rows: int
    quarantined: int
    evaluated_at: datetime
    seconds: float
    checks: list[CheckPublic] = Field(default_factory=list)
    failed_by_rule: dict[str, int] = Field(default_factory=dict)


class ReconciliationPublic(BaseModel):
    run_id: str
    revision: int
    model: str
    name: str
    status: str
    expected: float | None
    actual: float | None
    detail: str
    checked_at: datetime


class QualityPublic(BaseModel):
    dataset: str
    latest: EvaluationPublic | None
    trend: list[EvaluationPublic]
    reconciliation: list[ReconciliationPublic]


class QuarantinePublic(BaseModel):
    dataset: str
    total: int
    rows: list[dict[str, Any]]
    masked: bool = Field(default=False, description="PII values shown as shapes (a viewer)")


NonEmpty = Annotated[str, Field(min_length=1, max_length=500)]


class ReleaseRequest(BaseModel):
    # The rules of the validator below, in the schema too (clients and fuzzers can see them).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["run_id"], "properties": {"run_id": {"type": "string"}}},
                {"required": ["rule"], "properties": {"rule": {"type": "string"}}},
                {"required": ["all"], "properties": {"all": {"const": True}}},
            ],
            "dependentSchemas": {
                "lines": {"required": ["run_id"], "properties": {"run_id": {"type": "string"}}}
            },
        },
    )

    run_id: NonEmpty | None = Field(default=None, description="only this run's rows")
    rule: NonEmpty | None = Field(default=None, description="only rows quarantined by this rule")
    lines: list[Annotated[int, Field(ge=1)]] | None = Field(
        default=None, min_length=1, description="only these lines (with run_id)"
    )
    all: StrictBool = Field(default=False, description="every quarantined row of the dataset")
    reason: str = Field(min_length=1, max_length=2000, description="why, kept with the release")

    @model_validator(mode="after")
    def _scoped(self) -> ReleaseRequest:
        if not (self.run_id or self.rule or self.all):
            raise ValueError("say which rows: `run_id`, `rule`, or `all: true`")
        if self.lines and not self.run_id:
            raise ValueError("`lines` are lines of one run's file: give its `run_id` too")
        return self


class ReplayRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["run_ids"], "properties": {"run_ids": {"type": "array"},
                                                          "all": {"const": False}}},
                {"required": ["all"], "properties": {"all": {"const": True},
                                                      "run_ids": {"type": "null"}}},
            ]
        },
    )  # fmt: skip

    run_ids: list[NonEmpty] | None = Field(default=None, min_length=1, description="these batches")
    all: StrictBool = Field(default=False, description="every batch of the dataset")

    @model_validator(mode="after")
    def _scoped(self) -> ReplayRequest:
        if bool(self.run_ids) == self.all:
            raise ValueError("give `run_ids` or `all: true` (one of them)")
        return self


SPEC_KINDS = ("string", "integer", "double", "boolean", "decimal", "date", "datetime")
Column = Annotated[str, Field(min_length=1, max_length=255)]
SpecType = Annotated[
    str,
    Field(
        pattern=r"^(string|integer|double|boolean|decimal(:([0-9]|1[0-8]))?|(date|datetime)(:.+)?)$"
    ),
]


class SilverSpecPublic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    renames: dict[Column, Column] = Field(
        default_factory=dict, examples=[{"cust_no": "customer_id"}]
    )
    types: dict[Column, SpecType] = Field(
        default_factory=dict, examples=[{"order_date": "date:%d/%m/%Y", "zip": "string"}]
    )

    @model_validator(mode="after")
    def _known_types(self) -> SilverSpecPublic:
        for column, spec in self.types.items():
            kind, _, detail = spec.partition(":")
            if kind not in SPEC_KINDS:
                raise ValueError(
                    f"types.{column}: {spec!r} is not one of {', '.join(SPEC_KINDS)}"
                    " (decimal:N and date:<strftime> take a detail)"
                )
            if kind == "decimal" and detail and not (detail.isdigit() and int(detail) <= 18):
                raise ValueError(f"types.{column}: decimal scale {detail!r} is not 0-18")
        return self


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh: StrictBool = Field(default=False, description="ask the LLM again, not its cache")


# --- source connections (issue 13) ---------------------------------------------------------

ConnectionKind = Literal["postgresql", "mysql", "sqlserver", "oracle"]


class ConnectionBody(BaseModel):
    """A source database. `options` by kind: postgresql `sslmode` (disable, prefer, require,
    verify-ca, verify-full), `schema`; mysql (MariaDB too) `ssl` (disabled, preferred,
    required, verify_identity); sqlserver `encrypt`, `trust_server_certificate`, `schema`;
    oracle `service_name` or `sid`, `schema`; every kind `connect_timeout` (seconds)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_]{0,62}$", description="PUT: the path's name, if given"
    )
    kind: ConnectionKind
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9._:\-\[\]]+$")
    port: int | None = Field(None, ge=1, le=65535, description="default: the kind's usual port")
    database: str = Field("", max_length=128)
    user: str = Field("", max_length=128)
    password: str | None = Field(
        None,
        max_length=1024,
        description="sealed at rest; never returned (PUT: leave out to keep the stored one)",
        json_schema_extra={"writeOnly": True},
    )
    options: dict[str, str | int | float] = Field(default_factory=dict)


class ConnectionCreate(ConnectionBody):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")


class ConnectionPublic(BaseModel):
    name: str
    kind: ConnectionKind
    host: str
    port: int
    database: str
    user: str
    options: dict[str, Any]
    has_password: bool
    created_at: datetime
    updated_at: datetime


class ConnectionList(BaseModel):
    connections: list[ConnectionPublic]


class ConnectionError_(BaseModel):
    kind: Literal["host_unreachable", "timeout", "auth_failed", "database_not_found",
                  "tls_required", "tls_unavailable", "unsupported", "error"]  # fmt: skip
    detail: str


class ConnectionTest(BaseModel):
    ok: bool
    name: str
    server_version: str | None = None
    connect_ms: float | None = None
    round_trip_ms: float | None = None
    error: ConnectionError_ | None = None


class SourceColumn(BaseModel):
    name: str
    type: str
    nullable: bool


class SourceTable(BaseModel):
    schema_: str = Field(alias="schema")
    name: str
    type: str = Field(description="table, view, materialized view or foreign table")
    row_estimate: int | None
    primary_key: list[str]
    columns: list[SourceColumn]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class TableList(BaseModel):
    connection: str
    tables: list[SourceTable]


class PreviewPublic(BaseModel):
    connection: str
    table: str
    columns: list[dict[str, str]]
    rows: list[list[Any]]


class SourceBody(BaseModel):
    """Where a dataset's rows come from: exactly one of `table` and `query`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["table"], "properties": {"table": {"type": "string"},
                                                        "query": {"type": "null"}}},
                {"required": ["query"], "properties": {"query": {"type": "string"},
                                                        "table": {"type": "null"}}},
            ]
        },
    )  # fmt: skip

    connection: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    table: str | None = Field(
        None,
        min_length=1,
        max_length=300,
        description="`schema.table`, or `table` in the default schema",
    )
    query: str | None = Field(
        None,
        min_length=1,
        max_length=100_000,
        description="one read-only SELECT (or WITH ... SELECT)",
    )
    mode: Literal["full", "incremental"] = "full"
    cursor: str | list[str] | None = Field(
        None, description="incremental: the column that grows (e.g. updated_at, id)"
    )
    key: list[str] | None = Field(None, description="the dataset's key: latest row per key wins")
    lookback: float = Field(
        0,
        ge=0,
        description="re-read this far behind the watermark "
        "(seconds for a time cursor, units otherwise) for late commits",
    )
    initial: str | int | float | None = Field(
        None, description="incremental: where the first extract starts (exclusive)"
    )

    @model_validator(mode="after")
    def one_of_table_or_query(self) -> SourceBody:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` and `query`")
        return self


class SourcePublic(BaseModel):
    dataset: str
    connection: str
    table: str | None
    query: str | None
    mode: Literal["full", "incremental"]
    cursor: str | None
    key: list[str]
    lookback: float
    initial: str | None
    watermark: str | None = Field(description="the cursor's highest value committed to Bronze")
    watermark_run: str | None
    updated_at: datetime


class ExtractAccepted(BaseModel):
    run_id: str
    dataset: str
    window: str


# --- workflows (the scheduler owns them) ------------------------------------------------------


class WorkflowBody(BaseModel):
    """A workflow's definition: the same document as a YAML file in the workflows folder.
    Each field is checked by the scheduler, which names the field it refuses."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "schedule": {"cron": "0 2 * * *", "timezone": "Europe/Berlin"},
                "catchup": "latest",
                "max_active_runs": 1,
                "steps": [
                    {"name": "extract", "extract": "orders", "retries": 2, "timeout": "30m"},
                    {"name": "models", "build": ["revenue"], "needs": ["extract"]},
                ],
            }
        },
    )

    name: str | None = Field(None, description="the workflow's name (the path's, if given)")
    description: str | None = None
    schedule: dict[str, Any] | None = Field(
        None, description='{"cron": "0 2 * * *", "timezone": "Europe/Berlin"} or {"every": "15m"}'
    )
    after: list[str] | None = Field(None, description="run after these workflows succeeded")
    on_event: dict[str, Any] | None = Field(
        None,
        description='run on an event: {"subject": "gold.ready", "model": "revenue"} or '
        '{"subject": "schema.changed", "dataset": "orders"}',
    )
    catchup: Literal["all", "latest", "none"] | None = None
    max_active_runs: int | None = Field(None, ge=1, le=100)
    on_limit: Literal["queue", "skip"] | None = None
    sla: str | int | None = Field(
        None, description="a run still going this long after it started is late (alert)"
    )
    notify: list[dict[str, Any]] | None = Field(
        None, description='[{"webhook": "https://...", "on": ["failure", "success", "sla"]}]'
    )
    paused: bool | None = None
    steps: list[dict[str, Any]] = Field(
        ...,
        min_length=1,
        description="each {name, one of extract|pickup|build|quality|wait|webhook, needs, "
        "retries, retry_delay, timeout}",
    )


class WorkflowStepRun(BaseModel):
    name: str
    status: Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]
    attempts: int
    pipeline_runs: list[str] = Field(description="the pipeline runs this step started")
    output: Any = None
    error: str | None = None
    retry_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class WorkflowRun(BaseModel):
    id: str
    workflow: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled", "skipped"]
    trigger: Literal["schedule", "manual", "after", "event", "backfill"]
    logical_start: datetime | None = None
    logical_end: datetime | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = Field(None, description="why it failed, was skipped or cancelled")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = None
    steps: list[WorkflowStepRun] = Field(default_factory=list)
    notifications: list[dict[str, Any]] = Field(default_factory=list)


class WorkflowRunPage(Page):
    runs: list[WorkflowRun]


class WorkflowPublic(BaseModel):
    name: str
    definition: dict[str, Any]
    origin: str = Field(description="`api`, or `file:<name>.yaml` in the workflows folder")
    paused: bool
    last_tick: datetime | None = None
    next_tick: datetime | None = None
    last_run: WorkflowRun | None = None
    created_at: datetime
    updated_at: datetime


class WorkflowList(BaseModel):
    workflows: list[WorkflowPublic]


class WorkflowRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logical_date: datetime | None = Field(
        None, description="run for the schedule's interval ending at or before this time"
    )
    logical_start: datetime | None = None
    logical_end: datetime | None = None
    params: dict[str, Any] | None = Field(None, description="handed to the run's steps")


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime = Field(description="the first interval ends after this")
    end: datetime = Field(description="the last interval ends at or before this")


class BackfillAccepted(BaseModel):
    workflow: str
    runs: int
    run_ids: list[str]
    intervals: list[dict[str, datetime]]


# --- the event log of a run, the dashboard, the live event stream -----------------------------


class RunEventPublic(BaseModel):
    id: str = Field(description="the event's CloudEvents id (`<subject>:<run_id>[:r<revision>]`)")
    subject: str = Field(description="the NATS subject it was published on, e.g. `bronze.ready`")
    service: str = Field(
        description="the service that publishes this subject (for a dead letter: the service "
        "whose consumer gave up on the message)"
    )
    at: datetime = Field(
        description="when it happened: the end of the stage it reports, when the file landed; "
        "when the catalog received it for an event that does not say"
    )
    received_at: datetime = Field(description="when the catalog recorded it")
    summary: str = Field(description="one line for people, e.g. `bronze: 1,000 rows (3 rejected)`")
    payload: dict[str, Any] = Field(
        description="the event as published: its CloudEvents envelope, the payload in `data` "
        "(events carry counts, names, object URIs and error texts, never row values)"
    )


class RunEventList(BaseModel):
    run_id: str
    events: list[RunEventPublic] = Field(description="oldest first (by `at`); at most 1,000")


class DashboardPart(BaseModel):
    available: bool = Field(
        description="false when the service that owns this part did not answer in time: the "
        "other parts are still shown"
    )
    detail: str | None = Field(None, description="why the part is unavailable or incomplete")


class RunFigures(DashboardPart):
    since: datetime | None = Field(None, description="the window's start (24 h before `until`)")
    until: datetime | None = None
    queued: int | None = Field(None, description="runs created in the window, now queued")
    running: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    rows_landed: int | None = Field(
        None, description="rows the window's runs landed in Bronze (the sum of `counts.bronze`)"
    )
    rows_parsed: int | None = Field(None, description="rows read from their files (`parsed`)")
    rows_rejected: int | None = Field(None, description="lines rejected (`rejected`)")


class FailingCheck(BaseModel):
    dataset: str
    run_id: str = Field(description="the run whose evaluation failed")
    rules: list[str] = Field(description="the names of the checks that failed it")
    at: datetime = Field(description="when the evaluation ended")


class FailingChecks(DashboardPart):
    datasets: list[FailingCheck] = Field(
        default_factory=list,
        description="datasets whose latest quality evaluation failed, the most recent first",
    )


class StaleDataset(BaseModel):
    dataset: str
    last_success_at: datetime | None = Field(
        None, description="when its last successful run finished (null: none ever succeeded)"
    )
    stale_since: datetime | None = Field(
        None, description="when it went stale: its last success plus `max_age_seconds`"
    )
    last_success_run_id: str | None = None
    last_run_at: datetime | None = Field(None, description="when its latest run was created")
    last_run_id: str | None = None
    max_age_seconds: float = Field(description="how old its last success may be")
    rule: str = Field(description="where that limit comes from (a freshness rule, or the default)")


class StaleDatasets(DashboardPart):
    rule: str = Field(
        description="the rule applied: a dataset is stale when its last successful run is older "
        "than its strictest freshness rule's `max_age`, or the default when it has none"
    )
    default_max_age_seconds: float
    count: int | None = Field(None, description="how many datasets are stale")
    datasets: list[StaleDataset] = Field(
        default_factory=list,
        description="at most 50: the latest to go stale first, then those that never succeeded",
    )


class DashboardAlert(BaseModel):
    at: datetime
    kind: Literal["run_failed", "workflow_failed", "workflow_sla"]
    text: str = Field(description="what happened, one line")
    run_id: str | None = Field(
        None, description="the pipeline run (`run_failed`) or workflow run (`workflow_*`)"
    )
    dataset: str | None = Field(None, description="link target of a `run_failed` alert")
    workflow: str | None = Field(None, description="link target of a `workflow_*` alert")


class DashboardAlerts(DashboardPart):
    alerts: list[DashboardAlert] = Field(default_factory=list, description="the newest first")
    unavailable: list[str] = Field(
        default_factory=list, description="services whose alerts are missing (did not answer)"
    )


class DashboardPublic(BaseModel):
    generated_at: datetime
    runs: RunFigures = Field(description="runs of the last 24 h by status, and their rows")
    failing_checks: FailingChecks
    stale_datasets: StaleDatasets
    alerts: DashboardAlerts = Field(description="the latest failures: runs and workflows")


class LiveEvent(BaseModel):
    """One message of `GET /api/v1/events/stream` (its `data`, as JSON): `event:` is the
    subject, `id:` the position to resume from (`Last-Event-ID`)."""

    subject: str = Field(
        description="e.g. `bronze.ready`, `dlq.<subject>`, `flowforge.progress.<run_id>` (a "
        "run's live progress); `overflow` (no data) says messages were lost: refetch"
    )
    run_id: str | None = None
    dataset: str | None = None
    at: datetime | None = Field(None, description="when it happened")
    summary: str = Field(description="one line for people; never the payload")
    service: str = Field(description="the service that published it")
