"""The gateway's HTTP API as the CLI uses it: the key on every request, refusals turned into
errors with exit codes, pages followed, long operations answered as jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from flowforge.cli.config import Target
from flowforge.cli.errors import CliError, Exit, TimedOut, Unreachable, exit_for_status

PAGE_SIZE = 100  # the gateway's default page: within any cap it sets
MAX_PAGES = 10_000  # a gateway that keeps sending the same `next` must not loop forever


class Api:
    def __init__(
        self,
        target: Target,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ):
        self.target = target
        headers = {"accept": "application/json, application/problem+json"}
        if target.key:
            headers["authorization"] = f"Bearer {target.key}"
        self.http = httpx.Client(
            base_url=target.url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10),
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(
        self, method: str, ref: str, *, allow: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """One request; a refusal (other than the statuses in `allow`) or a transport
        failure becomes a CliError."""
        try:
            response = self.http.request(method, self._on_this_gateway(ref), **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreachable(
                f"cannot reach the gateway at {self.target.url} ({exc}); is `flowforge up` "
                "running there, or should --url / FLOWFORGE_URL point elsewhere?"
            ) from exc
        except httpx.TimeoutException as exc:
            raise TimedOut(f"the gateway did not answer {method} {ref} in time") from exc
        except httpx.TransportError as exc:
            raise CliError(f"the connection to the gateway failed: {exc}") from exc
        if response.is_error and response.status_code not in allow:
            raise self._refusal(response)
        return response

    def get(self, ref: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", ref, **kwargs)

    def post(self, ref: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", ref, **kwargs)

    def json(self, method: str, ref: str, **kwargs: Any) -> Any:
        response = self.request(method, ref, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(f"the gateway answered {method} {ref} with no JSON") from exc

    def collect(
        self,
        path: str,
        member: str,
        params: dict[str, Any],
        limit: int | None,
        keep: Callable[[dict], bool] = lambda item: True,
    ) -> dict[str, Any]:
        """The items of `member` over as many pages as `limit` needs (all when None),
        following each page's `next` link; a page without one is the last. Returns the last
        page's body holding every item kept."""
        items: list[dict] = []
        ref = path
        query: dict[str, Any] | None = {k: v for k, v in params.items() if v is not None}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if query is not None:
                query["limit"] = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
            body = self.json("GET", ref, params=query)
            page = body.get(member) or []
            items.extend(item for item in page if keep(item))
            ref = body.get("next") or ""
            if not ref or not page or ref in seen or (limit and len(items) >= limit):
                break
            seen.add(ref)
            query = None  # the link carries its own query (filters, limit, cursor)
        body[member] = items[:limit] if limit else items
        return body

    def _on_this_gateway(self, ref: str) -> str:
        """A link the gateway gave (`next`, `Location`), refused when it leads to another
        host: the key is sent only to the gateway it was meant for."""
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc:
            base = urlsplit(self.target.url)
            if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
                raise CliError(
                    f"the gateway linked to another host ({parts.scheme}://{parts.netloc}); "
                    "not following it with your key"
                )
        return ref

    def _refusal(self, response: httpx.Response) -> CliError:
        code = exit_for_status(response.status_code)
        message = f"{problem_detail(response)} (HTTP {response.status_code})"
        if code == Exit.REFUSED and not self.target.key:
            message += "; no API key was sent: set FLOWFORGE_API_KEY or --api-key-file"
        return CliError(message, code)


def problem_detail(response: httpx.Response) -> str:
    """What the gateway said was wrong: an RFC 9457 problem's `detail` (or `title`), the
    legacy `{"error": ...}`, or the text of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for member in ("detail", "error", "title"):
            said = body.get(member)
            if isinstance(said, str) and said:
                return said
            if isinstance(said, list) and said:  # FastAPI's own validation errors
                return "; ".join(str(e.get("msg", e) if isinstance(e, dict) else e) for e in said)
    return response.text.strip()[:500] or response.reason_phrase or "request refused"


def job_location(response: httpx.Response) -> str | None:
    """Where a long operation's job is, when the gateway answered 202 with one."""
    if response.status_code != 202:
        return None
    if response.headers.get("location"):
        return response.headers["location"]
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("id") and body.get("status"):
        return f"/api/v1/jobs/{body['id']}"
    return None
