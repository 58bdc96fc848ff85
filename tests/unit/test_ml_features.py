"""Feature tables are point in time: a row's features use only what was known when it happened."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from hm_utils.ml import catalog, features


def _runs(days: int = 30, jobs: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for job in range(jobs):
        for day in range(days):
            start = pd.Timestamp("2026-11-01") + pd.Timedelta(days=day, hours=2 + job)
            minutes = float(rng.integers(10, 40))
            failed = bool(rng.random() < 0.3)
            rows.append(
                {
                    "workspace_id": "1",
                    "job_id": str(job),
                    "run_id": f"{job}-{day}",
                    "run_date": start.date(),
                    "start_time": start,
                    "end_time": start + pd.Timedelta(minutes=minutes),
                    "duration_seconds": int(minutes * 60),
                    "is_completed": True,
                    "is_failure": failed,
                    "is_success": not failed,
                    "compute_type": "JOB_CLUSTER",
                    "is_all_purpose": False,
                    "trigger_type": "CRON",
                }  # fmt: skip
            )
    return pd.DataFrame(rows)


def test_job_run_features_do_not_change_when_later_runs_change():
    runs = _runs()
    cut = pd.Timestamp("2026-11-20")
    altered = runs.copy()
    later = altered["start_time"] >= cut
    altered.loc[later, "is_failure"] = ~altered.loc[later, "is_failure"]
    altered.loc[later, "is_success"] = ~altered.loc[later, "is_success"]
    altered.loc[later, "duration_seconds"] *= 5
    before = features.job_run_features(runs)
    after = features.job_run_features(altered)
    feature_columns = [c.name for c in catalog.feature_tables()["job_run_features"].columns if c.role == "feature"]
    known = before["start_time"] < cut
    pd.testing.assert_frame_equal(before.loc[known, feature_columns], after.loc[known, feature_columns])
    assert not before.loc[~known, "is_failure"].equals(after.loc[~known, "is_failure"])


def test_a_run_sees_only_runs_that_ended_before_it_started():
    runs = _runs(days=3, jobs=1)
    # the second run starts while the first is still running: the first is not its history yet
    runs.loc[1, "start_time"] = runs.loc[0, "start_time"] + pd.Timedelta(minutes=1)
    runs.loc[1, "end_time"] = runs.loc[0, "end_time"] + pd.Timedelta(minutes=30)
    out = features.job_run_features(runs).set_index("run_id")
    assert out.loc["0-0", "prior_runs"] == 0
    assert out.loc["0-1", "prior_runs"] == 0
    assert out.loc["0-2", "prior_runs"] == 2
    first_two = runs.loc[:1, "is_failure"].astype(int)
    assert out.loc["0-2", "prior_failure_rate"] == pytest.approx(first_two.mean())
    assert out.loc["0-2", "failed_last_run"] == int(runs.loc[1, "is_failure"])


def test_duration_history_uses_successful_runs_only():
    runs = _runs(days=6, jobs=1)
    runs["is_failure"], runs["is_success"] = False, True
    runs.loc[2, ["is_failure", "is_success"]] = [True, False]
    runs.loc[2, "duration_seconds"] = 10
    out = features.job_run_features(runs).set_index("run_id")
    successes = runs.loc[[0, 1, 3, 4], "duration_seconds"] / 60
    assert out.loc["0-5", "prior_median_minutes"] == pytest.approx(successes.median())
    assert out.loc["0-5", "last_minutes"] == pytest.approx(successes.iloc[-1])


def _costs(days: int = 60) -> pd.DataFrame:
    dates = pd.date_range("2026-09-01", periods=days, freq="D")
    cost = 100 + 30 * (dates.dayofweek < 5)
    return pd.DataFrame(
        {"usage_date": dates.date, "workspace_id": "1", "sku_family": "JOBS", "list_cost": cost, "dbus": cost / 0.15}
    )


def test_cost_features_of_a_day_use_the_days_up_to_it_only():
    costs = _costs()
    cut = date(2026, 10, 10)
    altered = costs.copy()
    altered.loc[altered["usage_date"] > cut, ["list_cost", "dbus"]] *= 10
    before = features.cost_daily_features(costs, date(2026, 10, 30))
    after = features.cost_daily_features(altered, date(2026, 10, 30))
    known = before["usage_date"] <= cut
    pd.testing.assert_frame_equal(before[known], after[known])
    assert not before.loc[~known, "dbus"].equals(after.loc[~known, "dbus"])


def test_cost_features_drop_incomplete_days_and_fill_missing_days_with_zero():
    costs = _costs(days=20)
    costs = costs[costs["usage_date"] != date(2026, 9, 10)]
    out = features.cost_daily_features(costs, date(2026, 9, 15)).set_index("usage_date")
    assert out.index.max() == date(2026, 9, 15)
    assert out.loc[date(2026, 9, 10), "list_cost"] == 0
    assert out.loc[date(2026, 9, 11), "lag_1"] == 0
    # a weekday's expectation is the median of the same weekday before it, not the weekly mean
    assert out.loc[date(2026, 9, 15), "same_weekday_median"] == pytest.approx(130)


def test_declared_columns_match_what_the_builders_produce():
    runs = features.job_run_features(_runs(days=4))
    costs = features.cost_daily_features(_costs(days=10), date(2026, 9, 10))
    assert list(runs.columns) == catalog.feature_tables()["job_run_features"].column_names
    assert list(costs.columns) == catalog.feature_tables()["cost_daily_features"].column_names


def test_the_next_run_of_a_job_comes_one_usual_gap_after_its_latest_start_with_all_its_history():
    from hm_utils.ml import scoring

    runs = _runs(days=10, jobs=2)
    upcoming = scoring.next_runs(runs).set_index("job_id")
    assert list(upcoming.index) == ["0", "1"]
    last_start = runs.groupby("job_id")["start_time"].max()
    assert (upcoming["start_time"] - last_start.reindex(upcoming.index)).eq(pd.Timedelta(days=1)).all()
    assert (upcoming["prior_runs"] == 10).all()
    latest = runs.sort_values("start_time").groupby("job_id").tail(1).set_index("job_id")
    assert (upcoming["failed_last_run"] == latest["is_failure"].astype(int).reindex(upcoming.index)).all()
