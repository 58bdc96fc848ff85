"""Two consecutive daily builds of a simulated account give the same gold history as one build over both
days: appended source days, incremental bronze (watermark and lookback), silver and gold refreshes agree
with a build from scratch (hm_utils.consecutive_days, also `hm bench --two-days`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hm_utils import consecutive_days, layers
from hm_utils.simulator import SimulationOptions

pytestmark = [pytest.mark.engine, pytest.mark.slow]  # builds a small account three times

# Small enough for a couple of minutes: one workspace pair, five days, every kind of table and late rows.
ACCOUNT = SimulationOptions(workspaces=2, days=5, end=datetime(2026, 11, 24, 6, 0), seed=11, scale=0.0005)


@pytest.fixture(scope="module")
def check(spark, config, tmp_path_factory):
    found = consecutive_days.run_two_day_check(spark, config, ACCOUNT, tmp_path_factory.mktemp("two_days"))
    yield found
    for name in ("stepwise", "at_once"):
        for layer in layers.LAYER_SCHEMAS:
            spark.sql(f"drop schema if exists {config.catalog}.hm_{name}_{layer} cascade")


def test_the_second_day_appends_new_rows(check):
    assert 0 < check.source_rows["appended_on_day_2"] < check.source_rows["at_once"]


def test_stepwise_and_at_once_builds_have_the_same_gold_history(check):
    different = {t.table: (t.only_stepwise, t.only_at_once) for t in check.tables if not t.identical}
    assert not different, f"gold rows only in the stepwise / the at-once build: {different}"
    assert check.identical
    built = {t.table for t in check.tables if t.rows_at_once > 0}
    assert {
        "gold.fct_job_runs",
        "gold.fct_usage_hourly",
        "gold.fct_audit_events",
        "gold.fct_node_utilization_hourly",
    } <= built
