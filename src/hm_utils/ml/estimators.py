"""The estimators behind the models: fit on a training window, predict, and evaluate against a baseline.

Each class takes its :class:`~hm_utils.ml.catalog.ModelSpec` and works on pandas frames of its feature
table. `evaluate` returns the model's metrics and the same metrics of the model's baseline (prefixed
`baseline_`), computed on rows the model did not train on. No engine here: unit tests fit tiny models.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from hm_utils.ml import metrics
from hm_utils.ml.catalog import ModelSpec

ACCOUNT_SERIES = "account"
# Incident types whose days are true cost anomalies, and the SKU family they show in. Only cost_spike is an
# anomaly the detector must find (counts); a flag on the others' days is right but not required.
COST_INCIDENTS = {
    "cost_spike": ("MODEL_SERVING", True),
    "runaway_job": ("JOBS", False),
    "idle_cluster": ("ALL_PURPOSE", False),
    "oversized_cluster": ("ALL_PURPOSE", False),
}


@dataclass
class Estimator(ABC):
    """Base: a model spec, fitted state set by `fit`."""

    spec: ModelSpec
    # True when a forecast belongs to its series: on another account the method is refit on that account's
    # earlier days rather than the fitted model applied to it
    refit_per_account: ClassVar[bool] = False

    @abstractmethod
    def fit(self, train: pd.DataFrame) -> Estimator: ...

    @abstractmethod
    def predict(self, frame: pd.DataFrame) -> pd.DataFrame: ...

    @abstractmethod
    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]: ...

    def training_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of the feature table this model learns from (all by default)."""
        return frame

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[list(self.spec.features)].astype(float)

    def example_input(self, train: pd.DataFrame) -> pd.DataFrame:
        """A few rows of what `predict` takes (the signature of the logged model)."""
        return train[list(self.spec.features)].head(50).astype(float)


class JobFailurePredictor(Estimator):
    """Gradient-boosted trees (XGBoost) on the run's pre-start features → probability the run fails."""

    def fit(self, train: pd.DataFrame) -> JobFailurePredictor:
        from xgboost import XGBClassifier

        params = {k: v for k, v in self.spec.params.items() if k != "target_precision"}
        self.model = XGBClassifier(**params, n_jobs=2, random_state=0, eval_metric="aucpr")
        self.model.fit(self.matrix(train), train[self.spec.label].astype(int))
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"failure_probability": self.model.predict_proba(self.matrix(frame))[:, 1]})

    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]:
        labels = test[self.spec.label].astype(int)
        scores = self.predict(test)["failure_probability"]
        baseline = test["failed_last_run"].astype(float)
        precision = float(self.spec.params.get("target_precision", 0.5))
        return {
            "auc_pr": metrics.auc_pr(labels, scores),
            "baseline_auc_pr": metrics.auc_pr(labels, baseline),
            "recall_at_precision": metrics.recall_at_precision(labels, scores, precision),
            "baseline_recall_at_precision": metrics.recall_at_precision(labels, baseline, precision),
            "failure_rate": float(labels.mean()) if len(labels) else float("nan"),
            "rows": float(len(test)),
        }


class DurationPredictor(Estimator):
    """Quantile gradient boosting of log(duration / the job's earlier median): the median and the 90th percentile.

    Learning the ratio to the job's own median, not minutes, lets one model serve jobs of any length."""

    def training_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame["is_failure"] == 0) & frame["prior_median_minutes"].gt(0) & frame["duration_minutes"].gt(0)]

    def fit(self, train: pd.DataFrame) -> DurationPredictor:
        from sklearn.ensemble import HistGradientBoostingRegressor

        target = np.log(train[self.spec.label] / train["prior_median_minutes"])
        self.models = {
            quantile: HistGradientBoostingRegressor(
                loss="quantile", quantile=quantile, random_state=0, **self.spec.params
            ).fit(self.matrix(train), target)
            for quantile in (0.5, 0.9)
        }
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        base = frame["prior_median_minutes"].to_numpy(float)
        x = self.matrix(frame)
        return pd.DataFrame(
            {
                "expected_minutes": base * np.exp(self.models[0.5].predict(x)),
                "p90_minutes": base * np.exp(self.models[0.9].predict(x)),
            }
        )

    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]:
        test = self.training_rows(test)
        if test.empty:
            return {"mae_minutes": float("nan"), "baseline_mae_minutes": float("nan"), "rows": 0.0}
        predicted = self.predict(test)
        actual = test[self.spec.label].to_numpy(float)
        p90_base = test["prior_p90_minutes"].fillna(test["prior_median_minutes"])
        return {
            "mae_minutes": metrics.mae(actual, predicted["expected_minutes"]),
            "baseline_mae_minutes": metrics.mae(actual, test["prior_median_minutes"]),
            "p90_coverage": float(np.mean(actual <= predicted["p90_minutes"].to_numpy())),
            "baseline_p90_coverage": float(np.mean(actual <= p90_base.to_numpy())),
            "rows": float(len(test)),
        }


