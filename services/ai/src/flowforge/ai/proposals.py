"""A whole-pipeline proposal for a new file or database table. Pure: profiles, detections and
an LLM's answer in, one document out.

Its parts, each accepted on its own (in Silver's final names, after the proposed renames):

- `key`      the columns that identify a row (the LLM's dedupe key, else a complete, unique
             identifier the detector found, else the table's primary key);
- `source`   (a table) connection, table, `incremental` by a monotonic cursor (an updated-at
             time, else a whole-number primary key) with a lookback, else `full`;
- `silver`   the Silver spec: renames (the LLM's names) and types (dates in their layout, the
             LLM's casts);
- `rules`    data-quality rules: the detector's and the LLM's, `quarantine` for the rules a
             column's values imply (not null, unique, format, range, pattern), `warn` for a
             closed set of values seen in a sample;
- `model`    a starter Gold model: rows (and a sum of an amount) by a low-cardinality category
             and month, over the dataset;
- `schedule` a workflow: hourly extraction for a table; for a file, one run per landed file,
             followed to quality (and to the model).
"""

from __future__ import annotations

from typing import Any

from flowforge.ai import analysis
from flowforge.common.naming import normalise_names, snake_case

QUARANTINING = {"not_null", "unique", "format", "range", "regex"}
CATEGORY_TYPES = ("category", "country", "currency_code", "gender", "code", "boolean")
AMOUNT_TYPES = {"currency_amount", "decimal", "integer"}
TIME_SPECS = ("timestamp", "timestamptz", "date")
CURSOR_NAMES = ("updated_at", "modified_at", "last_modified", "last_updated", "changed_at",
                "updated", "modified", "updated_on", "modified_on")  # fmt: skip
TIME_LOOKBACK = 3600.0  # late commits: rows written up to an hour behind the cursor's maximum
HOURLY = "0 * * * *"


def draft(
    dataset: str,
    origin: dict[str, Any],
    profiles: list[Any],
    guesses: list[Any],
    rules_for,
    *,
    answer: Any = None,
    source: str = "offline",
    table: dict[str, Any] | None = None,
    source_types: dict[str, str] | None = None,
    dropped: list[str] | None = None,
) -> dict[str, Any]:
    """The proposal document: `parts`, `reasons` (why each part is what it is), `refused`
    (what the LLM proposed that cannot be used, with the reason), `columns` (as analysed)."""
    base = normalise_names([p.name for p in profiles])
    found = analysis.offline_suggestions(profiles, guesses, rules_for)
    if answer is not None:
        found += analysis.llm_suggestions(answer, profiles, source)
    renames = {s.payload["column"]: s.payload["to"] for s in found if s.kind == "rename"}
    final = {b: renames.get(s, s) for b, s in base.items()}
    reasons: dict[str, str] = {}
    parts: dict[str, Any] = {
        "key": _key(found, table, base, renames, reasons),
        "silver": {"renames": renames, "types": _types(found, renames)},
        "rules": _rules(found, renames),
    }
    reasons["silver"] = (f"names from {source}; " if renames else "") + "types the values fit"
    reasons["rules"] = "rules the sample's values imply: quarantine; a closed set of values: warn"
    if table is not None:
        parts["source"] = _source(origin, table, final, source_types or {}, reasons)
    parts["model"] = _model(dataset, profiles, guesses, final, reasons)
    parts["schedule"] = _schedule(dataset, origin, parts, reasons)
    columns = analysis.offline_columns(profiles, guesses)
    for column in columns:
        column["final_name"] = final[column["name"]]
    return {
        "dataset": dataset,
        "origin": origin,
        "source": source,
        "parts": parts,
        "reasons": reasons,
        "refused": [{"part": "rules", "reason": r} for r in dropped or []],
        "columns": columns,
        "pii": sorted(
            {final[c["name"]] for c in columns if c["pii"]}
            | {c["silver_name"] for c in columns if c["pii"]}
        ),  # fmt: skip
    }


def _renamed(column: str, renames: dict[str, str]) -> str:
    return renames.get(column, column)


def _key(found, table, base, renames, reasons) -> list[str]:
    keys = [s for s in found if s.kind == "key"]
    if keys:
        chosen = keys[-1]  # the LLM's, when it gave one (it comes after the offline one)
        reasons["key"] = chosen.reason
        return [_renamed(c, renames) for c in chosen.payload["columns"]]
    primary = [base.get(c, snake_case(c)) for c in (table or {}).get("primary_key") or []]
    if primary:
        reasons["key"] = "the table's primary key"
        return [_renamed(c, renames) for c in primary]
    reasons["key"] = "no column is complete and unique in the sample: exact duplicates go"
    return []


def _types(found, renames) -> dict[str, str]:
    return {_renamed(s.payload["column"], renames): s.payload["type"]
            for s in found if s.kind == "cast"}  # fmt: skip


