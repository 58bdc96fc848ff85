"""The estimators behind the models: fit on a training window, predict, and evaluate against a baseline.

Each class takes its :class:`~hm_utils.ml.catalog.ModelSpec` and works on pandas frames of its feature
table. `evaluate` returns the model's metrics and the same metrics of the model's baseline (prefixed
`baseline_`), computed on rows the model did not train on. No engine here: unit tests fit tiny models.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

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


ESTIMATORS = {
    cls.__name__: cls for cls in (JobFailurePredictor, DurationPredictor, CostAnomalyDetector, CostForecaster)
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
