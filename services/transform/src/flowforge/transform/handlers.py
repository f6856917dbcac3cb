"""Transform's handlers: Bronze → Silver on `bronze.ready`, Gold on `quality.checked`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from flowforge.common import lake, metrics
from flowforge.common.errors import BadInputError
from flowforge.common.events import (
    BronzeReady,
    Column,
    Event,
    GoldInput,
    GoldModelBuilt,
    GoldReady,
    JobRequested,
    ModelFailed,
    QualityChecked,
    SilverBatch,
    SilverReady,
    StageTiming,
    utcnow,
)
from flowforge.common.lake import (
    MERGE_DELETED,
    MERGE_SEQ,
    ModelRows,
    ValidRows,
    schema_fingerprint,
)
from flowforge.common.lakehouse import WRITE_BATCH_ROWS, table_key
from flowforge.common.models import quote_identifier, warm_sandboxed
from flowforge.common.naming import normalise_names
from flowforge.common.storage import LakeFiles
from flowforge.transform import aggregates
from flowforge.transform.adapters import Batches, GoldLock, ModelRegistry, SilverSpecs
from flowforge.transform.folding import FoldQueue, ViewsQueue, fold_due, fold_quietly
from flowforge.transform.gold import (
    BuiltModel,
    Model,
    build_model,
    build_order,
    reachable,
    refresh_analytics,
)
from flowforge.transform.limits import Deadline
from flowforge.transform.lineage import rename_tables
from flowforge.transform.materialize import incremental_sql, merge_sql, snapshot_sql
from flowforge.transform.silver import SilverFileResult, deleted_rows, silver_file
from flowforge.transform.tables import Counting, SilverTables

log = logging.getLogger(__name__)
SERVICE = "transform"


@dataclass
class Deps:
    files: LakeFiles
    batches: Batches
    models: ModelRegistry
    analytics_db: Path
    scratch: Path
    gold_lock: GoldLock
    specs: SilverSpecs
    tables: SilverTables
    silver_timeout: float | None = None  # seconds; None: no limit
    model_timeout: float | None = None
    folds: FoldQueue | None = None  # None: each fold runs in the Gold stage itself
    views: ViewsQueue | None = None  # None: the analytics views are refreshed there too


def source_types(event: BronzeReady) -> dict[str, str]:
    """An extract's columns typed as in the source database, by Silver name: cast to those
    (each value checked to fit) instead of inferring from the text. A dataset's declared
    types (PUT /spec) still win."""
    if not event.source_types:
        return {}
    names = normalise_names(list(event.source_types))
    return {names[bronze]: spec for bronze, spec in event.source_types.items()}


def _to_silver(
    files: LakeFiles,
    event: BronzeReady,
    scratch: Path,
    pinned: dict[str, str],
    declared: dict,
    timeout: float | None = None,
) -> SilverFileResult:
    bronze = files.path(files.store.key_of(event.bronze_uri))
    key = lake.silver_key(event.dataset, event.run_id)
    out = files.output(key)
    result = silver_file(
        bronze,
        out,
        event.key,
        scratch,
        pinned,
        types=source_types(event) | dict(declared.get("types") or {}),
        renames=dict(declared.get("renames") or {}),
        deadline=Deadline(
            timeout, f"the Silver step of {event.dataset}", "FLOWFORGE_SILVER_TIMEOUT"
        ),
    )
    files.commit(key, out)
    return result


async def handle_bronze_ready(event: BronzeReady, deps: Deps) -> list[Event]:
    """Clean one Bronze batch into Silver (same run → same object, so redelivery is safe)."""
    started = utcnow()
    pinned = await deps.batches.pinned_specs(event.dataset)
    declared = await deps.specs.get(event.dataset)
    result = await asyncio.to_thread(
        _to_silver, deps.files, event, deps.scratch, pinned, declared, deps.silver_timeout
    )
    for column, spec in result.specs.items():
        if column in pinned and pinned[column] != spec:
            log.warning(
                "column %s of %s no longer fits its type %s in this file; typed %s here",
                column,
                event.dataset,
                pinned[column],
                spec,
            )
    await deps.batches.pin_specs(event.dataset, result.specs)
    key = lake.silver_key(event.dataset, event.run_id)
    deleted, deleted_key = None, None
    if event.snapshot:
        deleted, deleted_key = await _deleted(deps, event, key, result.key)
    await deps.batches.record_silver(
        event.run_id,
        event.dataset,
        deps.files.store.key_of(event.bronze_uri),
        key,
        result.key,
        snapshot=event.snapshot,
        deleted_key=deleted_key,
        rows=result.silver,
    )
    columns = [Column(name=n, type=t) for n, t in result.types.items()]
    timing = StageTiming(started_at=started, finished_at=utcnow())
    metrics.STAGE_SECONDS.labels(SERVICE, "silver").observe(timing.seconds)
    metrics.count_rows(SERVICE, "silver", duplicates=result.duplicates, silver=result.silver)
    log.info(
        "silver: %d rows (%d duplicates removed) in %.2fs",
        result.silver,
        result.duplicates,
        timing.seconds,
    )
    return [
        SilverReady.following(
            event,
            silver_uri=deps.files.store.uri(key),
            columns=columns,
            schema_fingerprint=schema_fingerprint([(c.name, c.type) for c in columns]),
            timing=timing,
            key=result.key,
            counts={"duplicates": result.duplicates, "silver": result.silver, "deleted": deleted},
            renames=declared["renames"],
            deleted_uri=deps.files.store.uri(deleted_key) if deleted_key else None,
        )
    ]


async def _deleted(
    deps: Deps, event: BronzeReady, silver: str, key: list[str]
) -> tuple[int, str | None]:
    """A full snapshot's rows gone from the source: the current rows before it that it no
    longer has, kept beside its Silver file (their count; the object's key, None if none)."""
    before = await valid_rows(deps, event.dataset, without=event.run_id)
    if before is None or not (before.rows.silver or before.rows.base):
        return 0, None
    out_key = lake.deleted_key(event.dataset, event.run_id)
    out = deps.files.output(out_key)
    snapshot = await asyncio.to_thread(deps.files.path, silver)
    count = await asyncio.to_thread(
        deleted_rows, before.rows, snapshot, key, out, utcnow(), deps.scratch
    )
    if not count:
        return 0, None
    await asyncio.to_thread(deps.files.commit, out_key, out)
    log.info("full snapshot of %s: %d row(s) no longer in the source", event.dataset, count)
    return count, out_key


@dataclass(frozen=True)
class Input:
    """One dataset's valid rows as a model reads them, and the batches they came from."""

    rows: ValidRows
    ref: GoldInput
    # How many rows: its table's (as folded) and each pending batch's Silver file's.
    table_rows: int = 0
    pending_rows: dict[str, int] = field(default_factory=dict)


async def valid_rows(deps: Deps, dataset: str, *, without: str = "") -> Input | None:
    """The dataset's valid rows (its Silver table and the batches promoted since); None for a
    dataset with no Silver batch at all (its models wait for it), an empty relation when every
    batch is out of Gold (its models go empty). `without` a run: as they were before it."""
    state = await deps.tables.state(dataset, without=without)
    if not state.batches and without:
        return None
    rows = await asyncio.to_thread(deps.tables.valid_rows, state)
    if rows is None:
        return None
    store = deps.files.store
    ref = GoldInput(
        dataset=dataset,
        key=state.key,
        batches=[
            SilverBatch(
                run_id=b["run_id"],
                silver_uri=store.uri(b["silver_key"]),
                quarantine_uri=store.uri(b["quarantine_key"]) if b["quarantine_key"] else None,
            )
            for b in state.batches
        ],
    )
    pending = {b["run_id"]: int(b["rows"] or 0) for b in state.pending}
    return Input(rows, ref, state.base_rows if state.version is not None else 0, pending)


@dataclass
class Built:
    result: BuiltModel
    model: Model
    build_id: str
    inputs: list[GoldInput]
    version: int | None = None  # of the model's Delta table
    pending: list[str] = field(default_factory=list)  # its merges beside that version


@dataclass
class GoldBuild:
    built: list[Built] = field(default_factory=list)
    failed: list[ModelFailed] = field(default_factory=list)


async def handle_quality_checked(event: QualityChecked, deps: Deps) -> list[Event]:
    """Promote a batch that passed quality and rebuild the Gold models that read it."""
    return (await handle_quality_checked_group([event], deps))[0]


async def handle_quality_checked_group(
    events: list[QualityChecked], deps: Deps
) -> list[list[Event]]:
    """Batches of one dataset checked while its Gold was being built (a burst; one batch
    otherwise): each passing one promoted, then one Gold build for them all and a
    `gold.ready` for each; a failed verdict demotes its batch on its own. The outputs, in
    the events' order."""
    started = utcnow()
    results: dict[int, list[Event]] = {}
    promoted: list[tuple[int, QualityChecked]] = []
    for i, event in enumerate(events):
        if event.verdict == "failed":
            results[i] = await _demoted(event, deps)
            continue
        quarantine = deps.files.store.key_of(event.quarantine_uri) if event.quarantine_uri else None
        if await deps.batches.promote(event.run_id, quarantine, event.revision):
            promoted.append((i, event))
        else:
            log.info("revision %d of run %s is older than its last decision", event.revision,
                     event.run_id)  # fmt: skip
            results[i] = []
    if promoted:
        dataset = promoted[0][1].dataset
        # Promoted first, built after under the models' locks: a build that started before
        # these promotions is followed by one that reads them.
        gold = await _build_gold(deps, dataset)
        await _fold(deps, dataset)  # marked after the build; runs after gold.ready
        timing = StageTiming(started_at=started, finished_at=utcnow())
        metrics.STAGE_SECONDS.labels(SERVICE, "gold").observe(timing.seconds)
        models = await _built_events(deps, gold.built)
        log.info(
            "gold: %d model(s) built, %d failed, %sin %.2fs",
            len(gold.built),
            len(gold.failed),
            f"for {len(promoted)} batch(es) " if len(promoted) > 1 else "",
            timing.seconds,
        )
        for i, event in promoted:
            results[i] = [
                GoldReady.following(event, models=models, failed=gold.failed, timing=timing)
            ]
    return [results[i] for i in range(len(events))]


async def _demoted(event: QualityChecked, deps: Deps) -> list[Event]:
    """A replay can fail a batch that was promoted before: Gold is rebuilt without it."""
    started = utcnow()
    demoted = await deps.batches.demote(event.run_id, event.revision)
    gold = await _build_gold(deps, event.dataset) if demoted else None
    if demoted:  # after the build: a fold beside it would take its memory and cores
        await _fold(deps, event.dataset)
    log.info("quality failed for this batch: Gold is not built from it")
    if gold is None:
        return []
    timing = StageTiming(started_at=started, finished_at=utcnow())
    return [
        GoldReady(
            run_id=event.run_id,
            dataset=event.dataset,
            revision=event.revision,
            job=True,  # Gold of the other batches, not of this run
            models=await _built_events(deps, gold.built),
            failed=gold.failed,
            timing=timing,
        )
    ]


async def _fold(deps: Deps, dataset: str) -> None:
    """Fold the dataset's promoted batches into its Silver table when due: after the Gold
    stage (`FoldQueue`) when the service runs one, readers read the batches beside the table
    meanwhile."""
    if deps.folds is not None:
        deps.folds.mark(dataset)
    else:
        await fold_quietly(deps.tables.fold, dataset)


async def housekeeping(deps: Deps, retention: timedelta) -> dict[str, int]:
    """Fold every Silver table that is due (a crash loses `FoldQueue`'s marks), then vacuum
    every Silver and Gold table: versions past `retention` expire, and files no kept version
    reads (or no commit ever named) are removed. {table: files removed}."""
    await fold_due(await deps.batches.datasets(), deps.tables.fold)
    removed: dict[str, int] = {}
    datasets = await deps.tables.pool.fetch("SELECT dataset FROM transform.tables ORDER BY 1")
    for row in datasets:
        removed[f"silver.{row['dataset']}"] = await deps.tables.vacuum(row["dataset"], retention)
    models = await deps.models.all()
    for name, model in sorted(models.items()):
        if model.version is None:
            continue
        async with deps.gold_lock.hold([name]):
            current = (await deps.models.all()).get(name)
            keep = [current.version] if current and current.version is not None else []
            gone = await asyncio.to_thread(
                deps.tables.lakehouse.vacuum, "gold", name, retention, keep
            )
            pending = set(current.pending) if current else set()
            merges = await asyncio.to_thread(
                _drop_unused, deps, f"gold/{name}/merges/", pending, retention
            )
            state = ((current.built_from if current else {}).get(AGGREGATE) or {}).get("state")
            states = await asyncio.to_thread(
                _drop_unused, deps, f"gold/{name}/state/", {state}, retention
            )
        removed[f"gold.{name}"] = len(gone) + merges + states
    log.info("lakehouse housekeeping: %d file(s) removed", sum(removed.values()))
    return removed


def _drop_unused(deps: Deps, prefix: str, keep: set[str], retention: timedelta) -> int:
    """Remove a model's objects under `prefix` that it no longer reads (an incremental
    model's merges a fold wrote into its table, an aggregate's earlier states a crash left)
    once they are older than the retention (a reader may hold them)."""
    store, cutoff = deps.files.store, time.time() - retention.total_seconds()
    dropped = 0
    for info in store.list(prefix):
        if info.key not in keep and info.modified <= cutoff:
            deps.files.delete(info.key)
            dropped += 1
    return dropped


async def handle_job_requested(event: JobRequested, deps: Deps) -> list[Event]:
    """Build the requested Gold models (and those reading them) from the data there is now."""
    return await build_requested(event, deps)


async def build_requested(event: JobRequested, deps: Deps) -> list[Event]:
    started = utcnow()
    gold = await _build_gold(
        deps, "", requested=frozenset(event.models), full_refresh=event.full_refresh
    )
    timing = StageTiming(started_at=started, finished_at=utcnow())
    log.info("gold job: %d model(s) built, %d failed", len(gold.built), len(gold.failed))
    if not gold.built and not gold.failed:
        return []
    return [
        GoldReady(
            run_id=event.run_id,
            dataset=event.dataset,
            job=True,
            models=await _built_events(deps, gold.built),
            failed=gold.failed,
            timing=timing,
        )
    ]


async def _built_events(deps: Deps, built: list[Built]) -> list[GoldModelBuilt]:
    """What was stored (a `view` stores nothing: it is read through its SQL)."""
    built = [b for b in built if b.version is not None]
    reconcile = await deps.models.reconcile([b.model.name for b in built])
    return [
        GoldModelBuilt(
            name=b.model.name,
            uri=deps.files.store.uri(table_key("gold", b.model.name)),
            rows=b.result.rows,
            columns=[Column(name=n, type=t) for n, t in b.result.columns],
            depends_on=list(b.model.depends_on),
            build_id=b.build_id,
            reconcile=reconcile.get(b.model.name, {}),
            inputs=b.inputs,
            column_lineage=b.result.column_lineage,
            version=b.version,
            pending=[deps.files.store.uri(k) for k in b.pending],
            unique_key=list(b.model.materialization.unique_key),
        )
        for b in built
    ]


async def _build_gold(
    deps: Deps, dataset: str, requested: frozenset[str] = frozenset(), full_refresh: bool = False
) -> GoldBuild:
    """Build each affected model on its own: one broken model does not stop the others, nor
    the analytics views; models reading a failed one are skipped this time."""
    async with deps.gold_lock.hold(build_order(await deps.models.all(), dataset,
                                               requested=requested)):  # fmt: skip
        # Read again under the locks: the versions and what the last builds read.
        models = await deps.models.all()
        order = build_order(models, dataset, requested=requested)
        return await _build_locked(deps, dataset, models, order, full_refresh)


async def _build_locked(
    deps: Deps, dataset: str, models: dict[str, Model], order: list[str], full_refresh: bool
) -> GoldBuild:
    views = {n: m for n, m in models.items() if m.materialization.materialized == "view"}
    inputs: dict[str, Input] = {}
    read = {d for m in order for d in reachable(models[m].depends_on, views)}
    for name in read - set(models):
        found = await valid_rows(deps, name)
        if found is not None:
            inputs[name] = found
    gold = GoldBuild()
    built_paths: dict[str, ModelRows] = {}
    for name in order:
        model = models[name]
        broken = [f.name for f in gold.failed if f.name in model.depends_on]
        if broken:
            await _failed(deps, gold, name, f"reads failed model {broken[0]!r}")
            continue
        needs = reachable(model.depends_on, views)
        await _find_built(deps, needs, models, built_paths)
        missing = [d for d in needs if d not in inputs and d not in built_paths and d not in views]
        if missing:
            log.info("gold model %s waits for %s", name, ", ".join(missing))
            continue
        versions = {n: _state(m.version, m.pending) for n, m in models.items()}
        versions.update({b.model.name: _state(b.version, b.pending) for b in gold.built})
        plan = await asyncio.to_thread(Plan.of, deps, model, inputs, versions, full_refresh)
        built = await _build_one(deps, model, inputs, built_paths, plan, views)
        if isinstance(built, str):
            await _failed(deps, gold, name, built)
            continue
        if built.version is not None:
            built_paths[name] = await asyncio.to_thread(
                _gold_rows, deps, name, built.version, built.pending, model
            )
        gold.built.append(built)
    built = [b.model.name for b in gold.built]
    if deps.views is not None:
        deps.views.mark(dataset, built)  # refreshed after gold.ready
    else:
        await refresh_views(deps, dataset, built)
    return gold


async def _find_built(
    deps: Deps, needs: list[str], models: dict[str, Model], built_paths: dict[str, ModelRows]
) -> None:
    """Other models this one reads (directly or through views), from their last build."""
    for dep in needs:
        found = models.get(dep)
        if found is not None and found.version is not None and dep not in built_paths:
            built_paths[dep] = await asyncio.to_thread(
                _gold_rows, deps, dep, found.version, list(found.pending), found
            )


def _state(version: int | None, pending: Any) -> str | None:
    """A stored model's state as another model's build records it (version + merges)."""
    return None if version is None else f"{version}+{len(pending or ())}"


def _gold_rows(deps: Deps, name: str, version: int, pending: list[str], model: Model) -> ModelRows:
    """A stored model's rows: its table version's files and its pending merges."""
    return ModelRows(
        base=deps.tables.lakehouse.data_paths(deps.files, "gold", name, version),
        pending=[deps.files.path(k) for k in pending],
        key=list(model.materialization.unique_key),
    )


@dataclass
class Plan:
    """How one build of a model runs: its inputs (for an incremental merge, the changed
    dataset bound to its new rows only), the table it starts from, the query over the
    model's result, and what it reads (recorded for the next build)."""

    rows: dict[str, ValidRows]
    previous: list[Path]  # the files of the model's current rows that the build reads
    final: Callable[[Any], str] | None
    built_from: dict[str, Any]
    mode: str
    merge: bool = False  # the result is a merge kept pending beside the table
    aggregate: aggregates.Refresh | None = None  # an aggregate kept as a state beside it

    @classmethod
    def of(
        cls,
        deps: Deps,
        model: Model,
        inputs: dict[str, Input],
        versions: dict[str, int | None],
        full_refresh: bool,
    ) -> Plan:
        mat = model.materialization
        runs = {d: [b.run_id for b in inputs[d].ref.batches] for d in model.depends_on
                if d in inputs}  # fmt: skip
        reads = {f"model:{d}": versions.get(d) for d in model.depends_on if d not in inputs}
        built_from: dict[str, Any] = {**runs, **reads}
        rows = {d: i.rows for d, i in inputs.items()}
        stored = (
            _gold_rows(deps, model.name, model.version, list(model.pending), model)
            if model.version is not None and mat.materialized != "table"
            else None
        )
        # The model's rows as they are (a query), and the files it reads (for the sandbox).
        previous: list[Path] | str = stored.sql() if stored else []
        files = stored.paths if stored else []
        if mat.materialized == "snapshot":
            now = utcnow()

            def scd(con: Any) -> str:
                columns = [r[0] for r in con.execute("DESCRIBE __model").fetchall()]
                return snapshot_sql(mat, previous, columns, now)

            return cls(rows, files, scd, built_from, "snapshot")
        if mat.materialized == "table" and (found := _aggregate(deps, model, inputs, full_refresh)):
            paths = [found.state_out, *([found.previous] if found.previous else [])]
            mode = "table" if found.changes is None else (
                f"table from changes ({len(found.changes.new_silver)} batch(es))")  # fmt: skip
            return cls(rows, paths, found.final, built_from, mode, aggregate=found)
        if mat.materialized != "incremental":
            return cls(rows, [], None, built_from, "table")
        grown = _grown(model, runs, built_from)
        if full_refresh or not previous or grown is None:
            return cls(rows, [], None, built_from, "full refresh")
        changed, new_runs = inputs[grown], set(runs[grown]) - set(model.built_from[grown])
        fresh = [b for b in changed.ref.batches if b.run_id in new_runs]
        key_of = deps.files.store.key_of
        rows[grown] = ValidRows(
            silver=[deps.files.path(key_of(b.silver_uri)) for b in fresh],
            quarantine=[
                deps.files.path(key_of(b.quarantine_uri)) for b in fresh if b.quarantine_uri
            ],  # fmt: skip
            key=changed.ref.key,
        )

        seq = len(model.pending) + 1
        # With tests, the whole new state is built (they judge it before it is committed).
        keep = not model.tests

        def merge(con: Any) -> str:
            have = {r[0] for r in con.execute(f"DESCRIBE {quote_identifier(grown)}").fetchall()}
            touched = quote_identifier(grown) if set(mat.unique_key) <= have else None
            if keep:
                return merge_sql(mat, touched, seq)
            return incremental_sql(mat, previous, touched)

        mode = f"incremental ({len(fresh)} batch(es))"
        return cls(rows, [] if keep else files, merge, built_from, mode, merge=keep)


def _aggregate(
    deps: Deps, model: Model, inputs: dict[str, Input], full_refresh: bool
) -> aggregates.Refresh | None:
    """How an aggregate `table` model over one dataset is built (see `aggregates`): from its
    kept state and the batches promoted since, when nothing else changed; else from every
    row, keeping a state for the next build. None: not such a model."""
    if len(model.depends_on) != 1 or model.depends_on[0] not in inputs:
        return None
    name = model.depends_on[0]
    form = aggregates.form_of(model.sql, name)
    if form is None:
        return None
    data = inputs[name]
    refresh = aggregates.Refresh(
        form, deps.files.output(f"gold/{model.name}/state/{uuid.uuid4().hex}.parquet")
    )
    kept = model.built_from.get(AGGREGATE) or {}
    seen = set(model.built_from.get(name) or [])
    batches = {b.run_id: b for b in data.ref.batches}
    if (
        full_refresh
        or not kept
        or model.version is None
        or kept.get("version") != model.version
        or kept.get("key") != data.ref.key
        or not seen <= set(batches)
        or kept.get("batches") != _digest([batches[r] for r in seen])
        or data.rows.empty_from is not None
    ):
        return refresh
    path = deps.files.path
    key_of = deps.files.store.key_of
    pending = data.pending_rows  # the batches not folded into the table, by run
    fresh = [b for b in data.ref.batches if b.run_id not in seen]
    if any(b.run_id not in pending for b in fresh):
        return refresh  # a fold took in a batch the state has not seen
    added = sum(pending.get(b.run_id, 0) for b in fresh)
    had = data.table_rows + sum(n for r, n in pending.items() if r in seen)
    if added > CHANGES_SHARE * had:
        return refresh  # the changes are much of the data: reading it all is cheaper
    before = [b for b in data.ref.batches if b.run_id in seen and b.run_id in pending]
    old = ValidRows(
        silver=[path(key_of(b.silver_uri)) for b in before],
        quarantine=[path(key_of(b.quarantine_uri)) for b in before if b.quarantine_uri],
        key=list(data.ref.key),
        base=list(data.rows.base),
    )
    try:
        state = path(kept["state"])
    except Exception:  # gone (a restored lake, a removed object): every row, once
        log.info("gold model %s: its kept state is missing; built from every row", model.name)
        return refresh
    refresh.previous = state
    refresh.changes = aggregates.Changes(
        new_silver=[path(key_of(b.silver_uri)) for b in fresh],
        new_quarantine=[path(key_of(b.quarantine_uri)) for b in fresh if b.quarantine_uri],
        key=list(data.ref.key),
        before=old if (old.base or old.silver) else None,
        now=data.rows,
    )
    return refresh


AGGREGATE = "aggregate"  # built_from's record of an aggregate model's kept state
# An aggregate is refreshed from changes when the new batches' rows are at most this share of
# the rows there were: each changed row costs more than a row of a full build (it is looked
# up, and counted out and in again). A 50k-row file replacing a 50k-row dataset: Gold 83 ms
# built from every row, 147 ms from the changes; 20k rows into 9.4M: 0.5 s vs 0.16 s.
CHANGES_SHARE = 0.25


def _digest(batches: list[SilverBatch]) -> str:
    return aggregates.batches_digest([(b.run_id, b.quarantine_uri) for b in batches])


async def _keep_state(
    deps: Deps, model: Model, plan: Plan, version: int, inputs: dict[str, Input]
) -> str | None:
    """Commit a build's aggregate state and record it in what the build read (the state
    object to remove once the record moved on, if any)."""
    refresh = plan.aggregate
    kept = (model.built_from.get(AGGREGATE) or {}).get("state")
    if refresh is None or not refresh.written:
        return kept
    key = f"gold/{model.name}/state/{refresh.state_out.name}"
    await asyncio.to_thread(deps.files.commit, key, refresh.state_out)
    data = inputs[refresh.form.dataset]
    plan.built_from[AGGREGATE] = {
        "state": key,
        "version": version,
        "key": list(data.ref.key),
        "batches": _digest(list(data.ref.batches)),
    }
    return kept


def _grown(model: Model, runs: dict[str, list[str]], now: dict[str, Any]) -> str | None:
    """The one input dataset with new batches since the last build, when that is all that
    changed (else None: the build must read everything)."""
    before = model.built_from
    if set(before) != set(now):
        return None
    if any(before[k] != now[k] for k in now if k.startswith("model:")):
        return None
    grown = [d for d in runs if set(runs[d]) != set(before[d])]
    if len(grown) != 1 or any(not set(before[d]) <= set(runs[d]) for d in runs):
        return None
    return grown[0]


async def _build_one(
    deps: Deps,
    model: Model,
    inputs: dict[str, Input],
    built_paths: dict[str, ModelRows],
    plan: Plan,
    views: dict[str, Model],
) -> Built | str:
    """Build and commit one model; the error text when it fails."""
    key = lake.gold_key(model.name)
    out = deps.files.output(key)
    build_id = uuid.uuid4().hex
    began = time.perf_counter()
    try:
        deadline = Deadline(deps.model_timeout, "the build", "FLOWFORGE_MODEL_TIMEOUT")
        result = await asyncio.to_thread(
            lambda: build_model(
                model,
                plan.rows,
                built_paths,
                out,
                build_id,
                deadline,
                previous=plan.previous,
                final=plan.final,
                views=views,
            )
        )
    except BadInputError as exc:
        return str(exc)
    columns = [{"name": n, "type": t} for n, t in result.columns]
    refs = [inputs[d].ref for d in model.depends_on if d in inputs]
    if model.materialization.materialized == "view":  # checked, nothing stored
        await deps.models.built(model.name, build_id, None, columns, None, plan.built_from)
        return Built(result=result, model=model, build_id=build_id, inputs=refs)
    if plan.merge:
        return await _keep_merge(deps, model, out, result, plan, build_id, refs)
    # An incremental model holds its key once per row (a snapshot's repeats, one per version).
    mat = model.materialization
    key = list(mat.unique_key) if mat.materialized == "incremental" else []
    committing = time.perf_counter()
    try:
        version = await asyncio.to_thread(_commit_gold, deps, model.name, out, build_id, key)
    except Exception as exc:  # a type Delta cannot hold, or the store refusing the commit
        log.warning("gold model %s not committed", model.name, exc_info=True)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"gold model {model.name!r} cannot be stored as a table: {text} (a column of a "
            "type Delta Lake lacks: cast it; or the lake refused the write: build it again)"
        )
    replaced = await _keep_state(deps, model, plan, version, inputs)
    log.info(
        "gold model %s: %s build, %d row(s) in %.2fs, committed as version %d in %.2fs%s",
        model.name,
        plan.mode,
        result.rows,
        committing - began,
        version,
        time.perf_counter() - committing,
        f" ({plan.aggregate.note})" if plan.aggregate and plan.aggregate.note else "",
    )
    await deps.models.built(
        model.name, build_id, result.rows, columns, version, plan.built_from, result.tests
    )
    if replaced and replaced != (plan.built_from.get(AGGREGATE) or {}).get("state"):
        with contextlib.suppress(Exception):  # a leftover is small; housekeeping may go on
            await asyncio.to_thread(deps.files.delete, replaced)
    return Built(result=result, model=model, build_id=build_id, inputs=refs, version=version)


