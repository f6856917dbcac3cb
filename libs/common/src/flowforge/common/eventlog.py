"""What a person reads about one event: which service sent it, when it happened, and one line
saying what it says ("bronze: 1,000 rows (3 rejected)").

The catalog's event log of a run and the gateway's live stream both describe events with these
functions, so both say the same thing. They read an event's JSON (the `data` of its envelope)
whatever its subject, tolerate what is missing (a claim-checked envelope carries only its
routing fields, an older version fewer fields), and never fail: what they cannot read, they
leave out. Nothing here holds a row value: counts, names, statuses and error texts only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flowforge.common.events import (
    AI_SCHEMA_ANALYZED,
    AUDIT_RECORDED,
    BRONZE_READY,
    CATALOG_UPDATED,
    DLQ_PREFIX,
    EVENT_TYPES,
    FILE_LANDED,
    GOLD_READY,
    JOB_REQUESTED,
    PROGRESS_SUBJECT,
    QUALITY_CHECKED,
    QUALITY_RECONCILED,
    SCHEMA_CHANGED,
    SILVER_READY,
    WORKFLOW_ALERT,
    WORKFLOW_FINISHED,
    SchemaDiff,
    StageFailed,
)
from flowforge.common.natsauth import PUBLISHES

SUMMARY_LIMIT = 200  # characters of a summary line
PROGRESS_PREFIX = PROGRESS_SUBJECT.split("{")[0]  # "flowforge.progress."
Data = Mapping[str, Any]


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def publisher(subject: str, data: Data | None = None) -> str:
    """The service that publishes `subject`: the event type's declared source (its CloudEvents
    `source`); for a dead letter, the service whose consumer gave up; otherwise the one the
    NATS permission table lets publish it. "unknown" when none does."""
    if subject.startswith(DLQ_PREFIX):
        consumer = str((data or {}).get("consumer") or "")
        return consumer.split("--", 1)[0] if "--" in consumer else "bus"
    if subject in EVENT_TYPES:
        return EVENT_TYPES[subject].SOURCE
    found = [s for s, subjects in PUBLISHES.items() if any(_matches(p, subject) for p in subjects)]
    return found[0] if found else "unknown"


def _when(value: Any) -> datetime | None:
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def occurred_at(data: Data) -> datetime | None:
    """The event's own time, when its payload says: the end of the stage it reports, when the
    file landed, when the workflow run finished, when the change was audited."""
    timing = data.get("timing")
    candidates = [
        timing.get("finished_at") if isinstance(timing, Mapping) else None,
        data.get("finished_at"),
        data.get("landed_at"),
        data.get("at"),
    ]
    return next((w for w in map(_when, candidates) if w is not None), None)


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _counts(data: Data) -> Mapping[str, Any]:
    counts = data.get("counts")
    return counts if isinstance(counts, Mapping) else {}


def _size(size: Any) -> str:
    if not isinstance(size, int | float):
        return ""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return ""


def _names(items: Any, key: str = "name", limit: int = 5) -> str:
    names = [str(i.get(key)) for i in items or [] if isinstance(i, Mapping) and i.get(key)]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _first_line(text: Any) -> str:
    return str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""


def _landed(d: Data) -> str:
    extract = d.get("extract")
    if isinstance(extract, Mapping):
        what = extract.get("table") or "a query"
        return f"extract of {what} from {extract.get('connection')} ({extract.get('mode')})"
    size = _size(d.get("size_bytes"))
    sheet = f", sheet {d['sheet']}" if d.get("sheet") else ""
    return f"landed {d.get('filename') or 'a file'}" + (f" ({size}{sheet})" if size else sheet)


def _bronze(d: Data) -> str:
    c = _counts(d)
    line = f"bronze: {_n(c.get('bronze'))} rows ({_n(c.get('rejected') or 0)} rejected)"
    return line + (f", read as {d['format']}" if d.get("format") not in (None, "csv") else "")


def _silver(d: Data) -> str:
    c = _counts(d)
    line = f"silver: {_n(c.get('silver'))} rows ({_n(c.get('duplicates') or 0)} duplicates)"
    return line + (f", {_n(c['deleted'])} deleted" if c.get("deleted") else "")


def _checked(d: Data) -> str:
    c = _counts(d)
    line = (
        f"quality {d.get('verdict', '?')}: {_n(c.get('valid'))} valid, "
        f"{_n(c.get('quarantined') or 0)} quarantined"
    )
    failed = [ch for ch in d.get("checks") or [] if ch.get("status") == "failed"]
    warned = [ch for ch in d.get("checks") or [] if ch.get("status") == "warned"]
    if failed:
        return f"{line}; failed: {_names(failed)}"
    return f"{line}; warned: {_names(warned)}" if warned else line


def _reconciled(d: Data) -> str:
    failed = [ch for ch in d.get("checks") or [] if ch.get("status") == "failed"]
    checks = len(d.get("checks") or [])
    if failed:
        return f"reconciliation failed: {_names(failed)}"
    return f"reconciliation {d.get('status', '?')} ({checks} check{'s' * (checks != 1)})"


def _gold(d: Data) -> str:
    built = [
        f"{m.get('name')} ({_n(m.get('rows'))} rows)"
        for m in d.get("models") or []
        if isinstance(m, Mapping)
    ]
    line = "gold: built " + ", ".join(built[:5]) if built else "gold: no model to build"
    if len(built) > 5:
        line += f" and {len(built) - 5} more"
    return line + (f"; failed: {_names(d.get('failed'))}" if d.get("failed") else "")


def _failed(d: Data) -> str:
    return f"{d.get('stage', '?')} failed: {_first_line(d.get('error'))}"


def _catalog(d: Data) -> str:
    return f"catalog: {d.get('layer', '?')} version {d.get('version', '?')}"


def _schema(d: Data) -> str:
    diff = SchemaDiff.model_validate(d.get("diff") or {})
    return f"{d.get('layer', '?')} schema version {d.get('version', '?')}: {diff.describe()}"


def _analyzed(d: Data) -> str:
    pii = len(d.get("pii_columns") or [])
    line = (
        f"analysed ({d.get('provider', '?')}): {len(d.get('columns') or [])} columns, "
        f"{pii} PII, {d.get('suggestions', 0)} suggestions"
    )
    return line + (" (cached)" if d.get("cached") else "")


def _job(d: Data) -> str:
    models = ", ".join(map(str, d.get("models") or [])) or "every model"
    return f"build requested: {models}" + (" (full refresh)" if d.get("full_refresh") else "")


def _audit(d: Data) -> str:
    return f"{d.get('actor', '?')} {d.get('method', '?')} {d.get('path', '?')}: {d.get('status')}"


def _workflow(d: Data) -> str:
    line = f"workflow {d.get('workflow', '?')} {d.get('status', '?')}"
    return line + (f": {_first_line(d.get('reason'))}" if d.get("reason") else "")


def _alert(d: Data) -> str:
    return _first_line(d.get("text")) or f"workflow {d.get('workflow', '?')}: {d.get('alert')}"


def _progress(d: Data) -> str:
    done, total, unit = d.get("done"), d.get("total"), d.get("unit") or "bytes"
    stage = d.get("stage") or "ingest"
    if isinstance(done, int | float) and isinstance(total, int | float) and total > 0:
        share = min(100.0, 100.0 * done / total)
        if unit == "bytes":
            return f"{stage}: {share:.0f}% ({_size(done)} of {_size(total)})"
        return f"{stage}: {share:.0f}% ({_n(done)} of {_n(total)} {unit})"
    amount = _size(done) if unit == "bytes" else f"{_n(done)} {unit}"
    return f"{stage}: {amount} so far"


def _dead_letter(d: Data) -> str:
    return (
        f"dead-lettered by {d.get('consumer') or '?'} after {d.get('deliveries', '?')} "
        f"deliveries: {_first_line(d.get('error'))}"
    )


LINES: dict[str, Callable[[Data], str]] = {
    FILE_LANDED: _landed,
    BRONZE_READY: _bronze,
    SILVER_READY: _silver,
    QUALITY_CHECKED: _checked,
    QUALITY_RECONCILED: _reconciled,
    GOLD_READY: _gold,
    CATALOG_UPDATED: _catalog,
    SCHEMA_CHANGED: _schema,
    AI_SCHEMA_ANALYZED: _analyzed,
    JOB_REQUESTED: _job,
    AUDIT_RECORDED: _audit,
    WORKFLOW_FINISHED: _workflow,
    WORKFLOW_ALERT: _alert,
}
# Every `*.failed` subject (one per stage), from the event types themselves.
LINES |= {s: _failed for s, t in EVENT_TYPES.items() if issubclass(t, StageFailed)}


def _line_for(subject: str) -> Callable[[Data], str] | None:
    if subject.startswith(DLQ_PREFIX):
        return _dead_letter
    if subject.startswith(PROGRESS_PREFIX):
        return _progress
    return LINES.get(subject)


def _generic(subject: str, data: Data) -> str:
    """A subject no line knows, or a payload it could not read: what any event says."""
    said = next(
        (_first_line(data.get(k)) for k in ("error", "text", "status", "verdict") if data.get(k)),
        "",
    )
    dataset = f" ({data['dataset']})" if data.get("dataset") else ""
    return f"{subject}{dataset}" + (f": {said}" if said else "")


def summarize(subject: str, data: Data, *, partial: bool = False) -> str:
    """One short line about the event, for people. `partial`: `data` holds only the routing
    fields (a claim-checked envelope: the event was too large for the bus)."""
    line = None if partial else _line_for(subject)
    try:
        text = line(data) if line is not None else _generic(subject, data)
    except (AttributeError, KeyError, TypeError, ValueError):
        text = _generic(subject, data)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


__all__ = ["PROGRESS_PREFIX", "occurred_at", "publisher", "summarize"]
