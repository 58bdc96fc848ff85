"""Monitors without an engine: declarations, drift statistics against scipy on raw samples, freshness and
completeness rules, and the Databricks monitor requests built with the SDK's types."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hm_utils import config as config_module
from hm_utils import tables
from hm_utils.errors import ConfigError
from hm_utils.monitoring import declarations, drift, freshness
from hm_utils.monitoring.profile import QUANTILES


@pytest.fixture(scope="module")
def config():
    return config_module.load("ci")


def test_at_least_twelve_gold_tables_are_monitored_with_the_three_kinds_of_custom_metric(config):
    monitors = declarations.load_monitors()
    assert len({m.table for m in monitors}) >= 12
    assert all(m.table.startswith("gold.") and tables.get_spec(config, m.table) for m in monitors)
    kinds = {metric.type for m in monitors for metric in m.custom_metrics}
    assert kinds == {"aggregate", "derived", "drift"}
    usage = declarations.get_monitor("fct_usage_daily")
    assert {"total_dbus", "dbu_change_ratio"} <= {metric.name for metric in usage.custom_metrics}


def test_every_monitored_column_and_timestamp_exists_in_its_gold_model():
    import yaml

    for monitor in declarations.load_monitors():
        model = yaml.safe_load((declarations.MONITORS_DIR.parent / "gold_models" / f"{monitor.name}.yml").read_text())
        columns = {column["name"] for column in model["columns"]}
        assert {monitor.timestamp_col, *monitor.columns} <= columns, monitor.name


def test_output_tables_are_registered_from_the_declarations(config):
    for monitor in declarations.load_monitors():
        assert tables.full_name(config, monitor.profile_key).endswith(f".{monitor.name}_profile_metrics")
        assert tables.full_name(config, monitor.drift_key).endswith(f".{monitor.name}_drift_metrics")


def test_a_bad_declaration_names_the_file_and_the_fix(tmp_path, monkeypatch):
    (tmp_path / "fct_job_runs.yml").write_text(
        "table: gold.fct_job_runs\ntimestamp_col: run_date\ngranularities: ['2 days']\ncolumns: [duration_seconds]\n"
    )
    with pytest.raises(ConfigError, match="unsupported granularity") as error:
        declarations._monitor(tmp_path / "fct_job_runs.yml")
    assert "fct_job_runs.yml" in str(error.value)


def _quantiles(sample):
    return list(np.quantile(sample, QUANTILES))


def test_numeric_drift_from_quantiles_agrees_with_scipy_on_the_samples():
    rng = np.random.default_rng(1)
    base, shifted = rng.normal(0, 1, 5000), rng.normal(1, 1, 5000)
    same = drift.numeric_drift(_quantiles(rng.normal(0, 1, 5000)), _quantiles(base), 5000, 5000)
    moved = drift.numeric_drift(_quantiles(shifted), _quantiles(base), 5000, 5000)
    ks = stats.ks_2samp(shifted, base)
    assert moved["ks_test"]["statistic"] == pytest.approx(ks.statistic, abs=0.03)
    assert moved["wasserstein_distance"] == pytest.approx(stats.wasserstein_distance(shifted, base), rel=0.1)
    assert moved["ks_test"]["pvalue"] < 0.001 < same["ks_test"]["pvalue"]
    assert moved["population_stability_index"] > 0.25 > same["population_stability_index"]


def test_categorical_drift_counts_the_other_bucket_and_matches_scipy():
    base = {"count": 100, "num_nulls": 0, "frequent_items": [{"item": "a", "count": 50}, {"item": "b", "count": 30}]}
    current = {"count": 100, "num_nulls": 0, "frequent_items": [{"item": "a", "count": 20}, {"item": "b", "count": 60}]}
    result = drift.categorical_drift(current, base)
    p, q = np.array([0.2, 0.6, 0.2]), np.array([0.5, 0.3, 0.2])  # a, b, other
    assert result["tv_distance"] == pytest.approx(0.5 * np.abs(p - q).sum())
    assert result["l_infinity_distance"] == pytest.approx(0.3)
    expected = stats.chi2_contingency(np.array([[20, 60, 20], [50, 30, 20]]))
    assert result["chi_squared_test"]["pvalue"] == pytest.approx(expected.pvalue)
    assert drift.categorical_drift(base, base)["js_distance"] == pytest.approx(0.0)


def test_table_rows_report_added_and_missing_columns():
    current = {"column_name": ":table", "count": 10, "non_null_columns": ["a", "c"], "data_type": None}
    base = {"column_name": ":table", "count": 8, "non_null_columns": ["a", "b"], "data_type": None}
    row = drift.drift_row(current, base)
    assert row["non_null_columns_delta"] == {"added": 1, "missing": 1} and row["count_delta"] == 2


NOW = datetime(2026, 11, 30, 6, 0)


def test_an_hourly_table_is_fresh_within_its_latency_and_stale_a_day_after():
    hours = pd.Series(pd.date_range(NOW - timedelta(days=20), NOW - timedelta(hours=2), freq="h"))
    fresh = freshness.freshness_status(hours, hours.iloc[-1], NOW, latency=4)
    assert fresh["status"] == "fresh" and fresh["expected_interval_hours"] == 1
    held_back = hours[hours < NOW - timedelta(hours=40)]
    late = freshness.freshness_status(held_back, held_back.iloc[-1], NOW, latency=4)
    assert late["status"] == "stale" and late["severity"] == "critical"
    assert freshness.freshness_status(hours[:0], None, NOW, latency=4)["status"] == "no_data"


def test_a_daily_table_learns_its_interval_and_is_late_only_after_it():
    days = pd.Series(pd.date_range(NOW - timedelta(days=30), NOW, freq="D").normalize())
    status = freshness.freshness_status(days, days.iloc[-1], NOW, latency=4)
    assert status["expected_interval_hours"] == 24 and status["status"] == "fresh"
    status = freshness.freshness_status(days[:-2], days.iloc[-3], NOW, latency=4)
    assert status["status"] in ("late", "stale")


def test_completeness_flags_a_complete_day_far_under_its_weekday_history_and_not_the_partial_last_day():
    days = pd.date_range(NOW.date() - timedelta(days=60), NOW.date(), freq="D")
    volume = pd.Series([1000.0 if d.weekday() < 5 else 300.0 for d in days], index=days)
    dropped = days[-5]
    volume[dropped] = volume[dropped] * 0.3
    volume[days[-1]] = 100  # today is still arriving
    frame = freshness.completeness_status(volume, NOW, latency=4, drop=0.5, spike=3.0, days=14)
    flagged = frame[frame.severity == "critical"]
    assert list(flagged.day) == [dropped.date()]
    assert frame.iloc[-1].status == "incomplete_day"
    assert set(frame[frame.day != dropped.date()].status) <= {"ok", "incomplete_day"}  # weekends are not drops
    sparse = freshness.completeness_status(volume / 100, NOW, latency=4, drop=0.5, spike=3.0, days=14)
    assert "volume_drop" not in set(sparse.status), "too few rows a day to judge"


def test_databricks_monitor_requests_use_the_sdk_types(config):
    from databricks.sdk.service.catalog import MonitorMetric, MonitorMetricType, MonitorTimeSeries
    from pyspark.sql import types as T

    from hm_utils.monitoring import databricks

    for monitor in declarations.load_monitors():
        request = databricks.create_request(config, monitor)
        assert isinstance(request["time_series"], MonitorTimeSeries)
        assert request["table_name"] == tables.full_name(config, monitor.table)
        assert request["output_schema_name"].endswith(".hm_monitoring")
        for metric in request["custom_metrics"]:
            assert isinstance(metric, MonitorMetric) and isinstance(metric.type, MonitorMetricType)
            assert isinstance(T.StructField.fromJson(json.loads(metric.output_data_type)).dataType, T.DataType)
            assert MonitorMetric.from_dict(metric.as_dict()) == metric
    runs = databricks.create_request(config, declarations.get_monitor("fct_job_runs"))
    failed = next(m for m in runs["custom_metrics"] if m.name == "failed_runs")
    assert failed.output_data_type == T.StructField("output", T.LongType()).json() or json.loads(
        failed.output_data_type
    ) == json.loads(T.StructField("output", T.LongType()).json())


def test_only_windows_whose_rows_or_declaration_changed_are_recomputed():
    from hm_utils.monitoring import _changed

    days = pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-03"])
    previous = pd.DataFrame(
        {"granularity": "1 day", "window_start": days, "fingerprint": ["a", "b", "c"], "monitor_version": 7}
    )
    same = previous.assign(window_end=days + pd.Timedelta(days=1))
    assert _changed(same, previous, 7).empty
    one_new = pd.concat([same, same.tail(1).assign(window_start=pd.Timestamp("2026-11-04"), fingerprint="d")])
    one_new.loc[one_new.window_start == days[1], "fingerprint"] = "b2"
    changed = _changed(one_new, previous, 7)
    assert sorted(changed.window_start.dt.day) == [2, 4]
    assert len(_changed(same, previous, 8)) == 3, "a new declaration recomputes every window"
    assert list(_changed(same.head(2), previous, 7).window_start.dt.day) == [3], "a window without rows is removed"
