"""Freshness and completeness of every source and layer table, the way Databricks' data-quality monitoring
checks tables: is new data as recent as the table's own history says it should be, and did each day
bring the volume its history predicts.

One engine query counts every table's rows per hour over `monitoring.history_days`; the rest is pure
pandas (:func:`freshness_status`, :func:`completeness_status`), unit tested without an engine:
- expected interval = the 95th percentile of the gaps between consecutive hours with data (learned);
  expected next update = last data time + expected interval + the source's stated delivery latency
  (`monitoring.latency_hours`); `late` past it, `stale` (critical) a day past it;
- expected daily volume = the median of the same weekday over the previous four weeks (no verdict without
  one, or under `monitoring.min_expected_rows` a day); a complete day under `monitoring.volume_drop_ratio` of it is a `volume_drop`
  (critical), over `monitoring.volume_spike_ratio` a `volume_spike`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from hm_utils import clock, io, tables
from hm_utils.config import Config

FRESHNESS_KEY = "ops.table_freshness"
COMPLETENESS_KEY = "ops.table_completeness"
FRESHNESS_SCHEMA = (
    "table_key string, layer string, time_column string, latency_hours double, last_data_time timestamp, "
    "expected_interval_hours double, expected_next_update timestamp, hours_since_data double, status string, "
    "severity string, run_id string, checked_at timestamp"
)
COMPLETENESS_SCHEMA = (
    "table_key string, layer string, day date, actual_rows bigint, expected_rows double, ratio double, "
    "is_complete_day boolean, status string, severity string, run_id string, checked_at timestamp"
)


def time_column(config: Config, key: str) -> str | None:
    """The column that dates a table's rows: its incremental column, else its first cluster_by column;
    bronze and silver tables use their source's (the same system-table columns)."""
    spec = tables.get_spec(config, key)
    override = (config.get("monitoring.time_columns") or {}).get(spec.name)
    if override:
        return override
    if spec.layer in ("bronze", "silver") and spec.upstream:
        return time_column(config, spec.upstream)
    return spec.incremental or (spec.cluster_by[0] if spec.cluster_by else None)


def monitored_tables(config: Config) -> list[tuple[str, str]]:
    """(key, time column) of every source and layer table that has one. SCD2 definition histories (dated by
    change_time) change when someone edits a job or cluster, not on a schedule: no freshness or volume to expect."""
    keys = [k for layer in ("source", "bronze", "silver", "gold") for k in tables.keys(config, layer)]
    return [(key, column) for key in keys if (column := time_column(config, key)) and column != "change_time"]


def latency_hours(config: Config, key: str) -> float:
    """Delivery latency the source states for the table (the system tables' documented lags), in hours."""
    latencies = config.get("monitoring.latency_hours") or {}
    spec = tables.get_spec(config, key)
    while spec.upstream and spec.layer != "source":
        spec = tables.get_spec(config, spec.upstream)
    system_schema = (spec.system_table or "").split(".")[0]
    return float(latencies.get(spec.name, latencies.get(system_schema, latencies.get("default", 4))))


def hourly_counts(spark: SparkSession, config: Config, since: datetime) -> pd.DataFrame:
    """Rows per table and hour since `since`, and each table's last data time, in one query."""
    parts = []
    for key, column in monitored_tables(config):
        if not io.table_exists(spark, config, key) and tables.get_spec(config, key).layer != "source":
            continue
        try:
            df = io.read_table(spark, config, key)
        except Exception:  # a source table the account does not have: reported as never delivered
            continue
        ts = F.col(column).cast("timestamp")
        parts.append(
            df.where(ts >= F.lit(since))
            .groupBy(F.date_trunc("hour", ts).alias("hour"))
            .agg(F.count(F.lit(1)).alias("rows"))
            .select(F.lit(key).alias("table_key"), "hour", "rows")
        )
        parts.append(
            df.agg(F.max(ts).alias("hour")).select(
                F.lit(key).alias("table_key"), "hour", F.lit(-1).cast("bigint").alias("rows")
            )
        )
    if not parts:
        return pd.DataFrame(columns=["table_key", "hour", "rows"])
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.toPandas()


def freshness_status(hours: pd.Series, last_data_time, now: datetime, latency: float) -> dict:
    """Freshness of one table from the hours it had data in (learned interval) and its last data time."""
    row = {"last_data_time": last_data_time, "expected_interval_hours": None, "expected_next_update": None,
           "hours_since_data": None, "status": "no_data", "severity": "critical"}  # fmt: skip
    if last_data_time is None or pd.isna(last_data_time):
        return row
    stamps = np.sort(pd.to_datetime(pd.Series(hours)).dropna().unique())
    gaps = np.diff(stamps).astype("timedelta64[s]").astype(float) / 3600 if len(stamps) > 1 else np.array([24.0])
    interval = float(max(1.0, np.percentile(gaps, 95)))
    last = pd.Timestamp(last_data_time).to_pydatetime()
    expected = last + timedelta(hours=interval + latency)
    since = (now - last).total_seconds() / 3600
    status, severity = "fresh", "ok"
    if now > expected + timedelta(days=1):
        status, severity = "stale", "critical"
    elif now > expected:
        status, severity = "late", "warning"
    row.update(expected_interval_hours=interval, expected_next_update=expected, hours_since_data=since,
               status=status, severity=severity)  # fmt: skip
    return row


