"""Every event FlowForge publishes: subjects, payload models and the CloudEvents envelope.

This module is the only place an event shape or subject is defined. Payloads are versioned
(`VERSION`), serialised as structured-mode CloudEvents JSON so that other systems can
subscribe without our code:

    {"specversion": "1.0", "id": "bronze.ready:<run_id>", "source": "/flowforge/ingest",
     "type": "io.flowforge.bronze.ready.v1", "time": "...", "subject": "<dataset>",
     "datacontenttype": "application/json", "data": {...payload...}}

Event ids are deterministic (subject + run), and are used as `Nats-Msg-Id`, so a retried
publish or a redelivered handler publishing again is deduplicated by JetStream.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flowforge.common.errors import BadInputError, PermanentError
from flowforge.common.lake import check_name

SPEC_VERSION = "1.0"
TYPE_PREFIX = "io.flowforge"

# Pipeline subjects, all captured by the one JetStream stream.
FILE_LANDED = "file.landed"
BRONZE_READY = "bronze.ready"
SILVER_READY = "silver.ready"
QUALITY_CHECKED = "quality.checked"
QUALITY_RECONCILED = "quality.reconciled"
GOLD_READY = "gold.ready"
INGEST_FAILED = "ingest.failed"
TRANSFORM_FAILED = "transform.failed"
QUALITY_FAILED = "quality.failed"
CATALOG_UPDATED = "catalog.updated"
JOB_REQUESTED = "job.requested"
SCHEMA_CHANGED = "schema.changed"
AI_SCHEMA_ANALYZED = "ai.schema.analyzed"
AUDIT_RECORDED = "audit.recorded"
WORKFLOW_FINISHED = "workflow.finished"
WORKFLOW_ALERT = "workflow.alert"
DLQ_PREFIX = "dlq."

# Core-NATS request/reply subjects (never captured by the stream: JetStream would answer them).
# MinIO's bucket notifications (core NATS, captured by the stream); FLOWFORGE_MINIO_SUBJECT.
MINIO_SUBJECT = "minio.landing"
HEALTH_SUBJECT = "flowforge.svc.health.{service}"
METRICS_SUBJECT = "flowforge.svc.metrics.{service}"
AI_ANALYZE = "ai.analyze"
QUALITY_REPLAY = "flowforge.svc.quality.replay"  # re-evaluate batches with today's rules
QUALITY_RELEASE = "flowforge.svc.quality.release"  # release quarantined rows, then re-evaluate
QUALITY_DRYRUN = "flowforge.svc.quality.dryrun"  # how many rows a rule would quarantine
PROGRESS_SUBJECT = "flowforge.progress.{run_id}"  # core NATS: a live figure, not history

STAGES = ("ingest", "silver", "quality", "gold")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Column(BaseModel):
    name: str
    type: str


class RunCounts(BaseModel):
    """Row accounting of one run; each stage fills in its part and passes the rest on."""

    parsed: int | None = None
    rejected: int | None = None
    bronze: int | None = None
    duplicates: int | None = None
    silver: int | None = None
    quarantined: int | None = None
    valid: int | None = None
    # A full snapshot (a `full` extraction): rows that were current before it and are not in
    # it any more, so are no longer current (gone from the source).
    deleted: int | None = None


class StageTiming(BaseModel):
    started_at: datetime
    finished_at: datetime

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class Event(BaseModel):
    """Base of every payload. Subclasses set SUBJECT, VERSION and SOURCE."""

    model_config = ConfigDict(extra="ignore")

    SUBJECT: ClassVar[str]
    VERSION: ClassVar[int] = 1
    SOURCE: ClassVar[str] = "flowforge"

    run_id: str
    dataset: str
    content_hash: str = ""

    @property
    def event_id(self) -> str:
        return f"{self.SUBJECT}:{self.run_id}"

    @classmethod
    def event_type(cls) -> str:
        return f"{TYPE_PREFIX}.{cls.SUBJECT}.v{cls.VERSION}"

    def to_cloudevent(self, *, time: datetime | None = None) -> dict[str, Any]:
        return {
            "specversion": SPEC_VERSION,
            "id": self.event_id,
            "source": f"/flowforge/{self.SOURCE}",
            "type": self.event_type(),
            "time": (time or utcnow()).isoformat(),
            "subject": self.dataset,
            "datacontenttype": "application/json",
            "data": self.model_dump(mode="json"),
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_cloudevent()).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Self:
        """Parse a CloudEvents envelope; a malformed one is a PermanentError (goes to the DLQ)."""
        try:
            envelope = json.loads(body)
            return cls.model_validate(envelope["data"])
        except (ValueError, KeyError, TypeError, RecursionError, ValidationError) as exc:
            raise PermanentError(f"malformed {cls.SUBJECT} event: {exc}") from exc


class PipelineEvent(Event):
    """Fields that travel with a run through every stage."""

    filename: str = ""
    key: list[str] = Field(default_factory=list)
    counts: RunCounts = Field(default_factory=RunCounts)
    # 0 for a file's first pass; a later quality evaluation of the same batch (a replay after
    # its rules changed, or rows released from quarantine) is revision N, and so are the
    # events that follow it, so their ids (and `Nats-Msg-Id`) differ from the first pass's.
    revision: int = 0
    # The run extracts from a source database (no file): an empty batch is then a window with
    # nothing new, not a suspicious file.
    extracted: bool = False
    # The batch is the whole of its source (a `full` extraction): from it on, the dataset's
    # current rows are this batch's and later ones'; rows only in earlier batches are deleted.
    snapshot: bool = False

    @property
    def event_id(self) -> str:
        base = f"{self.SUBJECT}:{self.run_id}"
        return f"{base}:r{self.revision}" if self.revision else base

    @field_validator("dataset")
    @classmethod
    def _dataset_is_a_name(cls, value: str) -> str:
        # Names end up in object keys and SQL identifiers: only a checked name travels.
        try:
            return check_name(value)
        except BadInputError as exc:
            raise ValueError(str(exc)) from exc

    def carried(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "content_hash": self.content_hash,
            "filename": self.filename,
            "key": list(self.key),
            "revision": self.revision,
            "extracted": self.extracted,
            "snapshot": self.snapshot,
        }

    @classmethod
    def following(cls, previous: PipelineEvent, **fields: Any) -> Self:
        """The next event of the same run, carrying run fields and the counts so far."""
        update = fields.pop("counts", {})
        if isinstance(update, RunCounts):
            update = update.model_dump(exclude_none=True)
        counts = RunCounts.model_validate(previous.counts.model_dump() | dict(update))
        return cls(**(previous.carried() | fields), counts=counts)


class SourceExtract(BaseModel):
    """What a run extracts from a source database instead of reading a file: the window
    (`low`, `high`] of the cursor, fixed when the extraction was requested, so a redelivery
    extracts exactly the same rows. Values are the cursor's text form (None: unbounded)."""

    connection: str
    table: str | None = None
    query: str | None = None
    mode: Literal["full", "incremental"] = "full"
    cursor: str | None = None
    low: str | None = None
    high: str | None = None
    lookback: float = 0
    # False for a backfill's window (a workflow's logical interval): it re-reads the past and
    # leaves the watermark where it is.
    advance: bool = True