async def _keep_merge(
    deps: Deps,
    model: Model,
    out: Path,
    result: BuiltModel,
    plan: Plan,
    build_id: str,
    refs: list[GoldInput],
) -> Built | str:
    """An incremental build's merge kept beside the table (its own rows only: a batch costs
    what it changed), folded into a new table version when the merges reach
    FLOWFORGE_FOLD_RATIO of the table's rows or FLOWFORGE_FOLD_BATCHES merges."""
    began = time.perf_counter()
    key = f"gold/{model.name}/merges/{build_id}.parquet"
    await asyncio.to_thread(deps.files.commit, key, out)
    pending, merged = [*model.pending, key], model.pending_rows + result.rows
    assert model.version is not None  # a merge always follows a full build
    state = await asyncio.to_thread(_gold_rows, deps, model.name, model.version, pending, model)
    version = model.version
    tables = deps.tables
    if len(pending) >= tables.fold_batches or merged >= tables.fold_ratio * (model.rows or 0):
        try:
            version, rows = await asyncio.to_thread(_fold_state, deps, model.name, state, build_id)
        except Exception as exc:  # the merges stay pending; the next build folds them
            log.warning("gold model %s not folded: %s", model.name, exc, exc_info=True)
        else:
            pending, merged = [], 0
    if pending:
        rows = await asyncio.to_thread(_count_state, state, model.rows)
    columns = [(n, t) for n, t in result.columns if n not in (MERGE_SEQ, MERGE_DELETED)]
    log.info(
        "gold model %s: %s build, merge kept (%d pending), %d row(s) in all, %.2fs%s",
        model.name, plan.mode, len(pending), rows, time.perf_counter() - began,
        "" if pending else f", folded into version {version}",
    )  # fmt: skip
    await deps.models.built(
        model.name, build_id, rows, [{"name": n, "type": t} for n, t in columns], version,
        plan.built_from, result.tests, pending, merged,
    )  # fmt: skip
    done = replace(result, rows=rows, columns=columns)
    return Built(result=done, model=model, build_id=build_id, inputs=refs, version=version,
                 pending=pending)  # fmt: skip


