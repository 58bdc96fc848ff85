"""Silver helpers that need no Spark: build order, accounting and the quality-results rows."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hm_utils import config as config_module
from hm_utils import quality, silver, tables
from hm_utils.errors import ConfigError


def _rule(name: str, severity: str = "blocking", references: tuple[str, ...] = ()) -> quality.Rule:
    return quality.Rule(
        name, "expect_column_values_to_not_be_null", "c", severity, "validity", "c is null", references=references
    )


def _item(bronze=10, silver_rows=7, quarantined=1, exact=1, superseded=1, outcomes=()) -> silver.TableQuality:
    return silver.TableQuality(
        "silver.t", bronze, silver_rows, quarantined, exact, superseded, list(outcomes), validation=None
    )


def test_tables_reading_other_silver_tables_are_built_after_them():
    rules = {
        "silver.usage": [_rule("a", references=("silver.prices", "silver.runs"))],
        "silver.tasks": [_rule("b", references=("silver.runs",))],
        "silver.prices": [_rule("c")],
        "silver.runs": [_rule("d", references=("bronze.runs",))],
    }
    order = silver.build_order(rules)
    assert sorted(order) == sorted(rules)
    assert order.index("silver.prices") < order.index("silver.usage")
    assert order.index("silver.runs") < min(order.index("silver.usage"), order.index("silver.tasks"))


def test_a_reference_cycle_is_a_config_error():
    rules = {"silver.a": [_rule("x", references=("silver.b",))], "silver.b": [_rule("y", references=("silver.a",))]}
    with pytest.raises(ConfigError, match="cycle"):
        silver.build_order(rules)


def test_accounting_balances_only_when_every_row_is_explained():
    assert _item().balanced
    assert _item().duplicates_removed == 2
    assert not _item(silver_rows=8).balanced


def test_result_rows_have_one_row_per_expectation_plus_accounting():
    outcomes = [
        quality.RuleOutcome(_rule("expect_x(a)"), 10, 1),
        quality.RuleOutcome(_rule("expect_y(b)", severity="warn"), 10, 0),
    ]
    rows = silver.result_rows("run-1", [_item(outcomes=outcomes)], datetime(2026, 1, 1, tzinfo=timezone.utc))
    names = [name for name, _ in silver.RESULT_COLUMNS]
    records = [dict(zip(names, row, strict=True)) for row in rows]
    assert [r["expectation"] for r in records] == ["expect_x(a)", "expect_y(b)", silver.ACCOUNTING]
    assert records[0]["success"] is False and records[0]["unexpected_count"] == 1
    assert records[1]["severity"] == "warn" and records[1]["success"] is True
    accounting = records[2]
    assert (accounting["bronze_rows"], accounting["silver_rows"], accounting["quarantined_rows"]) == (10, 7, 1)
    assert accounting["duplicates_removed"] == 2 and accounting["success"] is True


def test_gate_failure_message_names_table_rule_share_and_samples():
    text = silver.GateFailure("silver.t", "expect_x(a)", 3, 10, ['{"a": null}']).describe()
    assert "silver.t" in text and "expect_x(a)" in text and "30.0%" in text and '{"a": null}' in text


def test_every_bronze_table_has_a_silver_table_with_the_same_key():
    config = config_module.load("ci")
    bronze = {key.split(".", 1)[1] for key in tables.keys(config, "bronze")}
    built = silver.silver_keys(config)
    assert {key.split(".", 1)[1] for key in built} == bronze
    for key in built:
        spec = tables.get_spec(config, key)
        assert spec.upstream == "bronze." + spec.name
        assert spec.primary_key == tables.get_spec(config, spec.upstream).primary_key
