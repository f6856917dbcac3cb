"""A Gold model drafted from a question, tried before anyone saves it: the ai service drafts
and checks it (`model.draft`); the gateway runs it on a sample of what it reads, through the
SQL route's sandbox (each input cut to its first `SAMPLE_ROWS` valid rows; a time limit). A
draft that does not run is refused with DuckDB's reason. Nothing is saved here: a person saves
a draft with POST /api/v1/models like any other model."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from flowforge.common.errors import BadInputError
from flowforge.gateway import lakeread
from flowforge.gateway.ai_schemas import DraftDryRun, DraftPublic
from flowforge.gateway.deps import Gateway
from flowforge.gateway.routes import sql

SAMPLE_ROWS = 10_000
PREVIEW_ROWS = 20
TIME_LIMIT = 30.0


@dataclass(frozen=True)
class _Sample:
    """An input's rows cut to the first `limit` (what `sql.Inputs.bind` reads of it)."""

    rows: Any
    limit: int

    @property
    def paths(self) -> list:
        return self.rows.paths

    def sql(self) -> str:
        return f"SELECT * FROM ({self.rows.sql()}) LIMIT {int(self.limit)}"


def _sampled(inputs: sql.Inputs, limit: int) -> sql.Inputs:
    return sql.Inputs(
        datasets={n: _Sample(r, limit) for n, r in inputs.datasets.items()},  # type: ignore[misc]
        models={n: _Sample(r, limit) for n, r in inputs.models.items()},  # type: ignore[misc]
        views=dict(inputs.views),
    )


async def dry_run(gw: Gateway, draft: DraftPublic) -> DraftPublic:
    """The draft with its result on a sample, or refused with the reason it does not run."""
    if draft.status != "ready" or not draft.sql:
        return draft
    try:
        inputs = _sampled(await sql.read_inputs(gw, draft.tables), SAMPLE_ROWS)
        names, rows, seconds = await asyncio.to_thread(
            sql.run_query, draft.sql, inputs, PREVIEW_ROWS, None, "json", TIME_LIMIT
        )
    except BadInputError as exc:
        return draft.model_copy(
            update={"status": "refused", "reason": f"the draft does not run on a sample: {exc}"}
        )
    tried = DraftDryRun(
        columns=[{"name": n, "type": t} for n, t in names],
        rows=[[lakeread._jsonable(v) for v in r] for r in rows[:PREVIEW_ROWS]],
        sample_rows=SAMPLE_ROWS,
        seconds=round(seconds, 3),
    )
    return draft.model_copy(update={"dry_run": tried})


def audit_detail(draft: DraftPublic) -> dict[str, Any]:
    """What the audit log keeps of a draft: never its rows."""
    return {
        "question": draft.question,
        "status": draft.status,
        "reason": draft.reason,
        "name": draft.name,
        "sql": draft.sql,
        "tables": draft.tables,
        "source": draft.source,
        "cached": draft.cached,
    }