class FileLanded(PipelineEvent):
    SUBJECT: ClassVar[str] = FILE_LANDED
    SOURCE: ClassVar[str] = "gateway"

    landing_uri: str
    size_bytes: int = 0
    # The dataset's schema contract for this file: evolve, freeze or discard_row.
    schema_policy: Literal["evolve", "freeze", "discard_row"] = "evolve"
    # How arrays in JSON/Parquet records land: as JSON text, or one column per element.
    array_policy: Literal["json", "columns"] = "json"
    # For a workbook: the sheet this run lands (None: the first, and each other sheet gets
    # a run of its own).
    sheet: str | None = None
    # The text encoding the sender declared (delimited text only); None: detected.
    encoding: str | None = None
    # Set when the run extracts from a source database (no file): what and which window.
    extract: SourceExtract | None = None
    # When the file landed; stamped on every Bronze row as `_ingested_at`, so that processing
    # the same event again writes identical rows.
    landed_at: datetime = Field(default_factory=utcnow)


class BronzeReady(PipelineEvent):
    SUBJECT: ClassVar[str] = BRONZE_READY
    SOURCE: ClassVar[str] = "ingest"

    bronze_uri: str
    rejected_uri: str | None = None
    columns: list[Column]
    schema_fingerprint: str
    encoding: str
    # How sure the encoding is (0-1) and where it came from: declared, bom, detected, or
    # fallback (the file stopped being UTF-8 past the sample).
    encoding_confidence: float = 1.0
    encoding_source: str = "detected"
    delimiter: str
    has_header: bool
    format: str = "csv"
    blank_lines: int = 0
    # What the run should say about how the file was read (e.g. a fallback encoding).
    warnings: list[str] = Field(default_factory=list)
    # An extract's columns typed as the source database has them (Silver type specs, e.g.
    # "decimal:2", "timestamptz:us"); Bronze keeps the text, transform casts to these.
    source_types: dict[str, str] = Field(default_factory=dict)
    timing: StageTiming


