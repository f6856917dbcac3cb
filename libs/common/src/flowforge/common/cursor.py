"""Opaque cursors for lists served newest first: the (time, id) of the last item of a page."""

from __future__ import annotations

import base64
from datetime import datetime

from flowforge.common.errors import BadInputError


def encode_cursor(at: datetime, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{item_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        stamp, item_id = text.split("|", 1)
        return datetime.fromisoformat(stamp), item_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInputError(
            "the cursor is not one this API gave out; start from the first page"
        ) from exc