class CostAnomalyDetector(Estimator):
    """Isolation Forest over seasonal residual features of daily cost; flags only increases above a dollar floor.

    The operating threshold is the training scores' (1 - contamination) quantile."""

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Scale-free residuals only: the day against its weekday, its trailing mean and the day before (the
        level of a series is left out, or small series would look unusual for being small)."""
        cost = frame["list_cost"].astype(float).clip(lower=0)
        return pd.DataFrame(
            {
                "log_ratio_to_weekday": np.log(frame["ratio_to_weekday"].astype(float).clip(0.01, 100)),
                "zscore_28": frame["zscore_28"].astype(float).clip(-20, 20),
                "log_ratio_to_mean": np.log((cost + 1) / (frame["mean_28"].astype(float).clip(lower=0) + 1)),
                "log_ratio_to_lag_1": np.log((cost + 1) / (frame["lag_1"].astype(float).clip(lower=0) + 1)),
            },
            index=frame.index,
        )

    def training_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[self._eligible(frame)]

    def example_input(self, train: pd.DataFrame) -> pd.DataFrame:
        return train[list(dict.fromkeys([*self.spec.features, "list_cost", "history_days"]))].head(50).astype(float)

    def _eligible(self, frame: pd.DataFrame) -> pd.Series:
        return (frame["history_days"] >= int(self.spec.params["min_history_days"])) & (
            frame["list_cost"] >= float(self.spec.params["dollar_floor"])
        )

    def fit(self, train: pd.DataFrame) -> CostAnomalyDetector:
        from sklearn.ensemble import IsolationForest

        self.model = IsolationForest(
            n_estimators=int(self.spec.params["n_estimators"]), contamination="auto", random_state=0
        ).fit(self.matrix(train))
        scores = -self.model.score_samples(self.matrix(train))
        self.threshold = float(np.quantile(scores, 1 - float(self.spec.params["contamination"])))
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        scores = -self.model.score_samples(self.matrix(frame)) if len(frame) else np.array([])
        rising = frame["list_cost"].to_numpy(float) > frame["mean_28"].to_numpy(float)
        flagged = (scores > self.threshold) & rising & self._eligible(frame).to_numpy()
        return pd.DataFrame({"anomaly_score": scores, "is_anomaly": flagged})

    def baseline_flags(self, frame: pd.DataFrame) -> np.ndarray:
        return ((frame["zscore_28"] > float(self.spec.params["zscore_threshold"])) & self._eligible(frame)).to_numpy()

    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]:
        truth = cost_incident_days(incidents, test)
        model = metrics.detection_scores(_flag_rows(test, self.predict(test)["is_anomaly"].to_numpy()), truth, SCOPE)
        baseline = metrics.detection_scores(_flag_rows(test, self.baseline_flags(test)), truth, SCOPE)
        return {
            **model,
            **{f"baseline_{name}": value for name, value in baseline.items()},
            "incidents": float(truth["counts"].sum()),
        }


SCOPE = ["workspace_id", "sku_family"]


def _flag_rows(frame: pd.DataFrame, flags: np.ndarray) -> pd.DataFrame:
    return frame.loc[flags, SCOPE].assign(day=frame.loc[flags, "usage_date"])


def cost_incident_days(incidents: pd.DataFrame | None, window: pd.DataFrame) -> pd.DataFrame:
    """Ground-truth cost incidents that overlap the days of `window`: scope, first and last day, counts."""
    columns = [*SCOPE, "first_day", "last_day", "counts"]
    if incidents is None or incidents.empty or window.empty:
        return pd.DataFrame(columns=columns)
    rows = incidents[incidents["incident_type"].isin(COST_INCIDENTS)].copy()
    rows["sku_family"] = rows["incident_type"].map(lambda t: COST_INCIDENTS[t][0])
    rows["counts"] = rows["incident_type"].map(lambda t: COST_INCIDENTS[t][1])
    start = pd.to_datetime(rows["start_time"], utc=True).dt.tz_localize(None)  # UTC days, like usage_date
    end = pd.to_datetime(rows["end_time"], utc=True).dt.tz_localize(None)
    rows["first_day"] = start.dt.normalize()
    rows["last_day"] = (end - pd.Timedelta(microseconds=1)).dt.normalize()
    days = pd.to_datetime(window["usage_date"])
    rows = rows[(rows["last_day"] >= days.min()) & (rows["first_day"] <= days.max())]
    return rows[columns].reset_index(drop=True)


class CostForecaster(Estimator):
    """Prophet per series (each workspace's daily total and the account's) with weekly seasonality, trend and
    holidays; an 80% interval, floored at 0. A series shorter than min_history_days gets the seasonal naive
    forecast with an interval from its weekly residuals."""

    refit_per_account = True

    def example_input(self, train: pd.DataFrame) -> pd.DataFrame:
        return series_frame(train).head(5)[["series_id", "usage_date"]]

    def fit(self, train: pd.DataFrame) -> CostForecaster:
        series = series_frame(train)
        self.models, self.last_week = {}, {}
        for series_id, rows in series.groupby("series_id"):
            rows = rows.sort_values("usage_date")
            self.last_week[series_id] = rows.tail(7)[["usage_date", "list_cost"]].to_numpy()
            if len(rows) >= int(self.spec.params["min_history_days"]):
                self.models[series_id] = self._prophet(rows)
        self.end = series["usage_date"].max()
        return self

    def _prophet(self, rows: pd.DataFrame):
        from prophet import Prophet

        logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
        model = Prophet(
            interval_width=float(self.spec.params["interval_width"]),
            weekly_seasonality=True,
            yearly_seasonality=False,
            daily_seasonality=False,
            uncertainty_samples=200,
        )
        if self.spec.params.get("country_holidays"):
            model.add_country_holidays(country_name=self.spec.params["country_holidays"])
        return model.fit(rows.rename(columns={"usage_date": "ds", "list_cost": "y"})[["ds", "y"]])

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = []
        for series_id, rows in frame.assign(usage_date=pd.to_datetime(frame["usage_date"])).groupby(
            "series_id", sort=False
        ):
            naive = self.seasonal_naive(series_id, rows["usage_date"])
            if series_id in self.models:
                forecast = self.models[series_id].predict(pd.DataFrame({"ds": rows["usage_date"]}))
                part = pd.DataFrame(
                    {"forecast": forecast["yhat"], "lower": forecast["yhat_lower"], "upper": forecast["yhat_upper"]}
                )
            else:
                spread = np.std(self.last_week.get(series_id, np.zeros((1, 2)))[:, 1].astype(float)) * 1.28
                part = pd.DataFrame({"forecast": naive, "lower": naive - spread, "upper": naive + spread})
            part.index = rows.index
            out.append(part.clip(lower=0.0))
        result = pd.concat(out).reindex(frame.index) if out else pd.DataFrame(columns=["forecast", "lower", "upper"])
        return result.reset_index(drop=True)

    def seasonal_naive(self, series_id: str, days: pd.Series) -> np.ndarray:
        """The cost of the same weekday in the last week of training (0 for an unknown series)."""
        week = self.last_week.get(series_id)
        if week is None or not len(week):
            return np.zeros(len(days))
        by_weekday = {pd.Timestamp(day).dayofweek: float(cost) for day, cost in week}
        return np.array([by_weekday.get(pd.Timestamp(day).dayofweek, float(week[-1][1])) for day in days])

    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]:
        series = series_frame(test)
        if series.empty:
            return {"mape": float("nan"), "baseline_mape": float("nan"), "rows": 0.0}
        naive = np.concatenate(
            [self.seasonal_naive(s, rows["usage_date"]) for s, rows in series.groupby("series_id", sort=False)]
        )
        ordered = pd.concat([rows for _, rows in series.groupby("series_id", sort=False)])
        predicted = self.predict(ordered.reset_index(drop=True))
        account = (ordered["series_id"] == ACCOUNT_SERIES).to_numpy()
        actual = ordered["list_cost"].to_numpy(float)
        return {
            "mape": metrics.mape(actual, predicted["forecast"]),
            "baseline_mape": metrics.mape(actual, naive),
            "mape_account": metrics.mape(actual[account], predicted["forecast"].to_numpy()[account]),
            "baseline_mape_account": metrics.mape(actual[account], naive[account]),
            "interval_coverage": metrics.coverage(actual, predicted["lower"], predicted["upper"]),
            "rows": float(len(ordered)),
        }


def series_frame(features: pd.DataFrame) -> pd.DataFrame:
    """Daily list cost per workspace (series_id = workspace id) and for the account (series_id = 'account')."""
    if features.empty:
        return pd.DataFrame(columns=["series_id", "usage_date", "list_cost"])
    days = features.assign(usage_date=pd.to_datetime(features["usage_date"]))
    per_workspace = days.groupby(["workspace_id", "usage_date"], as_index=False)["list_cost"].sum()
    account = days.groupby("usage_date", as_index=False)["list_cost"].sum().assign(workspace_id=ACCOUNT_SERIES)
    both = pd.concat([per_workspace, account], ignore_index=True).rename(columns={"workspace_id": "series_id"})
    return both[["series_id", "usage_date", "list_cost"]]


class DbuDemandPredictor(Estimator):
    """Gradient boosting (absolute error) of the next `horizon_days` of DBUs per workspace and SKU family, from lags
    and the calendar (:func:`dbu_demand_pairs`). It learns the target as a share of the series' 28-day mean,
    weighted by that mean, so one model serves series of any size and minimises the MAE in DBUs."""

    refit_per_account = True

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        scale = frame["mean_28"].to_numpy(float)
        safe = np.where(scale > 0, scale, 1.0)
        return pd.DataFrame(
            {
                "horizon_days": frame["horizon_days"].astype(float),
                "day_of_week": frame["day_of_week"].astype(float),
                "history_days": frame["history_days"].clip(upper=DBU_LEVEL_DAYS).astype(float),
                "origin_ratio": frame["dbus_origin"].to_numpy(float) / safe,
                "mean_7_ratio": frame["mean_7"].to_numpy(float) / safe,
                "last_week_ratio": frame["same_weekday_last"].to_numpy(float) / safe,
                "weekday_median_ratio": frame["same_weekday_median"].to_numpy(float) / safe,
                "log_level": np.log10(safe),
            },
            index=frame.index,
        )

    def fit(self, train: pd.DataFrame) -> DbuDemandPredictor:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.history = train[[*DBU_KEYS, "usage_date", "dbus"]].copy()
        pairs = self.pairs(train)
        pairs = pairs[pairs["mean_28"] > 0]
        scale = pairs["mean_28"].to_numpy(float)
        settings = {k: v for k, v in self.spec.params.items() if k not in ("horizon_days", "min_history_days")}
        self.model = HistGradientBoostingRegressor(loss="absolute_error", random_state=0, **settings)
        with one_thread():
            self.model.fit(self.matrix(pairs), pairs["dbus"].to_numpy(float) / scale, sample_weight=scale)
        return self

    def example_input(self, train: pd.DataFrame) -> pd.DataFrame:
        return self.pairs(train).head(50)[DBU_INPUTS]

    def pairs(self, daily: pd.DataFrame, future: bool = False) -> pd.DataFrame:
        return dbu_demand_pairs(
            daily, int(self.spec.params["horizon_days"]), int(self.spec.params["min_history_days"]), future
        )

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame({"forecast_dbus": np.array([], float)})
        scale = frame["mean_28"].to_numpy(float)
        with one_thread():
            share = self.model.predict(self.matrix(frame))
        return pd.DataFrame({"forecast_dbus": np.where(scale > 0, scale * share, 0.0).clip(min=0.0)})

    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]:
        """Forecasts of the held-out days (targets the model never saw), made from what was known on each origin."""
        known = with_history(self.history, test[[*DBU_KEYS, "usage_date", "dbus"]], DBU_KEYS)
        pairs = self.pairs(known)
        pairs = pairs[pd.to_datetime(pairs["target_date"]).isin(pd.to_datetime(test["usage_date"]))]
        if pairs.empty:
            return {"mae_dbus": float("nan"), "baseline_mae_dbus": float("nan"), "rows": 0.0}
        actual = pairs["dbus"].to_numpy(float)
        forecast = self.predict(pairs)["forecast_dbus"].to_numpy()
        return {
            "mae_dbus": metrics.mae(actual, forecast),
            "baseline_mae_dbus": metrics.mae(actual, pairs["same_weekday_last"]),
            "wape": metrics.wape(actual, forecast),
            "baseline_wape": metrics.wape(actual, pairs["same_weekday_last"]),
            "rows": float(len(pairs)),
        }


def one_thread():
    """Limit OpenMP to one thread: on small data, scikit-learn's histogram boosting is many times slower when its
    threads compete for cores with other work than on one thread."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