class SilverReady(PipelineEvent):
    SUBJECT: ClassVar[str] = SILVER_READY
    SOURCE: ClassVar[str] = "transform"

    silver_uri: str
    columns: list[Column]
    schema_fingerprint: str
    timing: StageTiming
    # The dataset's renames in force for this batch ({Silver column: new name}), so rules
    # written against either name find the column.
    renames: dict[str, str] = Field(default_factory=dict)
    # A snapshot's rows that were current before it and are not in it (gone from the source),
    # as they last were, with `_deleted_at`; None when there are none or it is no snapshot.
    deleted_uri: str | None = None


class CheckResult(BaseModel):
    """One check of a batch: a structural check, a dataset rule, or a reconciliation."""

    name: str
    status: Literal["passed", "warned", "failed"]
    failed_rows: int = 0
    detail: str = ""
    rule_type: str = "structural"  # a rule's type, "structural" or "reconciliation"
    column: str | None = None
    action: Literal["warn", "quarantine", "fail"] | None = None
    total_rows: int | None = None


class QualityChecked(PipelineEvent):
    SUBJECT: ClassVar[str] = QUALITY_CHECKED
    SOURCE: ClassVar[str] = "quality"

    verdict: Literal["passed", "warned", "failed"]
    checks: list[CheckResult]
    silver_uri: str
    quarantine_uri: str | None = None
    timing: StageTiming


class QualityReconciled(PipelineEvent):
    """Cross-layer reconciliation after Gold: sums of the columns a model declares additive,
    Silver's valid rows against the Gold model. `status` is failed on any mismatch."""

    SUBJECT: ClassVar[str] = QUALITY_RECONCILED
    SOURCE: ClassVar[str] = "quality"

    status: Literal["passed", "failed"]
    checks: list[CheckResult]


class SilverBatch(BaseModel):
    """One promoted Silver batch as a reader must see it: the file, minus its quarantine."""

    run_id: str
    silver_uri: str
    quarantine_uri: str | None = None


class GoldInput(BaseModel):
    """The valid rows of one dataset that a Gold model was built from."""

    dataset: str
    key: list[str] = Field(default_factory=list)
    batches: list[SilverBatch] = Field(default_factory=list)


class GoldModelBuilt(BaseModel):
    name: str
    uri: str
    rows: int
    columns: list[Column]
    depends_on: list[str]
    # Written into the Gold file's metadata: a reader can tell this build from a later one.
    build_id: str = ""
    # Additive columns to reconcile: {gold column: "<dataset>.<column>"}.
    reconcile: dict[str, str] = Field(default_factory=dict)
    # Exactly the Silver batches each dataset contributed to this build.
    inputs: list[GoldInput] = Field(default_factory=list)
    # Column-level lineage from the model's SQL: {output column: [[input, column], ...]}
    # (an input is a dataset or another model; empty where the SQL could not be followed).
    column_lineage: dict[str, list[list[str]]] = Field(default_factory=dict)
    # The version of the model's Delta table (`uri`) this build committed, and (incremental
    # models) the merges read beside it (`lake.ModelRows`), by `unique_key`.
    version: int | None = None
    pending: list[str] = Field(default_factory=list)
    unique_key: list[str] = Field(default_factory=list)