def _fold_state(deps: Deps, name: str, state: ModelRows, build_id: str) -> tuple[int, int]:
    """A model's table and its pending merges written as the table's next version, streamed
    from DuckDB into the Delta writer (one encoding of the rows, no file in between); the
    version and its rows."""
    con = warm_sandboxed(state.paths)
    try:
        counted = Counting(con.sql(state.sql()).to_arrow_reader(WRITE_BATCH_ROWS))
        version = deps.tables.lakehouse.overwrite(
            "gold", name, counted.reader(), kind="build", runs=[], build_id=build_id,
            key=state.key,
        )  # fmt: skip
    finally:
        con.close()
    return version, counted.rows


def _count_state(state: ModelRows, before: int | None = None) -> int:
    """The rows of a model with merges pending: `before` (the rows before its last merge)
    plus what that merge changed, or, not knowing `before`, a count of them all."""
    con = warm_sandboxed(state.paths)
    try:
        if before is None:
            return int(con.execute(f"SELECT count(*) FROM ({state.sql()})").fetchall()[0][0])
        return before + int(con.execute(state.last_merge_delta_sql()).fetchall()[0][0])
    finally:
        con.close()


def _commit_gold(
    deps: Deps, name: str, out: Path, build_id: str, key: list[str] | None = None
) -> int:
    """The built rows as the model table's next version (one commit: readers see the old
    build or the new one, never a part)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(out, pre_buffer=False)
        reader = pa.RecordBatchReader.from_batches(
            source.schema_arrow, source.iter_batches(batch_size=WRITE_BATCH_ROWS)
        )
        return deps.tables.lakehouse.overwrite(
            "gold", name, reader, kind="build", runs=[], build_id=build_id, key=key
        )
    finally:
        out.unlink(missing_ok=True)


async def _failed(deps: Deps, gold: GoldBuild, name: str, error: str) -> None:
    log.warning("gold model %s failed: %s", name, error)
    gold.failed.append(ModelFailed(name=name, error=error))
    await deps.models.failed(name, error)


async def refresh_views(deps: Deps, dataset: str, models: list[str]) -> None:
    """Views of what changed: the dataset's Bronze and Silver (its promoted batches) and the
    models just built. Each dataset's views were made when its own batches were promoted, so
    refreshing every dataset on every run (slower as datasets accumulate) is not needed."""
    silver: dict[str, ValidRows] = {}
    bronze: dict[str, list[Path]] = {}
    if dataset:
        found = await valid_rows(deps, dataset)
        if found is not None:
            silver[dataset] = found.rows
        batches = await deps.batches.promoted(dataset)
        bronze[dataset] = await asyncio.to_thread(
            lambda b=batches: [deps.files.path(x["bronze_key"]) for x in b]
        )
    gold: dict[str, ModelRows] = {}
    views: dict[str, str] = {}
    every = await deps.models.all()
    names = {n: f"gold_{n}" for n in every}
    for name in models:
        model = every.get(name)
        if model is None:
            continue
        if model.materialization.materialized == "view":
            others = {d: names.get(d, f"silver_{d}") for d in model.depends_on}
            views[name] = rename_tables(model.sql, others)
        elif model.version is not None:
            gold[name] = await asyncio.to_thread(
                _gold_rows, deps, name, model.version, list(model.pending), model
            )
    await asyncio.to_thread(refresh_analytics, deps.analytics_db, bronze, silver, gold, views)
