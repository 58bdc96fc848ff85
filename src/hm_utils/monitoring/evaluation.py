"""Scores the data-quality outputs against the simulator's ground truth of table defects: which output flagged
each injected defect (late source, volume drop, distribution shift, schema drift), and which critical flags no
defect explains (false alarms). Reads the ground truth only here, never in the pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from pyspark.sql import SparkSession

from hm_utils import clock, io, sources, tables
from hm_utils.config import Config
from hm_utils.monitoring import freshness as freshness_module
from hm_utils.simulator.defects import TABLE_DEFECT_TYPES

SCORED = (*TABLE_DEFECT_TYPES, "schema_drift")


def _source_key(config: Config, system_table: str) -> str | None:
    for key in tables.keys(config, "source"):
        if tables.get_spec(config, key).system_table == system_table:
            return key
    return None


def _from(config: Config, key: str, source_key: str) -> bool:
    """Whether registry table `key` is built, through its upstream chain, from `source_key`."""
    while key:
        if key == source_key:
            return True
        key = tables.get_spec(config, key).upstream
    return False


def _frame(spark: SparkSession, config: Config, key: str) -> pd.DataFrame:
    return io.read_table(spark, config, key).toPandas() if io.table_exists(spark, config, key) else pd.DataFrame()


def score(spark: SparkSession, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(defects: one row per injected table defect with the output that flagged it, or why none could;
    unexplained: critical freshness/completeness flags and drift verdicts that no defect explains)."""
    truth = pd.read_parquet(sources.simulated_folder(config) / "_ground_truth" / "defects")
    truth = truth[truth.defect_type.isin(SCORED)]
    now = clock.now(config)
    freshness = _frame(spark, config, "ops.table_freshness")
    completeness = _frame(spark, config, "ops.table_completeness")
    drift = _frame(spark, config, "ops.monitor_drift")
    ingest = _frame(spark, config, "ops.ingest_log")
    checked_days = set(pd.to_datetime(completeness.day).dt.date) if len(completeness) else set()
    rows, explained_late, explained_days, explained_drift = [], set(), set(), set()
    for defect in truth.itertuples():
        key = _source_key(config, defect.table)
        flagged, by, note = False, "", ""
        if defect.defect_type == "late_source":
            start, end = (datetime.fromisoformat(part) for part in defect.key_value.split("/"))
            due = start + timedelta(hours=freshness_module.latency_hours(config, key) + 1)
            if not due <= now < end:
                note = "not overdue at the snapshot (over before it, or begun within the table's latency)"
            else:
                mine = freshness[freshness.table_key == key]
                flagged = bool(len(mine) and mine.status.iloc[0] in ("late", "stale"))
                by = f"ops.table_freshness {key}: {mine.status.iloc[0] if len(mine) else 'missing'}"
                explained_late.add(key)
        elif defect.defect_type == "volume_drop":
            day = pd.Timestamp(defect.key_value).date()
            checked = completeness[(completeness.table_key == key) & (pd.to_datetime(completeness.day).dt.date == day)]
            if day not in checked_days or checked.empty or checked.status.iloc[0] in ("no_history", "incomplete_day"):
                note = "no verdict possible: outside the window, no same weekday before it, or still arriving"
            else:
                mine = completeness[(completeness.table_key == key) & (pd.to_datetime(completeness.day).dt.date == day)]
                status = mine.status.iloc[0] if len(mine) else "missing"
                flagged, by = status == "volume_drop", f"ops.table_completeness {key} {day}: {status}"
                explained_days.add((key, day))
        elif defect.defect_type == "distribution_shift":
            day = pd.Timestamp(defect.key_value).date()
            mine = drift[
                (drift.table_key == "gold.fct_queries")
                & (drift.column_name == "produced_rows")
                & (drift.granularity == "1 day")
                & (pd.to_datetime(drift.window_start).dt.date == day)
            ] if len(drift) else drift  # fmt: skip
            if mine.empty:
                note = "day not profiled (outside the gold history)"
            else:
                verdicts = ", ".join(
                    f"{r.drift_type}: {'drifted' if r.is_drifted else 'no'}" for r in mine.itertuples()
                )
                flagged, by = bool(mine.is_drifted.any()), f"fct_queries_drift_metrics produced_rows {day}: {verdicts}"
                explained_drift.add(day)
        elif defect.defect_type == "schema_drift":
            mine = ingest[ingest.extra_columns.fillna("").str.contains(defect.key_value)] if len(ingest) else ingest
            flagged, by = not mine.empty, f"ops.ingest_log extra_columns of {', '.join(sorted(set(mine.table_key)))}"
        rows.append({"defect_type": defect.defect_type, "table": defect.table, "key": defect.key_value,
                     "flagged": flagged, "flagged_by": by, "note": note})  # fmt: skip
    unexplained = []
    for row in freshness[freshness.severity == "critical"].itertuples() if len(freshness) else []:
        if not any(_from(config, row.table_key, late) for late in explained_late):
            unexplained.append({"output": "ops.table_freshness", "table_key": row.table_key, "detail": row.status})
    drops = completeness[completeness.status == "volume_drop"] if len(completeness) else completeness
    for row in drops.itertuples():
        day = pd.Timestamp(row.day).date()
        if not any(d == day and _from(config, row.table_key, k) for k, d in explained_days):
            unexplained.append(
                {"output": "ops.table_completeness", "table_key": row.table_key, "detail": f"volume_drop {row.day}"}
            )
    drifted = drift[drift.is_drifted.fillna(False)] if len(drift) else drift
    for row in drifted.itertuples():
        start, end = pd.Timestamp(row.window_start).date(), pd.Timestamp(row.window_end).date()
        shifted = any(
            start <= d + timedelta(days=1) and end > d for d in explained_drift
        )  # the shift and the day after
        if not (row.table_key == "gold.fct_queries" and shifted):
            unexplained.append({"output": "ops.monitor_drift (not critical)", "table_key": row.table_key,
                                "detail": f"{row.column_name} {row.drift_type} {row.granularity} {pd.Timestamp(row.window_start).date()}"})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(unexplained, columns=["output", "table_key", "detail"])
