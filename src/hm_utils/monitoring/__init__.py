"""Data profiling monitors: `<table>_profile_metrics` and `<table>_drift_metrics` of every declared monitor
(`src/hm_utils/monitors/*.yml`), computed incrementally, plus freshness and completeness of every table.

- :func:`run_monitor` / :func:`run_monitors`: profile only the windows whose rows changed since the last run
  (a per-window fingerprint in `ops.monitor_windows`), then the drift rows that depend on them;
- :func:`run_step`: the pipeline step (monitors, then freshness and completeness of sources and layers);
- :func:`ensure_tables`: the empty output tables the semantic layer is deployed on before the first run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from hm_utils import clock, io
from hm_utils.config import Config
from hm_utils.monitoring import drift, profile
from hm_utils.monitoring.declarations import Monitor, load_monitors

STATE_KEY = "ops.monitor_windows"
BASELINE = "baseline"  # granularity key of the baseline window in the state table


@dataclass
class MonitorResult:
    monitor: str
    windows: int = 0
    recomputed: int = 0
    profile_rows: int = 0
    drift_rows: int = 0


@dataclass
class MonitoringReport:
    monitors: list[MonitorResult] = field(default_factory=list)
    freshness: Any = None
    completeness: Any = None
    mlflow_runs: int = 0

    @property
    def recomputed(self) -> int:
        return sum(result.recomputed for result in self.monitors)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([result.__dict__ for result in self.monitors]).sort_values("monitor").reset_index(drop=True)

    def summary(self) -> str:
        return (
            f"{len(self.monitors)} monitors: {self.recomputed} of {sum(r.windows for r in self.monitors)} windows "
            f"recomputed"
        )


_STATE_SCHEMA = T.StructType(
    [
        T.StructField("monitor", T.StringType()),
        T.StructField("granularity", T.StringType()),
        T.StructField("window_start", T.TimestampType()),
        T.StructField("window_end", T.TimestampType()),
        T.StructField("row_count", T.LongType()),
        T.StructField("fingerprint", T.StringType()),
        T.StructField("monitor_version", T.LongType()),
        T.StructField("run_id", T.StringType()),
        T.StructField("computed_at", T.TimestampType()),
    ]
)


def _previous_state(spark: SparkSession, config: Config, monitor: Monitor) -> pd.DataFrame:
    if not io.table_exists(spark, config, STATE_KEY):
        return pd.DataFrame(columns=_STATE_SCHEMA.fieldNames())
    return io.read_table(spark, config, STATE_KEY).where(F.col("monitor") == monitor.name).toPandas()


def _fingerprints(source: DataFrame, monitor: Monitor, previous: pd.DataFrame) -> pd.DataFrame:
    """Current windows of every granularity and of the baseline, with their fingerprints."""
    parts = []
    for granularity in monitor.granularities:
        frame = profile.window_fingerprints(profile.with_window(source, monitor, granularity)).toPandas()
        parts.append(frame.assign(granularity=granularity))
    baseline_start = _baseline_start(source, monitor, previous)
    if baseline_start is not None:
        frame = profile.window_fingerprints(profile.with_baseline_window(source, monitor, baseline_start)).toPandas()
        parts.append(frame.assign(granularity=BASELINE))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if frame.empty:
        return pd.DataFrame(columns=["granularity", "window_start", "window_end", "row_count", "fingerprint"])
    frame["window_start"] = frame["window"].map(lambda w: w["start"])
    frame["window_end"] = frame["window"].map(lambda w: w["end"])
    return frame.drop(columns="window")


def _baseline_start(source: DataFrame, monitor: Monitor, previous: pd.DataFrame) -> datetime | None:
    """The baseline period starts on the table's first day and stays there once profiled."""
    kept = previous[previous.granularity == BASELINE]
    if len(kept):
        return pd.Timestamp(kept.window_start.iloc[0]).to_pydatetime()
    first = source.agg(F.min(F.col(monitor.timestamp_col).cast("date"))).first()[0]
    return first