class ModelFailed(BaseModel):
    name: str
    error: str


class GoldReady(PipelineEvent):
    SUBJECT: ClassVar[str] = GOLD_READY
    SOURCE: ClassVar[str] = "transform"

    models: list[GoldModelBuilt]
    failed: list[ModelFailed] = Field(default_factory=list)
    timing: StageTiming
    # True when built on request (`job.requested`), not as the last stage of a file's run.
    job: bool = False


class JobRequested(Event):
    """Work asked for by a person or a system rather than by a landed file."""

    SUBJECT: ClassVar[str] = JOB_REQUESTED
    SOURCE: ClassVar[str] = "gateway"

    kind: Literal["build_models"]
    models: list[str] = Field(default_factory=list)
    # Incremental models are rebuilt from all their input rows, not merged.
    full_refresh: bool = False


class StageFailed(PipelineEvent):
    """A stage gave up on a run. `SUBJECT` is set per stage by the subclasses below."""

    stage: str
    error: str
    timing: StageTiming | None = None


class IngestFailed(StageFailed):
    SUBJECT: ClassVar[str] = INGEST_FAILED
    SOURCE: ClassVar[str] = "ingest"


class TransformFailed(StageFailed):
    SUBJECT: ClassVar[str] = TRANSFORM_FAILED
    SOURCE: ClassVar[str] = "transform"


class QualityFailed(StageFailed):
    SUBJECT: ClassVar[str] = QUALITY_FAILED
    SOURCE: ClassVar[str] = "quality"


class DeadLettered(Event):
    """A message that exhausted its deliveries; published on `dlq.<original subject>`."""

    SUBJECT: ClassVar[str] = "dlq"
    SOURCE: ClassVar[str] = "bus"

    original_subject: str
    error: str
    deliveries: int
    consumer: str = ""
    payload: str = ""

    @property
    def subject_name(self) -> str:
        return f"{DLQ_PREFIX}{self.original_subject}"

    @property
    def event_id(self) -> str:
        return f"{self.subject_name}:{self.consumer}:{self.run_id}"


class CatalogUpdated(Event):
    SUBJECT: ClassVar[str] = CATALOG_UPDATED
    SOURCE: ClassVar[str] = "catalog"

    layer: str
    version: int
    changed: str = ""

    @property
    def event_id(self) -> str:
        return f"{self.SUBJECT}:{self.run_id}:{self.dataset}:{self.layer}"


class Rename(BaseModel):
    old: str
    new: str


class Retype(BaseModel):
    column: str
    old: str
    new: str


class SchemaDiff(BaseModel):
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    probable_renames: list[Rename] = Field(default_factory=list)
    retyped: list[Retype] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.retyped)

    def describe(self) -> str:
        parts = []
        if self.added:
            parts.append("added " + ", ".join(self.added))
        if self.removed:
            parts.append("missing " + ", ".join(self.removed))
        if self.probable_renames:
            pairs = ", ".join(f"{r.old} → {r.new}" for r in self.probable_renames)
            parts.append(f"probably renamed {pairs}")
        if self.retyped:
            parts.append(
                "retyped " + ", ".join(f"{t.column} {t.old}→{t.new}" for t in self.retyped)
            )
        return "; ".join(parts) or "no change"


class SchemaChanged(Event):
    """A dataset's schema in a layer got a new version (published by the catalog)."""

    SUBJECT: ClassVar[str] = SCHEMA_CHANGED
    SOURCE: ClassVar[str] = "catalog"

    layer: str
    version: int
    diff: SchemaDiff

    @property
    def event_id(self) -> str:
        return f"{self.SUBJECT}:{self.dataset}:{self.layer}:{self.version}"


