"""Batch scoring: the champion of every model writes its predictions into the ML schema.

Job models score each job's *next* run: a run planned one usual gap after the job's latest start, with the
features the job's history gives it (the same feature code as training). The anomaly detector scores every
day of the feature table; the forecaster's method is refit on all history and forecasts the next horizon.
The DBU demand predictor forecasts the days after the last complete day from all history; the budget and
commitment models apply their fitted spend distribution to the current month and to the next period.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hm_utils.config import Config
from hm_utils.ml import catalog, estimators, features, tracking

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

NEXT_RUN_ID = "next"


@dataclass(frozen=True)
class ScoreResult:
    model: str
    version: str
    table: str
    rows: int
    seconds: float


def next_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Feature rows of each job's next run: one usual gap (median start-to-start) after its latest start, on
    the compute and trigger of its latest run. Jobs with fewer than two completed runs are left out."""
    done = runs[runs["is_completed"].astype(bool)].copy()
    done["start_time"] = pd.to_datetime(done["start_time"])
    done = done.sort_values("start_time")
    grouped = done.groupby(["workspace_id", "job_id"], sort=False)
    gap = grouped["start_time"].agg(lambda s: s.diff().median())
    latest = grouped.tail(1).set_index(["workspace_id", "job_id"])
    latest = latest[gap.reindex(latest.index).notna()]
    planned = latest["start_time"] + gap.reindex(latest.index)
    planned = planned.where(
        planned > latest["end_time"].astype("datetime64[us]"), latest["end_time"] + pd.Timedelta(1, "s")
    )
    upcoming = latest.reset_index().assign(
        run_id=NEXT_RUN_ID,
        start_time=planned.to_numpy(),
        end_time=planned.to_numpy(),
        run_date=pd.to_datetime(planned.to_numpy()).date,
        duration_seconds=0,
        is_failure=False,
        is_success=False,
        trigger_type=latest["trigger_type"].replace({"ONETIME": "CRON", "ONETIME_RETRY": "CRON"}).to_numpy(),
    )
    rows = features.job_run_features(pd.concat([done, upcoming], ignore_index=True))
    return rows[rows["run_id"] == NEXT_RUN_ID].reset_index(drop=True)


def _stamp(frame: pd.DataFrame, model: str, version: str, scored_at: datetime) -> pd.DataFrame:
    return frame.assign(model_name=model, model_version=version, scored_at=scored_at)


def failure_risk(estimator, upcoming: pd.DataFrame, last_end: pd.Series) -> pd.DataFrame:
    probability = estimator.predict(upcoming)["failure_probability"].to_numpy()
    return upcoming[["workspace_id", "job_id", "prior_runs", "recent_failure_rate", "failed_last_run"]].assign(
        failure_probability=probability,
        risk_band=np.where(probability >= 0.5, "high", np.where(probability >= 0.2, "medium", "low")),
        last_run_end=last_end.to_numpy(),
    )


def duration_forecast(estimator, upcoming: pd.DataFrame) -> pd.DataFrame:
    known = upcoming[upcoming["prior_median_minutes"].gt(0)].reset_index(drop=True)
    return pd.concat([known[["workspace_id", "job_id", "prior_median_minutes", "last_minutes", "prior_runs"]],
                      estimator.predict(known)], axis=1)  # fmt: skip


def cost_anomalies(estimator, daily: pd.DataFrame) -> pd.DataFrame:
    scored = estimator.predict(daily)
    return daily[["usage_date", "workspace_id", "sku_family", "list_cost", "zscore_28"]].assign(
        expected_cost=daily["same_weekday_median"].to_numpy(),
        anomaly_score=scored["anomaly_score"].to_numpy(),
        is_anomaly=scored["is_anomaly"].to_numpy(),
    )


def cost_forecast(estimator, daily: pd.DataFrame) -> pd.DataFrame:
    refit = estimators.make(estimator.spec).fit(daily)
    horizon = int(estimator.spec.params["horizon_days"])
    days = pd.date_range(refit.end + pd.Timedelta(days=1), periods=horizon, freq="D")
    series = sorted(estimators.series_frame(daily)["series_id"].unique())
    grid = pd.DataFrame([(s, d) for s in series for d in days], columns=["series_id", "usage_date"])
    predicted = refit.predict(grid)
    return pd.DataFrame(
        {
            "forecast_date": grid["usage_date"].dt.date,
            "workspace_id": grid["series_id"],
            "forecast_cost": predicted["forecast"],
            "lower_cost": predicted["lower"],
            "upper_cost": predicted["upper"],
        }
    )


def dbu_demand(estimator, daily: pd.DataFrame) -> pd.DataFrame:
    pairs = estimator.pairs(daily, future=True)
    return pd.DataFrame(
        {
            "forecast_date": pd.to_datetime(pairs["target_date"]).dt.date,
            "workspace_id": pairs["workspace_id"],
            "sku_family": pairs["sku_family"],
            "horizon_days": pairs["horizon_days"],
            "forecast_dbus": estimator.predict(pairs)["forecast_dbus"].to_numpy(),
            "seasonal_naive_dbus": pairs["same_weekday_last"],
            "recent_mean_dbus": pairs["mean_7"],
        }
    )


