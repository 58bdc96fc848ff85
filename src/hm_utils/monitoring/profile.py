"""Profile metrics of a monitored table per time window, slice and column, in the layout of Databricks'
`<table>_profile_metrics` (TimeSeries profile): pure DataFrame → DataFrame functions.

Whole-table rows have `slice_key` and `slice_value` NULL; table-level statistics and custom metrics over
`:table` have `column_name = ':table'`. Numeric columns get moments and `quantiles` (at :data:`QUANTILES`);
string and boolean columns get lengths and `frequent_items` (the :data:`TOP_ITEMS` most frequent values).
"""

from __future__ import annotations

import hashlib

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from hm_utils.monitoring.declarations import GRANULARITIES, Monitor

TABLE_COLUMN = ":table"
QUANTILES = [round(i / 20, 2) for i in range(21)]  # 0, 0.05 ... 1: fine enough for KS and Wasserstein
TOP_ITEMS = 10
KEYS = ["window", "log_type", "granularity", "slice_key", "slice_value", "column_name"]
_NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")


def monitor_version(monitor: Monitor) -> int:
    """A number that changes whenever the declaration does (so every window is recomputed)."""
    return int(hashlib.sha256(repr(monitor).encode()).hexdigest()[:12], 16)


def is_numeric(data_type: str) -> bool:
    return data_type.startswith(_NUMERIC)


def with_window(df: DataFrame, monitor: Monitor, granularity: str) -> DataFrame:
    """`df` with `window` struct<start, end> of `granularity` over the monitor's timestamp column."""
    start = F.date_trunc(GRANULARITIES[granularity], F.col(monitor.timestamp_col).cast("timestamp"))
    return df.withColumn(
        "window", F.struct(start.alias("start"), (start + F.expr(f"interval {granularity}")).alias("end"))
    )


def with_baseline_window(df: DataFrame, monitor: Monitor, first_day) -> DataFrame:
    """`df` limited to the baseline period (the first `baseline_days` days from `first_day`), one window."""
    start = F.lit(first_day).cast("timestamp")
    end = start + F.expr(f"interval {monitor.baseline_days} days")
    ts = F.col(monitor.timestamp_col).cast("timestamp")
    return df.where((ts >= start) & (ts < end)).withColumn("window", F.struct(start.alias("start"), end.alias("end")))


def window_fingerprints(df: DataFrame) -> DataFrame:
    """Rows and an order-independent content hash per `window` (map columns, which cannot be hashed, left out):
    a window whose fingerprint is unchanged has the same rows and is not profiled again."""
    hashable = [
        F.col(f.name) for f in df.schema.fields if f.name != "window" and "map<" not in f.dataType.simpleString()
    ]
    return df.groupBy("window").agg(
        F.count(F.lit(1)).alias("row_count"),
        F.sum(F.xxhash64(*hashable).cast("decimal(38,0)")).cast("string").alias("fingerprint"),
    )


def _slices(monitor: Monitor) -> Column:
    whole = F.struct(F.lit(None).cast("string").alias("slice_key"), F.lit(None).cast("string").alias("slice_value"))
    parts = [
        F.struct(F.lit(expr).alias("slice_key"), F.expr(expr).cast("string").alias("slice_value"))
        for expr in monitor.slicing_exprs
    ]
    return F.explode(F.array(whole, *parts))


def profile(windowed: DataFrame, monitor: Monitor, granularity: str | None, log_type: str) -> DataFrame:
    """Profile rows of every window in `windowed` (a frame with `window`) for `monitor`."""
    types = dict((f.name, f.dataType.simpleString()) for f in windowed.schema.fields)
    sliced = windowed.select("*", _slices(monitor).alias("_slice")).select(
        "*", F.col("_slice.slice_key").alias("slice_key"), F.col("_slice.slice_value").alias("slice_value")
    )
    group = ["window", "slice_key", "slice_value"]
    columns = _column_profiles(sliced, monitor, types, group)
    table = _table_rows(sliced, monitor, group, columns)
    both = columns.unionByName(table, allowMissingColumns=True)
    for metric in monitor.metrics("derived"):
        both = both.withColumn(metric.name, F.expr(metric.definition).cast(metric.output_data_type))
    version = monitor_version(monitor)
    return both.select(
        "window",
        F.lit(log_type).alias("log_type"),
        F.lit(None).cast("int").alias("logging_table_commit_version"),
        F.lit(version).cast("bigint").alias("monitor_version"),
        F.lit(granularity).cast("string").alias("granularity"),
        "slice_key",
        "slice_value",
        "column_name",
        "data_type",
        "count",
        "num_nulls",
        "avg",
        "quantiles",
        "min",
        "max",
        "stddev",
        "num_zeros",
        "num_nan",
        "min_length",
        "max_length",
        "avg_length",
        "non_null_columns",
        "frequent_items",
        "median",
        "distinct_count",
        (F.col("num_nan") / F.col("count")).alias("percent_nan"),
        (F.col("num_nulls") / F.col("count")).alias("percent_null"),
        (F.col("num_zeros") / F.col("count")).alias("percent_zeros"),
        (F.col("distinct_count") / F.col("count")).alias("percent_distinct"),
        *[F.col(m.name).cast(m.output_data_type).alias(m.name) for m in monitor.custom_metrics if m.type != "drift"],
    )


