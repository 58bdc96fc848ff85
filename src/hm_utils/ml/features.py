"""Feature tables built from gold, point in time: a row's features use only what was known at its time.

The builders are pure pandas functions (unit tested for leakage); :func:`build_features` reads their gold
inputs, calls them and writes the ML schema. Gold's job runs and daily costs are small (one row per run, per
workspace x SKU family x day), so they are brought to the driver whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hm_utils import io
from hm_utils.config import Config
from hm_utils.ml import catalog

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RECENT_RUNS = 5
COST_WINDOW_DAYS = 28

_JOB_RUN_COLUMNS = [
    "workspace_id", "job_id", "run_id", "run_date", "start_time", "end_time", "duration_seconds", "is_completed",
    "is_failure", "is_success", "compute_type", "is_all_purpose", "trigger_type",
]  # fmt: skip


def job_run_features(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per completed run with the job's history of runs that *ended before it started*.

    `runs` has the columns of gold.fct_job_runs listed in `_JOB_RUN_COLUMNS`. History statistics are
    computed per job over runs ordered by end time, then attached to each run with an as-of join on
    start_time (strictly earlier end), so overlapping or later runs never leak into a run's features.
    """
    runs = runs[runs["is_completed"].astype(bool)].copy()
    runs["start_time"] = pd.to_datetime(runs["start_time"])
    runs["end_time"] = pd.to_datetime(runs["end_time"])
    runs["series"] = runs["workspace_id"].astype(str) + "/" + runs["job_id"].astype(str)
    runs["failed"] = runs["is_failure"].astype(int)
    runs["minutes"] = runs["duration_seconds"].astype(float) / 60.0
    history = runs.sort_values(["series", "end_time", "run_id"]).reset_index(drop=True)
    by_job = history.groupby("series", sort=False)
    history["h_runs"] = by_job.cumcount() + 1
    history["h_failure_rate"] = by_job["failed"].cumsum() / history["h_runs"]
    history["h_recent_rate"] = by_job["failed"].transform(lambda s: s.rolling(RECENT_RUNS, min_periods=1).mean())
    history["h_failed_last"] = history["failed"]
    history["h_end"] = history["end_time"]
    ok_minutes = history["minutes"].where(history["is_success"].astype(bool))
    grouped_ok = ok_minutes.groupby(history["series"], sort=False)
    history["h_median"] = grouped_ok.transform(lambda s: s.expanding().median())
    history["h_p90"] = grouped_ok.transform(lambda s: s.expanding().quantile(0.9))
    history["h_last"] = grouped_ok.transform(lambda s: s.ffill())
    stats = history[
        ["series", "end_time", "h_runs", "h_failure_rate", "h_recent_rate", "h_failed_last", "h_end", "h_median",
         "h_p90", "h_last"]
    ].rename(columns={"end_time": "known_at"})  # fmt: skip
    target = runs.sort_values("start_time").reset_index(drop=True)
    joined = pd.merge_asof(
        target,
        stats.sort_values("known_at"),
        left_on="start_time",
        right_on="known_at",
        by="series",
        allow_exact_matches=False,
    )
    out = pd.DataFrame(
        {
            "workspace_id": joined["workspace_id"].astype(str),
            "run_id": joined["run_id"].astype(str),
            "job_id": joined["job_id"].astype(str),
            "run_date": pd.to_datetime(joined["run_date"]).dt.date,
            "start_time": joined["start_time"],
            "hour_of_day": joined["start_time"].dt.hour.astype(int),
            "day_of_week": joined["start_time"].dt.dayofweek.astype(int),
            "is_serverless": (joined["compute_type"] == "SERVERLESS").astype(int),
            "is_all_purpose": joined["is_all_purpose"].astype(bool).astype(int),
            "is_manual": (joined["trigger_type"] == "ONETIME").astype(int),
            "prior_runs": joined["h_runs"].fillna(0).astype(int),
            "prior_failure_rate": joined["h_failure_rate"],
            "recent_failure_rate": joined["h_recent_rate"],
            "failed_last_run": joined["h_failed_last"].fillna(0).astype(int),
            "hours_since_last_run": (joined["start_time"] - joined["h_end"]).dt.total_seconds() / 3600.0,
            "prior_median_minutes": joined["h_median"],
            "prior_p90_minutes": joined["h_p90"],
            "last_minutes": joined["h_last"],
            "is_failure": joined["failed"].astype(int),
            "duration_minutes": joined["minutes"],
        }
    )
    return out.sort_values(["start_time", "workspace_id", "run_id"]).reset_index(drop=True)


