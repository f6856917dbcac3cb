"""Service boundaries: a service's tables are its own. No service's code or SQL names another
service's tables, and no service imports another service's package; what a service needs of
another it asks over NATS (see docs/architecture.md, "Who owns what")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flowforge.common.topology import SERVICES, schema_of

ROOT = Path(__file__).resolve().parents[1]
CREATE_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)


def source_of(service: str) -> Path:
    return ROOT / "services" / service / "src" / "flowforge" / service


def tables_of(service: str) -> set[str]:
    """The tables a service's migrations create (its own)."""
    found: set[str] = set()
    for sql in (source_of(service) / "migrations").glob("*.sql"):
        found |= {m.lower() for m in CREATE_TABLE.findall(sql.read_text())}
    return found


def files_of(service: str) -> list[Path]:
    return sorted(
        p for p in source_of(service).rglob("*") if p.suffix in (".py", ".sql") and p.is_file()
    )


def test_every_service_has_its_own_tables_and_migrations():
    for service in SERVICES:
        assert tables_of(service), f"{service} creates no table in its migrations"


def foreign_tables(service: str, paths: list[Path]) -> list[str]:
    """Each line of `paths` that names a table of a service other than `service`."""
    foreign = {
        f"{schema_of(other)}.{table}"
        for other in SERVICES
        if other != service
        for table in tables_of(other)
    }
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in sorted(foreign)) + r")\b")
    return [
        f"{path.name}:{n}: {match.group(1)}"
        for path in paths
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for match in pattern.finditer(line)
        # `flowforge.<service>.<module>` is an import path, not a table.
        if f"flowforge.{match.group(1)}" not in line
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_names_another_services_tables(service):
    offences = foreign_tables(service, files_of(service))
    assert not offences, "SQL naming another service's tables:\n" + "\n".join(offences)


def test_the_boundary_check_catches_a_foreign_table(tmp_path):
    """The check is not vacuous: the gateway reading the catalog's runs table is caught, and
    the catalog reading its own is not."""
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text('rows = await pool.fetch("SELECT * FROM catalog.runs WHERE true")\n')
    assert foreign_tables("gateway", [sneaky]) == ["sneaky.py:1: catalog.runs"]
    assert foreign_tables("catalog", [sneaky]) == []


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another_service(service):
    others = {f"flowforge.{o}" for o in SERVICES if o != service}
    offences = []
    for path in files_of(service):
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offences += [
                f"{path.relative_to(ROOT)}: imports {n}"
                for n in names
                if any(n == o or n.startswith(o + ".") for o in others)
            ]
    assert not offences, "\n".join(offences)
