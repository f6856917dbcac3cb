"""The AsyncAPI 3.0 document of every subject, generated from `events.py` (never hand-written)."""

from __future__ import annotations

from typing import Any

from flowforge.common.events import (
    AI_ANALYZE,
    DLQ_PREFIX,
    EVENT_TYPES,
    SPEC_VERSION,
    DeadLettered,
    Event,
)

# Who publishes and who consumes each subject (the architecture's service table).
PUBLISHERS = {
    "file.landed": ["gateway"],
    "bronze.ready": ["ingest"],
    "silver.ready": ["transform"],
    "quality.checked": ["quality"],
    "gold.ready": ["transform"],
    "ingest.failed": ["ingest"],
    "transform.failed": ["transform"],
    "quality.failed": ["quality"],
    "catalog.updated": ["catalog"],
    "ai.schema.analyzed": ["ai"],
    "job.requested": ["gateway"],
    "schema.changed": ["catalog"],
}
CONSUMERS = {
    "file.landed": ["ingest", "catalog"],
    "bronze.ready": ["transform", "catalog"],
    "silver.ready": ["quality", "catalog"],
    "quality.checked": ["transform", "catalog"],
    "gold.ready": ["catalog"],
    "ingest.failed": ["catalog"],
    "transform.failed": ["catalog"],
    "quality.failed": ["catalog"],
    "job.requested": ["transform"],
}


def _envelope(event: type[Event]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0, structured mode (JSON)",
        "required": ["specversion", "id", "source", "type", "time", "subject", "data"],
        "properties": {
            "specversion": {"const": SPEC_VERSION},
            "id": {"type": "string", "description": "deterministic; also the Nats-Msg-Id"},
            "source": {"const": f"/flowforge/{event.SOURCE}"},
            "type": {"const": event.event_type()},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "the dataset (or model) name"},
            "datacontenttype": {"const": "application/json"},
            "data": {"$ref": f"#/components/schemas/{event.__name__}"},
        },
    }


def _host_only(url: str) -> str:
    """host:port of the first server, never credentials."""
    from urllib.parse import urlsplit

    first = url.split(",")[0].strip()
    return urlsplit(first if "://" in first else f"nats://{first}").netloc.rsplit("@", 1)[-1]


def asyncapi_document(nats_url: str = "nats://localhost:4222") -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    events = {**EVENT_TYPES, f"{DLQ_PREFIX}{{subject}}": DeadLettered}
    for subject, event in events.items():
        channel = subject.replace(".", "_").replace("{", "").replace("}", "")
        schema = event.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[event.__name__] = schema
        messages[event.__name__] = {
            "name": event.__name__,
            "title": event.event_type(),
            "contentType": "application/cloudevents+json",
            "summary": (event.__doc__ or "").strip().splitlines()[0] if event.__doc__ else "",
            "headers": {"type": "object", "properties": {"Nats-Msg-Id": {"type": "string"}}},
            "payload": _envelope(event),
        }
        channels[channel] = {
            "address": subject,
            "messages": {event.__name__: {"$ref": f"#/components/messages/{event.__name__}"}},
        }
        for service in PUBLISHERS.get(subject, ["any service (dead letters)"]):
            operations[f"{service}_sends_{channel}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"published by {service}",
            }
        for service in CONSUMERS.get(subject, []):
            operations[f"{service}_receives_{channel}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"consumed by {service} (durable pull consumer, explicit ack)",
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "FlowForge events",
            "version": "1.0.0",
            "description": (
                "Every subject FlowForge publishes on NATS JetStream (one stream captures them "
                f"all). Request/reply subjects such as `{AI_ANALYZE}` and the health subjects are "
                "core NATS and not listed."
            ),
        },
        "servers": {"nats": {"host": _host_only(nats_url), "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