def _changed(current: pd.DataFrame, previous: pd.DataFrame, version: int) -> pd.DataFrame:
    """(granularity, window_start, window_end) whose rows or monitor version differ from the last run,
    including windows that no longer have rows."""
    key = ["granularity", "window_start"]
    old = previous.assign(window_start=pd.to_datetime(previous.window_start))[[*key, "fingerprint", "monitor_version"]]
    merged = current.assign(window_start=pd.to_datetime(current.window_start)).merge(
        old, on=key, how="outer", suffixes=("", "_old"), indicator=True
    )
    differs = (
        (merged["_merge"] != "both")
        | (merged["fingerprint"] != merged["fingerprint_old"])
        | (merged["monitor_version"].astype("float") != float(version))
    )
    return merged[differs][key + ["window_end"]]


def _keys_frame(spark: SparkSession, changed: pd.DataFrame) -> DataFrame:
    rows = [
        (str(g), pd.Timestamp(s).to_pydatetime())
        for g, s in zip(changed.granularity, changed.window_start, strict=False)
    ]
    return spark.createDataFrame(rows, "granularity_key string, window_start timestamp")


def _profile_key() -> list:
    return [
        F.coalesce(F.col("granularity"), F.lit(BASELINE)).alias("granularity_key"),
        F.col("window.start").alias("window_start"),
    ]


def run_monitor(spark: SparkSession, config: Config, monitor: Monitor, run_id: str) -> MonitorResult:
    """Profile the windows of `monitor` whose rows changed since its last run, and the drift depending on them."""
    source = io.read_table(spark, config, monitor.table)
    version = profile.monitor_version(monitor)
    previous = _previous_state(spark, config, monitor)
    current = _fingerprints(source, monitor, previous)
    changed = _changed(current.assign(monitor_version=version), previous, version)
    result = MonitorResult(monitor.name, windows=len(current), recomputed=len(changed))
    if changed.empty and io.table_exists(spark, config, monitor.profile_key):
        return result
    new_profiles = []
    for granularity in monitor.granularities:
        starts = [pd.Timestamp(s).to_pydatetime() for s in changed[changed.granularity == granularity].window_start]
        present = set(current[current.granularity == granularity].window_start.map(pd.Timestamp))
        starts = [s for s in starts if pd.Timestamp(s) in present]
        if starts:
            windowed = profile.with_window(source, monitor, granularity).where(F.col("window.start").isin(starts))
            new_profiles.append(profile.profile(windowed, monitor, granularity, "INPUT"))
    baseline = current[current.granularity == BASELINE]
    if (changed.granularity == BASELINE).any() and len(baseline):
        start = pd.Timestamp(baseline.window_start.iloc[0]).to_pydatetime()
        new_profiles.append(
            profile.profile(profile.with_baseline_window(source, monitor, start), monitor, None, "BASELINE")
        )
    keys = _keys_frame(spark, changed)
    profiles = _replace_windows(spark, config, monitor.profile_key, new_profiles, keys)
    result.profile_rows = io.write_table(spark, config, monitor.profile_key, profiles).rows
    result.drift_rows = _write_drift(spark, config, monitor, changed, version)
    _write_state(spark, config, monitor, current.assign(monitor_version=version), previous, changed, run_id)
    return result


def _replace_windows(
    spark: SparkSession, config: Config, key: str, new_parts: list[DataFrame], changed: DataFrame
) -> DataFrame:
    """The table's rows outside the changed windows, plus the newly computed ones."""
    new = new_parts[0] if new_parts else None
    for part in new_parts[1:]:
        new = new.unionByName(part)
    if not io.table_exists(spark, config, key):
        return new
    kept = io.read_table(spark, config, key).select("*", *_profile_key())
    kept = kept.join(F.broadcast(changed), ["granularity_key", "window_start"], "left_anti").drop(
        "granularity_key", "window_start"
    )
    return kept if new is None else kept.unionByName(new, allowMissingColumns=True)