DBU_KEYS = ["workspace_id", "sku_family"]
DBU_INPUTS = ["horizon_days", "day_of_week", "history_days", "dbus_origin", "mean_7", "mean_28", "same_weekday_last",
              "same_weekday_median"]  # fmt: skip
DBU_LEVEL_DAYS = 28


def with_history(history: pd.DataFrame, later: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """`history` (the training days a model kept) followed by `later`; a day in both keeps `later`'s row."""
    both = pd.concat([history, later], ignore_index=True)
    both["usage_date"] = pd.to_datetime(both["usage_date"])
    return both.drop_duplicates([*keys, "usage_date"], keep="last").sort_values([*keys, "usage_date"])


def dense_days(values: pd.Series) -> pd.Series:
    """A daily series indexed by day from its first to its last day, missing days 0."""
    values = values.sort_index()
    return values.reindex(pd.date_range(values.index.min(), values.index.max(), freq="D"), fill_value=0.0)


def dbu_demand_pairs(daily: pd.DataFrame, horizon: int, min_history: int, future: bool = False) -> pd.DataFrame:
    """One row per origin day, workspace x SKU family and horizon 1..`horizon`: what is known at the end of the
    origin day, and the target day's DBUs (the label).

    Known at the origin: its DBUs, the means of the 7 and 28 days up to it, the target weekday's DBUs a week
    before the target (the seasonal naive forecast; on or before the origin since the horizon is at most 7) and
    that weekday's median over the 4 weeks before the target. `future=False`: every pair whose target is in
    `daily` (training, evaluation); `future=True`: the pairs from each series' last day (scoring). Series without
    DBUs and origins with fewer than `min_history` earlier days are left out.
    """
    if horizon > 7:
        raise ValueError("horizon_days is at most 7: the seasonal naive lag must be known at the origin")
    frames = []
    days = daily.assign(usage_date=pd.to_datetime(daily["usage_date"]))
    for (workspace, family), rows in days.groupby(DBU_KEYS, sort=True):
        dbus = dense_days(rows.set_index("usage_date")["dbus"].astype(float))
        if not dbus.gt(0).any():
            continue
        origin = dbus.index
        history = np.arange(len(dbus))
        for step in range(1, horizon + 1):
            weeks = pd.concat([dbus.shift(7 * k - step) for k in range(1, 5)], axis=1)
            frames.append(
                pd.DataFrame(
                    {
                        "origin_date": origin,
                        "target_date": origin + pd.Timedelta(days=step),
                        "workspace_id": str(workspace),
                        "sku_family": str(family),
                        "horizon_days": step,
                        "day_of_week": (origin + pd.Timedelta(days=step)).dayofweek,
                        "history_days": history,
                        "dbus_origin": dbus.to_numpy(),
                        "mean_7": dbus.rolling(7, min_periods=1).mean().to_numpy(),
                        "mean_28": dbus.rolling(DBU_LEVEL_DAYS, min_periods=1).mean().to_numpy(),
                        "same_weekday_last": dbus.shift(7 - step).to_numpy(),
                        "same_weekday_median": weeks.median(axis=1).to_numpy(),
                        "dbus": dbus.shift(-step).to_numpy(),
                        "is_last_day": history == len(dbus) - 1,
                    }
                )
            )
    columns = ["origin_date", "target_date", *DBU_KEYS, "horizon_days", "day_of_week", "history_days",
               "dbus_origin", "mean_7", "mean_28", "same_weekday_last", "same_weekday_median", "dbus"]  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=columns)
    pairs = pd.concat(frames, ignore_index=True)
    pairs = pairs[(pairs["history_days"] >= min_history) & pairs["same_weekday_last"].notna()]
    pairs = pairs[pairs["is_last_day"]] if future else pairs[pairs["dbus"].notna()]
    return pairs[columns].sort_values(["origin_date", *DBU_KEYS, "horizon_days"]).reset_index(drop=True)


