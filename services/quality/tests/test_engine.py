"""The rule engine on in-memory batches: each rule kind, thresholds, releases, batch rules,
and rules that cannot run."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flowforge.common.rules import Rule, Threshold, load_yaml, parse_rules
from flowforge.quality.engine import Reference, columns_needed, evaluate

NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)


def batch(**columns) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame(
        {
            "_run_id": ["run"] * n,
            "_source_file": ["f.csv"] * n,
            "_source_line": list(range(2, n + 2)),
            **columns,
        }
    )


def one(rule: dict, frame: pl.DataFrame, **kwargs):
    evaluation = evaluate(frame, [Rule.model_validate(rule)], key=[], now=NOW, **kwargs)
    check = next(c for c in evaluation.checks if c.name == evaluation.checks[-1].name)
    return evaluation, check


@pytest.mark.parametrize(
    ("rule", "values", "failing_lines"),
    [
        ({"type": "not_null", "column": "v"}, ["a", None, "c"], [3]),
        ({"type": "unique", "column": "v"}, ["a", "b", "a", None, None], [2, 4]),
        ({"type": "accepted_values", "column": "v", "values": ["a", "b"]}, ["a", "z", None], [3]),
        ({"type": "accepted_values", "column": "v", "values": [1, 2]}, [1, 3, None], [3]),
        ({"type": "range", "column": "v", "min": 0, "max": 10}, [0, 10, -1, 11, None], [4, 5]),
        (
            {"type": "range", "column": "v", "min": 0, "max": 10, "inclusive": False},
            [0, 5, 10],
            [2, 4],
        ),
        ({"type": "range", "column": "v", "min": "2024-01-01"}, [dt.date(2023, 12, 31)], [2]),
        (
            {"type": "regex", "column": "v", "pattern": "[A-Z]{2}[0-9]"},
            ["AB1", "ab1", "AB12"],
            [3, 4],
        ),
        ({"type": "length", "column": "v", "min": 2, "max": 3}, ["a", "ab", "abcd"], [2, 4]),
        ({"type": "format", "column": "v", "format": "email"}, ["a@b.co", "a@b", "x"], [3, 4]),
        (
            {"type": "format", "column": "v", "format": "uuid"},
            ["123e4567-e89b-12d3-a456-426614174000", "no"],
            [3],
        ),
        ({"type": "format", "column": "v", "format": "ipv4"}, ["10.0.0.1", "999.1.1.1"], [3]),
        ({"type": "format", "column": "v", "format": "url"}, ["https://x.org/a", "x.org"], [3]),
        (
            {"type": "format", "column": "v", "format": "date", "date_format": "%d/%m/%Y"},
            ["31/12/2024", "2024-12-31", "32/01/2024"],
            [3, 4],
        ),
        ({"type": "sql", "expression": "v * 2 > 3"}, [1, 2, None], [2]),
    ],
)
def test_each_row_rule_marks_exactly_its_failing_rows(rule, values, failing_lines):
    frame = batch(v=values)
    evaluation, check = one(rule | {"action": "quarantine"}, frame)
    lines = sorted(evaluation.quarantine.get_column("_source_line").to_list())
    assert lines == failing_lines
    assert check.failed_rows == len(failing_lines)
    assert check.status == ("warned" if failing_lines else "passed")


def test_unique_over_several_columns_and_referential_against_given_values():
    frame = batch(a=[1, 1, 1, 2], b=["x", "x", "y", "x"], c=["k1", "k2", "k9", None])
    ev = evaluate(
        frame,
        parse_rules(
            {
                "rules": [
                    {"type": "unique", "columns": ["a", "b"]},
                    {"type": "referential", "column": "c", "to": "keys.id"},
                ]
            }
        ).rules,
        key=[],
        references={"keys.id": Reference(pl.Series(["k1", "k2"]))},
        now=NOW,
    )
    by_rule = ev.quarantine.group_by("rule").agg(pl.col("_source_line").sort()).sort("rule")
    assert by_rule.rows() == [("referential_c", [4]), ("unique_a_b", [2, 3])]
    assert ev.quarantine.filter(pl.col("rule") == "unique_a_b")["value"].to_list() == ["1, x"] * 2


def test_warn_only_records_quarantine_removes_fail_blocks():
    frame = batch(v=[1, -1, -2, 4])
    for action, verdict, quarantined in (
        ("warn", "warned", 0),
        ("quarantine", "warned", 2),
        ("fail", "failed", 2),
    ):
        ev, check = one({"type": "range", "column": "v", "min": 0, "action": action}, frame)
        assert (ev.verdict, ev.quarantined, check.failed_rows) == (verdict, quarantined, 2)


def test_thresholds_decide_pass_warn_fail_by_count_or_share():
    frame = batch(v=[None] * 3 + list(range(97)))  # 3 % null
    rule = {"type": "not_null", "column": "v", "warn_if": "> 1%", "fail_if": "> 5%"}
    assert one(rule, frame)[1].status == "warned"
    assert one(rule | {"fail_if": ">= 3%"}, frame)[1].status == "failed"
    assert one(rule | {"warn_if": "> 5", "fail_if": "> 10"}, frame)[1].status == "passed"
    # Below every threshold the rows are still quarantined: the threshold is about the batch.
    ev, check = one(rule | {"warn_if": "> 10%", "fail_if": "> 50%"}, frame)
    assert check.status == "passed" and ev.quarantined == 3
    assert Threshold.parse("> 1.5%").exceeded(2, 100) and not Threshold.parse("2").exceeded(2, 9)


def test_released_rows_pass_the_rule_they_were_released_from_only():
    frame = batch(v=[None, None, -1])
    rules = parse_rules(
        {"rules": [{"type": "not_null", "column": "v"}, {"type": "range", "column": "v", "min": 0}]}
    ).rules
    released = pl.DataFrame({"_source_line": [2, 4], "rule": ["not_null_v", "not_null_v"]})
    ev = evaluate(frame, rules, key=[], released=released, now=NOW)
    assert sorted(ev.quarantine["_source_line"].to_list()) == [3, 4]  # 4 still out of range
    released = pl.DataFrame({"_source_line": [4], "rule": ["*"]})
    ev = evaluate(frame, rules, key=[], released=released, now=NOW)
    assert sorted(ev.quarantine["_source_line"].to_list()) == [2, 3]


def test_freshness_and_row_count_judge_the_batch():
    frame = batch(at=[NOW - dt.timedelta(hours=30), NOW - dt.timedelta(hours=2)])
    _, fresh = one({"type": "freshness", "column": "at", "max_age": "3h"}, frame)
    assert fresh.status == "passed" and "2.0h old" in fresh.detail
    _, stale = one({"type": "freshness", "column": "at", "max_age": "1h", "action": "warn"}, frame)
    assert stale.status == "warned" and "max 1h" in stale.detail
    _, count = one({"type": "row_count", "min": 5}, frame)
    assert count.status == "failed" and "fewer than 5" in count.detail
    rule = {"type": "row_count", "max_change_pct": 50}
    assert one(rule, frame, previous_rows=3)[1].status == "passed"  # -33 %
    _, change = one(rule, frame, previous_rows=10)
    assert change.status == "failed" and "-80.0%" in change.detail
    assert one(rule, frame)[1].detail.endswith("no previous batch to compare with")


def test_a_rule_that_cannot_run_is_reported_not_raised():
    frame = batch(v=[1, 2])
    _, missing = one({"type": "not_null", "column": "gone"}, frame)
    assert missing.status == "warned" and "not in this batch" in missing.detail
    _, failing = one({"type": "not_null", "column": "gone", "action": "fail"}, frame)
    assert failing.status == "failed"
    _, sql = one({"type": "sql", "expression": "no_such_column > 1"}, frame)
    assert sql.status == "warned" and sql.detail.startswith("could not evaluate")
    _, ref = one({"type": "referential", "column": "v", "to": "other.id"}, frame)
    assert "could not be read" in ref.detail
    _, mixed = one({"type": "accepted_values", "column": "v", "values": ["x", 1.5]}, frame)
    assert mixed.failed_rows == 2  # compared as text: neither 1 nor 2 is listed


def test_values_are_compared_in_the_columns_type_without_loss():
    ints = batch(v=[1, 2, None])
    assert (
        one({"type": "accepted_values", "column": "v", "values": [1.5]}, ints)[1].failed_rows == 2
    )
    flags = batch(v=[True, False, None])
    assert (
        one({"type": "accepted_values", "column": "v", "values": ["True"]}, flags)[1].failed_rows
        == 1
    )
    text = batch(v=["9", "500", "20000", "abc", None])
    _, check = one({"type": "range", "column": "v", "min": 0, "max": 10000}, text)
    assert check.failed_rows == 2  # 20000, and abc which is not a number


def test_regex_patterns_are_checked_by_the_engine_that_runs_them():
    from flowforge.common.errors import BadInputError

    assert parse_rules([{"type": "regex", "column": "v", "pattern": r"\p{L}+"}]).rules
    with pytest.raises(BadInputError, match="look-around"):
        parse_rules([{"type": "regex", "column": "v", "pattern": "(?=1)1"}])


def test_sql_rules_cannot_reach_files():
    frame = batch(v=[1])
    _, check = one(
        {"type": "sql", "expression": "(SELECT count(*) FROM read_csv('/etc/passwd')) > 0"}, frame
    )
    assert check.detail.startswith("could not evaluate")


def test_only_the_columns_the_rules_need_are_read():
    rules = parse_rules({"columns": {"a": ["not_null"], "b": [{"range": {"min": 1}}]}}).rules
    assert columns_needed(rules, ["k"], ["_run_id", "_source_line", "a", "b", "c", "k"]) == [
        "_run_id",
        "_source_line",
        "a",
        "b",
        "k",
    ]
    sql = parse_rules([{"type": "sql", "expression": "a > 1 AND \"B c\" = 'x'"}]).rules
    available = ["_run_id", "_source_line", "a", "B c", "d"]
    assert columns_needed(sql, [], available) == ["_run_id", "_source_line", "a", "B c"]


def test_yaml_round_trip_keeps_every_setting():
    text = """
