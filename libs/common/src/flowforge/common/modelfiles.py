"""Gold models as files in a folder (a dbt-like project that can live in git): one `.sql`
file per model (its name is the file's stem), optional `{{ config(...) }}` at the top with
dbt's settings (`materialized`, `unique_key`, `strategy`, `updated_at`, `check_cols`,
`hard_deletes`), `{{ ref('model') }}` and `{{ source('src', 'table') }}` for the names it
reads, and `.yml` files with dbt's `models:` entries (`description`, `config`, `columns`
with `description` and `tests`/`data_tests`). Other Jinja is refused, naming the file and
line: the SQL runs as written, never as a template.

`load_project(folder)` gives the bodies `POST /api/v1/models` takes, in dependency order.
"""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

from flowforge.common.errors import BadInputError

CONFIG_KEYS = ("materialized", "unique_key", "strategy", "updated_at", "check_cols",
               "hard_deletes", "reconcile")  # fmt: skip
_JINJA = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#.*?#\}", re.S)
# dbt's generic tests and their arguments, as FlowForge rule types (the quality vocabulary).
_TESTS = {"not_null": "not_null", "unique": "unique", "accepted_values": "accepted_values",
          "relationships": "referential"}  # fmt: skip


def load_project(folder: Path) -> list[dict[str, Any]]:
    """Every model of the folder (recursively) as an API body, those read first first."""
    if not folder.is_dir():
        raise BadInputError(f"{folder} is not a folder")
    bodies: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*.sql")):
        body = read_model(path)
        if body["name"] in bodies:
            raise BadInputError(f"{path}: a second model named {body['name']!r}")
        bodies[body["name"]] = body
    for path in sorted([*folder.rglob("*.yml"), *folder.rglob("*.yaml")]):
        _apply_yaml(path, bodies)
    graph = {n: {d for d in b.pop("_refs") if d in bodies} for n, b in bodies.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise BadInputError(f"models read each other in a cycle: {exc.args[1]}") from None
    return [bodies[name] for name in order]


def read_model(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read {path}: {exc}") from None
    body: dict[str, Any] = {"name": path.stem, "_refs": []}
    config: dict[str, Any] = {}

    def replace(match: re.Match[str]) -> str:
        line = text.count("\n", 0, match.start()) + 1
        where = f"{path.name}, line {line}"
        inner = (match.group(1) or "").strip()
        if match.group(0).startswith("{#"):
            return ""
        if match.group(2) is not None or not inner:
            raise BadInputError(f"{where}: only {{{{ config() }}}}, {{{{ ref() }}}} and "
                                "{{ source() }} are understood, not Jinja blocks")  # fmt: skip
        call = _call(inner, where)
        name, args, kwargs = call
        if name == "config":
            unknown = sorted(set(kwargs) - set(CONFIG_KEYS))
            if unknown or args:
                raise BadInputError(f"{where}: config() takes {', '.join(CONFIG_KEYS)}; "
                                    f"not {unknown or args}")  # fmt: skip
            config.update(kwargs)
            return ""
        if name == "ref" and len(args) == 1 and not kwargs:
            body["_refs"].append(args[0])
            return str(args[0])
        if name == "source" and len(args) == 2 and not kwargs:
            return str(args[1])
        raise BadInputError(f"{where}: {{{{ {inner} }}}} is not config(), ref('model') or "
                            "source('source', 'table')")  # fmt: skip

    sql = _JINJA.sub(replace, text).strip().rstrip(";").strip()
    if not sql:
        raise BadInputError(f"{path.name}: no SQL")
    body["sql"] = sql
    body.update(config)
    return body


def _call(text: str, where: str) -> tuple[str, list[Any], dict[str, Any]]:
    """`name(args, key=value)` with literal arguments only."""
    try:
        node = ast.parse(text, mode="eval").body
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise ValueError("not a call")
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    except (SyntaxError, ValueError) as exc:
        raise BadInputError(f"{where}: cannot read {{{{ {text} }}}}: {exc}") from None
    return node.func.id, args, kwargs


def _apply_yaml(path: Path, bodies: dict[str, dict[str, Any]]) -> None:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInputError(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict):
        return
    for entry in [*(doc.get("models") or []), *(doc.get("snapshots") or [])]:
        if not isinstance(entry, dict) or entry.get("name") not in bodies:
            name = entry.get("name") if isinstance(entry, dict) else entry
            raise BadInputError(f"{path.name}: {name!r} has no .sql file in the folder")
        body = bodies[entry["name"]]
        if entry.get("description"):
            body["description"] = str(entry["description"])
        for key, value in dict(entry.get("config") or {}).items():
            if key in CONFIG_KEYS:
                body.setdefault(key, value)
        docs, tests = {}, []
        for column in entry.get("columns") or []:
            name = str(column.get("name"))
            if column.get("description"):
                docs[name] = str(column["description"])
            for test in [*(column.get("tests") or []), *(column.get("data_tests") or [])]:
                tests.append(_test(path, entry["name"], name, test))
        for test in [*(entry.get("tests") or []), *(entry.get("data_tests") or [])]:
            tests.append(_test(path, entry["name"], None, test))
        if docs:
            body["column_docs"] = docs
        if tests:
            body["tests"] = tests


def _test(path: Path, model: str, column: str | None, test: Any) -> dict[str, Any]:
    """A dbt test as a FlowForge rule (the quality vocabulary): `not_null`, `unique`,
    `accepted_values: {values}`, `relationships: {to: ref('m'), field}`, or any rule type with
    its fields (`range: {min, max}`, ...); `severity: warn` makes it a warning."""
    name, args = (test, {}) if isinstance(test, str) else next(iter(dict(test).items()))
    args = dict(args or {})
    config = dict(args.pop("config", None) or {})
    severity = str(args.pop("severity", config.get("severity", "error"))).lower()
    rule: dict[str, Any] = {"type": _TESTS.get(name, name)}
    if column:
        rule["column"] = column
    if name == "relationships":
        target = str(args.pop("to", ""))
        m = re.fullmatch(r"\s*ref\(\s*['\"](\w+)['\"]\s*\)\s*", target)
        rule["to"] = f"{m.group(1) if m else target}.{args.pop('field', column)}"
    rule.update(args)
    rule["action"] = "warn" if severity == "warn" else "fail"
    if not isinstance(name, str):
        raise BadInputError(f"{path.name}: a test of {model!r} is not a name: {test!r}")
    return rule