SPEND_OFFSET = 1.0  # currency units added before taking log ratios, so near-empty series stay finite
Z_80 = 1.2815515655446004  # the standard normal's 90th percentile: an 80% central interval


def weekday_means(values: pd.Series, weeks: int = 4) -> pd.DataFrame:
    """For each day of a dense daily series, the mean of each weekday's last `weeks` values up to and including
    that day (columns 0 = Monday .. 6); before a weekday has a value, the mean of all days so far."""
    running = values.expanding().mean()
    means = {}
    for weekday in range(7):
        same = values[values.index.dayofweek == weekday].rolling(weeks, min_periods=1).mean()
        means[weekday] = same.reindex(values.index).ffill().fillna(running)
    return pd.DataFrame(means, index=values.index)


def weekday_counts(day_of_week: np.ndarray, days_ahead: np.ndarray) -> np.ndarray:
    """(rows, 7): how many of the `days_ahead` days after a day of weekday `day_of_week` fall on each weekday."""
    day_of_week, days_ahead = np.asarray(day_of_week, int), np.asarray(days_ahead, int)
    counts = np.zeros((len(day_of_week), 7))
    for weekday in range(7):
        first = (weekday - day_of_week - 1) % 7 + 1
        counts[:, weekday] = np.where(days_ahead >= first, (days_ahead - first) // 7 + 1, 0)
    return counts


def expected_spend(means: pd.DataFrame, days_ahead) -> np.ndarray:
    """The spend expected over the next `days_ahead` days of each day: each weekday's recent mean x its count."""
    counts = weekday_counts(means.index.dayofweek.to_numpy(), np.broadcast_to(days_ahead, len(means)))
    return (means.to_numpy() * counts).sum(axis=1)


def spend_log_ratios(series: pd.DataFrame, min_history: int, max_days: int) -> pd.DataFrame:
    """Rolling-origin backtest of the weekday-mean expectation: for every series, origin with `min_history` days
    and horizon k <= `max_days` whose k days are in `series`, log((actual + offset) / (expected + offset))."""
    out = []
    for _, rows in series.groupby("series_id", sort=True):
        cost = dense_days(rows.set_index(pd.to_datetime(rows["usage_date"]))["list_cost"].astype(float))
        means = weekday_means(cost)
        total = np.concatenate([[0.0], np.cumsum(cost.to_numpy())])
        n = len(cost)
        for days in range(1, max_days + 1):
            origins = np.arange(min_history - 1, n - days)
            if not len(origins):
                break
            actual = total[origins + 1 + days] - total[origins + 1]
            expected = expected_spend(means.iloc[origins], days)
            ratio = np.log((actual + SPEND_OFFSET) / (expected + SPEND_OFFSET))
            out.append(pd.DataFrame({"days": days, "log_ratio": ratio}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["days", "log_ratio"])


class SpendDistribution(Estimator):
    """Base of the models that need the distribution of the spend of the next k days: the weekday-mean
    expectation of the last 4 weeks times a log-normal error whose mean and spread per horizon k are fitted on a
    rolling-origin backtest of the training days (horizons without enough backtest use the longest one fitted;
    without any, `fallback_sigma`)."""

    refit_per_account = True
    MIN_SAMPLES = 10  # backtest ratios a horizon needs for its own mean and spread
    max_days = 31  # longest horizon fitted (a month's remaining days)

    def fit(self, train: pd.DataFrame) -> SpendDistribution:
        self.history = series_frame(train)
        ratios = spend_log_ratios(self.history, int(self.spec.params["min_history_days"]), self.max_days)
        stats = ratios.groupby("days")["log_ratio"].agg(["mean", "std", "count"]) if len(ratios) else None
        floor = float(self.spec.params["min_sigma"])
        self.spread = {}
        if stats is not None:
            for days, row in stats[stats["count"] >= self.MIN_SAMPLES].iterrows():
                self.spread[int(days)] = (float(row["mean"]), max(float(row["std"]), floor))
        return self

    def log_normal(self, days) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of log((spend + offset) / (expected + offset)) for horizons `days`."""
        days = np.asarray(days, int)
        if not self.spread:
            fallback = float(self.spec.params["fallback_sigma"])
            return np.zeros(len(days)), np.full(len(days), fallback)
        fitted = np.array(sorted(self.spread))
        nearest = fitted[np.clip(np.searchsorted(fitted, days), 0, len(fitted) - 1)]
        nearest = np.where(days > fitted.max(), fitted.max(), nearest)
        return (
            np.array([self.spread[d][0] for d in nearest]),
            np.array([self.spread[d][1] for d in nearest]),
        )

    def known(self, test: pd.DataFrame) -> pd.DataFrame:
        """The training days followed by the evaluated days (what was known on each evaluated day)."""
        return with_history(self.history, series_frame(test), ["series_id"])


def month_progress(series: pd.DataFrame) -> pd.DataFrame:
    """One row per series and day (the as-of day) of its calendar month so far, from what is known that day:
    month-to-date spend, days remaining, the expected spend of the remaining days (weekday means of the last 4
    weeks), the usual month (mean daily spend of the 28 days before the month x its days; without days before
    the month, the run rate so far), the run-rate projection (the baseline), and the month's actual total
    (the label: NaN unless the whole month is in `series`)."""
    out = []
    for series_id, rows in series.groupby("series_id", sort=True):
        cost = dense_days(rows.set_index(pd.to_datetime(rows["usage_date"]))["list_cost"].astype(float))
        days = cost.index
        month = days.to_period("M")
        start, end = month.start_time, month.end_time.normalize()
        in_month = np.asarray(days.days_in_month, float)
        to_date = cost.groupby(month).cumsum()
        elapsed = np.minimum((days - start).days, (days - days.min()).days) + 1
        remaining = np.asarray((end - days).days)
        run_rate = to_date.to_numpy() / np.asarray(elapsed) * in_month
        before = cost.shift(1).rolling(28, min_periods=1).mean().where(days == start)
        usual = before.groupby(month).transform("first").to_numpy() * in_month
        whole = (start >= days.min()) & (end <= days.max())
        total = cost.groupby(month).transform("sum").where(whole)
        out.append(
            pd.DataFrame(
                {
                    "series_id": series_id,
                    "as_of_date": days,
                    "month_start": start,
                    "days_remaining": remaining,
                    "month_to_date_cost": to_date.to_numpy(),
                    "expected_remaining_cost": expected_spend(weekday_means(cost), remaining),
                    "usual_month_cost": np.where(np.isnan(usual), run_rate, usual),
                    "run_rate_month_cost": run_rate,
                    "month_end_cost": total.to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


class BudgetAlertModel(SpendDistribution):
    """Probability that a workspace's (or the account's) month ends over its budget: month-to-date spend plus the
    log-normal forecast of the remaining days (see :class:`SpendDistribution`), P(month end > budget)."""

    def example_input(self, train: pd.DataFrame) -> pd.DataFrame:
        progress = month_progress(series_frame(train)).head(50)
        budget = (1 + float(self.spec.params["default_budget_headroom"])) * progress["usual_month_cost"]
        return progress.assign(budget=budget)[
            ["month_to_date_cost", "expected_remaining_cost", "days_remaining", "budget"]
        ]

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame`: month_to_date_cost, expected_remaining_cost, days_remaining, budget (one row per case)."""
        from scipy.stats import norm

        spent = frame["month_to_date_cost"].to_numpy(float)
        expected = frame["expected_remaining_cost"].to_numpy(float) + SPEND_OFFSET
        remaining = frame["days_remaining"].to_numpy(int)
        budget = frame["budget"].to_numpy(float)
        mean, sigma = self.log_normal(np.maximum(remaining, 1))
        room = budget - spent
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.maximum(room + SPEND_OFFSET, 1e-12) / expected) - mean) / sigma
        probability = np.where(room <= 0, 1.0, norm.sf(z))
        closed = remaining <= 0
        probability = np.where(closed, (spent > budget).astype(float), probability)

        def month_end(shift: float) -> np.ndarray:
            rest = np.maximum(expected * np.exp(mean + shift) - SPEND_OFFSET, 0.0)
            return spent + np.where(closed, 0.0, rest)

        return pd.DataFrame(
            {
                "breach_probability": probability,
                "expected_month_end_cost": month_end(sigma**2 / 2),
                "lower_month_end_cost": month_end(-Z_80 * sigma),
                "upper_month_end_cost": month_end(Z_80 * sigma),
            }
        )

    def simulated_budgets(self, progress: pd.DataFrame) -> pd.DataFrame:
        """The evaluation's budgets: each of `simulated_budget_factors` x the usual month (known before the month)."""
        factors = [float(f) for f in self.spec.params["simulated_budget_factors"]]
        cases = pd.concat([progress.assign(budget=f * progress["usual_month_cost"]) for f in factors])
        return cases[cases["budget"] > 0].reset_index(drop=True)

    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]:
        """Calibration (Brier) and breach recall, on every held-out day of a whole month and each simulated
        budget, against the run-rate rule (breach when month-to-date / days elapsed x days in month > budget)."""
        progress = month_progress(self.known(test))
        evaluated = pd.to_datetime(test["usage_date"]).unique() if len(test) else []
        rows = progress[
            progress["as_of_date"].isin(evaluated) & progress["month_end_cost"].notna() & progress["days_remaining"].gt(0)
        ] if len(progress) else progress  # fmt: skip
        if rows.empty:
            return {"brier": float("nan"), "baseline_brier": float("nan"), "rows": 0.0}
        cases = self.simulated_budgets(rows)
        breached = (cases["month_end_cost"] > cases["budget"]).to_numpy()
        probability = self.predict(cases)["breach_probability"].to_numpy()
        rule = (cases["run_rate_month_cost"] > cases["budget"]).to_numpy(float)
        return {
            "brier": metrics.brier(breached, probability),
            "baseline_brier": metrics.brier(breached, rule),
            "breach_recall": metrics.recall(breached, probability >= 0.5),
            "baseline_breach_recall": metrics.recall(breached, rule >= 0.5),
            "breach_precision": metrics.precision(breached, probability >= 0.5),
            "baseline_breach_precision": metrics.precision(breached, rule >= 0.5),
            "breach_rate": float(breached.mean()),
            "rows": float(len(cases)),
        }


