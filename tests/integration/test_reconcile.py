"""Reconciliation on the simulated ci account: the gold build's own checks pass, and gold's cost per workspace
and day equals a computation in pandas with Python Decimals straight from the simulated source files, which
leaves out the rows the simulator labelled as defective (its ground truth), never what the pipeline decided."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest

from hm_utils import io, sources

pytestmark = pytest.mark.engine

CENT = Decimal("0.005")


def test_every_reconciliation_check_of_the_gold_build_passes(account):
    report = account["gold"]
    names = {check.check_name for check in report.checks}
    assert {"list_cost_by_workspace_day", "one_owner_per_usage_row", "allocation_sums_to_usage"} <= names
    assert [check.describe() for check in report.checks if not check.passed] == []


def _defective_record_ids(folder) -> set[str]:
    """Usage records the simulator broke on purpose (null key, unknown SKU, malformed struct, ...): not billable.
    Exact duplicates are not in the set: their record counts once."""
    defects = pd.read_parquet(folder / "_ground_truth" / "defects")
    broken = defects[(defects["table"] == "billing.usage") & (defects["defect_type"] != "duplicate_row")]
    return set(broken["key_value"].dropna())


def _independent_cost(folder, excluded: set[str], price_field: str) -> dict[tuple[str, object], Decimal]:
    usage = pq.read_table(folder / "billing" / "usage").to_pandas()
    prices = pq.read_table(folder / "billing" / "list_prices").to_pandas()
    usage = usage[usage["record_id"].notna() & ~usage["record_id"].isin(excluded)].drop_duplicates("record_id")
    prices["unit_price"] = [
        ((p.get(price_field) or {}).get("default") if price_field != "default" else None) or p["default"]
        for p in prices["pricing"]
    ]
    joined = usage.merge(prices, on=["sku_name", "cloud", "usage_unit"], how="inner")
    valid = (joined["usage_start_time"] >= joined["price_start_time"]) & (
        joined["price_end_time"].isna() | (joined["usage_end_time"] <= joined["price_end_time"])
    )
    joined = joined[valid]
    assert not joined["record_id"].duplicated().any(), "price windows overlap"
    joined["cost"] = [q * p for q, p in zip(joined["usage_quantity"], joined["unit_price"], strict=True)]
    totals = joined.groupby(["workspace_id", "usage_date"])["cost"].apply(lambda s: sum(s, Decimal(0)))
    return {(ws, pd.Timestamp(day).date()): value for (ws, day), value in totals.items()}


def test_cost_per_workspace_day_equals_an_independent_computation(account, spark, config):
    folder = sources.simulated_folder(config)
    expected = _independent_cost(folder, _defective_record_ids(folder), config.get("gold.price_field"))
    rows = (
        io.read_table(spark, config, "gold.fct_usage_daily")
        .groupBy("workspace_id", "usage_date")
        .sum("list_cost")
        .collect()
    )
    actual = {(row[0], row[1]): row[2] for row in rows}
    assert expected and set(actual) == set(expected)
    off = {key: (actual[key], value) for key, value in expected.items() if abs(actual[key] - value) > CENT}
    assert off == {}