def budget_breach(estimator, daily: pd.DataFrame, budgets: dict | None) -> pd.DataFrame:
    """The month of the last complete day per series, against its budget from params (`ml.budgets`, by workspace
    id or 'account') or else the default: (1 + default_budget_headroom) x the series' usual month."""
    progress = estimators.month_progress(estimators.series_frame(daily))
    if progress.empty:
        return pd.DataFrame()
    latest = progress.sort_values("as_of_date").groupby("series_id").tail(1).reset_index(drop=True)
    given = {str(key): float(value) for key, value in (budgets or {}).items()}
    unknown = sorted(set(given) - set(latest["series_id"]))
    if unknown:
        log.warning("ml.budgets names %s, which have no spend in the account; ignored", unknown)
    budget = latest["series_id"].map(given)
    headroom = float(estimator.spec.params["default_budget_headroom"])
    latest = latest.assign(
        budget=budget.fillna((1 + headroom) * latest["usual_month_cost"]),
        budget_source=np.where(budget.notna(), "params", "default"),
    )
    predicted = estimator.predict(latest)
    return (
        pd.concat(
            [
                latest[["series_id", "as_of_date", "days_remaining", "month_to_date_cost", "budget", "budget_source"]],
                predicted,
            ],
            axis=1,
        )
        .assign(
            month_start=latest["month_start"].dt.date,
            as_of_date=latest["as_of_date"].dt.date,
        )
        .rename(columns={"series_id": "workspace_id"})
    )


def commitment(estimator, daily: pd.DataFrame) -> pd.DataFrame:
    """The commitment for the period after the last complete day, per series."""
    periods = estimator.periods(estimators.series_frame(daily))
    if periods.empty:
        return pd.DataFrame()
    latest = periods.sort_values("origin_date").groupby("series_id").tail(1).reset_index(drop=True)
    return (
        pd.concat([latest[["series_id"]], estimator.predict(latest)], axis=1)
        .assign(
            period_start=(latest["origin_date"] + pd.Timedelta(days=1)).dt.date,
            period_days=estimator.max_days,
            discount=float(estimator.spec.params["discount"]),
        )
        .rename(columns={"series_id": "workspace_id"})
    )


def score_models(
    config: Config, inputs: dict[str, pd.DataFrame], built: dict[str, pd.DataFrame]
) -> dict[str, tuple[pd.DataFrame, str]]:
    """Predictions of every champion by output table name, with the version that made them (no engine).

    `inputs` are the gold inputs, `built` the feature tables (:mod:`hm_utils.ml.features`)."""
    scored_at = datetime.now(timezone.utc).replace(tzinfo=None)
    runs = inputs["gold.fct_job_runs"]
    upcoming = next_runs(runs)
    last_end = (
        runs[runs["is_completed"].astype(bool)].groupby(["workspace_id", "job_id"])["end_time"].max()
        .reindex(pd.MultiIndex.from_frame(upcoming[["workspace_id", "job_id"]]))
    )  # fmt: skip
    makers = {
        "job_failure_predictor": lambda est: failure_risk(est, upcoming, last_end),
        "duration_predictor": lambda est: duration_forecast(est, upcoming),
        "cost_anomaly_detector": lambda est: cost_anomalies(est, built["cost_daily_features"]),
        "cost_forecaster": lambda est: cost_forecast(est, built["cost_daily_features"]),
        "dbu_demand_predictor": lambda est: dbu_demand(est, built["cost_daily_features"]),
        "budget_alert_model": lambda est: budget_breach(est, built["cost_daily_features"], config.get("ml.budgets")),
        "commitment_recommender": lambda est: commitment(est, built["cost_daily_features"]),
    }
    out = {}
    for name, spec in catalog.models().items():
        estimator, version = tracking.load_champion(config, name)
        estimator.spec = catalog.configured(estimator.spec, config)  # the run's params (a discount) apply now
        table = spec.predictions.removeprefix("ml.")
        out[table] = (_stamp(makers[name](estimator), name, version, scored_at), version)
    return out


def ensure_output_tables(spark: SparkSession, config: Config) -> list[str]:
    """Create the ML output tables (predictions, evaluation) that do not exist yet, empty; their keys."""
    from hm_utils import io

    created = []
    for table, columns in catalog.output_tables().items():
        key = f"ml.{table}"
        if not io.table_exists(spark, config, key):
            features.write_frame(spark, config, key, pd.DataFrame(columns=[c.name for c in columns]), columns)
            created.append(key)
    return created


def summary(results: list[ScoreResult]) -> pd.DataFrame:
    """One line per prediction table (sorted by model)."""
    return pd.DataFrame([r.__dict__ for r in results]).sort_values("model").reset_index(drop=True)


def score_and_write(spark: SparkSession, config: Config) -> list[ScoreResult]:
    """Build the features, score every champion and write the prediction tables."""
    started = time.perf_counter()
    inputs = features.read_gold_inputs(spark, config)
    built = features.compute_features(inputs, features.last_complete_day(config))
    results = []
    for table, (frame, version) in score_models(config, inputs, built).items():
        written = features.write_frame(spark, config, f"ml.{table}", frame, catalog.table_columns(table))
        model = frame["model_name"].iloc[0] if len(frame) else table
        results.append(ScoreResult(model, version, written.table, written.rows, 0.0))
    seconds = round(time.perf_counter() - started, 2)
    return [ScoreResult(r.model, r.version, r.table, r.rows, seconds) for r in results]