def commitment_cost(commit, usage, discount: float) -> np.ndarray:
    """What a period costs with a commitment of `commit` (list-price spend, paid at (1 - discount) whether used or
    not) when the usage at list price is `usage`: usage beyond the commitment is paid at list price."""
    commit, usage = np.asarray(commit, float), np.asarray(usage, float)
    return (1 - discount) * commit + np.maximum(usage - commit, 0.0)


def optimal_commitment(samples, discount: float) -> tuple[float, float]:
    """(commit, expected cost): the commit level with the lowest expected cost over equally likely usage samples.

    The expected cost is piecewise linear in the commit with breaks at the samples, so its minimum is at 0 or at a
    sample (the `discount` quantile of the usage: the classic newsvendor answer)."""
    samples = np.sort(np.asarray(samples, float))
    candidates = np.concatenate([[0.0], samples])
    costs = commitment_cost(candidates[:, None], samples[None, :], discount).mean(axis=1)
    best = int(np.argmin(costs))
    return float(candidates[best]), float(costs[best])


def commitment_periods(series: pd.DataFrame, period_days: int, min_history: int) -> pd.DataFrame:
    """One row per series and origin day with `min_history` days: the expected spend of the next `period_days`
    (weekday means of the last 4 weeks), the spend of the last `period_days` (the baseline's commitment; scaled
    from the days there are when fewer), and the actual spend of the period (NaN when it is not all in `series`)."""
    out = []
    for series_id, rows in series.groupby("series_id", sort=True):
        cost = dense_days(rows.set_index(pd.to_datetime(rows["usage_date"]))["list_cost"].astype(float))
        total = np.concatenate([[0.0], np.cumsum(cost.to_numpy())])
        n = len(cost)
        origin = np.arange(n)
        ahead = np.where(
            origin + period_days < n, total[np.minimum(origin + 1 + period_days, n)] - total[origin + 1], np.nan
        )
        seen = np.minimum(origin + 1, period_days)
        last_period = (total[origin + 1] - total[origin + 1 - seen]) / seen * period_days
        out.append(
            pd.DataFrame(
                {
                    "series_id": series_id,
                    "origin_date": cost.index,
                    "period_end": cost.index + pd.Timedelta(days=period_days),
                    "history_days": origin + 1,
                    "expected_period_cost": expected_spend(weekday_means(cost), period_days),
                    "last_period_cost": last_period,
                    "period_cost": ahead,
                }
            )
        )
    frame = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["history_days"])
    return frame[frame["history_days"] >= min_history].reset_index(drop=True)


