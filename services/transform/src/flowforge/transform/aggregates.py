"""Aggregate `table` models refreshed from what changed, not from every row.

A `table` model that aggregates one dataset with `count` and exact `sum`s (the common Gold
model: revenue per country and status) is rebuilt from all its input rows at each batch, so
its cost grows with the dataset's history. Such a model's result follows from a small
*state*: per group, its row count and each aggregate's partial (a `sum` with the count of the
values it summed, so a group whose values are all gone reads NULL, as SQL's `sum` does). The
state is kept beside the model's table; a build whose input only gained batches since the
last one adds what the new rows give and takes away what the rows they replace gave (for a
keyed dataset, the earlier current rows of the keys the batches touch):

    state' = state + agg(new rows of touched keys) - agg(old rows of touched keys)

and the model's result is read off the new state. The result equals a full build of the
same SQL: only forms whose every aggregate can be taken apart exactly are recognised (one
dataset, WHERE and GROUP BY over its rows, `count(*)`, `count(x)`, `sum(x)` of integers or
decimals, FILTER clauses, any scalar expression over them and the group keys); anything else
(avg, min/max, DISTINCT, HAVING, joins, window functions, a floating-point sum, volatile
functions) is built from every row as before. So is every build where the state cannot be
trusted: the first, a full refresh, a batch taken back, a changed key or schema, a
re-checked batch (a different quarantine), a fold that took in a batch the state has not
seen.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flowforge.common.lake import ValidRows, sql_list, sql_string
from flowforge.common.models import quote_identifier as q

STATE_ROWS = "_ff_rows"
LATEST = ("_ingested_at", "_run_id", "_source_line")  # what picks a key's latest row
# Functions whose value differs from one evaluation to the next: never refreshed from changes.
VOLATILE = frozenset(
    "random uuid gen_random_uuid uuidv4 uuidv7 now current_timestamp get_current_timestamp "
    "transaction_timestamp current_date current_time today current_localtimestamp "
    "current_localtime setseed nextval currval".split()
)
# The partial sums that add and subtract exactly (a floating-point sum would drift).
EXACT_SUM = re.compile(r"^(DECIMAL|HUGEINT|UHUGEINT|BIGINT|UBIGINT|INTEGER|INT128|INTERVAL)")


@dataclass(frozen=True)
class Partial:
    name: str  # its state column
    sql: str  # over the dataset's rows
    kind: str  # "count" (adds) or "sum" (adds; with `count`, its values' count)
    count: str = ""  # a sum's count column


@dataclass(frozen=True)
class Form:
    """A model's SQL taken apart: group keys, partial aggregates, and the result's columns
    as expressions over the state's columns."""

    dataset: str
    groups: tuple[str, ...]  # SQL of each group key, over the dataset's rows
    partials: tuple[Partial, ...]
    source: str  # FROM ... [WHERE ...]
    items: tuple[str, ...]  # each result column over the state (`_ff_g<i>`, `_ff_a<i>`, ...)
    columns: tuple[str, ...] = ()  # the dataset's columns the SQL reads (case-folded)

    @property
    def is_global(self) -> bool:
        """No GROUP BY: one row, even over no rows."""
        return not self.groups

    def state_sql(self) -> str:
        """The state over whatever relation the dataset's name is bound to."""
        cols = [f"{g} AS _ff_g{i}" for i, g in enumerate(self.groups)]
        cols.append(f"count(*) AS {STATE_ROWS}")
        for p in self.partials:
            cols.append(f"{p.sql} AS {p.name}")
        group = (" GROUP BY " + ", ".join(str(i + 1) for i in range(len(self.groups)))
                 if self.groups else "")  # fmt: skip
        return f"SELECT {', '.join(cols)} FROM {self.source}{group}"

    def group_columns(self) -> list[str]:
        return [f"_ff_g{i}" for i in range(len(self.groups))]

    def measure_columns(self) -> list[str]:
        return [STATE_ROWS, *(p.name for p in self.partials)]

    def merged_sql(self, parts: list[tuple[str, int]], types: dict[str, str]) -> str:
        """The state from `parts` (relations, each added with its sign), keys grouped and
        the measures added, each cast back to its type in `types`; empty groups dropped."""
        groups = self.group_columns()
        selects = []
        for relation, sign in parts:
            measures = [m if sign > 0 else f"-{m} AS {m}" for m in self.measure_columns()]
            selects.append(f"SELECT {', '.join([*groups, *measures])} FROM {relation}")
        sums = [f"CAST(sum({m}) AS {types[m]}) AS {m}" for m in self.measure_columns()]
        query = f"SELECT {', '.join([*groups, *sums])} FROM ({' UNION ALL '.join(selects)}) u"
        if groups:
            query += f" GROUP BY {', '.join(groups)} HAVING sum({STATE_ROWS}) <> 0"
        return query

    def result_sql(self, state: str, columns: list[tuple[str, str]]) -> str:
        """The model's result from the state: its columns, named and typed as the model's
        own SQL gives them (`columns`)."""
        items = [
            f"CAST({item} AS {kind}) AS {q(name)}"
            for item, (name, kind) in zip(self.items, columns, strict=True)
        ]
        where = "" if self.is_global else f" WHERE {STATE_ROWS} > 0"
        return f"SELECT {', '.join(items)} FROM {state}{where}"


