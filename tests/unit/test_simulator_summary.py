"""hm_utils.simulator.summary on the default account's shape: a realistic mid-size cost mix (scheduled
jobs the largest share, hundreds of jobs with a long tail), prices that agree with the simulator's own
price join, and every event public queries look for present (and no token made already expired)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from hm_utils.simulator import billing, summary


@pytest.fixture(scope="module")
def folder(default_account):
    return default_account[0]


def test_scheduled_jobs_are_the_largest_share_of_spend(folder):
    mix = summary.cost_mix(folder)
    jobs = mix.loc[["jobs (classic)", "jobs (serverless)"], "list_cost"].sum()
    others = mix.drop(["jobs (classic)", "jobs (serverless)"])["list_cost"]
    assert jobs > 1.5 * others.max(), mix  # the largest by a clear margin
    assert 0.3 < jobs / mix["list_cost"].sum() < 0.6
    assert mix["share"].sum() == pytest.approx(1.0)


def test_hundreds_of_jobs_with_a_long_tail_and_a_few_expensive_ones(folder):
    spread = summary.job_spread(folder)
    assert spread["jobs_defined"] >= 150 and spread["jobs_billed"] >= 150
    assert spread["largest_job"] > 10 * spread["median_job"] > 0
    assert 0.3 < spread["top_10_share"] < 0.8


def test_list_cost_agrees_with_the_simulators_price_join(folder):
    usage = summary.read(folder, "billing.usage")
    prices = summary.read(folder, "billing.list_prices")
    priced = summary.priced_usage(folder, days=2)
    last_days = pc.greater(usage["usage_date"], pa.scalar(priced["usage_date"].min().date() - np.timedelta64(1, "D")))
    sample = pc.and_(last_days, pc.starts_with(usage["sku_name"], "PREMIUM_JOBS")).to_numpy(zero_copy_only=False)
    _, expected, _ = billing.priced_cost(usage, prices, sample)
    jobs = priced[priced["sku_name"].str.startswith("PREMIUM_JOBS")]
    assert expected > 0 and jobs["list_cost"].sum() == pytest.approx(expected, rel=1e-9)


def test_every_feature_occurs_and_no_token_expires_before_it_is_made(folder):
    frequency = summary.feature_frequency(folder)
    negative = frequency.loc["audit: tokens expiring before they are made", "rows"]
    absent = [name for name, rows in frequency["rows"].items() if rows == 0 and "expiring" not in name]
    assert negative == 0 and not absent, absent
    assert frequency.loc["audit: distinct runCommand commandText", "rows"] > 100