class CommitmentRecommender(SpendDistribution):
    """The commitment (list-price spend of the next `period_days`, bought at `discount`) with the lowest expected
    cost over the forecast distribution of the period's spend (see :class:`SpendDistribution`), and its expected
    savings against pay-as-you-go."""

    QUANTILES = 200

    @property
    def max_days(self) -> int:
        return int(self.spec.params["period_days"])

    def spend_samples(self, expected: np.ndarray) -> np.ndarray:
        """(rows, QUANTILES): equally likely spends of the period (quantiles of its log-normal forecast)."""
        from scipy.stats import norm

        mean, sigma = self.log_normal(np.full(len(expected), self.max_days))
        z = norm.ppf((np.arange(self.QUANTILES) + 0.5) / self.QUANTILES)
        base = np.asarray(expected, float)[:, None] + SPEND_OFFSET
        return np.maximum(base * np.exp(mean[:, None] + sigma[:, None] * z[None, :]) - SPEND_OFFSET, 0.0)

    def example_input(self, train: pd.DataFrame) -> pd.DataFrame:
        return self.periods(series_frame(train)).head(20)[["expected_period_cost"]]

    def periods(self, series: pd.DataFrame) -> pd.DataFrame:
        return commitment_periods(series, self.max_days, int(self.spec.params["min_history_days"]))

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame`: expected_period_cost (the weekday-mean expectation of the period's spend), one row per series."""
        discount = float(self.spec.params["discount"])
        samples = self.spend_samples(frame["expected_period_cost"].to_numpy(float))
        best = [optimal_commitment(row, discount) for row in samples]
        spend = samples.mean(axis=1)
        committed = np.array([cost for _, cost in best])
        return pd.DataFrame(
            {
                "recommended_commit": [commit for commit, _ in best],
                "expected_spend": spend,
                "spend_p10": np.quantile(samples, 0.1, axis=1),
                "spend_p90": np.quantile(samples, 0.9, axis=1),
                "expected_cost_committed": committed,
                "expected_savings": spend - committed,
            }
        )

    def evaluate(self, test: pd.DataFrame, incidents: pd.DataFrame | None = None) -> dict[str, float]:
        """Backtest: every period that ends on a held-out day, committed from what was known at its start; the
        realised savings against pay-as-you-go, and those of committing last period's spend (the baseline)."""
        periods = self.periods(self.known(test))
        evaluated = pd.to_datetime(test["usage_date"]).unique() if len(test) else []
        rows = (
            periods[periods["period_end"].isin(evaluated) & periods["period_cost"].notna()] if len(periods) else periods
        )
        if rows.empty:
            return {"savings_pct": float("nan"), "baseline_savings_pct": float("nan"), "rows": 0.0}
        discount = float(self.spec.params["discount"])
        actual = rows["period_cost"].to_numpy(float)
        predicted = self.predict(rows)
        paid = commitment_cost(predicted["recommended_commit"], actual, discount)
        paid_baseline = commitment_cost(rows["last_period_cost"], actual, discount)
        return {
            "savings_pct": metrics.savings_pct(actual, paid),
            "baseline_savings_pct": metrics.savings_pct(actual, paid_baseline),
            "expected_savings_pct": metrics.savings_pct(
                predicted["expected_spend"], predicted["expected_cost_committed"]
            ),
            "best_savings_pct": metrics.savings_pct(actual, commitment_cost(actual, actual, discount)),
            "rows": float(len(rows)),
        }


ESTIMATORS = {
    cls.__name__: cls
    for cls in (
        JobFailurePredictor,
        DurationPredictor,
        CostAnomalyDetector,
        CostForecaster,
        DbuDemandPredictor,
        BudgetAlertModel,
        CommitmentRecommender,
    )
}


def make(spec: ModelSpec) -> Estimator:
    """A fresh estimator for a model spec."""
    return ESTIMATORS[spec.estimator](spec)


def split_by_time(frame: pd.DataFrame, time_column: str, holdout_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): test is the last `holdout_days` days of the table (at most a third of its days, so a short
    history still trains on two thirds), train every earlier row."""
    days = pd.to_datetime(frame[time_column]).dt.normalize()
    if days.empty:
        return frame, frame
    span = (days.max() - days.min()).days + 1
    cut = days.max() - pd.Timedelta(days=min(holdout_days, max(1, span // 3)) - 1)
    return frame[days < cut], frame[days >= cut]
