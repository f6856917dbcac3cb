"""Fakes shared by tests: a local LLM server speaking the Anthropic Messages and OpenAI
chat-completions protocols, so the real SDKs are exercised with no network.

    fake = FakeLLM().start()
    fake.script["anthropic"] = ["429", "answer"]      # then "answer" for every later call
    Settings(ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=fake.anthropic_url, ...)
    fake.requests["anthropic"]                        # the JSON bodies received

Actions: `answer` (a valid analysis of the columns in the prompt's <data> block), `malformed`
(an answer that breaks the schema), `invalid_json` (text that is not JSON), `refusal` (Anthropic
`stop_reason: refusal`, OpenAI `message.refusal`), `timeout` (no answer for `hang_seconds`),
`429` (with `retry-after: <retry_after>`), `500`, `echo_key` (a 401 whose message repeats the
API key sent, as some servers do). A custom `answer_for(columns) -> dict` can replace the
default answer; a question asked with another tool (a model draft: `draft_gold_model`) is
answered by `draft_for(prompt text) -> dict`.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request  # test-only module: the workspace has FastAPI
from fastapi.responses import JSONResponse


def unique(name: str) -> str:
    """A dataset or model name no other test uses (tests share one platform)."""
    return f"{name}_{uuid.uuid4().hex[:6]}"


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prompt_columns(text: str) -> list[dict[str, Any]]:
    """The column briefs inside a prompt's <data> block."""
    match = re.search(r"<data>\s*(.*?)\s*</data>", text, re.S)
    if not match:
        return []
    return json.loads(match.group(1)).get("columns", [])


# The analysis tool's name (flowforge.ai.answers.TOOL_NAME); any other tool is a draft.
TOOL_NAMES = ("record_column_analysis",)


def default_answer(columns: list[dict[str, Any]]) -> dict[str, Any]:
    out = []
    for c in columns:
        name = c["name"]
        out.append(
            {
                "name": name,
                "suggested_name": re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "col",
                "description": f"The {name} of each record.",
                "semantic_type": c.get("offline_guess") or "free_text",
                "pii": bool(c.get("samples_masked")),
                "cast": None,
                "date_format": None,
            }
        )
    rules = (
        [{"type": "not_null", "column": columns[0]["name"], "action": "warn"}] if columns else []
    )
    return {"columns": out, "dedupe_key": [], "rules": rules}


class FakeLLM:
    def __init__(self, answer_for: Callable[[list[dict[str, Any]]], dict] | None = None):
        self.port = _free_port()
        self.answer_for = answer_for or default_answer
        self.draft_for: Callable[[str], dict] | None = None
        self.retry_after = 7
        self.hang_seconds = 30.0
        self.script: dict[str, list[str]] = {"anthropic": [], "openai": []}
        self.requests: dict[str, list[dict[str, Any]]] = {"anthropic": [], "openai": []}
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _next(self, provider: str) -> str:
        queue = self.script.get(provider) or []
        return queue.pop(0) if queue else "answer"

    def _app(self) -> FastAPI:
        app = FastAPI()

        def error(status: int, kind: str, message: str = "") -> JSONResponse:
            said = message or f"fake {status}"
            body = {"type": "error", "error": {"type": kind, "message": said}}
            headers = {"retry-after": str(self.retry_after)} if status == 429 else {}
            return JSONResponse(body, status_code=status, headers=headers)

        async def failure(action: str, request: Request, kinds: tuple[str, str]) -> Any:
            if action in ("429", "500"):
                return error(int(action), kinds[0] if action == "429" else kinds[1])
            if action == "echo_key":
                sent = request.headers.get("x-api-key") or request.headers.get("authorization")
                return error(401, "authentication_error", f"invalid key {sent}")
            if action == "timeout":
                await asyncio.sleep(self.hang_seconds)
            return None

        def answer(tool: str, text: str) -> dict:
            if tool != TOOL_NAMES[0] and self.draft_for is not None:
                return self.draft_for(text)
            return self.answer_for(prompt_columns(text))

        @app.post("/v1/messages")
        async def messages(request: Request):
            body = await request.json()
            self.requests["anthropic"].append(body)
            action = self._next("anthropic")
            failed = await failure(action, request, ("rate_limit_error", "api_error"))
            if failed is not None:
                return failed
            text = body["messages"][-1]["content"]
            content: list[dict] = [{"type": "tool_use", "id": "toolu_1",
                                    "name": body["tools"][0]["name"],
                                    "input": answer(body["tools"][0]["name"], text)}]  # fmt: skip
            stop = "tool_use"
            if action == "malformed":
                content[0]["input"] = {"cols": "not a list"}
            elif action == "invalid_json":
                content, stop = [{"type": "text", "text": "{not json"}], "end_turn"
            elif action == "refusal":
                content, stop = [{"type": "text", "text": "I can't help with that."}], "refusal"
            return {
                "id": f"msg_{len(self.requests['anthropic'])}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "fake"),
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": len(text) // 4, "output_tokens": 200},
            }

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            self.requests["openai"].append(body)
            action = self._next("openai")
            failed = await failure(action, request, ("rate_limit_exceeded", "server"))
            if failed is not None:
                return failed
            text = body["messages"][-1]["content"]
            tool = body["response_format"]["json_schema"]["name"]
            message: dict[str, Any] = {"role": "assistant",
                                       "content": json.dumps(answer(tool, text))}  # fmt: skip
            if action == "malformed":
                message["content"] = json.dumps({"cols": "not a list"})
            elif action == "invalid_json":
                message["content"] = "{not json"
            elif action == "refusal":
                message = {"role": "assistant", "content": None,
                           "refusal": "I can't help with that."}  # fmt: skip
            return {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": len(text) // 4,
                    "completion_tokens": 200,
                    "total_tokens": len(text) // 4 + 200,
                },
            }

        return app

    def start(self) -> FakeLLM:
        import uvicorn

        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("the fake LLM server did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)


__all__ = ["FakeLLM", "default_answer", "prompt_columns", "unique", "wait_for"]


def openlineage_errors(run_event: dict, schemas: Path, kind: str = "RunEvent") -> list[str]:
    """What is wrong with an OpenLineage event by the published JSON schemas (a copy in
    `schemas`): the event against `kind` (`RunEvent`, `DatasetEvent`), and every facet
    against its own `_schemaURL`."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = []
    for path in schemas.glob("*.json"):
        doc = json.loads(path.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    formats = Draft202012Validator.FORMAT_CHECKER  # uuid, date-time, uri where checkable
    core = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}"
        for e in Draft202012Validator({"$ref": f"{core}#/$defs/{kind}"}, registry=registry,
                                      format_checker=formats).iter_errors(run_event)
    ]  # fmt: skip

    def facets(node: object) -> list[dict]:
        if isinstance(node, dict):
            found = [node] if "_schemaURL" in node else []
            return found + [f for v in node.values() for f in facets(v)]
        if isinstance(node, list):
            return [f for v in node for f in facets(v)]
        return []

    for facet in facets(run_event):
        validator = Draft202012Validator({"$ref": facet["_schemaURL"]}, registry=registry,
                                         format_checker=formats)  # fmt: skip
        errors += [f"{facet['_schemaURL']}: {e.message}" for e in validator.iter_errors(facet)]
    return errors
