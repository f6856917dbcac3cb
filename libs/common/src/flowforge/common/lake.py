"""The lake's layout (object keys per layer) and the one definition of a dataset's valid rows.

Keys are derived from the run, so a redelivered event rewrites the same object instead of
adding a second one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from flowforge.common.errors import BadInputError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
LINEAGE_COLUMNS = ("_source_file", "_source_line", "_ingested_at", "_run_id")


def normalise_name(raw: str) -> str:
    """A dataset or model name: lower snake_case, starting with a letter."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", raw.strip())
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    if text and text[0].isdigit():
        text = f"d_{text}"
    return text[:63]


def given_name(raw: str, what: str = "dataset") -> str:
    """A name someone chose (not derived from a file name): normalised only in case and
    separators (`Sales Data`, `sales-data`, `SalesData` are `sales_data`). A name that
    normalisation would change otherwise (`a;drop table x`, `2024`, 70 letters) is refused
    rather than silently landing in another dataset."""
    name = normalise_name(raw)
    split = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", raw.strip())
    loose = re.sub(r"[\s._-]+", "_", split).strip("_").lower()
    if not name or loose != name:
        hint = f" (the nearest valid name is {name!r})" if name else ""
        raise BadInputError(
            f"invalid {what} name {raw!r}: use letters, digits and '_' (spaces, '-' and '.' "
            f"become '_'), starting with a letter, at most 63 characters{hint}"
        )
    return check_name(name, what)


def check_name(name: str, what: str = "dataset") -> str:
    if not _NAME.match(name):
        raise BadInputError(
            f"invalid {what} name {name!r}: use lower-case letters, digits and '_', "
            "starting with a letter (at most 63 characters)"
        )
    return name


# First half of the PostgreSQL advisory lock transform holds per Gold model while building it
# (the second half is hashtext of the model's name): one build of a model at a time.
GOLD_LOCK_KEY = 0x476F6C64  # "Gold"

LANDING_PREFIX = "landing/"  # the drop zone: files put here start runs (watched by ingest)
# Every object FlowForge reads or writes lives under one of these. An object reference (in an
# event, or from another service) outside them is refused, so a forged `file.landed` cannot
# make the platform read its own state (passwords, keys, the database) as data.
DATA_PREFIXES = (
    "landing/", "uploads/", "bronze/", "rejected/", "silver/", "quarantine/", "gold/", "events/",
    "lakehouse/", "proposals/",
)  # fmt: skip


class ObjectRefError(BadInputError):
    """An object reference that points outside the lake's data."""


def check_data_key(key: str, shown: str | None = None) -> str:
    """`key` if it names an object under the lake's data prefixes; else a clear refusal
    (naming the key, or `shown` when that says more; never a server's absolute path)."""
    parts = key.split("/")
    if (
        not key.startswith(DATA_PREFIXES)
        or any(part in (".", "..") for part in parts)
        or "" in parts[1:-1]
        or "\x00" in key
    ):
        raise ObjectRefError(
            f"object reference {shown or key!r} is outside the lake's data "
            f"({', '.join(p.rstrip('/') for p in DATA_PREFIXES)}); refused"
        )
    return key


def public_location(uri: str, root: str) -> str:
    """`uri` as a client may see it: an object store's URI as is; a local lake's `file:` URI
    (under `root`, the store's own URI) as its key within the lake, since a server's absolute
    paths are not shown."""
    if not uri.startswith("file:"):
        return uri
    root = root.rstrip("/") + "/"
    return uri[len(root) :] if uri.startswith(root) else ""


def event_key(subject: str, event_id: str) -> str:
    """Where an event too large for the bus is kept (the claim check; see bus.publish)."""
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:32]
    return f"events/{subject}/{digest}.json"


def upload_key(run_id: str, filename: str) -> str:
    """Where the gateway keeps an uploaded file (announced directly, so not in the drop zone)."""
    return f"uploads/{run_id}/{Path(filename).name}"


def proposal_key(proposal_id: str, name: str) -> str:
    """A pipeline proposal's own objects (its sample file, and the Bronze, Silver and
    quarantine of its dry run): never a dataset's, never read by the pipeline."""
    return f"proposals/{proposal_id}/{Path(name).name}"


def bronze_key(dataset: str, run_id: str) -> str:
    return f"bronze/{dataset}/{run_id}.parquet"


def rejected_key(dataset: str, run_id: str) -> str:
    return f"rejected/{dataset}/{run_id}.parquet"


def silver_key(dataset: str, run_id: str) -> str:
    return f"silver/{dataset}/{run_id}.parquet"


