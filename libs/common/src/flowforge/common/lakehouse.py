"""Silver and Gold as Delta Lake tables (delta-rs): one table per dataset and per model under
`lakehouse/<layer>/<name>/` in the lake (the local folder or the S3 bucket), readable by any
engine that reads Delta (Spark, Trino, DuckDB's delta extension, Polars, delta-rs).

Each version of a table is a complete, resolved state: commits are whole-table overwrites
(copy-on-write) and never carry deletion vectors, so the data files of a version are exactly
its rows and our own readers hand those files to DuckDB. Who writes a table serialises its
writes (transform, per dataset); the version a reader should use is recorded by the writer
in PostgreSQL after the commit, so a commit whose bookkeeping never happened is invisible.
Why Delta and not Iceberg: docs/lakehouse.md."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowforge.common.errors import NotFoundError
from flowforge.common.storage import LakeFiles, LocalObjectStore, ObjectStore, S3ObjectStore

if TYPE_CHECKING:  # pyarrow is imported where a table is written: the gateway only reads
    import pyarrow as pa  # versions and history, and stays ~80 MiB lighter without it

PREFIX = "lakehouse/"
LAYERS = ("silver", "gold")
# Commit metadata keys (Delta `commitInfo`), so a table's history says which runs made it.
RUNS_KEY = "flowforge.runs"
BUILD_KEY = "flowforge.build_id"
# An empty Parquet file with the table's latest schema, beside the table (a hidden name that
# Delta readers and `vacuum` leave alone), for readers of a version that holds no rows.
SCHEMA_FILE = "_schema.parquet"
KIND_KEY = "flowforge.kind"
ROW_GROUP_ROWS = 131_072
# Rows per Arrow batch to hand `overwrite`: delta-rs holds a number of batches in flight, so
# its memory follows their size (a fold of 3.7M Silver rows from DuckDB: 65,536-row batches
# peaked at +665 MiB, 8,192 at +410; the same time).
WRITE_BATCH_ROWS = 8192


# {(table location, version): data file keys}: versions are immutable (oldest dropped first).
_DATA_KEYS: dict[tuple[str, int], list[str]] = {}
_DATA_KEYS_MAX = 4096
# The tables this process writes, kept open between commits ({location: (lock, table)}): a
# table opened afresh replays its log since the last checkpoint (every 100 commits), 18 ms at
# 64 versions, twice per commit; kept open, a commit reads only the entries since the last
# (another writer's too) and took 4 ms.
_WRITING: dict[str, tuple[threading.Lock, Any]] = {}
_WRITING_LOCK = threading.Lock()
_WRITING_MAX = 256


def table_key(layer: str, name: str) -> str:
    if layer not in LAYERS:
        raise ValueError(f"unknown lakehouse layer {layer!r}")
    return f"{PREFIX}{layer}/{name}"


@dataclass(frozen=True)
class Version:
    version: int
    timestamp: datetime
    rows: int | None
    kind: str
    runs: list[str]


class Lakehouse:
    """The lake's Delta tables, on the object store the platform is configured with."""

    def __init__(self, store: ObjectStore):
        self.store = store

    # ------------------------------------------------------------------ locations
    def location(self, layer: str, name: str) -> str:
        key = table_key(layer, name)
        if isinstance(self.store, LocalObjectStore):
            return str(self.store.local_path(key))
        return self.store.uri(key)

    def storage_options(self, *, secrets: bool = True) -> dict[str, str]:
        """delta-rs (object_store) options for the configured S3 server; {} for a folder."""
        if not isinstance(self.store, S3ObjectStore):
            return {}
        s3 = self.store
        options = {
            "AWS_ENDPOINT_URL": s3.endpoint_url,
            "AWS_REGION": s3.region or "us-east-1",
            "AWS_ALLOW_HTTP": "true" if s3.endpoint_url.startswith("http://") else "false",
            # One writer per table at a time (transform serialises them), so no lock server.
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }
        if secrets and s3.access_key:
            options["AWS_ACCESS_KEY_ID"] = s3.access_key
            options["AWS_SECRET_ACCESS_KEY"] = s3.secret_key or ""
        return options

    # ------------------------------------------------------------------ reading
    def open(self, layer: str, name: str, version: int | None = None) -> Any | None:
        """The table (at `version`), None when it was never written."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            table = DeltaTable(
                self.location(layer, name), storage_options=self.storage_options() or None
            )
        except TableNotFoundError:
            return None
        if version is not None:
            try:
                table.load_as_version(version)
            except Exception as exc:  # delta-rs raises a generic error for a missing version
                raise NotFoundError(f"{layer} table {name!r} has no version {version}") from exc
        return table

    def data_keys(self, layer: str, name: str, version: int) -> list[str]:
        """The object keys of the data files of one version (its rows, nothing else). A
        version never changes, so its file list is read from the log once per process."""
        cache_key = (self.location(layer, name), version)
        found = _DATA_KEYS.get(cache_key)
        if found is None:
            table = self.open(layer, name, version)
            if table is None:
                raise NotFoundError(f"{layer} table {name!r} does not exist")
            found = _remember_keys(cache_key, table_key(layer, name), table.file_uris())
        return list(found)

    def data_paths(self, files: LakeFiles, layer: str, name: str, version: int) -> list[Path]:
        """Local paths of one version's data files (downloaded once: Delta never rewrites a
        data file in place)."""
        return [files.path(key) for key in self.data_keys(layer, name, version)]

    def history(self, layer: str, name: str, limit: int = 100) -> list[Version]:
        table = self.open(layer, name)
        if table is None:
            return []
        out = []
        for entry in table.history(limit):
            info = entry.get("operationMetrics") or {}
            runs = entry.get(RUNS_KEY) or ""
            out.append(
                Version(
                    version=int(entry["version"]),
                    timestamp=datetime.fromtimestamp(entry["timestamp"] / 1000, UTC),
                    rows=_int(info.get("num_added_rows")),
                    kind=str(entry.get(KIND_KEY) or entry.get("operation") or ""),
                    runs=[r for r in str(runs).split(",") if r],
                )
            )
        return out

    # ------------------------------------------------------------------ writing
    def overwrite(
        self, layer: str, name: str, data: pa.RecordBatchReader, *, kind: str,
        runs: list[str], build_id: str = "", key: list[str] | None = None,
    ) -> int:  # fmt: skip
        """Commit `data` as the table's whole new state (schema included); its version.
        `key`: the rows' key (a dataset's or model's); a key of one column holds each value
        once, so it is written without a dictionary."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = _storable(data)
        sink = pa.BufferOutputStream()
        pq.write_table(data.schema.empty_table(), sink)
        self.store.put_bytes(
            f"{table_key(layer, name)}/{SCHEMA_FILE}", sink.getvalue().to_pybytes()
        )
        location = self.location(layer, name)
        with _WRITING_LOCK:
            lock, table = _WRITING.get(location, (threading.Lock(), None))
            _WRITING[location] = (lock, table)
        with lock:
            if table is not None:
                try:
                    table.update_incremental()  # commits since, by this process or another
                except Exception:  # its log is not what it was: open it afresh
                    table = None
            try:
                self._write(
                    table if table is not None else location, data, kind, runs, build_id,
                    key if key and len(key) == 1 and key[0] in data.schema.names else [],
                )  # fmt: skip
            except Exception:
                with _WRITING_LOCK:
                    _WRITING.pop(location, None)  # the next commit opens the table afresh
                raise
            if table is None:  # the first commit of this process: kept open from now on
                table = self.open(layer, name)
                assert table is not None
                with _WRITING_LOCK:
                    if len(_WRITING) >= _WRITING_MAX:
                        _WRITING.pop(next(iter(_WRITING)))
                    _WRITING[location] = (lock, table)
            version = int(table.version())
            # The table object holds the version just written: its files are known here, not
            # read from the log again by the next reader in this process (5-10 ms a build).
            _remember_keys((location, version), table_key(layer, name), table.file_uris())
            return version

    def _write(
        self, table: Any, data: pa.RecordBatchReader, kind: str, runs: list[str], build_id: str,
        plain: list[str],
    ) -> None:  # fmt: skip
        from deltalake import ColumnProperties, CommitProperties, WriterProperties, write_deltalake

        metadata = {KIND_KEY: kind, RUNS_KEY: ",".join(runs), BUILD_KEY: build_id}
        write_deltalake(
            table,
            data,
            mode="overwrite",
            schema_mode="overwrite",
            # delta-rs buffers a row group before writing it: its default (1M rows) took a
            # fold of 3.7M Silver rows to +700 MiB; 131,072 rows, +490 MiB.
            # A key column's dictionary never pays (every value differs): the writer filled
            # one per row group before giving up. Without it, 9.4M keyed rows encode in 1.43
            # CPU-s instead of 1.75 and take 249 MiB instead of 268, and a probe of the key
            # column reads plain values: 20k keys looked up 49 -> 41 ms (Polars), 33 -> 19
            # (DuckDB), the two scans a keyed batch's Gold refresh makes.
            writer_properties=WriterProperties(
                max_row_group_size=ROW_GROUP_ROWS,
                column_properties={c: ColumnProperties(dictionary_enabled=False) for c in plain},
            ),
            storage_options=self.storage_options() or None,
            commit_properties=CommitProperties(custom_metadata=metadata),
        )

    # ------------------------------------------------------------------ housekeeping
    def vacuum(self, layer: str, name: str, retention: timedelta, keep: list[int]) -> list[str]:
        """Remove data files that no version within `retention` nor a version in `keep` reads,
        and files no commit ever named (a writer killed before its commit). Versions older
        than the retention cannot be read afterwards; the removed files."""
        table = self.open(layer, name)
        if table is None:
            return []
        removed = table.vacuum(
            retention_hours=max(0, int(retention.total_seconds() // 3600)),
            dry_run=False,
            enforce_retention_duration=False,
            full=True,
            keep_versions=keep or None,
        )
        table.create_checkpoint()
        table.cleanup_metadata()
        return list(removed)


def _remember_keys(cache_key: tuple[str, int], root: str, uris: list[str]) -> list[str]:
    """A version's data file keys, kept for the process (versions never change)."""
    keys = [f"{root}/{Path(uri).name}" for uri in uris]
    # A version without rows has no data file: its shape is kept beside the table.
    found = keys or [f"{root}/{SCHEMA_FILE}"]
    if len(_DATA_KEYS) >= _DATA_KEYS_MAX:
        _DATA_KEYS.pop(next(iter(_DATA_KEYS)))
    _DATA_KEYS[cache_key] = found
    return found


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _storable_type(kind: pa.DataType) -> pa.DataType:
    """Delta has no time-of-day type: such columns are stored as ISO text."""
    import pyarrow as pa

    if pa.types.is_time(kind):
        return pa.string()
    return kind


def _storable(data: pa.RecordBatchReader) -> pa.RecordBatchReader:
    import pyarrow as pa

    schema = data.schema
    target = pa.schema(
        [f.with_type(_storable_type(f.type)) for f in schema], metadata=schema.metadata
    )
    if target.equals(schema):
        return data

    def batches():
        for batch in data:
            yield pa.RecordBatch.from_arrays(
                [col.cast(f.type) for col, f in zip(batch.columns, target, strict=True)],
                schema=target,
            )

    return pa.RecordBatchReader.from_batches(target, batches())
