"""Typed settings, read from the environment (the same names in every service)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flowforge.common.events import MINIO_SUBJECT

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "xxx"}
# List prices of LLM models, US dollars per million tokens (input, output), by model-name
# prefix (the longest matching prefix wins); "*" prices any other model as the dearest, so a
# cost budget errs on the side of stopping. FLOWFORGE_AI_PRICES overrides or adds entries.
AI_PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4o": (2.5, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5": (1.25, 10.0),
    "*": (15.0, 75.0),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    nats_url: str = Field("nats://127.0.0.1:4222", validation_alias="NATS_URL")
    # This process's NATS user (one per service, docs/architecture.md "Bus permissions"); the
    # embedded NATS of `up` refuses anonymous clients.
    nats_user: str | None = Field(None, validation_alias="NATS_USER")
    nats_password: SecretStr | None = Field(None, validation_alias="NATS_PASSWORD")
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/flowforge", validation_alias="DATABASE_URL"
    )
    s3_endpoint_url: str | None = Field(None, validation_alias="S3_ENDPOINT_URL")
    s3_access_key_id: str | None = Field(None, validation_alias="S3_ACCESS_KEY_ID")
    s3_secret_access_key: SecretStr | None = Field(None, validation_alias="S3_SECRET_ACCESS_KEY")
    s3_bucket_name: str = Field("flowforge", validation_alias="S3_BUCKET_NAME")
    s3_region: str | None = Field(None, validation_alias="S3_REGION")

    home: Path = Field(Path(".flowforge"), validation_alias="FLOWFORGE_HOME")
    port: int = Field(8000, validation_alias="FLOWFORGE_PORT")
    # The web UI's built bundle (default: services/gateway/ui/dist, built by `up`).
    ui_dir: Path | None = Field(None, validation_alias="FLOWFORGE_UI_DIR")
    # Set by `up` per process (scratch/<service>-<replica>), so a dead process's leftovers
    # can be removed before it starts again without touching its siblings' files.
    scratch: Path | None = Field(None, validation_alias="FLOWFORGE_SCRATCH_DIR")
    # Which replica of its service this process is (0 for the first; set by `up`).
    replica: int = Field(0, ge=0, validation_alias="FLOWFORGE_REPLICA")
    host: str = Field("127.0.0.1", validation_alias="FLOWFORGE_HOST")

    stream_name: str = Field("FLOWFORGE", validation_alias="FLOWFORGE_STREAM")
    stream_replicas: int = Field(1, ge=1, le=5, validation_alias="FLOWFORGE_STREAM_REPLICAS")
    # How long JetStream waits for an ack before redelivering: the message of a killed handler
    # comes back after this; long work heartbeats every third of it, so it can be short.
    ack_wait_seconds: float = Field(
        10.0,
        ge=2,
        validation_alias=AliasChoices("FLOWFORGE_ACK_WAIT", "FLOWFORGE_ACK_WAIT_SECONDS"),
    )
    max_deliver: int = Field(5, validation_alias="FLOWFORGE_MAX_DELIVER")
    # An event larger than this is kept in the object store and the bus carries a reference
    # (CloudEvents `dataref`): a schema of thousands of columns fits any NATS max_payload.
    event_inline_bytes: int = Field(
        256 * 1024, ge=4096, validation_alias="FLOWFORGE_EVENT_INLINE_LIMIT"
    )
    # Messages of one consumer a process handles at once (one per dataset at a time): a long
    # batch of one dataset does not hold back the others'.
    concurrency: int = Field(2, ge=1, le=64, validation_alias="FLOWFORGE_CONCURRENCY")
    # Batches of one dataset that passed quality while its Gold was being built: promoted and
    # built together, at most this many per build (1: a build per batch).
    gold_group: int = Field(32, ge=1, le=1000, validation_alias="FLOWFORGE_GOLD_GROUP")
    log_level: str = Field("INFO", validation_alias="FLOWFORGE_LOG_LEVEL")
    log_format: str = Field("json", validation_alias="FLOWFORGE_LOG_FORMAT")
    # The ops server (/livez, /readyz, /metrics) of a worker; 0 picks a free port and writes it
    # to $FLOWFORGE_HOME/run/<service>.ops-port (embedded mode runs every worker on one host).
    metrics_port: int | None = Field(None, validation_alias="FLOWFORGE_METRICS_PORT")
    # Spans appended as JSON lines (tests, docs); OTLP export is set by the OTEL_* variables.
    trace_file: Path | None = Field(None, validation_alias="FLOWFORGE_TRACE_FILE")
    upload_limit_bytes: int = Field(20 * 1024**3, validation_alias="FLOWFORGE_UPLOAD_LIMIT")
    # --- the gateway's perimeter (issue 11) ---
    # Any other request body (JSON, YAML rules) larger than this is refused with 413.
    body_limit_bytes: int = Field(10 * 1024**2, validation_alias="FLOWFORGE_BODY_LIMIT")
    # Seconds a request may take (uploads excepted), and a client may take to send headers.
    request_timeout_seconds: float = Field(60.0, validation_alias="FLOWFORGE_REQUEST_TIMEOUT")
    header_timeout_seconds: float = Field(10.0, validation_alias="FLOWFORGE_HEADER_TIMEOUT")
    # Per-caller requests a minute on expensive routes: "upload=120,jobs=60,lake=300,login=10".
    rate_limits: str = Field("", validation_alias="FLOWFORGE_RATE_LIMITS")
    session_hours: float = Field(12.0, gt=0, validation_alias="FLOWFORGE_SESSION_HOURS")
    # Host names the gateway answers to (the Host header); the bind address is always included.
    allowed_hosts: str = Field(
        "localhost,127.0.0.1,::1,[::1]", validation_alias="FLOWFORGE_ALLOWED_HOSTS"
    )
    # Origins allowed to call the API from a browser (CORS); none unless configured.
    cors_origins: str = Field("", validation_alias="FLOWFORGE_CORS_ORIGINS")
    tls_certfile: Path | None = Field(None, validation_alias="FLOWFORGE_TLS_CERT")
    tls_keyfile: Path | None = Field(None, validation_alias="FLOWFORGE_TLS_KEY")
    # Behind a reverse proxy that terminates TLS: trust its X-Forwarded-Proto/-For.
    behind_proxy: bool = Field(False, validation_alias="FLOWFORGE_BEHIND_PROXY")
    # The first admin's password (deployments); embedded: generated into admin.password.
    admin_password: SecretStr | None = Field(None, validation_alias="FLOWFORGE_ADMIN_PASSWORD")
    # Time limits (seconds) of one Silver step and of one Gold model build: past them the work
    # is interrupted and the run (or the model) fails with the reason, so one pathological
    # file or model cannot hold a worker indefinitely.
    silver_timeout_seconds: float = Field(900.0, gt=0, validation_alias="FLOWFORGE_SILVER_TIMEOUT")
    model_timeout_seconds: float = Field(300.0, gt=0, validation_alias="FLOWFORGE_MODEL_TIMEOUT")
    # When a dataset's promoted batches are folded into its Silver table (a rewrite): once
    # their rows reach this share of the table's, or this many batches (docs/lakehouse.md).
    fold_ratio: float = Field(0.1, ge=0, validation_alias="FLOWFORGE_FOLD_RATIO")
    fold_batches: int = Field(32, ge=1, validation_alias="FLOWFORGE_FOLD_BATCHES")
    # Lakehouse housekeeping: table versions older than the retention (hours) stop being
    # readable and their files, and files no commit names, are removed; how often it runs.
    lakehouse_retention_hours: float = Field(
        168.0, ge=0, validation_alias="FLOWFORGE_LAKEHOUSE_RETENTION_HOURS"
    )
    housekeeping_seconds: float = Field(
        3600.0, gt=0, validation_alias="FLOWFORGE_HOUSEKEEPING_SECONDS"
    )
    # How often ingest lists the drop zone (`landing/`); notifications make it faster, the
    # sweep makes it certain.
    landing_sweep_seconds: float = Field(5.0, validation_alias="FLOWFORGE_LANDING_SWEEP")
    minio_subject: str = Field(MINIO_SUBJECT, validation_alias="FLOWFORGE_MINIO_SUBJECT")
    # Compressed drops are refused past these (zip bombs): absolute size, and unpacked/packed.
    unpack_max_bytes: int = Field(50 * 1024**3, validation_alias="FLOWFORGE_UNPACK_MAX_BYTES")
    unpack_max_ratio: float = Field(100.0, validation_alias="FLOWFORGE_UNPACK_MAX_RATIO")
    # The key(s) sealing secrets at rest (flowforge.common.secretbox): Fernet keys, the first
    # sealing; else read from a file; else $FLOWFORGE_HOME/secret.key, made on first use.
    secret_key: SecretStr | None = Field(None, validation_alias="FLOWFORGE_SECRET_KEY")
    secret_key_file: Path | None = Field(None, validation_alias="FLOWFORGE_SECRET_KEY_FILE")
    # Columns a file may have. 10,000 land in about half a minute; past this a file is
    # refused with the count (a schema that wide is usually a file read the wrong way).
    max_columns: int = Field(16_384, ge=1, validation_alias="FLOWFORGE_MAX_COLUMNS")
    # AI schema analysis: Claude first, OpenAI when Claude fails or has no key, and the offline
    # profiler always. The SDKs also read ANTHROPIC_BASE_URL / OPENAI_BASE_URL.
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    anthropic_model: str = Field("claude-sonnet-4-5", validation_alias="FLOWFORGE_AI_MODEL")
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    openai_model: str = Field("gpt-4.1", validation_alias="FLOWFORGE_AI_OPENAI_MODEL")
    ai_timeout_seconds: float = Field(60.0, validation_alias="FLOWFORGE_AI_TIMEOUT")
    # Tokens (prompt + answer) one dataset may spend on LLM analysis in total.
    ai_token_budget: int = Field(200_000, validation_alias="FLOWFORGE_AI_TOKEN_BUDGET")
    # PII columns' values are masked in prompts unless this is turned off.
    ai_mask_pii: bool = Field(True, validation_alias="FLOWFORGE_AI_MASK_PII")
    # What every LLM call of a UTC day may spend together (0: no limit): tokens (prompt +
    # answer) and estimated cost in US dollars. Past either, no call is made that day; the
    # offline analysis stands and a model draft says why.
    ai_daily_tokens: int = Field(2_000_000, ge=0, validation_alias="FLOWFORGE_AI_DAILY_TOKENS")
    ai_daily_cost: float = Field(20.0, ge=0, validation_alias="FLOWFORGE_AI_DAILY_COST")
    # US dollars per million tokens, {"model-name-prefix": [input, output]} (JSON), over
    # AI_PRICES; the longest matching prefix prices a call, "*" any other model.
    ai_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, validation_alias="FLOWFORGE_AI_PRICES"
    )

    # The ai service's CPU priority below the pipeline's (a nice increment, 0-19; 0: the
    # same): its profiling and suggestions are advisory, so on a busy machine the stages a
    # run waits for get the cores first and the ai's work fills the gaps.
    ai_nice: int = Field(10, ge=0, le=19, validation_alias="FLOWFORGE_AI_NICE")
    # And its worker threads in Linux's idle scheduling class (SCHED_IDLE) besides: they run
    # when a core would otherwise idle, so they no longer slow the stages beside them (a 50k-row
    # file's latency: 378 -> 344 ms); under sustained load its work waits (its event loop, which
    # answers requests and keeps long messages alive, keeps the nice increment alone).
    ai_idle: bool = Field(True, validation_alias="FLOWFORGE_AI_IDLE")

    # OpenLineage: run events of every stage to a Marquez-compatible endpoint (and always on
    # the core NATS subject `openlineage.events`), jobs in this namespace.
    openlineage_url: str | None = Field(None, validation_alias="FLOWFORGE_OPENLINEAGE_URL")
    openlineage_namespace: str = Field(
        "flowforge", validation_alias="FLOWFORGE_OPENLINEAGE_NAMESPACE"
    )

    # Scheduler: workflow definitions as YAML files (default $FLOWFORGE_HOME/workflows), and
    # how often (s) it looks for due ticks and claimable runs.
    workflows_dir: Path | None = Field(None, validation_alias="FLOWFORGE_WORKFLOWS_DIR")
    scheduler_poll: float = Field(1.0, gt=0, le=60, validation_alias="FLOWFORGE_SCHEDULER_POLL")

    @field_validator("anthropic_api_key", "openai_api_key", mode="before")
    @classmethod
    def _blank_key_is_no_key(cls, value: object) -> object:
        # `OPENAI_API_KEY=` (set but empty) means no key, not a key the SDK will refuse.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        for name, secret in (
            ("S3_SECRET_ACCESS_KEY", self.s3_secret_access_key),
            ("ANTHROPIC_API_KEY", self.anthropic_api_key),
            ("OPENAI_API_KEY", self.openai_api_key),
            ("FLOWFORGE_ADMIN_PASSWORD", self.admin_password),
            ("NATS_PASSWORD", self.nats_password),
        ):
            if secret is not None and secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name} is a placeholder; set the real secret")
        return self

    @staticmethod
    def _items(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    @property
    def allowed_host_list(self) -> list[str]:
        return [*self._items(self.allowed_hosts), self.host]

    @property
    def cors_origin_list(self) -> list[str]:
        return self._items(self.cors_origins)

    @property
    def uses_s3(self) -> bool:
        return bool(self.s3_endpoint_url)

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def analytics_db_path(self) -> Path:
        return self.home_dir / "analytics.duckdb"

    @property
    def scratch_dir(self) -> Path:
        """Local working space for downloads and files being written before commit."""
        path = self.scratch or self.home_dir / "scratch"
        path.mkdir(parents=True, exist_ok=True)
        return path


SENSITIVE_PARAMS = ("password", "passwd", "pwd", "token", "secret", "key", "sslpassword")


def redact_url(url: str) -> str:
    """Hide credentials in a URL (or a comma-separated list of URLs) so it can be shown:
    the whole user-info part (user:password@ or token@) and sensitive query parameters."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    def one(part: str) -> str:
        try:
            parts = urlsplit(part)
        except ValueError:
            return "***"
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]
        query = urlencode(
            [
                (k, "***" if any(s in k.lower() for s in SENSITIVE_PARAMS) else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*",
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    return ",".join(one(part.strip()) for part in url.split(","))