def cost_daily_features(costs: pd.DataFrame, last_complete_day) -> pd.DataFrame:
    """One row per day, workspace and SKU family (days without cost are 0) with statistics of the days before.

    `costs` has usage_date, workspace_id, sku_family, list_cost and dbus (several rows per key are summed; no
    dbus column = 0 DBUs). Days after `last_complete_day` are dropped: a day still filling up would look like a
    drop in spend.
    """
    costs = costs.assign(
        usage_date=pd.to_datetime(costs["usage_date"]),
        list_cost=costs["list_cost"].astype(float),
        dbus=costs["dbus"].astype(float) if "dbus" in costs else 0.0,
    )
    costs = costs[costs["usage_date"] <= pd.Timestamp(last_complete_day)]
    daily = costs.groupby(["workspace_id", "sku_family", "usage_date"], as_index=False)[["list_cost", "dbus"]].sum()
    if daily.empty:
        return pd.DataFrame(columns=catalog.feature_tables()["cost_daily_features"].column_names)
    days = pd.date_range(daily["usage_date"].min(), daily["usage_date"].max(), freq="D")
    frames = []
    for (workspace, family), series in daily.groupby(["workspace_id", "sku_family"]):
        first = series["usage_date"].min()
        dense = series.set_index("usage_date").reindex(days[days >= first], fill_value=0.0)
        cost = dense["list_cost"]
        before = cost.shift(1)
        same_weekday = pd.concat([cost.shift(7 * k) for k in range(1, 5)], axis=1).median(axis=1)
        mean = before.rolling(COST_WINDOW_DAYS, min_periods=1).mean()
        std = before.rolling(COST_WINDOW_DAYS, min_periods=2).std()
        frames.append(
            pd.DataFrame(
                {
                    "usage_date": cost.index.date,
                    "workspace_id": str(workspace),
                    "sku_family": str(family),
                    "list_cost": cost.to_numpy(),
                    "day_of_week": cost.index.dayofweek.astype(int),
                    "history_days": np.arange(len(cost)),
                    "lag_1": before.fillna(0.0).to_numpy(),
                    "lag_7": cost.shift(7).fillna(0.0).to_numpy(),
                    "mean_28": mean.fillna(0.0).to_numpy(),
                    "std_28": std.fillna(0.0).to_numpy(),
                    "same_weekday_median": same_weekday.fillna(mean).fillna(0.0).to_numpy(),
                    "dbus": dense["dbus"].to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["ratio_to_weekday"] = out["list_cost"] / out["same_weekday_median"].where(out["same_weekday_median"] > 0)
    out["zscore_28"] = (out["list_cost"] - out["mean_28"]) / out["std_28"].where(out["std_28"] > 0)
    out[["ratio_to_weekday", "zscore_28"]] = out[["ratio_to_weekday", "zscore_28"]].fillna(0.0)
    out = out[catalog.feature_tables()["cost_daily_features"].column_names]
    return out.sort_values(["usage_date", "workspace_id", "sku_family"]).reset_index(drop=True)


def read_gold_inputs(spark: SparkSession, config: Config) -> dict[str, pd.DataFrame]:
    """The gold inputs of every feature table, as pandas frames."""
    runs = io.read_table(spark, config, "gold.fct_job_runs").select(*_JOB_RUN_COLUMNS).toPandas()
    from pyspark.sql import functions as F

    # DBUs count whether or not the SKU has a list price; cost only where it has one
    priced = F.col("currency_code") != F.lit("UNPRICED")
    costs = (
        io.read_table(spark, config, "gold.agg_daily_cost")
        .groupBy("usage_date", "workspace_id", "sku_family")
        .agg(
            F.sum(F.when(priced, F.col("list_cost")).otherwise(F.lit(0))).cast("double").alias("list_cost"),
            F.sum("dbus").cast("double").alias("dbus"),
        )
        .toPandas()
    )
    return {"gold.fct_job_runs": runs, "gold.agg_daily_cost": costs}


def compute_features(inputs: dict[str, pd.DataFrame], last_complete_day) -> dict[str, pd.DataFrame]:
    """Every feature table from the gold inputs (no engine)."""
    return {
        "job_run_features": job_run_features(inputs["gold.fct_job_runs"]),
        "cost_daily_features": cost_daily_features(inputs["gold.agg_daily_cost"], last_complete_day),
    }


def build_features(spark: SparkSession, config: Config) -> dict[str, pd.DataFrame]:
    """Build and write every feature table; returns them as pandas frames (training reads them from here)."""
    built = compute_features(read_gold_inputs(spark, config), last_complete_day(config))
    for name, frame in built.items():
        write_frame(spark, config, catalog.feature_tables()[name].key, frame, catalog.feature_tables()[name].columns)
    return built


def last_complete_day(config: Config):
    """The last complete UTC day of the account: the day before the simulated end, or before today."""
    from datetime import timedelta

    from hm_utils import clock

    end = config.get("simulation.end")
    now = pd.Timestamp(end).to_pydatetime() if end and config.get("source.kind") == "simulated" else clock.now(config)
    return (now - timedelta(days=1)).date()


def write_frame(
    spark: SparkSession, config: Config, key: str, frame: pd.DataFrame, columns, mode: str = "overwrite"
) -> io.WriteResult:
    """Write a pandas frame to the ML table `key` with the declared column types and comments."""
    from pyspark.sql import functions as F

    schema = ", ".join(f"`{c.name}` {c.type}" for c in columns)
    names = [c.name for c in columns]
    df = spark.createDataFrame(frame[names]) if len(frame) else spark.createDataFrame([], schema)
    df = df.select(*[F.col(f"`{c.name}`").cast(c.type).alias(c.name) for c in columns])
    return io.write_table(spark, config, key, df, mode, column_comments={c.name: c.comment for c in columns})