def _long(sliced: DataFrame, monitor: Monitor, types: dict[str, str], group: list[str]) -> DataFrame:
    """One row per source row, slice and profiled column: its numeric or text value."""
    cells = []
    for name in monitor.columns:
        numeric = is_numeric(types[name])
        cells.append(
            F.struct(
                F.lit(name).alias("column_name"),
                F.lit(types[name]).alias("data_type"),
                (F.col(name).cast("double") if numeric else F.lit(None).cast("double")).alias("num"),
                (F.lit(None).cast("string") if numeric else F.col(name).cast("string")).alias("text"),
                F.col(name).isNull().alias("is_null"),
            )
        )
    return sliced.select(*group, F.explode(F.array(*cells)).alias("cell")).select(*group, "cell.*")


def _column_profiles(sliced: DataFrame, monitor: Monitor, types: dict[str, str], group: list[str]) -> DataFrame:
    long = _long(sliced, monitor, types, group)
    keys = [*group, "column_name", "data_type"]
    value = F.coalesce(F.col("text"), F.col("num").cast("string"))
    stats = long.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("count"),
        F.sum(F.col("is_null").cast("bigint")).alias("num_nulls"),
        F.avg("num").alias("avg"),
        F.percentile_approx("num", QUANTILES).alias("quantiles"),
        F.min("num").alias("min"),
        F.max("num").alias("max"),
        F.stddev("num").alias("stddev"),
        F.sum((F.col("num") == 0).cast("bigint")).alias("num_zeros"),
        F.sum(F.isnan("num").cast("bigint")).alias("num_nan"),
        F.min(F.length("text")).cast("double").alias("min_length"),
        F.max(F.length("text")).cast("double").alias("max_length"),
        F.avg(F.length("text")).alias("avg_length"),
        F.percentile_approx("num", 0.5).alias("median"),
        F.approx_count_distinct(value).alias("distinct_count"),
    )
    counts = long.where(F.col("text").isNotNull()).groupBy(*keys, "text").agg(F.count(F.lit(1)).alias("n"))
    ranked = counts.withColumn("rank", F.row_number().over(_window_spec(keys))).where(F.col("rank") <= TOP_ITEMS)
    items = (
        ranked.groupBy(*keys)
        .agg(
            F.sort_array(
                F.collect_list(
                    F.struct((-F.col("n")).alias("_order"), F.col("text").alias("item"), F.col("n").alias("count"))
                )
            ).alias("_items")
        )
        .select(
            *keys,
            F.expr("transform(_items, x -> named_struct('item', x.item, 'count', x.count))").alias("frequent_items"),
        )
    )
    profiled = stats.join(items, keys, "left")
    for metric in monitor.metrics("aggregate"):
        if TABLE_COLUMN in metric.input_columns:
            continue
        per_column = [
            sliced.groupBy(*group)
            .agg(F.expr(metric.definition.replace("{{input_column}}", name)).alias(metric.name))
            .withColumn("column_name", F.lit(name))
            for name in metric.input_columns
        ]
        merged = per_column[0]
        for part in per_column[1:]:
            merged = merged.unionByName(part)
        profiled = profiled.join(merged, [*group, "column_name"], "left")
    return profiled


def _window_spec(keys: list[str]):
    from pyspark.sql.window import Window

    return Window.partitionBy(*keys).orderBy(F.col("n").desc(), F.col("text"))


def _table_rows(sliced: DataFrame, monitor: Monitor, group: list[str], columns: DataFrame) -> DataFrame:
    """`:table` rows: row count, the columns with a value, and the custom metrics over the whole table."""
    table_metrics = [m for m in monitor.metrics("aggregate") if TABLE_COLUMN in m.input_columns]
    rows = sliced.groupBy(*group).agg(
        F.count(F.lit(1)).alias("count"), *[F.expr(m.definition).alias(m.name) for m in table_metrics]
    )
    present = (
        columns.where(F.col("num_nulls") < F.col("count"))
        .groupBy(*group)
        .agg(F.sort_array(F.collect_list("column_name")).alias("non_null_columns"))
    )
    return rows.join(present, group, "left").select(
        *group,
        F.lit(TABLE_COLUMN).alias("column_name"),
        F.lit(None).cast("string").alias("data_type"),
        "count",
        F.coalesce("non_null_columns", F.array().cast("array<string>")).alias("non_null_columns"),
        *[m.name for m in table_metrics],
    )