def deleted_key(dataset: str, run_id: str) -> str:
    """A full snapshot's rows gone from the source since the dataset's previous current rows."""
    return f"silver/{dataset}/{run_id}.deleted.parquet"


def quarantine_key(dataset: str, run_id: str, revision: int = 0) -> str:
    """Each evaluation of a batch writes its own object (readers of an older revision keep a
    consistent file while a replay writes the next one)."""
    suffix = f".r{revision}" if revision else ""
    return f"quarantine/{dataset}/{run_id}{suffix}.parquet"


def gold_key(model: str) -> str:
    """Where a model's build result is written locally before it is committed to its Delta
    table (`lakehouse.table_key("gold", model)`); incremental merges sit beside it."""
    return f"gold/{model}/data.parquet"


# Each Gold build writes its id into its result's Parquet metadata under this key (the table
# commit carries it too, as `flowforge.build_id`).
GOLD_BUILD_ID_KEY = "flowforge_build_id"


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join(sql_string(str(p)) for p in paths) + "]"


@dataclass(frozen=True)
class ValidRows:
    """One dataset's valid rows: its Silver table (`base`, the data files of one version of
    the dataset's Delta table, already resolved: latest row per key, quarantine left out)
    and the promoted batches not folded into it yet (`silver` files minus their `quarantine`d
    rows). With a key, the latest row per key wins across both."""

    silver: list[Path]
    quarantine: list[Path]
    key: list[str]
    # A dataset whose every batch was taken out of Gold (quality failed them) has no valid
    # rows, yet its readers must see that: an empty relation shaped like this Silver file.
    empty_from: Path | None = None
    base: list[Path] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """Whether `sql` gives a relation (rows, or none shaped like the dataset)."""
        return bool(self.base or self.silver or self.empty_from)

    @property
    def paths(self) -> list[Path]:
        """Every file the SQL reads (a sandboxed connection must be allowed to)."""
        return [
            *self.base,
            *self.silver,
            *self.quarantine,
            *([self.empty_from] if self.empty_from else []),
        ]

    def sql(self, *, base_sql: str | None = None, pending_sql: str | None = None) -> str:
        """DuckDB SQL selecting the valid rows; with a key, the latest row per key wins.
        `base_sql` and `pending_sql`: relations the caller made of the base rows and of the
        pending files' rows (quarantined ones left out) it wants, e.g. those of some keys."""
        if not self.silver and not self.base and self.empty_from is not None:
            return f"SELECT * FROM read_parquet({sql_string(str(self.empty_from))}) WHERE false"
        if not self.silver and not self.base:
            raise BadInputError("the dataset has no Silver data yet")
        base = (
            base_sql or f"SELECT * FROM read_parquet({sql_list(self.base)}, union_by_name = true)"
        )
        if not self.silver:
            return base
        pending = self._pending(pending_sql)
        if not self.base:
            return pending
        if not self.key:
            return f"{base} UNION ALL BY NAME {pending}"
        # The table and the pending rows each hold a key once: base rows whose key has no
        # pending row as they are; where both have it, the later row (a late batch can hold
        # an older version: `o`, the base rows later than their pending one, usually none).
        # Joins, not a window over both: 50k keys all updated, 27 -> 14 ms. The table is read
        # where it is used, never copied: a materialized `b` held every column of every row
        # (spilling at 512 MB: 0.35 -> 3 s per Gold build over 9.5M rows).
        on = " AND ".join(f'b."{k}" IS NOT DISTINCT FROM p."{k}"' for k in self.key)
        later = (
            "(b._ingested_at > p._ingested_at OR (b._ingested_at = p._ingested_at AND "
            "(b._run_id > p._run_id OR (b._run_id = p._run_id AND "
            "b._source_line > p._source_line))))"
        )
        return (
            f"WITH p AS MATERIALIZED ({pending}), b AS NOT MATERIALIZED ({base}), "
            f"o AS MATERIALIZED (SELECT b.* FROM b JOIN p ON {on} WHERE {later}) "
            f"SELECT * FROM b ANTI JOIN p ON {on} "
            "UNION ALL BY NAME SELECT * FROM o "
            f"UNION ALL BY NAME SELECT * FROM p ANTI JOIN o b ON {on}"
        )

    def _pending(self, rows: str | None = None) -> str:
        query = (
            rows or f"SELECT * FROM read_parquet({sql_list(self.silver)}, union_by_name = true) s"
        )
        if self.quarantine and rows is None:
            query += f" WHERE {self.not_quarantined('s')}"
        if self.key and len(self.silver) > 1:
            query = f"SELECT * FROM ({query}) v {self._latest()}"
        return query

    def not_quarantined(self, alias: str) -> str:
        """Whether the row `alias` of a pending file is none of the quarantined ones."""
        return (
            f"NOT EXISTS (SELECT 1 FROM read_parquet({sql_list(self.quarantine)}, "
            f"union_by_name = true) q WHERE q._run_id = {alias}._run_id"
            f" AND q._source_line = {alias}._source_line)"
        )

    def _latest(self) -> str:
        partition = ", ".join(f'"{k}"' for k in self.key)
        return (
            f"QUALIFY row_number() OVER (PARTITION BY {partition}"
            " ORDER BY _ingested_at DESC, _run_id DESC, _source_line DESC) = 1"
        )


