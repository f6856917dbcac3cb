"""What a verb prints: the API's JSON alone on stdout with `--json`, else tables for people;
progress and notes always on stderr, so a pipe gets only the answer."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any


class Output:
    def __init__(self, as_json: bool):
        self.as_json = as_json

    @cached_property
    def console(self):
        # rich is imported only when a person is reading (it costs ~0.1 s at start-up).
        from rich.console import Console

        return Console(highlight=False)

    @cached_property
    def err(self):
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    def json(self, body: Any) -> None:
        sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def say(self, message: str) -> None:
        """A note for the person (stderr in both modes)."""
        print(message, file=sys.stderr, flush=True)

    def line(self, text: str = "") -> None:
        """Human output (stdout); never markup, as names and values come from users."""
        self.console.print(text, markup=False)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(title) if title else None, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell_text(cell)) for cell in row))
        self.console.print(table)

    def fields(self, pairs: Iterable[tuple[str, Any]]) -> None:
        """`name: value` lines, aligned, skipping empty values."""
        shown = [(k, cell_text(v)) for k, v in pairs if v not in (None, "", [], {})]
        width = max((len(k) for k, _ in shown), default=0)
        for key, value in shown:
            self.line(f"{key + ':':<{width + 1}} {value}")


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell_text(v)}" for k, v in value.items() if v is not None)
    return str(value)


def when(stamp: str | None) -> str:
    """An API timestamp to the second, as people read it."""
    return (stamp or "")[:19].replace("T", " ")
