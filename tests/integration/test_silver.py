"""Silver on the simulated ci account: exact accounting, injected defects caught, gates, idempotency."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hm_utils import io, silver, sources, tables
from hm_utils.errors import QualityGateError
from hm_utils.simulator.defects import TABLE_DEFECT_TYPES

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def report(account):
    return account["silver"]


def _quarantine(spark, config) -> pd.DataFrame:
    return (
        io.read_table(spark, config, silver.QUARANTINE_KEY)
        .select("table_key", "rule", "business_key", "row_json")
        .toPandas()
    )


def _checksum(spark, config, key: str) -> tuple[int, int]:
    """Row count and an order-independent hash of every row's content."""
    frame = io.read_table(spark, config, key)
    row = frame.selectExpr("count(*) as n", "sum(cast(xxhash64(to_json(struct(*))) as decimal(38, 0))) as h").first()
    return int(row["n"]), int(row["h"] or 0)


def test_every_bronze_row_is_in_silver_quarantine_or_a_counted_duplicate(spark, config, report):
    quarantine = _quarantine(spark, config).groupby("table_key").size()
    assert {item.table_key for item in report.tables} == set(silver.silver_keys(config))
    for item in report.tables:
        spec = tables.get_spec(config, item.table_key)
        bronze_rows = io.read_table(spark, config, spec.upstream).count()
        silver_frame = io.read_table(spark, config, item.table_key)
        silver_rows = silver_frame.count()
        distinct_keys = silver_frame.select(*spec.primary_key).distinct().count()
        quarantined = int(quarantine.get(item.table_key, 0))
        assert bronze_rows == silver_rows + quarantined + item.duplicates_removed, item.table_key
        assert (item.bronze_rows, item.silver_rows, item.quarantined_rows) == (bronze_rows, silver_rows, quarantined)
        assert distinct_keys == silver_rows, f"{item.table_key}: primary key not unique in silver"


def test_silver_keeps_the_system_table_columns_and_drops_drift(spark, config, report):
    from hm_utils import system_schema

    for item in report.tables:
        source = tables.get_spec(config, tables.get_spec(config, item.table_key).upstream).upstream
        reference = [name for name, _ in system_schema.table_columns(str(tables.get_spec(config, source).system_table))]
        assert io.read_table(spark, config, item.table_key).columns == [*reference, *silver.METADATA_COLUMNS]


def test_injected_defects_are_quarantined_or_counted_as_duplicates(spark, config, report):
    defects = pd.read_parquet(sources.simulated_folder(config) / "_ground_truth" / "defects")
    defects = defects[~defects.defect_type.isin(TABLE_DEFECT_TYPES)]  # the monitors' to flag, not silver's
    assert not defects.empty, "the ci account should carry injected defects"
    quarantine = _quarantine(spark, config)
    silver_key = {
        str(tables.get_spec(config, key).system_table): "silver." + key.split(".", 1)[1]
        for key in tables.keys(config, "source")
    }
    for defect in defects.itertuples():
        key = silver_key[defect.table]
        item = report.table(key)
        if defect.defect_type == "duplicate_row":
            kept = io.read_table(spark, config, key).where(f"{defect.key_column} = '{defect.key_value}'").count()
            assert kept == 1, f"{key}: duplicate {defect.key_value} not reduced to one row"
            assert item.exact_duplicates >= int(
                ((defects.table == defect.table) & (defects.defect_type == "duplicate_row")).sum()
            )
        elif defect.defect_type == "schema_drift":
            assert defect.key_value in item.dropped_columns
            assert defect.key_value not in io.read_table(spark, config, key).columns
        else:
            rows = quarantine[quarantine.table_key == key]
            column = defect.key_column
            if defect.defect_type == "null_key":
                hits = rows[rows.business_key.map(lambda text, c=column: json.loads(text).get(c) is None)]
                assert hits.rule.str.contains(f"not_be_null({column})", regex=False).any(), defect.description
            else:
                values = rows.row_json.map(lambda text, c=column: str(json.loads(text).get(c)))
                assert (values == defect.key_value).any(), (
                    f"{key}: {defect.defect_type} {defect.key_value} not quarantined"
                )


