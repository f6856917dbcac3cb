"""The gateway's idle footprint: it answers most requests from the owners' answers and loads
DuckDB, pyarrow and numpy only on the routes that read the lake (SQL, samples, quarantine,
table versions). A top-level import of one of them would bring all three back at start."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("duckdb", "pyarrow", "numpy", "polars", "deltalake")


def loaded_after(code: str) -> str:
    """The heavy modules a fresh interpreter has loaded after running `code`."""
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def test_the_gateway_starts_without_the_lake_readers():
    assert loaded_after("import flowforge.gateway.app") == ""


def test_rules_are_relayed_without_the_engines():
    """The gateway parses rules with `engines=False` (quality checks them against Polars and
    DuckDB); a regex and an sql rule must not load either here."""
    code = (
        "from flowforge.common.rules import parse_rules\n"
        "parse_rules([{'type': 'regex', 'column': 'c', 'pattern': '[A-Z]+'},"
        " {'type': 'sql', 'expression': 'a > 0'}], engines=False)"
    )
    assert loaded_after(code) == ""


def test_the_lake_readers_still_load_on_first_use():
    from flowforge.common.models import model_references

    assert model_references("SELECT a FROM orders JOIN items USING (id)") == ["items", "orders"]
    assert "duckdb" in sys.modules
