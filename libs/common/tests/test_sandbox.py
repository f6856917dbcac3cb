"""Sandboxed DuckDB connections: a warm one keeps every guarantee of a fresh one."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flowforge.common.models import sandboxed, warm_sandboxed


@pytest.mark.parametrize("connect", [sandboxed, warm_sandboxed])
def test_a_sandbox_reads_only_under_its_folders_and_its_settings_are_locked(
    connect, tmp_path: Path
) -> None:
    inside, outside = tmp_path / "lake", tmp_path / "secret"
    inside.mkdir()
    outside.mkdir()
    (outside / "s.txt").write_text("password=hunter2")
    (inside / "ok.txt").write_text("fine")
    for _ in range(2):  # the second warm connection reuses the first one's database
        con = connect([inside / "ok.txt"])
        try:
            assert con.execute(f"SELECT content FROM read_text('{inside}/ok.txt')").fetchall()
            with pytest.raises(duckdb.Error, match="[Pp]ermission|not allowed|disabled"):
                con.execute(f"SELECT content FROM read_text('{outside}/s.txt')").fetchall()
            with pytest.raises(duckdb.Error, match="configuration"):
                con.execute(f"SET allowed_directories = ['{outside}']")
            with pytest.raises(duckdb.Error):
                con.execute("INSTALL httpfs")
        finally:
            con.close()


def test_a_warm_database_is_kept_per_exact_folder_set(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (b / "x.txt").write_text("b")
    first = warm_sandboxed([a / "x.parquet"])
    first.execute("CREATE TEMP VIEW mine AS SELECT 1 AS one")
    first.close()
    again = warm_sandboxed([a / "y.parquet"])
    try:  # the same database, and the temporary view died with its connection
        with pytest.raises(duckdb.CatalogException):
            again.execute("SELECT * FROM mine")
        with pytest.raises(duckdb.Error, match="[Pp]ermission|not allowed|disabled"):
            again.execute(f"SELECT content FROM read_text('{b}/x.txt')").fetchall()
    finally:
        again.close()
    both = warm_sandboxed([a / "x.parquet", b / "x.txt"])
    try:
        assert both.execute(f"SELECT content FROM read_text('{b}/x.txt')").fetchall() == [("b",)]
    finally:
        both.close()


def test_a_warm_database_left_holding_a_view_is_replaced(tmp_path: Path) -> None:
    careless = warm_sandboxed([tmp_path / "x.parquet"])
    careless.execute("CREATE VIEW kept AS SELECT 42 AS answer")
    careless.close()
    fresh = warm_sandboxed([tmp_path / "x.parquet"])
    try:
        with pytest.raises(duckdb.CatalogException):
            fresh.execute("SELECT * FROM kept")
    finally:
        fresh.close()


def test_a_warm_connection_outlives_its_database_being_evicted(tmp_path, monkeypatch) -> None:
    """A build still running on a kept database when other folder sets push it out."""
    from flowforge.common import models

    monkeypatch.setattr(models, "WARM_DATABASES", 1)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    busy = models.warm_sandboxed([tmp_path / "a"])
    other = models.warm_sandboxed([tmp_path / "b"])  # evicts a's database
    assert busy.execute("SELECT 42").fetchall() == [(42,)]
    busy.close()
    other.close()
