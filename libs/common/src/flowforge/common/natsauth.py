"""Who may publish and subscribe to what on NATS: one user per service, read-only subscribers
for other systems, an operator for tools (docs/architecture.md, "Storage").

A service may publish only the events it produces (plus dead letters, requests to other
services and the JetStream calls its consumers make); nobody but the gateway and ingest can
announce a file. A subscriber may read every subject of the stream (the public events), with
its own consumer and inbox, and publish nothing else. Server configurations are meant to be
rendered from these tables (`render_authorization`), so that they cannot disagree; the
embedded NATS, compose and Kubernetes do not use them yet (issue 11, item 6).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from flowforge.common.events import (
    AI_ANALYZE,
    AI_SCHEMA_ANALYZED,
    AUDIT_RECORDED,
    BRONZE_READY,
    CATALOG_UPDATED,
    DLQ_PREFIX,
    FILE_LANDED,
    GOLD_READY,
    HEALTH_SUBJECT,
    INGEST_FAILED,
    JOB_REQUESTED,
    METRICS_SUBJECT,
    MINIO_SUBJECT,
    PROGRESS_SUBJECT,
    QUALITY_CHECKED,
    QUALITY_FAILED,
    QUALITY_RECONCILED,
    SCHEMA_CHANGED,
    SILVER_READY,
    STREAM_SUBJECTS,
    TRANSFORM_FAILED,
    WORKFLOW_ALERT,
    WORKFLOW_FINISHED,
)
from flowforge.common.rpc import PREFIX as RPC_PREFIX
from flowforge.common.topology import SERVICES

OPERATOR = "flowforge-admin"  # tools and tests: everything (kept like admin.key)
PROGRESS = PROGRESS_SUBJECT.format(run_id="*")
OPENLINEAGE = "openlineage.events"  # the catalog's OpenLineage run events (core NATS)

# The events each service produces (its `*.failed` included); nothing else may publish them.
PUBLISHES: dict[str, tuple[str, ...]] = {
    "catalog": (CATALOG_UPDATED, SCHEMA_CHANGED, OPENLINEAGE),
    "ingest": (FILE_LANDED, BRONZE_READY, INGEST_FAILED, PROGRESS),  # drops announce files
    "transform": (SILVER_READY, GOLD_READY, TRANSFORM_FAILED, JOB_REQUESTED),
    "quality": (QUALITY_CHECKED, QUALITY_RECONCILED, QUALITY_FAILED),
    "ai": (AI_SCHEMA_ANALYZED,),
    "gateway": (FILE_LANDED, JOB_REQUESTED, AUDIT_RECORDED),
    "scheduler": (WORKFLOW_FINISHED, WORKFLOW_ALERT),
}
# Core-NATS subjects a service answers besides `flowforge.svc.<service>.*`.
# (Ingest hears MinIO's bucket notifications; with FLOWFORGE_MINIO_SUBJECT changed, the server
# configuration must follow.)
ANSWERS: dict[str, tuple[str, ...]] = {
    "ai": (AI_ANALYZE,),
    # Run progress, and every subject of the stream for the UI's live event stream.
    "gateway": (PROGRESS, *STREAM_SUBJECTS),
    "ingest": (MINIO_SUBJECT,),
    # Events that start workflows (`on_event`) or that their steps wait for (`wait`); the
    # scheduler hears them live (every replica), besides the stream's durable consumers.
    "scheduler": (
        FILE_LANDED,
        SILVER_READY,
        QUALITY_CHECKED,
        GOLD_READY,
        SCHEMA_CHANGED,
        INGEST_FAILED,
        TRANSFORM_FAILED,
        QUALITY_FAILED,
        WORKFLOW_FINISHED,
    ),
}
# JetStream calls no service needs: the stream's history is not theirs to erase.
DESTRUCTIVE = (
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
)

_SUBSCRIBER_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = ()

    def render(self) -> dict:
        publish: dict = {"allow": list(self.publish)}
        if self.deny_publish:
            publish["deny"] = list(self.deny_publish)
        return {"publish": publish, "subscribe": {"allow": list(self.subscribe)}}


@dataclass(frozen=True)
class NatsUser:
    name: str
    # The password as the server checks it: a bcrypt hash ("$2b$..."), plain text (only in
    # files readable by their owner), or "$VARIABLE" taken from the server's environment.
    password: str
    permissions: Permissions | None = None  # None: everything


def service_permissions(service: str) -> Permissions:
    if service not in PUBLISHES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return Permissions(
        publish=(
            *PUBLISHES[service],
            f"{DLQ_PREFIX}>",
            f"{RPC_PREFIX}.>",  # requests to the other services, health and metrics included
            AI_ANALYZE,
            "_INBOX.>",  # answers to requests
            "$JS.API.>",
            "$JS.ACK.>",
            "$JS.FC.>",
        ),
        subscribe=(
            "_INBOX.>",
            f"{RPC_PREFIX}.{service}.>",
            HEALTH_SUBJECT.format(service=service),
            METRICS_SUBJECT.format(service=service),
            *ANSWERS.get(service, ()),
        ),
        deny_publish=DESTRUCTIVE,
    )


def check_subscriber_name(name: str) -> str:
    if not _SUBSCRIBER_NAME.match(name) or name in (*SERVICES, OPERATOR):
        raise ValueError(
            f"invalid subscriber name {name!r}: 2-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter, and not a service's name"
        )
    return name


def subscriber_inbox(name: str) -> str:
    """The inbox prefix a subscriber connects with (`inbox_prefix=`): its replies only."""
    return f"_INBOX.{check_subscriber_name(name)}"


def subscriber_permissions(name: str, stream: str = "FLOWFORGE") -> Permissions:
    """Read the public events: live (core subscribe), or from the stream through consumers
    named after the subscriber (durable) or made by the server (ephemeral, e.g. ordered)."""
    check_subscriber_name(name)
    js = "$JS.API"
    return Permissions(
        publish=(
            f"{js}.INFO",
            f"{js}.STREAM.NAMES",
            f"{js}.STREAM.INFO.{stream}",
            f"{js}.STREAM.MSG.GET.{stream}",
            f"{js}.CONSUMER.CREATE.{stream}",  # an ephemeral consumer
            f"{js}.CONSUMER.CREATE.{stream}.{name}",
            f"{js}.CONSUMER.CREATE.{stream}.{name}.>",
            f"{js}.CONSUMER.DURABLE.CREATE.{stream}.{name}",
            f"{js}.CONSUMER.INFO.{stream}.{name}",
            f"{js}.CONSUMER.MSG.NEXT.{stream}.{name}",
            f"{js}.CONSUMER.DELETE.{stream}.{name}",
            f"$JS.ACK.{stream}.{name}.>",
            "$JS.FC.>",
        ),
        subscribe=(*STREAM_SUBJECTS, OPENLINEAGE, f"{subscriber_inbox(name)}.>"),
    )


def _value(text: str) -> str:
    # An unquoted $NAME is a variable (the server's environment); anything else is quoted, so
    # a bcrypt hash's "$" is taken literally.
    return text if re.fullmatch(r"\$[A-Z][A-Z0-9_]*", text) else json.dumps(text)


def render_authorization(users: list[NatsUser]) -> str:
    """The `authorization` block of a nats-server configuration file."""
    lines = ["authorization {", "  users = ["]
    for user in users:
        entry = f"    {{user: {json.dumps(user.name)}, password: {_value(user.password)}"
        if user.permissions is not None:
            entry += f", permissions: {json.dumps(user.permissions.render())}"
        lines.append(entry + "}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def deployment_users() -> list[NatsUser]:
    """compose / Kubernetes: each service's password from the server's environment
    (NATS_<SERVICE>_PASSWORD), MinIO's for its bucket notifications, no operator."""
    users = [NatsUser(s, f"$NATS_{s.upper()}_PASSWORD", service_permissions(s)) for s in SERVICES]
    minio = Permissions(publish=(MINIO_SUBJECT, "_INBOX.>"), subscribe=("_INBOX.>",))
    users.append(NatsUser("minio", "$NATS_MINIO_PASSWORD", minio))
    return users


__all__ = [
    "OPERATOR",
    "PUBLISHES",
    "NatsUser",
    "Permissions",
    "check_subscriber_name",
    "deployment_users",
    "render_authorization",
    "service_permissions",
    "subscriber_inbox",
    "subscriber_permissions",
]


if __name__ == "__main__":  # the deployments' block: deploy/nats/nats.conf, deploy/k8s/nats.yaml
    print(render_authorization(deployment_users()), end="")