def _write_state(
    spark: SparkSession,
    config: Config,
    monitor: Monitor,
    current: pd.DataFrame,
    previous: pd.DataFrame,
    changed: pd.DataFrame,
    run_id: str,
) -> None:
    """The monitor's windows with their fingerprints; unchanged windows keep the run that profiled them."""
    now = clock.now(config)
    before = {
        (g, pd.Timestamp(s)): (r, c)
        for g, s, r, c in zip(
            previous.granularity, previous.window_start, previous.run_id, previous.computed_at, strict=False
        )
    }
    redone = {(g, pd.Timestamp(s)) for g, s in zip(changed.granularity, changed.window_start, strict=False)}
    rows = []
    for r in current.itertuples():
        key = (r.granularity, pd.Timestamp(r.window_start))
        by, at = (run_id, now) if key in redone or key not in before else before[key]
        rows.append((monitor.name, r.granularity, key[1].to_pydatetime(), pd.Timestamp(r.window_end).to_pydatetime(),
                     int(r.row_count), str(r.fingerprint), int(r.monitor_version), by, pd.Timestamp(at).to_pydatetime()))  # fmt: skip
    frame = spark.createDataFrame(rows, _STATE_SCHEMA)
    if io.table_exists(spark, config, STATE_KEY):
        io.write_table(spark, config, STATE_KEY, frame, "replace_where", where=f"monitor = '{monitor.name}'")
    else:
        io.write_table(spark, config, STATE_KEY, frame)


# ---------------------------------------------------------------------------------------------- drift


def _drift_schema(monitor: Monitor) -> T.StructType:
    window = T.StructType([T.StructField("start", T.TimestampType()), T.StructField("end", T.TimestampType())])
    test = T.StructType([T.StructField("statistic", T.DoubleType()), T.StructField("pvalue", T.DoubleType())])
    delta = T.StructType([T.StructField("added", T.IntegerType()), T.StructField("missing", T.IntegerType())])
    fields = [
        T.StructField("window", window),
        T.StructField("granularity", T.StringType()),
        T.StructField("monitor_version", T.LongType()),
        T.StructField("slice_key", T.StringType()),
        T.StructField("slice_value", T.StringType()),
        T.StructField("column_name", T.StringType()),
        T.StructField("data_type", T.StringType()),
        T.StructField("window_cmp", window),
        T.StructField("drift_type", T.StringType()),
        T.StructField("count_delta", T.LongType()),
        *[
            T.StructField(f"{n}_delta", T.DoubleType())
            for n in ("avg", "percent_null", "percent_zeros", "percent_distinct")
        ],
        T.StructField("non_null_columns_delta", delta),
        T.StructField("js_distance", T.DoubleType()),
        T.StructField("ks_test", test),
        T.StructField("wasserstein_distance", T.DoubleType()),
        T.StructField("population_stability_index", T.DoubleType()),
        T.StructField("chi_squared_test", test),
        T.StructField("tv_distance", T.DoubleType()),
        T.StructField("l_infinity_distance", T.DoubleType()),
    ]
    values = [m.name for m in monitor.custom_metrics if m.type != "drift"]
    pair = T.StructType(
        [T.StructField(name, T.DoubleType()) for name in values] or [T.StructField("_none", T.DoubleType())]
    )
    return T.StructType([*fields, T.StructField("current_df", pair), T.StructField("base_df", pair)])


def _drift_rows(monitor: Monitor, profiles: pd.DataFrame, changed: pd.DataFrame, version: int) -> list[dict]:
    """Drift rows of the windows that changed or follow a changed window (CONSECUTIVE), and of every window
    against the baseline when the baseline changed (else of the changed windows)."""
    values = [m.name for m in monitor.custom_metrics if m.type != "drift"] or ["_none"]
    records = profiles.to_dict("records")
    for row in records:
        row["start"], row["end"] = pd.Timestamp(row["window"]["start"]), pd.Timestamp(row["window"]["end"])
    slice_of = ("slice_key", "slice_value", "column_name")
    by_end = {(r["granularity"], *(r[k] for k in slice_of), r["end"]): r for r in records if r["log_type"] == "INPUT"}
    baseline = {tuple(r[k] for k in slice_of): r for r in records if r["log_type"] == "BASELINE"}
    touched = {(g, pd.Timestamp(s)) for g, s in zip(changed.granularity, changed.window_start, strict=False)}
    after_touched = {(g, pd.Timestamp(e)) for g, e in zip(changed.granularity, changed.window_end, strict=False)}
    baseline_changed = any(g == BASELINE for g, _ in touched)
    out = []
    for row in records:
        if row["log_type"] != "INPUT":
            continue
        key = (row["granularity"], row["start"])
        pairs = []
        if key in touched or key in after_touched:
            before = by_end.get((row["granularity"], *(row[k] for k in slice_of), row["start"]))
            if before is not None:
                pairs.append(("CONSECUTIVE", before))
        if baseline_changed or key in touched:
            base = baseline.get(tuple(row[k] for k in slice_of))
            if base is not None:
                pairs.append(("BASELINE", base))
        for drift_type, base in pairs:
            record = {k: row[k] for k in ("granularity", *slice_of, "data_type")}
            record["window"] = _window(row["window"])
            record.update(monitor_version=version, drift_type=drift_type, **drift.drift_row(row, base))
            record["window_cmp"] = _window(base["window"]) if drift_type == "CONSECUTIVE" else None
            record["current_df"] = {name: _number(row.get(name)) for name in values}
            record["base_df"] = {name: _number(base.get(name)) for name in values}
            out.append(record)
    return out


