"""Estimators and metrics on tiny synthetic data: detection counted per incident, forecasts with intervals,
and the simulator's signals the models learn from."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from hm_utils.ml import catalog, estimators, features, metrics
from hm_utils.simulator import lakeflow


def test_detection_counts_events_and_incidents_not_rows():
    flagged = pd.DataFrame(
        {"workspace_id": ["1", "1", "1", "2"], "sku_family": ["SQL"] * 4,
         "day": pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-10", "2026-11-05"])}
    )  # fmt: skip
    incidents = pd.DataFrame(
        {"workspace_id": ["1", "2"], "sku_family": ["SQL", "SQL"],
         "first_day": pd.to_datetime(["2026-11-03", "2026-11-20"]), "last_day": pd.to_datetime(["2026-11-03", "2026-11-20"]),
         "counts": [True, True]}
    )  # fmt: skip
    scores = metrics.detection_scores(flagged, incidents, ["workspace_id", "sku_family"])
    assert scores["events"] == 3  # 2-3 Nov is one event
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 2)


def test_recall_at_precision_and_auc_pr():
    labels = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.2, 0.9, 0.8, 0.7, 0.3]
    assert metrics.recall_at_precision(labels, scores, 1.0) == pytest.approx(2 / 3)
    assert metrics.auc_pr(labels, scores) > metrics.auc_pr(labels, [0.5] * 6)


def _costs_with_spike(days: int = 70, spike_day: int = 60) -> pd.DataFrame:
    dates = pd.date_range("2026-09-01", periods=days, freq="D")
    rng = np.random.default_rng(1)
    rows = []
    for ws in ("1", "2"):
        for family, level in (("JOBS", 200.0), ("MODEL_SERVING", 20.0), ("STORAGE", 0.3)):
            cost = level * (1 + 0.3 * (dates.dayofweek < 5)) * np.exp(rng.normal(0, 0.05, days))
            if ws == "1" and family == "MODEL_SERVING":
                cost[spike_day] *= 6
            if family == "STORAGE":
                cost[spike_day] *= 6  # a tiny series: under the dollar floor, never flagged
            rows.append(
                pd.DataFrame({"usage_date": dates.date, "workspace_id": ws, "sku_family": family, "list_cost": cost})
            )
    return pd.concat(rows)


def test_the_anomaly_detector_finds_the_spike_and_ignores_tiny_series():
    spec = catalog.get_model("cost_anomaly_detector")
    frame = features.cost_daily_features(_costs_with_spike(), date(2026, 11, 30))
    train, test = estimators.split_by_time(frame, "usage_date", 20)
    detector = estimators.make(spec)
    detector.fit(detector.training_rows(train))
    flagged = test[detector.predict(test)["is_anomaly"].to_numpy()]
    assert ("1", "MODEL_SERVING", date(2026, 10, 31)) in set(
        flagged[["workspace_id", "sku_family", "usage_date"]].itertuples(index=False, name=None)
    )
    assert "STORAGE" not in set(flagged["sku_family"])
    incidents = pd.DataFrame(
        {"incident_type": ["cost_spike"], "workspace_id": ["1"],
         "start_time": [pd.Timestamp("2026-10-31 09:00")], "end_time": [pd.Timestamp("2026-11-01 09:00")]}
    )  # fmt: skip
    scores = detector.evaluate(test, incidents)
    assert scores["recall"] == 1.0 and scores["incidents"] == 1


def test_the_forecaster_falls_back_to_seasonal_naive_on_short_history_and_floors_at_zero():
    spec = catalog.get_model("cost_forecaster")
    frame = features.cost_daily_features(_costs_with_spike(days=21, spike_day=3), date(2026, 11, 30))
    forecaster = estimators.make(spec).fit(frame)
    assert forecaster.models == {}  # 21 days < min_history_days
    days = pd.Series(pd.date_range("2026-09-22", periods=7, freq="D"))
    grid = pd.DataFrame({"series_id": "1", "usage_date": days})
    predicted = forecaster.predict(grid)
    series = estimators.series_frame(frame)
    last_week = (
        series[series["series_id"] == "1"]
        .tail(7)
        .set_index(pd.to_datetime(series[series["series_id"] == "1"].tail(7)["usage_date"]).dt.dayofweek)
    )
    expected = [last_week.loc[d.dayofweek, "list_cost"] for d in days]
    assert predicted["forecast"].to_numpy() == pytest.approx(expected)
    assert (predicted["lower"] >= 0).all() and (predicted["lower"] <= predicted["upper"]).all()


def test_simulated_failures_and_durations_depend_on_what_is_known_before_a_run():
    jobs = pd.DataFrame(
        {"compute": ["JOB_CLUSTER", "SERVERLESS", "JOB_CLUSTER"], "weekday_only": [False, False, True],
         "period_h": [24, 24, 24]}
    )  # fmt: skip
    monday = 20430  # a Monday (epoch days: 1970-01-01 was a Thursday)
    job = np.array([0, 1, 2, 0])
    hours = np.array([2, 2, 14, 14])
    start = monday * 86_400_000_000 + hours * 3_600_000_000
    odds, volume = lakeflow.run_signals(7, jobs, job, start, monday)
    base = odds / np.where(odds >= 8, 8, 1)  # without a bad change
    assert base[0] == 2.0 and base[1] == 1.0 and base[3] == 1.0  # night start x2, serverless x0.5
    assert volume[2] > 1.0 > volume[0]  # Monday: the weekday-only job has Friday to Sunday, the daily one Sunday