@lru_cache(maxsize=256)
def form_of(sql: str, dataset: str) -> Form | None:
    """`sql` as an aggregate over `dataset` that can be refreshed from changes; None if it is
    not one (it is then built from every row)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return None
    if not isinstance(tree, exp.Select):
        return None
    if any(tree.args.get(k) for k in tree.args if k not in ("expressions", "from_", "where",
                                                          "group", "kind")):  # fmt: skip
        return None
    source = tree.args.get("from_")
    table = source.this if source is not None else None
    if (
        not isinstance(table, exp.Table)
        or table.args.get("db")
        or table.args.get("catalog")
        or table.name.lower() != dataset.lower()
        or table.args.get("joins")
    ):
        return None
    for node in tree.walk():
        if isinstance(node, exp.Window | exp.Subquery) or (
            isinstance(node, exp.Select) and node is not tree
        ):
            return None
        if isinstance(node, exp.Func) and _name(node) in VOLATILE:
            return None
    where = tree.args.get("where")
    if where is not None and any(isinstance(n, exp.AggFunc) for n in where.walk()):
        return None
    items = list(tree.expressions)
    if any(isinstance(n, exp.Star) and not isinstance(n.parent, exp.Count) for i in items
           for n in i.walk()):  # fmt: skip
        return None
    groups = _groups(tree, items)
    if groups is None:
        return None
    if not groups and not any(isinstance(n, exp.AggFunc) for i in items for n in i.walk()):
        return None  # not an aggregate
    by_sql = {_norm(g): f"_ff_g{i}" for i, g in enumerate(groups)}
    partials: list[Partial] = []

    def swap(node: Any) -> Any:
        if isinstance(node, exp.Alias):
            return node
        inner, cond = (node.this, node.expression) if isinstance(node, exp.Filter) else (node, None)
        if isinstance(inner, exp.AggFunc):
            found = _partials(inner, cond, len(partials))
            if not found:
                raise _NotExact
            partials.extend(found)
            if found[0].kind == "sum":
                return sqlglot.parse_one(
                    f"CASE WHEN {found[0].count} > 0 THEN {found[0].name} END", read="duckdb"
                )
            return exp.column(found[0].name)
        if isinstance(node, exp.Expression) and _norm(node) in by_sql:
            return exp.column(by_sql[_norm(node)])
        return node

    try:
        rewritten = [(i.this if isinstance(i, exp.Alias) else i).transform(swap) for i in items]
    except _NotExact:
        return None
    for item in rewritten:
        for node in item.walk():
            if isinstance(node, exp.Column) and not node.name.startswith("_ff_"):
                return None  # a column neither grouped nor aggregated
            if isinstance(node, exp.AggFunc | exp.Anonymous):
                return None  # an aggregate left over, or a function not known to be scalar
    return Form(
        dataset=dataset,
        groups=tuple(g.sql("duckdb") for g in groups),
        partials=tuple(partials),
        source=source.this.sql("duckdb") + (f" {where.sql('duckdb')}" if where else ""),
        items=tuple(i.sql("duckdb") for i in rewritten),
        columns=tuple(sorted({c.name.lower() for c in tree.find_all(exp.Column)})),
    )


class _NotExact(Exception):
    pass


def _name(node: Any) -> str:
    """A function's name as DuckDB spells it (sqlglot's own class names differ: RAND)."""
    return node.sql("duckdb").split("(", 1)[0].strip().lower()


def _norm(node: Any) -> str:
    """An expression's SQL with identifiers case-folded and unquoted (DuckDB matches names
    without regard to case)."""
    from sqlglot import exp

    copy = node.copy()
    for ident in copy.find_all(exp.Identifier):
        ident.set("this", str(ident.this).lower())
        ident.set("quoted", False)
    return copy.sql("duckdb")


def _groups(tree: Any, items: list[Any]) -> list[Any] | None:
    """The group keys as expressions over the dataset's rows (positions and GROUP BY ALL
    resolved); None for a grouping not handled (ROLLUP, CUBE, sets, a select alias)."""
    from sqlglot import exp

    group = tree.args.get("group")
    if group is None:
        return []
    if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals")):
        return None
    plain = [i.this if isinstance(i, exp.Alias) else i for i in items]
    if group.args.get("all"):
        return [p for p in plain if not any(isinstance(n, exp.AggFunc) for n in p.walk())]
    aliases = {i.alias.lower(): p for i, p in zip(items, plain, strict=True) if i.alias}
    out = []
    for g in group.expressions:
        if isinstance(g, exp.Literal) and not g.is_string:
            position = int(g.this)
            if not 1 <= position <= len(plain):
                return None
            out.append(plain[position - 1])
        elif (
            isinstance(g, exp.Column)
            and g.name.lower() in aliases
            and (_norm(aliases[g.name.lower()]) != _norm(g))
        ):
            return None  # grouped by a select alias: which one DuckDB binds is subtle
        else:
            out.append(g)
    return out


def _partials(agg: Any, cond: Any, index: int) -> list[Partial]:
    """The state columns of one aggregate (none: it cannot be taken apart exactly)."""
    from sqlglot import exp

    where = f" FILTER ({cond.sql('duckdb')})" if cond is not None else ""
    arg = agg.this
    if agg.args.get("expressions") or isinstance(arg, exp.Distinct):
        return []
    if isinstance(agg, exp.Count):
        inner = "*" if arg is None or isinstance(arg, exp.Star) else arg.sql("duckdb")
        return [Partial(f"_ff_a{index}", f"count({inner}){where}", "count")]
    if isinstance(agg, exp.Sum) and arg is not None:
        inner = arg.sql("duckdb")
        counted = f"_ff_a{index + 1}"
        return [
            Partial(f"_ff_a{index}", f"sum({inner}){where}", "sum", counted),
            Partial(counted, f"count({inner}){where}", "count"),
        ]
    return []


def batches_digest(batches: list[tuple[str, str | None]]) -> str:
    """A digest of a dataset's batches (run id, quarantine object): the state's inputs."""
    h = hashlib.sha256()
    for run, quarantine in sorted(batches, key=lambda b: b[0]):
        h.update(f"{run}\0{quarantine or ''}\n".encode())
    return h.hexdigest()


@dataclass
class Refresh:
    """One build of an aggregate model: from its kept state and the changes (`changes`), or
    from every row (`changes` None). `final` is build_model's hook; afterwards `written`
    tells whether a state was written to `state_out` (False: built as a plain table)."""

    form: Form
    state_out: Path
    previous: Path | None = None  # the kept state (from changes)
    changes: Changes | None = None
    written: bool = False
    note: str = ""  # why a build meant to use changes read every row

    def final(self, con: Any) -> str:
        columns = [(str(r[0]), str(r[1])) for r in con.execute("DESCRIBE __model").fetchall()]
        view = q(self.form.dataset)
        types = {
            str(r[0]): str(r[1])
            for r in con.execute(f"DESCRIBE {self.form.state_sql()}").fetchall()
        }
        sums = [p.name for p in self.form.partials if p.kind == "sum"]
        if any(not EXACT_SUM.match(types[s]) for s in sums):
            return "SELECT * FROM __model"  # a floating-point sum: every row, no state
        state = "_ff_state"
        if self.changes is not None and self.previous is not None:
            kept = _schema(con, f"SELECT * FROM read_parquet({sql_string(str(self.previous))})")
            if kept != {name: _stored(kind) for name, kind in types.items()}:
                self.note = "the state's columns changed"
                self.changes = None
        if self.changes is None:
            con.execute(f"CREATE TEMP TABLE {state} AS {self.form.state_sql()}")
        else:
            typed = ", ".join(f"CAST({q(n)} AS {t}) AS {q(n)}" for n, t in types.items())
            parts = [(f"(SELECT {typed} FROM read_parquet({sql_string(str(self.previous))}))", 1)]
            parts += self.changes.deltas(con, self.form, view)
            con.execute(f"CREATE TEMP TABLE {state} AS {self.form.merged_sql(parts, types)}")
        stored = ", ".join(f"CAST({q(n)} AS {_stored(t)}) AS {q(n)}" for n, t in types.items())
        con.execute(
            f"COPY (SELECT {stored} FROM {state}) TO {sql_string(str(self.state_out))}"
            " (FORMAT parquet, COMPRESSION zstd)"
        )
        self.written = True
        return self.form.result_sql(state, columns)


@dataclass
class Changes:
    """What changed in the model's one dataset since its state was taken: the new batches'
    Silver files (and quarantines), and the dataset's rows before (`before`) and now (`now`)."""

    new_silver: list[Path]
    new_quarantine: list[Path]
    key: list[str]
    before: ValidRows | None  # None: there were no rows (or no key: rows are only added)
    now: ValidRows

    def deltas(self, con: Any, form: Form, view: str) -> list[tuple[str, int]]:
        """The changes as state relations with their signs (the dataset's view bound to
        each part of them in turn, then bound again as it was)."""
        if not self.new_silver:
            return []
        try:
            return self._deltas(con, form, view)
        finally:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {self.now.sql()}")

    def _deltas(self, con: Any, form: Form, view: str) -> list[tuple[str, int]]:
        if not self.key:  # rows are only added
            added = ValidRows(silver=self.new_silver, quarantine=self.new_quarantine, key=[])
            return [(self._state(con, form, view, added.sql(), "_ff_added"), 1)]
        keys = ", ".join(q(k) for k in self.key)
        con.execute(
            f"CREATE TEMP TABLE _ff_touched AS SELECT DISTINCT {keys} FROM "
            f"read_parquet({sql_list(self.new_silver)}, union_by_name = true)"
        )
        now = self.now
        wanted = {*(k.lower() for k in self.key), *form.columns, *LATEST}
        base = None
        if now.base:
            _base_rows(con, now.base, self.key, wanted)
            base = "SELECT * FROM _ff_base"
        # The pending batches' rows of those keys (quarantined ones left out), read once for
        # both states, marked by whether the state before had them.
        on = " AND ".join(f"s.{q(k)} IS NOT DISTINCT FROM t.{q(k)}" for k in self.key)
        where = f"EXISTS (SELECT 1 FROM _ff_touched t WHERE {on})"
        if now.quarantine:
            where += f" AND {now.not_quarantined('s')}"
        older = set(self.before.silver) if self.before else set()
        parts = [
            f"SELECT {_only(wanted)}, {flag} AS _ff_old FROM "
            f"read_parquet({sql_list(files)}, union_by_name = true) s WHERE {where}"
            for files, flag in (
                ([f for f in now.silver if f in older], "true"),
                ([f for f in now.silver if f not in older], "false"),
            )
            if files
        ]
        con.execute(f"CREATE TEMP TABLE _ff_pending AS {' UNION ALL BY NAME '.join(parts)}")
        pending = "SELECT * EXCLUDE (_ff_old) FROM _ff_pending"
        out = [(self._state(con, form, view, now.sql(base_sql=base, pending_sql=pending),
                            "_ff_now"), 1)]  # fmt: skip
        if self.before is not None:
            before = self.before.sql(base_sql=base, pending_sql=f"{pending} WHERE _ff_old")
            out.append((self._state(con, form, view, before, "_ff_before"), -1))
        return out

    @staticmethod
    def _state(con: Any, form: Form, view: str, rows_sql: str, name: str) -> str:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {rows_sql}")
        con.execute(f"CREATE TEMP TABLE {name} AS {form.state_sql()}")
        return name