def _window(window: dict) -> dict:
    return {edge: pd.Timestamp(window[edge]).to_pydatetime() for edge in ("start", "end")}


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _write_drift(spark: SparkSession, config: Config, monitor: Monitor, changed: pd.DataFrame, version: int) -> int:
    profiles = io.read_table(spark, config, monitor.profile_key).toPandas()
    rows = _drift_rows(monitor, profiles, changed, version)
    schema = _drift_schema(monitor)
    names = schema.fieldNames()
    new = spark.createDataFrame([tuple(row.get(name) for name in names) for row in rows], schema)
    new = new.select(
        *[c for c in names if c not in ("current_df", "base_df")],
        *[
            F.expr(m.definition.replace("{{current_df}}", "current_df").replace("{{base_df}}", "base_df"))
            .cast(m.output_data_type)
            .alias(m.name)
            for m in monitor.metrics("drift")
        ],
    )
    removed = _keys_frame(spark, changed[changed.granularity != BASELINE])
    if io.table_exists(spark, config, monitor.drift_key):
        replaced = new.select(
            F.col("window.start").alias("r_start"),
            F.col("granularity").alias("r_granularity"),
            F.col("drift_type").alias("r_type"),
        ).distinct()
        kept = io.read_table(spark, config, monitor.drift_key)
        kept = kept.join(
            F.broadcast(replaced),
            (F.col("window.start") == F.col("r_start"))
            & (F.col("granularity") == F.col("r_granularity"))
            & (F.col("drift_type") == F.col("r_type")),
            "left_anti",
        )
        kept = kept.join(
            F.broadcast(removed),
            (F.col("window.start") == F.col("window_start")) & (F.col("granularity") == F.col("granularity_key")),
            "left_anti",
        )
        new = kept.unionByName(new)
    return io.write_table(spark, config, monitor.drift_key, new).rows


def run_monitors(spark: SparkSession, config: Config, run_id: str, names: list[str] | None = None) -> MonitoringReport:
    """Run every declared monitor (or those named), one after the other, then refresh the account-wide
    summaries when any window was recomputed."""
    report = MonitoringReport()
    for monitor in load_monitors():
        if names and monitor.name not in names:
            continue
        if io.table_exists(spark, config, monitor.table):
            report.monitors.append(run_monitor(spark, config, monitor, run_id))
    if report.recomputed or not io.table_exists(spark, config, DRIFT_SUMMARY_KEY):
        write_summaries(spark, config)
    return report


PROFILE_SUMMARY_KEY = "ops.monitor_profiles"
DRIFT_SUMMARY_KEY = "ops.monitor_drift"
SUMMARY_SCHEMAS = {
    PROFILE_SUMMARY_KEY: (
        "monitor string, table_key string, window_start timestamp, window_end timestamp, granularity string, "
        "column_name string, data_type string, row_count bigint, num_nulls bigint, percent_null double, avg double, "
        "median double, stddev double, min double, max double, distinct_count bigint"
    ),
    DRIFT_SUMMARY_KEY: (
        "monitor string, table_key string, window_start timestamp, window_end timestamp, granularity string, "
        "column_name string, data_type string, drift_type string, count_delta bigint, avg_delta double, "
        "percent_null_delta double, js_distance double, ks_statistic double, ks_pvalue double, "
        "wasserstein_distance double, population_stability_index double, chi_squared_pvalue double, "
        "tv_distance double, drift_score double, is_drifted boolean"
    ),
}