def test_quality_results_hold_every_expectation_and_the_accounting(spark, config, report):
    results = io.read_table(spark, config, silver.RESULTS_KEY).where(f"run_id = '{report.run_id}'").toPandas()
    for item in report.tables:
        rows = results[results.table_key == item.table_key]
        assert set(rows.expectation) == {outcome.rule.name for outcome in item.outcomes} | {silver.ACCOUNTING}
        accounting = rows[rows.expectation == silver.ACCOUNTING].iloc[0]
        assert (
            accounting.bronze_rows
            == accounting.silver_rows + accounting.quarantined_rows + accounting.duplicates_removed
        )
    assert set(results.severity) == {"blocking", "warn"}
    validation = report.validations["silver.billing_usage"]
    assert not validation.success  # the ci account has an unknown SKU, a null key, ...
    assert validation.statistics["evaluated_expectations"] == len(report.table("silver.billing_usage").outcomes)


def test_a_blocking_gate_beyond_tolerance_fails_with_table_rule_and_samples(spark, config, report):
    # silver and ops in scratch schemas: the failed gate must not become the account's latest quality result
    scratch = {"schemas.silver": "hm_test_gate", "schemas.ops": "hm_test_gate"}
    strict = config.with_overrides({"silver.max_quarantine_fraction": 0.0, **scratch})
    with pytest.raises(QualityGateError) as raised:
        silver.build_silver(spark, strict, "test-gate", only=["silver.query_history"])
    text = str(raised.value)
    assert "silver.query_history" in text
    assert "expect_column_values_to_be_between(total_duration_ms)" in text
    assert "sample:" in text and "statement_id" in text


def test_rerun_gives_the_same_silver_and_quarantine(spark, config, report):
    # built from the bronze as it is now (other tests re-run bronze on the shared account), then again
    first = silver.build_silver(spark, config, "test-rerun-1")
    before = {key: _checksum(spark, config, key) for key in silver.silver_keys(config)}
    quarantine_before = _quarantine(spark, config).sort_values(["table_key", "business_key"]).reset_index(drop=True)
    again = silver.build_silver(spark, config, "test-rerun-2")
    assert {key: _checksum(spark, config, key) for key in silver.silver_keys(config)} == before
    quarantine_after = _quarantine(spark, config).sort_values(["table_key", "business_key"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(quarantine_after, quarantine_before)
    pd.testing.assert_frame_equal(
        again.accounting_frame().drop(columns="seconds"), first.accounting_frame().drop(columns="seconds")
    )


def test_ranking_only_the_repeated_keys_keeps_the_same_rows_as_ranking_every_row(spark, config, report, monkeypatch):
    # the tables with removed duplicates and the silver tables their rules read, built twice in scratch schemas:
    # as usual (only the rows of repeated keys ranked) and with every row ranked
    repeated = [item.table_key for item in report.tables if item.duplicates_removed]
    assert repeated, "the ci account should carry duplicate rows"
    rules = [rule for key in repeated for rule in silver.quality.suite_rules(silver.quality.load_suite(config, key))]
    keys = sorted({*repeated, *(ref for rule in rules for ref in rule.references)})
    builds = {}
    for limit, schema in ((silver.RANKED_KEYS_LIMIT, "hm_test_rank_some"), (0, "hm_test_rank_all")):
        monkeypatch.setattr(silver, "RANKED_KEYS_LIMIT", limit)
        scratch = config.with_overrides({"schemas.silver": schema, "schemas.ops": schema})
        built = silver.build_silver(spark, scratch, f"test-{schema}", only=keys)
        builds[schema] = {key: (_checksum(spark, scratch, key), built.table(key).exact_duplicates) for key in repeated}
    assert builds["hm_test_rank_some"] == builds["hm_test_rank_all"]