dataset: orders
columns:
  id: [not_null, {unique: {warn_if: "> 2", error_if: "> 5%"}}]
  state: [{accepted_values: {values: [CA, NY], severity: warn}}]
rules:
  - {type: sql, name: pos, expression: "amount >= 0", action: fail}
"""
    rules = load_yaml(text)
    from flowforge.common.rules import dump_yaml

    again = load_yaml(dump_yaml(rules))
    assert [r.spec() for r in again.rules] == [r.spec() for r in rules.rules]
    unique = next(r for r in rules.rules if r.type == "unique")
    assert str(unique.fail_if) == "> 5%" and unique.effective_action == "quarantine"
    assert next(r for r in rules.rules if r.type == "accepted_values").action == "warn"


def test_rules_follow_a_renamed_column_only_where_the_batch_has_the_new_name():
    from flowforge.quality.engine import follow_renames

    rules = parse_rules({"columns": {"cust_no": ["not_null"]}}).rules
    renamed = follow_renames(rules, {"cust_no": "customer_id"}, ["customer_id", "x"])
    assert renamed[0].column == "customer_id" and renamed[0].name == "not_null_cust_no"
    old_batch = follow_renames(rules, {"cust_no": "customer_id"}, ["cust_no", "x"])
    assert old_batch[0].column == "cust_no"