def _rules(found, renames) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in found:
        if s.kind != "rule":
            continue
        rule = dict(s.payload)
        if rule.get("column"):
            rule["column"] = _renamed(rule["column"], renames)
        if rule.get("columns"):
            rule["columns"] = [_renamed(c, renames) for c in rule["columns"]]
        rule["action"] = "quarantine" if rule["type"] in QUARANTINING else "warn"
        target = rule.get("column") or "_".join(rule.get("columns") or [])
        rule["name"] = f"{rule['type']}_{target}"[:120]
        out.setdefault(rule["name"], rule)
    return list(out.values())


def _source(origin, table, final, source_types, reasons) -> dict[str, Any]:
    """Incremental by the best cursor the table has, else full."""
    columns = {c["name"]: c for c in table.get("columns") or []}
    by_final = {final.get(n, snake_case(n)): n for n in columns}
    spec = {n: source_types.get(n) or source_types.get(final.get(n, n)) or "" for n in columns}
    cursor, lookback = None, 0.0
    for wanted in CURSOR_NAMES:
        name = by_final.get(wanted)
        if name and spec[name].split(":")[0] in TIME_SPECS and not columns[name]["nullable"]:
            cursor, lookback = name, TIME_LOOKBACK
            reasons["source"] = f"{name} is a time that is never empty: rows newer than the last "
            reasons["source"] += "extract's maximum, less an hour for late commits"
            break
    primary = table.get("primary_key") or []
    if cursor is None and len(primary) == 1 and spec.get(primary[0], "") == "integer":
        cursor = primary[0]
        reasons["source"] = f"{cursor} is a whole-number primary key: new rows only (updates "
        reasons["source"] += "to older rows are not seen; a full extract reads them)"
    if cursor is None:
        reasons["source"] = "no updated-at time or whole-number key: the whole table each time"
    table_name = f"{table['schema']}.{table['name']}" if table.get("schema") else table["name"]
    return {
        "connection": origin["connection"],
        "table": table_name,
        "mode": "incremental" if cursor else "full",
        "cursor": cursor,
        "lookback": lookback,
    }


def _model(dataset, profiles, guesses, final, reasons) -> dict[str, Any] | None:
    """Rows and, when there is one, the sum of an amount, by category and month."""
    pairs = list(zip(profiles, guesses, strict=True))

    def first(fits) -> str | None:
        return next((final[p.name] for p, g in pairs if fits(p, g)), None)

    category = first(lambda p, g: g.type in CATEGORY_TYPES and not g.pii and 2 <= p.distinct <= 20)
    when = first(lambda p, g: g.type in ("date", "datetime") and not g.pii and p.nulls < p.rows)
    amount = first(lambda p, g: g.type in AMOUNT_TYPES and p.numeric_min is not None
                   and p.distinct > 2 and not g.pii)  # fmt: skip
    if category is None and when is None:
        reasons["model"] = "no low-cardinality category or date to group by: no starter model"
        return None
    groups = [f'"{category}"'] if category else []
    if when:
        groups.append(f"date_trunc('month', \"{when}\") AS month")
    measures = ["count(*) AS row_count"]
    if amount:
        measures.append(f'sum("{amount}") AS {amount}_total')
    by = "_".join(([category] if category else []) + (["month"] if when else []))
    name = f"{dataset}_by_{by}"[:63]
    reasons["model"] = f"rows{' and ' + amount if amount else ''} by {by.replace('_', ' ')}"
    sql = f"SELECT {', '.join(groups + measures)}\nFROM {dataset}\nGROUP BY ALL\nORDER BY ALL"
    return {"name": name, "sql": sql}


def _schedule(dataset, origin, parts, reasons) -> dict[str, Any]:
    if origin.get("kind") == "table":
        reasons["schedule"] = "every hour, on the hour: an extract of the table"
        return {
            "name": f"{dataset}_hourly",
            "description": f"Extract {dataset} from {origin['connection']} every hour",
            "schedule": {"cron": HOURLY},
            "steps": [{"name": "extract", "extract": dataset, "retries": 2}],
        }
    steps = [{"name": "checked", "wait": {"subject": "quality.checked", "dataset": dataset},
              "timeout": "1h"}]  # fmt: skip
    if parts.get("model"):
        model = parts["model"]["name"]
        steps.append({"name": "gold", "wait": {"subject": "gold.ready", "model": model},
                      "timeout": "1h"})  # fmt: skip
    reasons["schedule"] = "on every file landed: followed to its quality check and Gold model"
    return {
        "name": f"{dataset}_landed"[:63],
        "description": f"Each file landed in {dataset}, followed through quality to Gold",
        "on_event": {"subject": "file.landed", "dataset": dataset},
        "steps": steps,
    }