# Columns of an incremental model's pending merge files (never in what readers see).
MERGE_SEQ, MERGE_DELETED = "_ff_merge_seq", "_ff_merge_deleted"


@dataclass(frozen=True)
class ModelRows:
    """A stored Gold model's rows: the data files of its table's version (`base`) and, for an
    incremental model, the merges since (`pending`: each a file of the rows its build gave
    for the keys it touched, with `MERGE_SEQ`, and tombstones, `MERGE_DELETED`, for touched
    keys it no longer has). The latest merge of a key wins over the table."""

    base: list[Path]
    pending: list[Path] = field(default_factory=list)
    key: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [*self.base, *self.pending]

    def sql(self) -> str:
        base = f"SELECT * FROM read_parquet({sql_list(self.base)}, union_by_name = true)"
        if not self.pending:
            return base
        keys = ", ".join(f'"{k}"' for k in self.key)
        on = " AND ".join(f'b."{k}" IS NOT DISTINCT FROM m."{k}"' for k in self.key)
        merges = (
            f"SELECT * FROM read_parquet({sql_list(self.pending)}, union_by_name = true) "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {MERGE_SEQ} DESC) = 1"
        )
        return (
            f"WITH m AS ({merges}) SELECT * FROM ({base}) b WHERE NOT EXISTS "
            f"(SELECT 1 FROM m WHERE {on}) UNION ALL BY NAME "
            f"SELECT * EXCLUDE ({MERGE_SEQ}, {MERGE_DELETED}) FROM m WHERE NOT {MERGE_DELETED}"
        )

    def last_merge_delta_sql(self) -> str:
        """How many rows the last pending merge adds to the rows before it (negative when
        it removes more), as `sql()` counts them: for each key it touched, 1 if it has the
        key now, less the key's rows before (its latest earlier merge, else its rows in the
        table). Reads the table's key columns only where they match the merge's keys, so a
        build need not count the whole table again."""
        assert self.pending, "no merge pending"
        keys = ", ".join(f'"{k}"' for k in self.key)

        def on(a: str, b: str) -> str:
            return " AND ".join(f'{a}."{k}" IS NOT DISTINCT FROM {b}."{k}"' for k in self.key)

        def touched(files: list[Path]) -> str:
            return (
                f"read_parquet({sql_list(files)}, union_by_name = true) x "
                f"WHERE EXISTS (SELECT 1 FROM n WHERE {on('n', 'x')})"
            )

        *earlier, last = self.pending
        sql = (
            f"WITH n AS (SELECT {keys}, bool_or(NOT {MERGE_DELETED}) AS alive "
            f"FROM read_parquet({sql_list([last])}) GROUP BY ALL), "
            f"b AS (SELECT {keys}, count(*) AS c FROM {touched(self.base)} GROUP BY ALL)"
        )
        before, join = "coalesce(b.c, 0)", ""
        if earlier:
            sql += (
                f", p AS (SELECT {keys}, NOT {MERGE_DELETED} AS alive FROM {touched(earlier)} "
                f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {MERGE_SEQ} DESC) = 1)"
            )
            before = f"CASE WHEN p.alive IS NULL THEN {before} ELSE p.alive::BIGINT END"
            join = f" LEFT JOIN p ON {on('p', 'n')}"
        return (
            f"{sql} SELECT coalesce(sum(n.alive::BIGINT - {before}), 0) "
            f"FROM n{join} LEFT JOIN b ON {on('b', 'n')}"
        )


def schema_fingerprint(columns: list[tuple[str, str]]) -> str:
    """A short stable id of a schema (names and types, in order)."""
    import hashlib

    text = "|".join(f"{name}:{kind}" for name, kind in columns)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
