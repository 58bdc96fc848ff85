"""Expectation suites load with Great Expectations' classes and translate to row predicates (no Spark).

The predicates are checked for behaviour by evaluating them in SQLite, which shares the SQL needed
here (backtick identifiers, CASE, COALESCE, IN, NULL logic) with Spark.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from hm_utils import config as config_module
from hm_utils import quality, tables
from hm_utils.errors import ConfigError


@pytest.fixture(scope="module")
def config():
    return config_module.load("ci")


def _silver_keys(config):
    from hm_utils import silver

    return silver.silver_keys(config)


def _unexpected(rule: quality.Rule, rows: list[dict]) -> list[dict]:
    """The rows (dicts with the same keys) for which the rule's predicate is true, via SQLite."""
    columns = list(rows[0])
    db = sqlite3.connect(":memory:")
    db.execute(f"create table batch ({', '.join(columns)})")
    db.executemany(f"insert into batch values ({', '.join('?' for _ in columns)})", [tuple(r.values()) for r in rows])
    found = db.execute(f"select rowid from batch where {rule.predicate}").fetchall()
    return [rows[rowid - 1] for (rowid,) in found]


def _rule(expectation_type, severity="blocking", **kwargs) -> quality.Rule:
    return quality.translate(expectation_type, kwargs, {"severity": severity})


def test_every_silver_table_has_a_suite_that_loads_and_translates(config):
    for key in _silver_keys(config):
        suite = quality.load_suite(config, key)
        rules = quality.suite_rules(suite)
        assert suite.name == key
        assert rules and all(rule.predicate for rule in rules)


def test_every_primary_key_column_has_a_blocking_not_null_rule(config):
    for key in _silver_keys(config):
        rules = quality.suite_rules(quality.load_suite(config, key))
        guarded = {
            r.column for r in rules if r.blocking and r.expectation_type == "expect_column_values_to_not_be_null"
        }
        missing = set(tables.get_spec(config, key).primary_key) - guarded
        assert not missing, f"{key}: primary key column(s) {missing} can be NULL in silver"


def test_suites_read_only_registered_tables(config):
    registry = tables.load_registry(config)
    for key in _silver_keys(config):
        for rule in quality.suite_rules(quality.load_suite(config, key)):
            assert set(rule.references) <= set(registry), f"{key}: {rule.name} reads an unknown table"


def test_not_null_flags_only_nulls():
    rule = _rule("expect_column_values_to_not_be_null", column="a")
    assert _unexpected(rule, [{"a": 1}, {"a": None}, {"a": 0}]) == [{"a": None}]


def test_between_ignores_nulls_and_honours_strict_bounds():
    rows = [{"a": -1}, {"a": 0}, {"a": 5}, {"a": 10}, {"a": 11}, {"a": None}]
    inclusive = _rule("expect_column_values_to_be_between", column="a", min_value=0, max_value=10)
    strict = _rule(
        "expect_column_values_to_be_between", column="a", min_value=0, max_value=10, strict_min=True, strict_max=True
    )
    lower_only = _rule("expect_column_values_to_be_between", column="a", min_value=0)
    assert [r["a"] for r in _unexpected(inclusive, rows)] == [-1, 11]
    assert [r["a"] for r in _unexpected(strict, rows)] == [-1, 0, 10, 11]
    assert [r["a"] for r in _unexpected(lower_only, rows)] == [-1]


def test_in_set_flags_values_outside_the_set_but_not_nulls():
    rule = _rule("expect_column_values_to_be_in_set", column="s", value_set=["A", "B", None])
    assert [r["s"] for r in _unexpected(rule, [{"s": "A"}, {"s": "C"}, {"s": None}, {"s": "it's"}])] == ["C", "it's"]


@pytest.mark.parametrize(
    ("ignore_row_if", "expected"),
    [
        ("either_value_is_missing", [(1, 2)]),
        ("both_values_are_missing", [(1, 2), (None, 1), (1, None)]),
        ("neither", [(1, 2), (None, 1), (1, None), (None, None)]),
    ],
)
def test_pair_greater_handles_missing_values_like_great_expectations(ignore_row_if, expected):
    rule = _rule(
        "expect_column_pair_values_a_to_be_greater_than_b",
        column_A="e",
        column_B="s",
        or_equal=True,
        ignore_row_if=ignore_row_if,
    )
    rows = [
        {"e": 2, "s": 1},
        {"e": 1, "s": 1},
        {"e": 1, "s": 2},
        {"e": None, "s": 1},
        {"e": 1, "s": None},
        {"e": None, "s": None},
    ]
    assert [(r["e"], r["s"]) for r in _unexpected(rule, rows)] == expected


def test_pair_greater_strict_rejects_equal_values():
    rule = _rule(
        "expect_column_pair_values_a_to_be_greater_than_b",
        column_A="e",
        column_B="s",
        ignore_row_if="either_value_is_missing",
    )
    assert _unexpected(rule, [{"e": 1, "s": 1}, {"e": 2, "s": 1}]) == [{"e": 1, "s": 1}]


def test_regex_and_nested_columns_are_quoted_for_spark():
    rule = _rule("expect_column_values_to_match_regex", column="usage_metadata.job_run_id", regex=r"^\d+$")
    assert rule.predicate == r"coalesce((not (`usage_metadata`.`job_run_id` rlike '^\\d+$')), false)"