def write_summaries(spark: SparkSession, config: Config) -> None:
    """Whole-table rows of every monitor's profile and drift tables in two tables the semantic layer reads
    (one per kind instead of one per monitored table), with a drift verdict per column and window."""
    profiles, drifts = [], []
    psi = float(config.get("monitoring.drift.psi_threshold", 0.25))
    pvalue = float(config.get("monitoring.drift.pvalue_threshold", 0.01))
    for monitor in load_monitors():
        if not (
            io.table_exists(spark, config, monitor.profile_key) and io.table_exists(spark, config, monitor.drift_key)
        ):
            continue
        head = [F.lit(monitor.name).alias("monitor"), F.lit(monitor.table).alias("table_key")]
        window = [F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"), "granularity"]
        profiles.append(
            io.read_table(spark, config, monitor.profile_key)
            .where("slice_key is null and log_type = 'INPUT'")
            .select(
                *head,
                *window,
                "column_name",
                "data_type",
                F.col("count").alias("row_count"),
                "num_nulls",
                "percent_null",
                "avg",
                "median",
                "stddev",
                "min",
                "max",
                "distinct_count",
            )  # fmt: skip
        )
        test_p = F.coalesce(F.col("ks_test.pvalue"), F.col("chi_squared_test.pvalue"))
        score = F.coalesce(F.col("ks_test.statistic"), F.col("tv_distance"))
        drifts.append(
            io.read_table(spark, config, monitor.drift_key)
            .where("slice_key is null and column_name <> ':table'")
            .select(
                *head,
                *window,
                "column_name",
                "data_type",
                "drift_type",
                "count_delta",
                "avg_delta",
                "percent_null_delta",
                "js_distance",
                F.col("ks_test.statistic").alias("ks_statistic"),
                F.col("ks_test.pvalue").alias("ks_pvalue"),
                "wasserstein_distance",
                "population_stability_index",
                F.col("chi_squared_test.pvalue").alias("chi_squared_pvalue"),
                "tv_distance",
                score.alias("drift_score"),
                ((F.col("population_stability_index") > psi) & (test_p < pvalue)).alias("is_drifted"),
            )  # fmt: skip
        )
    for key, parts in ((PROFILE_SUMMARY_KEY, profiles), (DRIFT_SUMMARY_KEY, drifts)):
        if parts:
            union = parts[0]
            for part in parts[1:]:
                union = union.unionByName(part)
            schema = spark.createDataFrame([], SUMMARY_SCHEMAS[key]).schema
            io.write_table(spark, config, key, union.select(*[F.col(f.name).cast(f.dataType) for f in schema]))


def ensure_tables(spark: SparkSession, config: Config) -> None:
    """Create, empty, the ops tables this step writes and the semantic layer reads, so that the semantic step,
    which runs first, finds them on a new account."""
    from hm_utils.monitoring import freshness, mlflow_runs

    schemas = {
        STATE_KEY: _STATE_SCHEMA,
        **SUMMARY_SCHEMAS,
        freshness.FRESHNESS_KEY: freshness.FRESHNESS_SCHEMA,
        freshness.COMPLETENESS_KEY: freshness.COMPLETENESS_SCHEMA,
        mlflow_runs.RUNS_KEY: mlflow_runs.SCHEMA,
    }
    for key, schema in schemas.items():
        if not io.table_exists(spark, config, key):
            io.write_table(spark, config, key, spark.createDataFrame([], schema))


def run_step(spark: SparkSession, config: Config, run_id: str) -> MonitoringReport:
    """The pipeline step: every monitor, then freshness and completeness of every source and layer table."""
    from hm_utils.monitoring import freshness, mlflow_runs

    report = run_monitors(spark, config, run_id)
    report.freshness, report.completeness = freshness.assess(spark, config, run_id)
    report.mlflow_runs = mlflow_runs.export_runs(spark, config)
    return report
