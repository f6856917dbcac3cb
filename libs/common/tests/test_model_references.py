"""`model_references`: the tables a model's SQL reads, remembered per text."""

from __future__ import annotations

import pytest

from flowforge.common.errors import BadInputError
from flowforge.common.models import CACHED_SQL_CHARS, _references, model_references

SQL = "SELECT country, count(*) AS n FROM orders JOIN customers USING (id) GROUP BY 1"


def test_names_the_tables_a_model_reads_and_not_its_ctes():
    sql = "WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN customers USING (id)"
    assert model_references(sql) == ["customers", "orders"]


def test_parses_the_same_text_once_and_hands_out_a_fresh_list():
    _references.cache_clear()
    first = model_references(SQL)
    first.append("changed by the caller")
    assert model_references(SQL) == ["customers", "orders"]
    assert _references.cache_info().hits == 1


def test_refuses_again_what_it_refused_before():
    for _ in range(2):
        with pytest.raises(BadInputError, match="table function read_csv"):
            model_references("SELECT * FROM read_csv('/etc/passwd')")


def test_does_not_remember_long_ad_hoc_queries():
    _references.cache_clear()
    long_sql = "SELECT * FROM orders WHERE note <> '" + "x" * CACHED_SQL_CHARS + "'"
    assert model_references(long_sql) == ["orders"]
    assert _references.cache_info().currsize == 0
