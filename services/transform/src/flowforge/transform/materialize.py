"""How a Gold model is built (dbt's materializations, with dbt's names):

- `table`: the model's SQL over its inputs, the result replacing the table;
- `incremental`: the SQL over only the input rows that changed since the last build (the
  batches of one dataset promoted since), merged into the table by `unique_key`: its rows for
  the keys touched are replaced (the changed input rows' keys too, when that dataset has the
  key's columns, so a row the SQL now filters out goes). Anything else (a full refresh asked
  for, several inputs changed, a batch taken back, another model it reads rebuilt) is built
  as a `table`. The result equals a full build of the same SQL for models whose rows each come
  from one input row (select, filter, join to a dimension).
- `snapshot`: slowly changing dimension, type 2: each row of the SQL's result is kept with
  `valid_from`, `valid_to` and `is_current`; a key whose row changed (`strategy: timestamp`:
  its `updated_at` column is newer; `strategy: check`: a `check_cols` value differs) gets its
  current row closed and a new current row. A key gone from the result is closed too with
  `hard_deletes: invalidate` (dbt's default, `ignore`, keeps it current).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowforge.common.errors import BadInputError
from flowforge.common.lake import MERGE_DELETED, MERGE_SEQ, sql_list, sql_string
from flowforge.common.models import quote_identifier as q

MATERIALIZATIONS = ("view", "table", "incremental", "snapshot")
SCD_COLUMNS = ("valid_from", "valid_to", "is_current")


@dataclass(frozen=True)
class Materialization:
    materialized: str = "table"
    unique_key: tuple[str, ...] = ()
    strategy: str | None = None  # snapshot: timestamp | check
    updated_at: str | None = None
    check_cols: tuple[str, ...] | str | None = None  # a list, or "all"
    hard_deletes: str = "ignore"

    def config(self) -> dict[str, Any]:
        """What is kept in `transform.models.config`."""
        out: dict[str, Any] = {}
        if self.materialized == "snapshot":
            out = {"strategy": self.strategy, "hard_deletes": self.hard_deletes}
            if self.strategy == "timestamp":
                out["updated_at"] = self.updated_at
            else:
                out["check_cols"] = (
                    self.check_cols
                    if isinstance(self.check_cols, str)
                    else list(self.check_cols or ())
                )
        return out

    @classmethod
    def stored(cls, materialized: str, unique_key: list[str], config: dict[str, Any]):
        check = config.get("check_cols")
        return cls(
            materialized=materialized,
            unique_key=tuple(unique_key),
            strategy=config.get("strategy"),
            updated_at=config.get("updated_at"),
            check_cols=check if isinstance(check, str) or check is None else tuple(check),
            hard_deletes=config.get("hard_deletes") or "ignore",
        )


def parse(request: dict[str, Any]) -> Materialization:
    """A model's materialization from its definition (API body or model file), checked."""
    kind = str(request.get("materialized") or "table")
    if kind not in MATERIALIZATIONS:
        raise BadInputError(f"materialized {kind!r}: use one of {', '.join(MATERIALIZATIONS)}")
    key = request.get("unique_key") or []
    key = [key] if isinstance(key, str) else [str(k) for k in key]
    if kind in ("incremental", "snapshot") and not key:
        raise BadInputError(f"a {kind} model needs a unique_key (a column, or a list of them)")
    if kind != "snapshot":
        for name in ("strategy", "updated_at", "check_cols"):
            if request.get(name):
                raise BadInputError(f"{name} is for snapshots (materialized: snapshot)")
        return Materialization(kind, tuple(key))
    strategy = request.get("strategy")
    hard = str(request.get("hard_deletes") or "ignore")
    if hard not in ("ignore", "invalidate"):
        raise BadInputError("hard_deletes: use 'ignore' or 'invalidate'")
    if strategy == "timestamp":
        if not request.get("updated_at"):
            raise BadInputError("a timestamp snapshot needs updated_at (the column to compare)")
        return Materialization(kind, tuple(key), "timestamp", str(request["updated_at"]),
                               hard_deletes=hard)  # fmt: skip
    if strategy == "check":
        cols = request.get("check_cols")
        if not cols:
            raise BadInputError("a check snapshot needs check_cols (a list of columns, or 'all')")
        checked = cols if cols == "all" else tuple(str(c) for c in cols)
        return Materialization(kind, tuple(key), "check", check_cols=checked, hard_deletes=hard)
    raise BadInputError("a snapshot needs strategy: 'timestamp' (with updated_at) or 'check'")


