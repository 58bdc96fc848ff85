"""Plausible dates: suite rules bounded by GE suite parameters whose values follow the settings and the
run's clock, resolved when rows are flagged."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hm_utils import quality
from hm_utils.errors import ConfigError


def test_the_plausible_range_runs_from_the_earliest_date_to_a_day_after_the_run(config):
    parameters = quality.suite_parameters(config)
    assert parameters == {"earliest_date": date(2013, 1, 1), "latest_time": datetime(2026, 12, 1, 6, 0)}
    later = quality.suite_parameters(config.with_overrides({"clock.now": "2027-01-11 06:00", "silver.future_days": 0}))
    assert later["latest_time"] == datetime(2027, 1, 11, 6, 0)


def test_a_bound_given_as_a_suite_parameter_becomes_a_literal_when_rows_are_flagged():
    rule = quality.translate(
        "expect_column_values_to_be_between",
        {"column": "usage_date", "min_value": {"$PARAMETER": "earliest_date"}, "max_value": {"$PARAMETER": "latest"}},
        {"severity": "blocking", "rule": "plausible_usage_date"},
    )
    sql = quality.flag_select_sql(
        "batch_view", [rule], str, {"earliest_date": date(2013, 1, 1), "latest": datetime(2026, 12, 1, 6)}
    )
    assert "`usage_date` < date'2013-01-01'" in sql and "`usage_date` > timestamp'2026-12-01 06:00:00'" in sql
    with pytest.raises(ConfigError, match="suite parameter 'latest' has no value"):
        quality.flag_select_sql("batch_view", [rule], str, {"earliest_date": date(2013, 1, 1)})


def test_every_table_with_event_times_checks_them_for_plausibility(config):
    from hm_utils import silver

    unchecked = []
    for key in silver.silver_keys(config):
        rules = quality.suite_rules(quality.load_suite(config, key))
        if key.endswith(("compute_node_types", "access_workspaces_latest")):
            continue  # reference data without event times
        if not any(rule.name.endswith("(plausible_" + (rule.column or "") + ")") for rule in rules):
            unchecked.append(key)
    assert not unchecked