def test_unexpected_rows_query_becomes_a_row_condition_with_resolved_tables():
    rule = quality.translate(
        "unexpected_rows_expectation",
        {
            "unexpected_rows_query": "SELECT * FROM {batch} AS b WHERE not exists (select 1 from {silver.prices} p where p.sku = b.sku)"
        },
        {"severity": "blocking", "rule": "known_sku"},
    )
    assert rule.name == "unexpected_rows_expectation(known_sku)"
    assert rule.alias == "b" and rule.references == ("silver.prices",)
    sql = quality.flag_select_sql("v", [rule], lambda key: "cat.sch." + key.split(".")[1])
    assert "from cat.sch.prices p where p.sku = b.sku" in sql and "from v as `b`" in sql


def test_rules_with_different_batch_aliases_are_evaluated_in_nested_selects():
    rules = [
        _rule("expect_column_values_to_not_be_null", column="a"),
        quality.translate(
            "unexpected_rows_expectation",
            {"unexpected_rows_query": "select * from {batch} x where x.a < 0"},
            {"severity": "warn", "rule": "negative"},
            ge_severity="warning",
        ),
    ]
    sql = quality.flag_select_sql("v", rules, str)
    db = sqlite3.connect(":memory:")
    db.execute("create table v (a)")
    db.executemany("insert into v values (?)", [(1,), (None,), (-2,)])
    flags = db.execute(sql.replace("`", '"') + " order by rowid").fetchall()
    assert flags == [(1, 0, 0), (None, 1, 0), (-2, 0, 1)]


@pytest.mark.parametrize(
    ("expectation_type", "kwargs", "meta", "message"),
    [
        ("expect_column_values_to_not_be_null", {"column": "a"}, {}, "meta.severity"),
        ("expect_column_values_to_not_be_null", {"column": "a"}, {"severity": "fatal"}, "meta.severity"),
        ("expect_column_values_to_not_be_null", {"column": "a"}, {"severity": "warn", "kind": "vibes"}, "meta.kind"),
        ("expect_column_mean_to_be_between", {"column": "a"}, {"severity": "warn"}, "one pass"),
        (
            "unexpected_rows_expectation",
            {"unexpected_rows_query": "select * from {batch} where a"},
            {"severity": "warn"},
            "meta.rule",
        ),
        (
            "unexpected_rows_expectation",
            {"unexpected_rows_query": "select a, count(*) from {batch} group by a"},
            {"severity": "warn", "rule": "r"},
            "must read",
        ),
    ],
)
def test_untranslatable_expectations_give_a_config_error(expectation_type, kwargs, meta, message):
    with pytest.raises(ConfigError, match=message):
        quality.translate(expectation_type, kwargs, meta)


def test_severity_must_agree_with_great_expectations_severity():
    with pytest.raises(ConfigError, match="disagrees"):
        quality.translate(
            "expect_column_values_to_not_be_null", {"column": "a"}, {"severity": "warn"}, ge_severity="critical"
        )


def _suite_json(*expectations, name="silver.t"):
    return {"name": name, "expectations": list(expectations), "meta": {}}


def test_malformed_suites_are_reported_with_the_file(tmp_path):
    bad_kwargs = {"type": "expect_column_values_to_not_be_null", "kwargs": {}, "meta": {"severity": "blocking"}}
    with pytest.raises(ConfigError, match="invalid expectation #1") as raised:
        quality.parse_suite(_suite_json(bad_kwargs), "expectations/silver.t.json")
    assert raised.value.where == "expectations/silver.t.json"
    unknown = {"type": "expect_column_values_to_be_purple", "kwargs": {"column": "a"}, "meta": {"severity": "blocking"}}
    with pytest.raises(ConfigError, match="purple"):
        quality.parse_suite(_suite_json(unknown), "f")
    with pytest.raises(ConfigError, match="does not match"):
        quality.parse_suite(_suite_json(name="silver.other"), "f", table_key="silver.t")


def test_missing_or_invalid_suite_files_name_the_path(config, tmp_path):
    moved = config_module.Config(env=config.env, data=config.data, root=tmp_path, overrides={})
    with pytest.raises(ConfigError, match="no expectation suite") as raised:
        quality.load_suite(moved, "silver.billing_usage")
    assert str(tmp_path) in raised.value.where
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "silver.billing_usage.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        quality.load_suite(moved, "silver.billing_usage")


def test_repeated_rule_names_are_rejected():
    rule = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {"severity": "blocking"}}
    suite = quality.parse_suite(_suite_json(rule, json.loads(json.dumps(rule))), "f")
    with pytest.raises(ConfigError, match="repeat"):
        quality.suite_rules(suite)


def test_success_follows_mostly():
    strict = _rule("expect_column_values_to_not_be_null", column="a")
    lenient = quality.translate(
        "expect_column_values_to_not_be_null", {"column": "a", "mostly": 0.9}, {"severity": "warn"}
    )
    assert not quality.RuleOutcome(strict, 100, 1).success
    assert quality.RuleOutcome(lenient, 100, 10).success
    assert not quality.RuleOutcome(lenient, 100, 11).success
    assert quality.RuleOutcome(strict, 0, 0).unexpected_fraction == 0.0


def test_validation_result_is_great_expectations_format():
    rules_json = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {"severity": "blocking"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "b", "min_value": 0},
            "meta": {"severity": "warn"},
            "severity": "warning",
        },
    ]
    suite = quality.parse_suite(_suite_json(*rules_json), "f")
    rules = quality.suite_rules(suite)
    result = quality.validation_result(
        suite, [quality.RuleOutcome(rules[0], 50, 0), quality.RuleOutcome(rules[1], 50, 5)]
    )
    assert not result.success
    assert result.statistics["successful_expectations"] == 1
    assert result.results[1].result["unexpected_count"] == 5
    assert result.results[1].result["unexpected_percent"] == pytest.approx(10.0)
    assert result.results[1].expectation_config.type == "expect_column_values_to_be_between"
    assert json.loads(json.dumps(result.to_json_dict()))["suite_name"] == "silver.t"