def _base_rows(con: Any, files: list[Path], key: list[str], wanted: set[str]) -> None:
    """`_ff_base`: the table's rows whose key is among `_ff_touched`'s, with the columns in
    `wanted` (what the model and the choice of a key's latest row read). Every row of the
    table is looked at, so this is read by Polars, which decodes a row's other columns only
    where its key matched (9.4M rows, 995 matches: 55 ms; DuckDB's semi-join decodes every
    column of every row: 95-117 ms). Each key column's values are matched on their own (a
    superset of the touched keys: enough, see `Changes`)."""
    import polars as pl

    touched = pl.from_arrow(con.sql("SELECT * FROM _ff_touched").to_arrow_table())
    assert isinstance(touched, pl.DataFrame)
    try:
        scan = pl.scan_parquet(files, parallel="prefiltered", missing_columns="insert",
                               extra_columns="ignore")  # fmt: skip
        names = [n for n in scan.collect_schema().names() if n.lower() in wanted]
        match = pl.all_horizontal(
            pl.col(k).is_in(touched[k].implode(), nulls_equal=True) for k in key
        )
        found = scan.filter(match).select(names).collect().to_arrow()
    except Exception:  # a schema Polars reads otherwise than DuckDB: DuckDB, slower
        on = " AND ".join(f"b.{q(k)} IS NOT DISTINCT FROM t.{q(k)}" for k in key)
        con.execute(
            f"CREATE TEMP TABLE _ff_base AS SELECT {_only(wanted)} "
            f"FROM read_parquet({sql_list(files)}, union_by_name = true) b "
            f"WHERE EXISTS (SELECT 1 FROM _ff_touched t WHERE {on})"
        )
        return
    con.register("_ff_found", found)
    try:
        con.execute("CREATE TEMP TABLE _ff_base AS SELECT * FROM _ff_found")
    finally:
        con.unregister("_ff_found")


def _only(wanted: set[str]) -> str:
    """The columns named in `wanted` (case-folded) of a relation, whichever it has."""
    listed = ", ".join(sql_string(c) for c in sorted(wanted))
    return f"COLUMNS(lambda c: lower(c) IN ({listed}))"


def _stored(kind: str) -> str:
    """How a state column is kept in Parquet: a 128-bit integer (an integer column's sum)
    as a 38-digit decimal, exact (Parquet has no such integer: DuckDB would write a double)."""
    return "DECIMAL(38,0)" if kind in ("HUGEINT", "UHUGEINT", "INT128") else kind


def _schema(con: Any, sql: str) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in con.execute(f"DESCRIBE {sql}").fetchall()}
