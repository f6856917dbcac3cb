"""The OpenAPI document, made honest where FastAPI's default is not: each operation says the
least role it needs (`x-required-role`, from the one table in `access.py`) and how to sign in,
a multipart form field is never `null` (a form cannot send one: it is absent instead), and an
event stream's errors are problems, not events."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from flowforge.gateway.access import POLICY, PUBLIC, SESSION_COOKIE

SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "an API key, `ffk_…`"},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": "the web UI's session (changes also need `X-CSRF-Token`)"},
}  # fmt: skip


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = honest(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def honest(doc: dict[str, Any]) -> dict[str, Any]:
    doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    schemas = doc["components"].get("schemas", {})
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            role = POLICY.get((method.upper(), path))
            if role is None:
                continue
            operation["x-required-role"] = role
            operation["security"] = [] if role == PUBLIC else [{"apiKey": []}, {"session": []}]
            form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if form:
                _no_null_fields(form["schema"], schemas)
            for code, response in operation.get("responses", {}).items():
                if not str(code).startswith("2"):  # an error is a problem, never a stream
                    response.get("content", {}).pop("text/event-stream", None)
    return doc


def _no_null_fields(schema: dict[str, Any], schemas: dict[str, Any]) -> None:
    ref = schema.get("$ref", "")
    target = schemas.get(ref.rsplit("/", 1)[-1], schema) if ref else schema
    for field in target.get("properties", {}).values():
        options = field.get("anyOf")
        if options:
            kept = [o for o in options if o.get("type") != "null"]
            field.pop("anyOf")
            if len(kept) == 1:
                field.update(kept[0])
            else:
                field["anyOf"] = kept
