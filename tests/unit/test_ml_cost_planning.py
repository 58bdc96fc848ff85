"""The DBU demand predictor, the budget alert model and the commitment recommender on tiny synthetic data: each
does what it claims, against hand-computed answers and its baseline."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from hm_utils import config as config_module
from hm_utils.errors import ConfigError
from hm_utils.ml import catalog, estimators, features, metrics, scoring


def _daily(days: int = 112, start: str = "2026-08-03", trend: float = 0.0, noise: float = 0.1) -> pd.DataFrame:
    """Cost features of two workspaces x two SKU families with a strong weekday pattern (weekdays 1.5x)."""
    dates = pd.date_range(start, periods=days, freq="D")
    rng = np.random.default_rng(3)
    rows = []
    for workspace in ("1", "2"):
        for family, level in (("JOBS", 100.0), ("SQL", 30.0)):
            dbus = level * (1 + 0.5 * (dates.dayofweek < 5)) * (1 + trend * np.arange(days))
            dbus = dbus * np.exp(rng.normal(0, noise, days))
            rows.append(
                pd.DataFrame(
                    {
                        "usage_date": dates.date,
                        "workspace_id": workspace,
                        "sku_family": family,
                        "list_cost": 0.5 * dbus,
                        "dbus": dbus,
                    }
                )  # fmt: skip
            )
    return features.cost_daily_features(pd.concat(rows), dates[-1].date())


def _fitted(name: str, frame: pd.DataFrame):
    spec = catalog.get_model(name)
    train, test = estimators.split_by_time(frame, "usage_date", spec.holdout_days)
    model = estimators.make(spec)
    return model.fit(model.training_rows(train)), test


def test_dbu_demand_beats_seasonal_naive_on_a_noisy_weekly_series():
    model, test = _fitted("dbu_demand_predictor", _daily())
    scores = model.evaluate(test)
    assert scores["rows"] == 4 * 28 * 7  # every held-out day of each series, forecast 1 to 7 days ahead
    assert scores["mae_dbus"] < scores["baseline_mae_dbus"]
    assert scores["baseline_mae_dbus"] == pytest.approx(_seasonal_naive_mae(test, model.history), rel=1e-9), (
        "the baseline is the same weekday a week before, recomputed here"
    )


def _seasonal_naive_mae(test: pd.DataFrame, history: pd.DataFrame) -> float:
    both = pd.concat([history, test[history.columns]]).assign(usage_date=lambda f: pd.to_datetime(f["usage_date"]))
    week_before = both.assign(usage_date=both["usage_date"] + pd.Timedelta(days=7)).rename(columns={"dbus": "naive"})
    held = test.assign(usage_date=pd.to_datetime(test["usage_date"]))
    joined = held.merge(week_before, on=["workspace_id", "sku_family", "usage_date"])
    # each held-out day is forecast from 7 origins, each with the same naive value
    return float((joined["dbus"] - joined["naive"]).abs().mean())


def test_dbu_forecasts_cover_the_next_days_from_the_last_day_only():
    frame = _daily(days=40)
    model = estimators.make(catalog.get_model("dbu_demand_predictor")).fit(frame)
    out = scoring.dbu_demand(model, frame)
    assert len(out) == 4 * 7
    assert sorted(out["forecast_date"].unique()) == [date(2026, 9, 12) + pd.Timedelta(days=d) for d in range(7)]
    assert (out["forecast_dbus"] >= 0).all()
    weekday = out[pd.to_datetime(out["forecast_date"]).dt.dayofweek < 5]["forecast_dbus"].mean()
    weekend = out[pd.to_datetime(out["forecast_date"]).dt.dayofweek >= 5]["forecast_dbus"].mean()
    assert weekday > 1.2 * weekend, "the weekly pattern is learned"


def test_dbu_pairs_are_point_in_time():
    frame = _daily(days=40)
    origin = pd.Timestamp("2026-08-30")
    altered = frame.copy()
    altered.loc[pd.to_datetime(altered["usage_date"]) > origin, "dbus"] *= 10
    before = estimators.dbu_demand_pairs(frame, 7, 7)
    after = estimators.dbu_demand_pairs(altered, 7, 7)
    known = before["origin_date"] <= origin
    inputs = estimators.DBU_INPUTS
    pd.testing.assert_frame_equal(before.loc[known, inputs], after.loc[known, inputs])
    assert not before.loc[known, "dbus"].equals(after.loc[known, "dbus"]), "only the labels of later days moved"


def test_brier_score_on_a_hand_case():
    assert metrics.brier([1, 0, 1], [0.9, 0.2, 0.5]) == pytest.approx((0.01 + 0.04 + 0.25) / 3)
    assert metrics.brier([1, 0], [1.0, 0.0]) == 0.0


def test_month_progress_on_a_constant_series():
    series = pd.DataFrame(
        {"series_id": "a", "usage_date": pd.date_range("2026-09-01", "2026-10-31"), "list_cost": 10.0}
    )
    progress = estimators.month_progress(series).set_index("as_of_date")
    day = progress.loc[pd.Timestamp("2026-10-10")]
    assert day["month_to_date_cost"] == pytest.approx(100.0)
    assert day["days_remaining"] == 21
    assert day["expected_remaining_cost"] == pytest.approx(210.0)
    assert day["usual_month_cost"] == pytest.approx(310.0)  # 28 days before October at 10 a day x 31 days
    assert day["month_end_cost"] == pytest.approx(310.0)
    assert progress.loc[pd.Timestamp("2026-09-05"), "usual_month_cost"] == pytest.approx(300.0)  # run rate
    assert progress.loc[pd.Timestamp("2026-09-05"), "month_end_cost"] == pytest.approx(300.0)


def test_a_series_trending_over_its_budget_is_more_likely_to_breach_than_one_under():
    model, _ = _fitted("budget_alert_model", _daily())
    days = pd.date_range("2026-11-01", "2026-11-20")
    flat = pd.DataFrame({"series_id": "flat", "usage_date": days, "list_cost": 100.0})
    rising = pd.DataFrame({"series_id": "rising", "usage_date": days, "list_cost": 100.0 + 10.0 * np.arange(20)})
    progress = estimators.month_progress(pd.concat([flat, rising]))
    latest = progress[progress["as_of_date"] == days[-1]].assign(budget=3500.0).set_index("series_id")
    predicted = model.predict(latest).set_index(latest.index)
    # flat ends near 3000, rising near 2000 + 10 x 290 x ... well over 3500
    assert predicted.loc["rising", "breach_probability"] > 0.9
    assert predicted.loc["flat", "breach_probability"] < 0.1
    over = latest.assign(budget=latest["month_to_date_cost"] - 1)
    assert (model.predict(over)["breach_probability"] == 1.0).all(), "already over budget"
    lower, upper = predicted["lower_month_end_cost"], predicted["upper_month_end_cost"]
    assert (lower <= predicted["expected_month_end_cost"]).all() and (
        predicted["expected_month_end_cost"] <= upper
    ).all()


def test_the_budget_model_is_scored_on_simulated_budgets_of_whole_months():
    model, test = _fitted("budget_alert_model", _daily(days=120, trend=0.004))
    scores = model.evaluate(test)
    factors = catalog.get_model("budget_alert_model").params["simulated_budget_factors"]
    assert scores["rows"] > 0 and scores["rows"] % len(factors) == 0
    assert 0 <= scores["brier"] <= 1 and 0 <= scores["baseline_brier"] <= 1
    assert 0 < scores["breach_rate"] < 1, "some simulated budgets are breached, some not"
    assert scores["brier"] < scores["baseline_brier"], "a probability beats the hard run-rate rule on a trend"


def test_budgets_come_from_params_or_the_default_headroom():
    frame = _daily(days=70)
    model = estimators.make(catalog.get_model("budget_alert_model")).fit(frame)
    out = scoring.budget_breach(model, frame, {"1": 1234.0}).set_index("workspace_id")
    assert set(out.index) == {"1", "2", "account"}
    assert out.loc["1", "budget"] == 1234.0 and out.loc["1", "budget_source"] == "params"
    progress = estimators.month_progress(estimators.series_frame(frame))
    usual = progress[progress["series_id"] == "2"]["usual_month_cost"].iloc[-1]
    assert out.loc["2", "budget"] == pytest.approx(1.1 * usual) and out.loc["2", "budget_source"] == "default"


@pytest.mark.parametrize(("discount", "commit", "cost"), [(0.25, 80.0, 80.0), (0.5, 100.0, 170 / 3), (0.0, 0.0, 100.0)])
def test_the_commitment_is_the_hand_computed_optimum(discount, commit, cost):
    # usage 80, 100 or 120, equally likely; cost(C) = (1 - d) C + E[max(U - C, 0)]
    # d = 0.25: C=80 -> 60 + 20 = 80, C=100 -> 75 + 6.67, C=120 -> 90, C=0 -> 100 (pay as you go)
    # d = 0.5: C=80 -> 40 + 20 = 60, C=100 -> 50 + 6.67 = 56.67, C=120 -> 60
    best, expected = estimators.optimal_commitment([120, 80, 100], discount)
    assert (best, expected) == (commit, pytest.approx(cost))
    assert 100.0 - expected == pytest.approx(100.0 - cost), "savings against pay as you go (mean usage 100)"


def test_the_commitment_backtest_reports_savings_against_pay_as_you_go_and_the_baseline():
    model, test = _fitted("commitment_recommender", _daily(days=120))
    scores = model.evaluate(test)
    assert scores["rows"] > 0
    discount = catalog.get_model("commitment_recommender").params["discount"]
    assert scores["best_savings_pct"] == pytest.approx(discount * 100)
    assert scores["baseline_savings_pct"] < scores["savings_pct"] <= scores["best_savings_pct"]
    frame = _daily(days=60)
    out = scoring.commitment(model, frame)
    assert set(out["workspace_id"]) == {"1", "2", "account"}
    assert (out["recommended_commit"] <= out["spend_p90"]).all()
    assert (out["expected_savings"] >= 0).all(), "committing nothing is always an option"


def test_model_params_overrides_come_from_params_and_unknown_ones_are_refused():
    spec = catalog.get_model("commitment_recommender")
    config = config_module.load("ci", {"ml.model_params": {"commitment_recommender": {"discount": 0.35}}})
    assert catalog.configured(spec, config).params["discount"] == 0.35
    wrong = config_module.load("ci", {"ml.model_params": {"commitment_recommender": {"discont": 0.35}}})
    with pytest.raises(ConfigError, match="discont"):
        catalog.configured(spec, wrong)


@pytest.mark.parametrize("name", ["dbu_demand_predictor", "budget_alert_model", "commitment_recommender"])
def test_each_model_trains_registers_and_scores_against_its_baseline(tmp_path, name):
    from hm_utils.ml import tracking, training

    config = config_module.load("ci").with_overrides({"paths.home": str(tmp_path / "home")})
    frame = _daily(days=120, trend=0.002)
    result = training.train_model(config, catalog.get_model(name), frame)
    assert result.alias == tracking.CHAMPION and result.test_rows > 0
    assert not np.isnan(result.score) and not np.isnan(result.baseline_score)
    rows = training.evaluation_rows([result], "synthetic")
    primary = rows[rows["is_primary"]].iloc[0]
    assert primary["metric"] == result.metric and primary["baseline_value"] == result.baseline_score
    assert primary["beats_baseline"] == result.beats_baseline
    champion, version = tracking.load_champion(config, name)
    assert version == result.version and type(champion).__name__ == catalog.get_model(name).estimator
