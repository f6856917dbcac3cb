"""The AsyncAPI document comes from what the services really register with FastStream: every
event type has a publisher, every stream subscriber's payload is its event's envelope, and the
document lists each consumer (no hand-kept list to drift)."""

from __future__ import annotations

import importlib
import warnings
from urllib.parse import unquote

from flowforge.common.asyncapi import merge_documents, service_document
from flowforge.common.events import EVENT_TYPES
from flowforge.common.service import new_runtime
from flowforge.common.topology import SERVICES, WORKERS
from flowforge.gateway.app import PUBLISHES


def address(doc: dict, op: dict) -> str:
    return doc["channels"][unquote(op["channel"]["$ref"].rsplit("/", 1)[1])]["address"]


def documents() -> dict[str, dict]:
    parts = {}
    for service in WORKERS:
        register = importlib.import_module(f"flowforge.{service}.app").register
        rt = new_runtime(service, register)
        parts[service] = service_document(rt.broker, service)
    gateway = new_runtime("gateway", lambda rt: rt.publishes(*PUBLISHES))
    parts["gateway"] = service_document(gateway.broker, "gateway")
    return parts


def test_every_event_type_is_published_by_a_service_and_described_by_its_model():
    doc = merge_documents(documents(), "127.0.0.1:4222")
    sent = {address(doc, op) for op in doc["operations"].values() if op["action"] == "send"}
    assert set(EVENT_TYPES) <= sent, set(EVENT_TYPES) - sent
    schemas = doc["components"]["schemas"]
    for event in EVENT_TYPES.values():
        envelope = schemas[f"{event.__name__}Event"]
        assert envelope["properties"]["type"]["const"] == event.event_type()
        assert "run_id" in schemas[event.__name__]["properties"]


def test_the_consumers_of_each_subject_are_the_services_that_subscribe():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        doc = merge_documents(documents(), "127.0.0.1:4222")
    received = {}
    for name, op in doc["operations"].items():
        if op["action"] == "receive":
            received.setdefault(address(doc, op), set()).add(name.split(":", 1)[0])
    assert not [w for w in caught if "same names" in str(w.message)], [
        str(w.message) for w in caught
    ]
    assert received["bronze.ready"] == {"transform", "catalog", "ai"}
    # The scheduler hears trigger subjects live (workflows start on them, steps wait for them).
    assert received["file.landed"] == {"ingest", "catalog", "scheduler"}
    assert received["gold.ready"] == {"quality", "catalog", "scheduler"}
    assert "flowforge.svc.quality.rules.get" in received
    message = doc["components"]["messages"]["transform:bronze.ready:SubscribeMessage"]
    assert message["payload"] == {"$ref": "#/components/schemas/BronzeReadyEvent"}


def test_a_service_that_does_not_answer_is_named_in_the_document():
    parts = documents()
    parts["ai"] = None
    doc = merge_documents(parts, "127.0.0.1:4222")
    assert "(did not answer): ai." in doc["info"]["description"]
    assert set(SERVICES) - {"ai"} <= {n.split(":", 1)[0] for n in doc["operations"]}