class SchemaAnalyzed(Event):
    """A batch's columns analysed: by the offline detector (`provider` "offline", always, within
    seconds of `bronze.ready`) and, with an API key, by an LLM (`provider` "anthropic:<model>"
    or "openai:<model>"). Suggestions are proposals: nothing changes until one is accepted."""

    SUBJECT: ClassVar[str] = AI_SCHEMA_ANALYZED
    SOURCE: ClassVar[str] = "ai"

    schema_fingerprint: str
    provider: str
    columns: list[dict[str, Any]] = Field(default_factory=list)
    pii_columns: list[str] = Field(default_factory=list)
    suggestions: int = 0
    cached: bool = False
    # Set for an analysis asked for on demand (when), so its id differs from the batch's own.
    requested: str = ""

    @property
    def event_id(self) -> str:
        kind = "offline" if self.provider == "offline" else "llm"
        base = f"{self.SUBJECT}:{self.run_id}:{kind}"
        return f"{base}:{self.requested}" if self.requested else base


class AuditRecorded(Event):
    """A change asked through the API (or a refused attempt), as the audit log recorded it:
    who (`actor`, `role`), what (`action`, `target`, `before`/`after` with secrets redacted),
    how it ended (`status`), from where (`source_ip`). `run_id` is `audit-<id>`."""

    SUBJECT: ClassVar[str] = AUDIT_RECORDED
    SOURCE: ClassVar[str] = "gateway"

    id: int
    at: datetime
    actor: str
    role: str | None = None
    action: str
    method: str
    path: str
    target: str | None = None
    status: int
    before: Any = None
    after: Any = None
    source_ip: str | None = None


class WorkflowFinished(Event):
    """A workflow run ended (`status`: succeeded, failed or cancelled). `run_id` is the
    workflow run's id, `dataset` the workflow's name; workflows with `after: [it]` start."""

    SUBJECT: ClassVar[str] = WORKFLOW_FINISHED
    SOURCE: ClassVar[str] = "scheduler"

    workflow: str
    status: str
    trigger: str
    logical_start: datetime | None = None
    logical_end: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reason: str | None = None
    steps: dict[str, str] = Field(default_factory=dict)  # step → status
    pipeline_runs: list[str] = Field(default_factory=list)


class WorkflowAlert(Event):
    """Something about a workflow run that people want to hear of: it `failed`, it
    `succeeded` (when asked for), or it is running past its SLA (`sla`)."""

    SUBJECT: ClassVar[str] = WORKFLOW_ALERT
    SOURCE: ClassVar[str] = "scheduler"

    workflow: str
    alert: Literal["failure", "success", "sla"]
    text: str
    logical_end: datetime | None = None

    @property
    def event_id(self) -> str:
        return f"{self.SUBJECT}:{self.run_id}:{self.alert}"


STAGE_FAILURES: dict[str, type[StageFailed]] = {
    "ingest": IngestFailed,
    "silver": TransformFailed,
    "gold": TransformFailed,
    "quality": QualityFailed,
}

# Every event type that is published on the stream, by subject (the AsyncAPI document and the
# stream's subject list are derived from this).
EVENT_TYPES: dict[str, type[Event]] = {
    cls.SUBJECT: cls
    for cls in (
        FileLanded,
        BronzeReady,
        SilverReady,
        QualityChecked,
        QualityReconciled,
        GoldReady,
        IngestFailed,
        TransformFailed,
        QualityFailed,
        CatalogUpdated,
        SchemaAnalyzed,
        JobRequested,
        SchemaChanged,
        AuditRecorded,
        WorkflowFinished,
        WorkflowAlert,
    )
}
STREAM_SUBJECTS: list[str] = [*EVENT_TYPES, f"{DLQ_PREFIX}>"]


def subject_of(event: Event) -> str:
    return getattr(event, "subject_name", event.SUBJECT)
