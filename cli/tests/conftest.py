"""A fake gateway (httpx.MockTransport) and a way to run the `flowforge` command against it
in-process, with what it printed and its exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from rich.console import Console

from flowforge.cli import client, follow
from flowforge.cli.main import main

KEY = "ffk_test_Secret-Key-0123456789"
Answer = httpx.Response | dict | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeGateway:
    """Answers (method, path) with the answers given, in turn (the last one repeats)."""

    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, path)] = list(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return self.problem(404, f"no such endpoint: {request.method} {request.url.path}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if callable(answer):
            return answer(request)
        if isinstance(answer, dict):
            return httpx.Response(200, json=answer)
        return answer

    @staticmethod
    def problem(status: int, detail: str, **extra: Any) -> httpx.Response:
        body = {"type": "about:blank", "title": "refused", "status": status, "detail": detail}
        return httpx.Response(
            status, json={**body, **extra}, headers={"content-type": "application/problem+json"}
        )

    @staticmethod
    def run_body(run_id: str = "r1", status: str = "succeeded", **extra: Any) -> dict[str, Any]:
        stage = {"name": "ingest", "status": "succeeded", "started_at": None, "finished_at": None}
        return {
            "run_id": run_id,
            "dataset": "orders",
            "filename": "orders.csv",
            "status": status,
            "verdict": "passed" if status == "succeeded" else None,
            "error": None,
            "created_at": "2025-05-01T10:00:00+00:00",
            "updated_at": "2025-05-01T10:00:05+00:00",
            "stages": [stage],
            "counts": {"parsed": 5, "rejected": 1, "valid": 4, "quarantined": 0},
            "checks": [],
            **extra,
        }

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def cli(gateway, monkeypatch, capsys, tmp_path) -> Callable[..., Result]:
    for name in ("FLOWFORGE_URL", "FLOWFORGE_API_KEY", "FLOWFORGE_API_KEY_FILE", "FLOWFORGE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLOWFORGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(client, "console", Console(width=200))
    monkeypatch.setattr(follow, "POLL_SECONDS", 0)

    def run(*argv: str, transport: httpx.BaseTransport | None = None) -> Result:
        code = main(list(argv), transport=transport or httpx.MockTransport(gateway.handle))
        printed = capsys.readouterr()
        return Result(code, printed.out, printed.err)

    return run


@pytest.fixture
def key() -> str:
    return KEY
