"""A workflow's definition: one document shape for YAML files and the API, checked field by
field before anything is stored (a bad definition is refused naming the field).

    name: nightly_orders
    schedule: {cron: "0 2 * * *", timezone: Europe/Berlin}   # or {every: 15m}
    after: [upstream_workflow]               # run when these succeeded
    catchup: latest                          # all | latest | none
    max_active_runs: 1                       # more due runs wait (on_limit: queue) or not
    steps:
      - {name: extract, extract: pg_orders, retries: 2, timeout: 30m}
      - {name: models, build: [revenue], needs: [extract]}
      - {name: tell, webhook: "https://hooks.example/x", needs: [models]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from graphlib import CycleError, TopologicalSorter
from typing import Any
from urllib.parse import urlsplit

from flowforge.common.errors import BadInputError
from flowforge.common.lake import check_name
from flowforge.scheduler.timing import Schedule, parse_duration

# A step is one of these, named by the key that holds its target.
STEP_KINDS = ("extract", "pickup", "build", "quality", "wait", "webhook")
# The events a workflow can start on (`on_event`) or a step wait for (`wait`): published on
# the bus by the platform; the scheduler hears them all. A filter names fields of the event
# (`dataset`, `status`, ...; `model` for gold.ready: a model that was built).
EVENT_SUBJECTS = (
    "file.landed", "silver.ready", "quality.checked", "gold.ready", "schema.changed",
    "ingest.failed", "transform.failed", "quality.failed", "workflow.finished",
)  # fmt: skip
CATCHUP = ("all", "latest", "none")
ON_LIMIT = ("queue", "skip")
NOTIFY_ON = ("failure", "success", "sla")
STEP_KEYS = {"name", "needs", "retries", "retry_delay", "timeout", *STEP_KINDS}
TOP_KEYS = {
    "name", "description", "schedule", "after", "on_event", "catchup", "max_active_runs",
    "on_limit", "steps", "notify", "sla", "paused",
}  # fmt: skip
MAX_STEPS = 100
DEFAULT_TIMEOUT = timedelta(hours=1)
DEFAULT_RETRY_DELAY = timedelta(seconds=30)


@dataclass(frozen=True)
class Step:
    name: str
    kind: str  # one of STEP_KINDS
    target: Any  # a dataset, a list of models, or a URL
    needs: tuple[str, ...] = ()
    retries: int = 0
    retry_delay: timedelta = DEFAULT_RETRY_DELAY  # doubled after each failed attempt
    timeout: timedelta = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Notify:
    webhook: str
    on: tuple[str, ...] = ("failure",)


@dataclass(frozen=True)
class Workflow:
    name: str
    steps: tuple[Step, ...]
    schedule: Schedule | None = None
    after: tuple[str, ...] = ()
    on_event: dict[str, Any] | None = None  # {subject, field: value, ...}
    catchup: str = "latest"
    max_active_runs: int = 1
    on_limit: str = "queue"
    notify: tuple[Notify, ...] = ()
    sla: timedelta | None = None  # a run not finished this long after its start is late
    description: str = ""
    document: dict[str, Any] = field(default_factory=dict, compare=False)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def references(self) -> dict[str, set[str]]:
        """The datasets and models its steps name (checked against their owners)."""
        out: dict[str, set[str]] = {"datasets": set(), "models": set()}
        for s in self.steps:
            if s.kind in ("extract", "quality"):
                out["datasets"].add(s.target)
            elif s.kind == "build":
                out["models"].update(s.target)
        return out


def parse(doc: Any, name: str | None = None) -> Workflow:
    """A workflow from its document; `name` (from the URL or the file name) must agree."""
    if not isinstance(doc, dict):
        raise BadInputError("a workflow is a mapping with `name` and `steps`")
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise BadInputError(
            f"{unknown[0]}: not a field of a workflow ({', '.join(sorted(TOP_KEYS))})"
        )
    given = doc.get("name", name)
    wf_name = _name(given, "name")
    if name is not None and given != name:
        raise BadInputError(f"name: the document names {given!r}, the request {name!r}")
    schedule = None
    if doc.get("schedule") is not None:
        if not isinstance(doc["schedule"], dict):
            raise BadInputError('schedule: a mapping such as {cron: "0 2 * * *"} or {every: 15m}')
        schedule = Schedule.parse(doc["schedule"])
    after = tuple(_name(a, "after") for a in _list(doc.get("after"), "after"))
    if wf_name in after:
        raise BadInputError("after: a workflow cannot run after itself")
    catchup = doc.get("catchup", "latest")
    if catchup not in CATCHUP:
        raise BadInputError(f"catchup: one of {', '.join(CATCHUP)}, not {catchup!r}")
    on_limit = doc.get("on_limit", "queue")
    if on_limit not in ON_LIMIT:
        raise BadInputError(f"on_limit: one of {', '.join(ON_LIMIT)}, not {on_limit!r}")
    limit = doc.get("max_active_runs", 1)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        raise BadInputError(f"max_active_runs: a number from 1 to 100, not {limit!r}")
    on_event = _event(doc["on_event"], "on_event") if doc.get("on_event") is not None else None
    steps = _steps(doc.get("steps"))
    notify = tuple(_notify(n, i) for i, n in enumerate(_list(doc.get("notify"), "notify")))
    sla = parse_duration(doc["sla"], "sla") if doc.get("sla") is not None else None
    description = doc.get("description") or ""
    if not isinstance(description, str) or len(description) > 2000:
        raise BadInputError("description: text of at most 2,000 characters")
    return Workflow(
        name=wf_name, steps=steps, schedule=schedule, after=after, on_event=on_event,
        catchup=catchup,
        max_active_runs=limit, on_limit=on_limit, notify=notify, sla=sla,
        description=description, document={**doc, "name": wf_name},
    )  # fmt: skip


def _name(value: Any, where: str) -> str:
    try:
        return check_name(str(value) if value is not None else "", "workflow")
    except BadInputError as exc:
        raise BadInputError(f"{where}: {exc}") from None


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInputError(f"{where}: a list")
    return value


def _steps(value: Any) -> tuple[Step, ...]:
    items = _list(value, "steps")
    if not items:
        raise BadInputError("steps: a workflow needs at least one step")
    if len(items) > MAX_STEPS:
        raise BadInputError(f"steps: at most {MAX_STEPS}")
    steps: list[Step] = []
    for i, item in enumerate(items):
        where = f"steps[{i}]"
        if not isinstance(item, dict):
            raise BadInputError(f"{where}: a mapping such as {{name: x, extract: dataset}}")
        unknown = sorted(set(item) - STEP_KEYS)
        if unknown:
            raise BadInputError(f"{where}.{unknown[0]}: not a field of a step; a step is one "
                                f"of {', '.join(STEP_KINDS)}")  # fmt: skip
        kinds = [k for k in STEP_KINDS if k in item]
        if len(kinds) != 1:
            raise BadInputError(f"{where}: say what the step does with exactly one of "
                                f"{', '.join(STEP_KINDS)}")  # fmt: skip
        name = _name(item.get("name"), f"{where}.name")
        if any(s.name == name for s in steps):
            raise BadInputError(f"{where}.name: {name!r} names two steps")
        retries = item.get("retries", 0)
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 20:
            raise BadInputError(f"{where}.retries: a number from 0 to 20")
        timeout = item.get("timeout")
        delay = item.get("retry_delay")
        steps.append(Step(
            name=name, kind=kinds[0], target=_target(kinds[0], item[kinds[0]], where),
            needs=tuple(_name(n, f"{where}.needs") for n in _list(item.get("needs"),
                                                                   f"{where}.needs")),
            retries=retries,
            retry_delay=parse_duration(delay, f"{where}.retry_delay") if delay is not None
            else DEFAULT_RETRY_DELAY,
            timeout=parse_duration(timeout, f"{where}.timeout") if timeout is not None
            else DEFAULT_TIMEOUT,
        ))  # fmt: skip
    names = {s.name for s in steps}
    graph: dict[str, set[str]] = {}
    for i, s in enumerate(steps):
        for need in s.needs:
            if need not in names:
                raise BadInputError(f"steps[{i}].needs: no step named {need!r}")
        graph[s.name] = set(s.needs)
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise BadInputError(f"steps: the needs make a cycle: {cycle}") from None
    return tuple(steps)


def _target(kind: str, value: Any, where: str) -> Any:
    if kind in ("extract", "quality"):
        try:
            return check_name(str(value or ""))
        except BadInputError as exc:
            raise BadInputError(f"{where}.{kind}: {exc}") from None
    if kind == "pickup":
        prefix = str(value or "").strip("/")
        if not prefix or ".." in prefix or len(prefix) > 500 or prefix.startswith("landing/"):
            raise BadInputError(f"{where}.pickup: a folder under landing/, such as `orders` "
                                f"(files in landing/orders/), not {value!r}")  # fmt: skip
        return prefix
    if kind == "wait":
        return _event(value, f"{where}.wait")
    if kind == "build":
        models = value if isinstance(value, list) else [value]
        if not models:
            raise BadInputError(f"{where}.build: name at least one model")
        try:
            return tuple(check_name(str(m), "model") for m in models)
        except BadInputError as exc:
            raise BadInputError(f"{where}.build: {exc}") from None
    return _url(value, f"{where}.webhook")


def _event(value: Any, where: str) -> dict[str, Any]:
    """An event filter: {subject: gold.ready, model: revenue}."""
    if not isinstance(value, dict) or value.get("subject") not in EVENT_SUBJECTS:
        raise BadInputError(f"{where}: {{subject: ..., field: value}} with a subject among "
                            f"{', '.join(EVENT_SUBJECTS)}")  # fmt: skip
    for key, wanted in value.items():
        if not isinstance(key, str) or not isinstance(wanted, str | int | bool):
            raise BadInputError(f"{where}.{key}: a plain value to match")
    return dict(value)


def matches(event_filter: dict[str, Any], subject: str, data: dict[str, Any]) -> bool:
    """Whether an event (its subject and CloudEvent `data`) passes the filter."""
    if event_filter.get("subject") != subject:
        return False
    for key, wanted in event_filter.items():
        if key == "subject":
            continue
        if key == "model" and subject == "gold.ready":
            if wanted not in [m.get("name") for m in data.get("models") or []]:
                return False
        elif data.get(key) != wanted:
            return False
    return True


def _url(value: Any, where: str) -> str:
    if "…" in str(value):
        raise BadInputError(f"{where}: give the webhook's whole URL (answers show it cut "
                            "short: its path is often its secret)")  # fmt: skip
    parts = urlsplit(str(value or ""))
    if parts.scheme not in ("http", "https") or not parts.netloc or len(str(value)) > 2000:
        raise BadInputError(f"{where}: an http(s) URL, not {value!r}")
    return str(value)


def _notify(item: Any, i: int) -> Notify:
    where = f"notify[{i}]"
    if not isinstance(item, dict) or "webhook" not in item:
        raise BadInputError(f"{where}: a mapping such as {{webhook: https://..., on: [failure]}}")
    on = tuple(_list(item.get("on", ["failure"]), f"{where}.on"))
    for event in on:
        if event not in NOTIFY_ON:
            raise BadInputError(f"{where}.on: one of {', '.join(NOTIFY_ON)}, not {event!r}")
    return Notify(webhook=_url(item["webhook"], f"{where}.webhook"), on=on)