def completeness_status(
    daily: pd.Series, now: datetime, latency: float, drop: float, spike: float, days: int, min_rows: float = 50
) -> pd.DataFrame:
    """Expected vs actual rows for each of the last `days` days of one table (`daily`: rows by date)."""
    daily = daily.copy()
    daily.index = pd.to_datetime(daily.index).normalize()
    end = pd.Timestamp(now).normalize()
    all_days = pd.date_range(end - pd.Timedelta(days=days + 35), end, freq="D")
    series = daily.reindex(all_days, fill_value=0).astype(float)
    first_data = daily[daily > 0].index.min() if (daily > 0).any() else end
    rows = []
    for day in all_days[-days:]:
        if day < first_data:
            continue
        same_weekday = [
            series.get(day - pd.Timedelta(weeks=k)) for k in range(1, 5) if day - pd.Timedelta(weeks=k) >= first_data
        ]
        # weekdays and weekends differ: without the same weekday in the history there is no verdict
        expected = float(np.median(same_weekday)) if same_weekday else None
        actual = float(series.get(day, 0.0))
        complete = day + pd.Timedelta(days=1) + pd.Timedelta(hours=latency) <= pd.Timestamp(now)
        ratio = actual / expected if expected else None
        status, severity = "ok", "ok"
        if not complete:
            status, severity = "incomplete_day", "info"
        elif expected is None:
            status, severity = "no_history", "info"
        elif expected < min_rows:  # a handful of rows a day (definitions, sparse events): counts say nothing
            status, severity = "low_volume", "ok"
        elif ratio < drop:
            status, severity = "volume_drop", "critical"
        elif ratio > spike:
            status, severity = "volume_spike", "warning"
        rows.append({"day": day.date(), "actual_rows": int(actual), "expected_rows": expected, "ratio": ratio,
                     "is_complete_day": bool(complete), "status": status, "severity": severity})  # fmt: skip
    return pd.DataFrame(rows)


def assess(spark: SparkSession, config: Config, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Freshness (one row per table) and completeness (per table and day), written to ops and returned."""
    now = clock.now(config)
    history = int(config.get("monitoring.history_days", 35))
    days = int(config.get("monitoring.completeness_days", 14))
    counts = hourly_counts(spark, config, now - timedelta(days=history))
    fresh_rows, complete_parts = [], []
    for key, column in monitored_tables(config):
        mine = counts[counts.table_key == key]
        hourly = mine[mine.rows >= 0]
        last = mine[mine.rows < 0].hour
        latency = latency_hours(config, key)
        spec = tables.get_spec(config, key)
        status = freshness_status(hourly.hour, last.iloc[0] if len(last) else None, now, latency)
        fresh_rows.append(
            {"table_key": key, "layer": spec.layer, "time_column": column, "latency_hours": latency, **status}
        )
        daily = hourly.assign(day=pd.to_datetime(hourly.hour).dt.normalize()).groupby("day").rows.sum()
        frame = completeness_status(
            daily, now, latency, float(config.get("monitoring.volume_drop_ratio", 0.5)),
            float(config.get("monitoring.volume_spike_ratio", 3.0)), days, float(config.get("monitoring.min_expected_rows", 50)),
        )  # fmt: skip
        if len(frame):
            complete_parts.append(frame.assign(table_key=key, layer=spec.layer))
    freshness = pd.DataFrame(fresh_rows).assign(run_id=run_id, checked_at=now)
    completeness = pd.concat(complete_parts, ignore_index=True).assign(run_id=run_id, checked_at=now)
    io.write_table(spark, config, FRESHNESS_KEY, _typed(spark, freshness, FRESHNESS_SCHEMA))
    io.write_table(spark, config, COMPLETENESS_KEY, _typed(spark, completeness, COMPLETENESS_SCHEMA))
    return freshness, completeness


def _typed(spark: SparkSession, frame: pd.DataFrame, schema: str):
    """The frame as a DataFrame of the table's declared schema (the one the semantic layer was deployed on)."""
    names = [field.split()[0] for field in schema.split(", ")]
    return spark.createDataFrame(_plain(frame)[names], schema)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns with one engine type each (missing numbers as NaN, times as datetime64)."""
    frame = frame.copy()
    for name in frame.columns:
        if name in ("last_data_time", "expected_next_update", "checked_at"):
            frame[name] = pd.to_datetime(frame[name])
        elif name in ("expected_interval_hours", "hours_since_data", "expected_rows", "ratio", "latency_hours"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame
