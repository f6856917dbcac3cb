"""OpenLineage run events from the pipeline's events: every stage of every run (ingest,
silver, quality, and each Gold model built) is a job run with START and COMPLETE or FAIL,
its input and output datasets, their schemas and row counts, and the pipeline run as parent.

The catalog hears every pipeline subject once, so it is the one emitter: each event it
records for the first time becomes run events, sent to `FLOWFORGE_OPENLINEAGE_URL` (HTTP,
Marquez-compatible: POST <url>/api/v1/lineage) and published on `openlineage.events` (core
NATS). Sending happens after the catalog's transaction, in the background, retried; a
lineage server that is down never holds the pipeline back.

Naming follows OpenLineage's conventions: jobs in namespace `FLOWFORGE_OPENLINEAGE_NAMESPACE`
(default `flowforge`) named `<stage>.<dataset>` (`gold.<model>` for a model); datasets on the
lake in namespace `file` (name: the folder's path) or `s3://<bucket>` (name: the prefix).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from flowforge.common.events import (
    BronzeReady,
    Column,
    Event,
    FileLanded,
    GoldModelBuilt,
    GoldReady,
    QualityChecked,
    SilverReady,
    StageFailed,
    StageTiming,
)

log = logging.getLogger(__name__)
SUBJECT = "openlineage.events"
PRODUCER = "https://github.com/flowforge/flowforge/tree/main/services/catalog"
SPEC = "https://openlineage.io/spec"
RUN_EVENT = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET = {
    "schema": f"{SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "errorMessage": f"{SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "parent": f"{SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "jobType": f"{SPEC}/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "outputStatistics": f"{SPEC}/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"
    "#/$defs/OutputStatisticsOutputDatasetFacet",
    "dataQualityAssertions": f"{SPEC}/facets/1-1-0/DataQualityAssertionsDatasetFacet.json"
    "#/$defs/DataQualityAssertionsDatasetFacet",
    "columnLineage": f"{SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json"
    "#/$defs/ColumnLineageDatasetFacet",
    "documentation": f"{SPEC}/facets/1-1-0/DocumentationDatasetFacet.json"
    "#/$defs/DocumentationDatasetFacet",
}
DATASET_EVENT = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
DOCS_TTL = 30.0  # seconds a dataset's descriptions are reused in run events
RUN_NAMESPACE = uuid.UUID("0f5b8c1e-7d3a-4e59-9a61-3c2b1d4e5f60")


def _facet(kind: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET[kind], **fields}


def run_uuid(run_id: str, job: str) -> str:
    """OpenLineage wants a UUID per job run: derived, so a redelivery gives the same one."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{run_id}/{job}"))


def lake_dataset(uri: str, *, folder: bool = True) -> tuple[str, str]:
    """(namespace, name) of a lake object's dataset: its folder (the table), by convention."""
    parts = urlsplit(uri)
    path = parts.path.rsplit("/", 1)[0] if folder else parts.path
    if parts.scheme == "s3":
        return f"s3://{parts.netloc}", path.lstrip("/")
    return "file", path or "/"


def _schema(columns: list[Column]) -> dict[str, Any]:
    return _facet("schema", fields=[
        {"name": c.name, "type": c.type, "ordinal_position": i}
        for i, c in enumerate(columns, start=1)
    ])  # fmt: skip


def _dataset(uri: str, facets: dict | None = None, **extra: Any) -> dict[str, Any]:
    namespace, name = lake_dataset(uri)
    return {"namespace": namespace, "name": name, "facets": facets or {}, **extra}


Docs = dict[str, Any]  # `descriptions.Descriptions.of`'s shape
DocsLookup = Callable[[str], Awaitable[Docs]]


def describe(facets: dict[str, Any], docs: Docs) -> None:
    """Put a dataset's descriptions into its facets: each schema field's, and the dataset's
    as a documentation facet."""
    described = docs.get("columns_described") or {}
    for field in (facets.get("schema") or {}).get("fields", []):
        if field["name"] in described:
            field["description"] = described[field["name"]]["description"]
    if docs.get("description"):
        facets["documentation"] = _facet(
            "documentation", description=docs["description"]["description"]
        )


def dataset_docs(documented: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One OpenLineage DatasetEvent per Silver dataset and Gold model (named as the run
    events name them): its schema with each field's description, and its documentation."""
    now = datetime.now().astimezone().isoformat()
    events = []
    for entry in documented:
        namespace, name = lake_dataset(entry["location"], folder=entry["layer"] != "gold")
        facets = {"schema": _facet("schema", fields=[
            {"name": c["name"], "type": c["type"]} for c in entry["columns"]])}  # fmt: skip
        describe(facets, entry)
        events.append({
            "eventTime": now, "producer": PRODUCER, "schemaURL": DATASET_EVENT,
            "dataset": {"namespace": namespace, "name": name, "facets": facets},
        })  # fmt: skip
    return events


class Emitter:
    """Turns recorded events into run events and sends them, in order, in the background."""

    def __init__(
        self,
        namespace: str,
        url: str | None,
        publish: Callable[[dict], Awaitable[None]] | None,
        http: httpx.AsyncClient | None = None,
        attempts: int = 5,
        docs: DocsLookup | None = None,
    ):
        self.namespace = namespace
        self.docs = docs
        self._docs: dict[str, tuple[float, Docs]] = {}
        self.url = url.rstrip("/") + "/api/v1/lineage" if url else None
        self.publish = publish
        self.http = http or (httpx.AsyncClient(timeout=10) if url else None)
        self.attempts = attempts
        self.queue: asyncio.Queue[dict] = asyncio.Queue(maxsize=10_000)
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return self.url is not None or self.publish is not None

    def recorded(self, event: Event) -> None:
        """Called once per newly recorded event (after its transaction)."""
        if not self.enabled:
            return
        for run_event in self.run_events(event):
            try:
                self.queue.put_nowait(run_event)
            except asyncio.QueueFull:
                log.warning("openlineage: %d events waiting; dropping one", self.queue.qsize())

    async def run(self) -> None:
        while True:
            run_event = await self.queue.get()
            try:
                await self._describe(run_event)
                await self._send(run_event)
            finally:
                self.queue.task_done()

    async def _describe(self, run_event: dict) -> None:
        """The catalog's descriptions into what a Silver or Gold job wrote (the output of
        `silver.<dataset>`, `gold.<model>`); a lookup that fails leaves them out: lineage
        goes on without docs."""
        stage, _, name = run_event["job"]["name"].partition(".")
        if self.docs is None or stage not in ("silver", "gold") or not run_event["outputs"]:
            return
        now = asyncio.get_running_loop().time()
        cached = self._docs.get(name)
        if cached is None or now - cached[0] > DOCS_TTL:
            try:
                cached = (now, await self.docs(name))
            except Exception as exc:  # noqa: BLE001 - lineage never fails the pipeline
                log.warning("openlineage: descriptions of %s not read: %s", name, exc)
                return
            self._docs[name] = cached
        for dataset in run_event["outputs"]:
            describe(dataset["facets"], cached[1])

    def forget_docs(self, dataset: str) -> None:
        """A dataset's descriptions changed: read them again for its next events."""
        self._docs.pop(dataset, None)

    async def _send(self, run_event: dict) -> None:
        if self.publish is not None:
            try:
                await self.publish(run_event)
            except Exception as exc:  # noqa: BLE001 - lineage never fails the pipeline
                log.warning("openlineage: not published on %s: %s", SUBJECT, exc)
        if self.url is None or self.http is None:
            self.sent += 1
            return
        for attempt in range(1, self.attempts + 1):
            try:
                reply = await self.http.post(self.url, json=run_event)
                if reply.status_code < 300:
                    self.sent += 1
                    return
                problem = f"answered {reply.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if attempt < self.attempts:
                await asyncio.sleep(min(2**attempt, 30))
        log.warning("openlineage: %s %s gave up after %d attempts (%s)", run_event["eventType"],
                    run_event["job"]["name"], self.attempts, problem)  # fmt: skip

    # --- the mapping ---------------------------------------------------------------------

    def run_events(self, event: Event) -> list[dict]:
        match event:
            case FileLanded():
                return [self._ingest_start(event)]
            case BronzeReady():
                out = _dataset(event.bronze_uri, {"schema": _schema(event.columns)},
                               outputFacets=_rows(event.counts.bronze))  # fmt: skip
                return [self._event("COMPLETE", event, "ingest", event.timing.finished_at,
                                    [], [out])]  # fmt: skip
            case SilverReady():
                return self._span(event, "silver", event.timing, [], [
                    _dataset(event.silver_uri, {"schema": _schema(event.columns)},
                             outputFacets=_rows(event.counts.silver))])  # fmt: skip
            case QualityChecked():
                checked = _dataset(event.silver_uri, {
                    "dataQualityAssertions": _facet("dataQualityAssertions", assertions=[
                        {"assertion": c.name, "success": c.status != "failed",
                         **({"column": c.column} if c.column else {})}
                        for c in event.checks
                    ])})  # fmt: skip
                return self._span(event, "quality", event.timing, [checked], [])
            case GoldReady():
                return self._gold(event)
            case StageFailed():
                job = {"silver": "silver", "gold": "gold"}.get(event.stage, event.stage)
                failed = self._event("FAIL", event, job, event.timing.finished_at if event.timing
                                     else None, [], [])  # fmt: skip
                failed["run"]["facets"]["errorMessage"] = _facet(
                    "errorMessage", message=event.error[:4000], programmingLanguage="python"
                )
                return [failed]
        return []

    def _ingest_start(self, event: FileLanded) -> dict:
        if event.extract is not None:
            source = event.extract.table or "query"
            inputs = [{"namespace": f"flowforge-connection://{event.extract.connection}",
                       "name": source, "facets": {}}]  # fmt: skip
        else:
            namespace, name = lake_dataset(event.landing_uri, folder=False)
            inputs = [{"namespace": namespace, "name": name, "facets": {}}]
        return self._event("START", event, "ingest", event.landed_at, inputs, [])

    def _gold(self, event: GoldReady) -> list[dict]:
        out: list[dict] = []
        for model in event.models:
            inputs = [
                _dataset(batch.silver_uri)
                for source in model.inputs
                for batch in source.batches[-1:]  # the dataset's table, named once
            ]
            facets = {"schema": _schema(model.columns)}
            if model.column_lineage:
                facets["columnLineage"] = _column_lineage(model)
            namespace, name = lake_dataset(model.uri, folder=False)  # the model's table
            output = {"namespace": namespace, "name": name, "facets": facets,
                      "outputFacets": _rows(model.rows)}  # fmt: skip
            out += self._span(event, f"gold.{model.name}", event.timing, inputs, [output])
        for failed in event.failed:
            fail = self._event("FAIL", event, f"gold.{failed.name}", event.timing.finished_at,
                               [], [])  # fmt: skip
            fail["run"]["facets"]["errorMessage"] = _facet(
                "errorMessage", message=failed.error[:4000], programmingLanguage="sql"
            )
            out.append(fail)
        return out

    def _span(self, event, job: str, timing: StageTiming, inputs: list, outputs: list) -> list:
        return [
            self._event("START", event, job, timing.started_at, inputs, []),
            self._event("COMPLETE", event, job, timing.finished_at, inputs, outputs),
        ]

    def _event(
        self,
        kind: str,
        event: Event,
        job: str,
        at: datetime | None,
        inputs: list,
        outputs: list,
    ) -> dict:
        stage, _, model = job.partition(".")
        name = f"gold.{model}" if stage == "gold" and model else f"{job}.{event.dataset}"
        revision = getattr(event, "revision", 0)
        run_key = f"{event.run_id}:r{revision}" if revision else event.run_id
        return {
            "eventType": kind,
            "eventTime": (at or datetime.now().astimezone()).isoformat(),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT,
            "run": {
                "runId": run_uuid(run_key, name),
                "facets": {
                    "parent": _facet(
                        "parent",
                        job={"namespace": self.namespace, "name": f"pipeline.{event.dataset}"},
                        run={"runId": run_uuid(event.run_id, "pipeline")},
                    )
                },
            },
            "job": {
                "namespace": self.namespace,
                "name": name,
                "facets": {
                    "jobType": _facet(
                        "jobType",
                        processingType="BATCH",
                        integration="FLOWFORGE",
                        jobType=stage.upper(),
                    )
                },
            },  # fmt: skip
            "inputs": inputs,
            "outputs": outputs,
        }


def _column_lineage(model: GoldModelBuilt) -> dict[str, Any]:
    """Each output column's input columns, the inputs named as their datasets are: a
    dataset's Silver table, or another model's Gold table (beside this model's)."""
    tables = {i.dataset: lake_dataset(i.batches[-1].silver_uri) for i in model.inputs
              if i.batches}  # fmt: skip
    namespace, own = lake_dataset(model.uri, folder=False)
    gold_root = own.rsplit("/", 1)[0]

    def where(source: str) -> tuple[str, str]:
        return tables.get(source) or (namespace, f"{gold_root}/{source}")

    return _facet("columnLineage", fields={
        column: {"inputFields": [
            {"namespace": where(source)[0], "name": where(source)[1], "field": field}
            for source, field in sources
        ]}
        for column, sources in model.column_lineage.items()
    })  # fmt: skip


def _rows(count: int | None) -> dict[str, Any]:
    if count is None:
        return {}
    return {"outputStatistics": _facet("outputStatistics", rowCount=int(count))}