def _on(key: tuple[str, ...], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{q(k)} IS NOT DISTINCT FROM {right}.{q(k)}" for k in key)


def _relation(previous: list | str) -> str:
    """The table's current rows: files, or a query (a model with merges pending)."""
    if isinstance(previous, str):
        return f"({previous})"
    return f"read_parquet({sql_list(previous)}, union_by_name = true)"


def merge_sql(mat: Materialization, touched_from: str | None, seq: int, model: str = "__model"):
    """One incremental build's merge, kept pending beside the table (`lake.ModelRows`): the
    rows the build gave, and a tombstone for each key it touched but no longer has."""
    key = mat.unique_key
    cols = ", ".join(q(k) for k in key)
    touched = f"SELECT {cols} FROM {model}"
    if touched_from:
        touched += f" UNION SELECT {cols} FROM {touched_from}"
    return (
        f"WITH t AS ({touched}) "
        f"SELECT *, {seq} AS {MERGE_SEQ}, false AS {MERGE_DELETED} FROM {model} "
        f"UNION ALL BY NAME SELECT t.*, {seq} AS {MERGE_SEQ}, true AS {MERGE_DELETED} FROM t "
        f"WHERE NOT EXISTS (SELECT 1 FROM {model} p WHERE {_on(key, 't', 'p')})"
    )


def incremental_sql(
    mat: Materialization, previous: list | str, touched_from: str | None, model: str = "__model"
) -> str:
    """The table's new state: its rows for keys not touched, and the changed rows' results.
    `touched_from`: a relation with the changed input rows (their key columns)."""
    key = mat.unique_key
    cols = ", ".join(q(k) for k in key)
    touched = f"SELECT {cols} FROM {model}"
    if touched_from:
        touched += f" UNION SELECT {cols} FROM {touched_from}"
    if not previous:
        return f"SELECT * FROM {model}"
    return (
        f"WITH t AS ({touched}) "
        f"SELECT * FROM {_relation(previous)} p "
        f"WHERE NOT EXISTS (SELECT 1 FROM t WHERE {_on(key, 't', 'p')}) "
        f"UNION ALL BY NAME SELECT * FROM {model}"
    )


def snapshot_sql(
    mat: Materialization, previous: list | str, columns: list[str], now: datetime,
    model: str = "__model",
) -> str:  # fmt: skip
    """The snapshot table's new state (SCD type 2) from the model's result `model`."""
    clash = [c for c in SCD_COLUMNS if c in columns]
    if clash:
        raise BadInputError(f"a snapshot adds {', '.join(clash)}: the model's SQL has them already")
    missing = [c for c in mat.unique_key if c not in columns]
    if mat.strategy == "timestamp" and mat.updated_at not in columns:
        missing.append(str(mat.updated_at))
    checked = [c for c in columns if c not in mat.unique_key] if mat.check_cols == "all" else (
        list(mat.check_cols or ()))  # fmt: skip
    missing += [c for c in checked if c not in columns]
    if missing:
        raise BadInputError(f"the snapshot's columns are not in the model's result: {missing}")
    stamp = f"TIMESTAMPTZ {sql_string(now.isoformat())}"
    if mat.strategy == "timestamp":
        starts = f"CAST(s.{q(str(mat.updated_at))} AS TIMESTAMPTZ)"
        differs = f"s.{q(str(mat.updated_at))} > c.{q(str(mat.updated_at))}"
    else:
        starts = stamp
        differs = " OR ".join(f"s.{q(c)} IS DISTINCT FROM c.{q(c)}" for c in checked) or "false"
    opened = (
        f"SELECT s.*, {starts} AS valid_from, CAST(NULL AS TIMESTAMPTZ) AS valid_to,"
        " true AS is_current FROM {rows} s"
    )
    if not previous:
        return opened.format(rows=model)
    on = _on(mat.unique_key, "s", "c")
    prev = _relation(previous)
    invalidate = mat.hard_deletes == "invalidate"
    still = f" AND EXISTS (SELECT 1 FROM src s WHERE {on})" if invalidate else ""
    return (
        # The table (`prev`, every version of every key) is scanned where used, never copied
        # whole into memory; the model's result (`src`) is kept once.
        f"WITH src AS MATERIALIZED (SELECT * FROM {model}), "
        f"prev AS NOT MATERIALIZED (SELECT * FROM {prev}), "
        "cur AS NOT MATERIALIZED (SELECT * FROM prev WHERE is_current), "
        f"changed AS (SELECT s.* FROM src s JOIN cur c ON {on} WHERE {differs}), "
        f"fresh AS (SELECT s.* FROM src s WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE {on})) "
        "SELECT * FROM prev WHERE NOT is_current "
        # Current rows whose key changed: closed when the new version starts.
        "UNION ALL BY NAME SELECT c.* EXCLUDE (valid_to, is_current), "
        f"{starts.replace('s.', 'n.') if mat.strategy == 'timestamp' else stamp} AS valid_to, "
        f"false AS is_current FROM cur c JOIN changed n ON {_on(mat.unique_key, 'n', 'c')} "
        # Unchanged current rows (and, unless invalidated, those gone from the result).
        f"UNION ALL BY NAME SELECT c.* FROM cur c WHERE NOT EXISTS (SELECT 1 FROM changed s "
        f"WHERE {on}){still} "
        # Gone from the result, invalidated: closed now.
        + (
            "UNION ALL BY NAME SELECT c.* EXCLUDE (valid_to, is_current), "
            f"{stamp} AS valid_to, false AS is_current FROM cur c "
            f"WHERE NOT EXISTS (SELECT 1 FROM src s WHERE {on}) "
            if invalidate
            else ""
        )
        + "UNION ALL BY NAME "
        + opened.format(rows="(SELECT * FROM changed UNION ALL BY NAME SELECT * FROM fresh)")
    )
