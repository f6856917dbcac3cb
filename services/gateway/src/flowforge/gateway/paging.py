"""Cursor pagination for every list: `limit` and `cursor` in, the page's items, `next_cursor`
and `next` (the next page's URL, also as a `Link: <...>; rel="next"` header) out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page")
]


def next_page(request: Request, response: Response, cursor: str | None) -> dict[str, str | None]:
    if not cursor:
        return {"next_cursor": None, "next": None}
    url = request.url.include_query_params(cursor=cursor)
    link = f"{url.path}?{url.query}"
    response.headers["Link"] = f'<{link}>; rel="next"'
    return {"next_cursor": cursor, "next": link}
