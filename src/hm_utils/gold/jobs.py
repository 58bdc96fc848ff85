"""Gold job and pipeline facts: fct_job_runs, fct_task_runs, fct_pipeline_updates and agg_daily_jobs.

fct_job_runs has one row per run, assembled from the hourly slices of job_run_timeline, with its repairs, retries
and cost: the run's direct usage and its shares of all-purpose cluster-hours come from fct_cost_allocation, and the
cost of the attempts that failed is split from the rest by their time in each hour. Pipeline update cost comes from
fct_usage_hourly. These tables are rebuilt whole on every build: a run's slices, and its cost through late usage
corrections, can change days later, and they hold one row per run. Every source run appears once in fct_job_runs
(`job_runs_once` in hm_utils.gold.reconcile checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hm_utils.gold.build import Inputs
from hm_utils.gold.columns import seconds_between
from hm_utils.gold.dimensions import current_rows

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Job / task result states counted as failures (cancelled, skipped and blocked runs are neither success nor failure).
FAILURE_STATES = ("FAILED", "TIMED_OUT", "ERROR")

PIPELINE_FAILURE_STATES = ("FAILED",)

ZERO = "cast(0 as decimal(38,10))"  # costs

ZERO_UNITS = "cast(0 as decimal(38,18))"  # DBUs


def _slice_cluster(compute: str = "compute", compute_ids: str = "compute_ids") -> Column:
    """The first classic cluster of a timeline slice: from `compute` (typed) or, on old rows, `compute_ids`."""
    from pyspark.sql import functions as F

    typed = F.try_element_at(F.filter(F.col(compute), lambda c: c["cluster_id"].isNotNull()), F.lit(1))["cluster_id"]
    return F.coalesce(typed, F.try_element_at(F.col(compute_ids), F.lit(1)))


def job_run_slices(timeline: DataFrame) -> DataFrame:
    """Timeline slices with their attempt: `attempt_no` (1 + terminal slices before this one under the run) and
    `attempt_result` (result_state of the attempt's terminal slice, NULL for an attempt still running)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    run = Window.partitionBy("workspace_id", "run_id").orderBy("period_start_time", "period_end_time")
    terminal = F.col("result_state").isNotNull().cast("int")
    with_attempt = timeline.withColumn(
        "attempt_no",
        F.lit(1) + F.coalesce(F.sum(terminal).over(run.rowsBetween(Window.unboundedPreceding, -1)), F.lit(0)),
    )
    attempt = Window.partitionBy("workspace_id", "run_id", "attempt_no")
    return with_attempt.withColumn("attempt_result", F.max("result_state").over(attempt))


def assemble_job_runs(slices: DataFrame) -> DataFrame:
    """One row per (workspace_id, run_id) from :func:`job_run_slices` output: times, final state, attempts."""
    from pyspark.sql import functions as F

    terminal = F.col("result_state").isNotNull()
    terminal_end = F.when(terminal, F.col("period_end_time"))
    types = F.flatten(F.collect_list(F.coalesce(F.col("compute.type"), F.array().cast("array<string>"))))
    cluster = _slice_cluster()
    runs = slices.groupBy("workspace_id", "run_id").agg(
        F.min("job_id").alias("job_id"),
        F.min_by("run_name", "period_start_time").alias("run_name"),
        F.min("period_start_time").alias("start_time"),
        F.max("period_end_time").alias("end_time"),
        F.sum(seconds_between("period_start_time", "period_end_time")).alias("active_seconds"),
        F.max_by("result_state", terminal_end).alias("result_state"),
        F.max_by("termination_code", terminal_end).alias("termination_code"),
        F.max_by("termination_type", terminal_end).alias("termination_type"),
        F.min_by("result_state", terminal_end).alias("first_result_state"),
        F.min_by("trigger_type", "period_start_time").alias("trigger_type"),
        F.min_by("run_type", "period_start_time").alias("run_type"),
        F.count(F.when(terminal, 1)).cast("int").alias("attempts"),
        F.count(F.lit(1)).cast("int").alias("slice_count"),
        F.sum("queue_duration_seconds").alias("queue_seconds"),
        F.sum("setup_duration_seconds").alias("setup_seconds"),
        F.sum("execution_duration_seconds").alias("execution_seconds"),
        F.min_by(cluster, F.when(cluster.isNotNull(), F.col("period_start_time"))).alias("cluster_id"),
        F.array_sort(
            F.array_distinct(
                F.flatten(F.collect_list(F.coalesce(F.col("compute_ids"), F.array().cast("array<string>"))))
            )
        ).alias("compute_ids"),
        F.array_contains(types, "WAREHOUSE").alias("_on_warehouse"),
        F.array_contains(types, "SERVERLESS").alias("_on_serverless"),
    )
    state = F.upper(F.col("result_state"))
    return (
        runs.withColumn("run_date", F.to_date("start_time"))
        .withColumn("duration_seconds", seconds_between("start_time", "end_time"))
        .withColumn("is_completed", F.col("attempts") > 0)
        .withColumn("is_success", F.coalesce(state == "SUCCEEDED", F.lit(False)))
        .withColumn("is_failure", F.coalesce(state.isin(*FAILURE_STATES), F.lit(False)))
        .withColumn("is_retry", F.coalesce(F.upper(F.col("trigger_type")) == "ONETIME_RETRY", F.lit(False)))
        .withColumn("repairs", F.greatest(F.col("attempts") - 1, F.lit(0)).cast("int"))
    )


def classify_run_compute(runs: DataFrame, clusters: DataFrame) -> DataFrame:
    """compute_type and is_all_purpose of assembled runs, from the current dim_cluster row of their cluster."""
    from pyspark.sql import functions as F

    kinds = current_rows(clusters).select("workspace_id", "cluster_id", F.col("compute_kind").alias("_kind"))
    compute_type = (
        F.when(F.col("_on_warehouse"), "WAREHOUSE")
        .when(F.col("_kind") == "ALL_PURPOSE", "ALL_PURPOSE")
        .when(F.col("_kind") == "JOB", "JOB_CLUSTER")
        .when(F.col("cluster_id").isNotNull(), "CLUSTER")
        .when(F.col("_on_serverless"), "SERVERLESS")
        .otherwise("UNKNOWN")
    )
    return (
        runs.join(kinds, ["workspace_id", "cluster_id"], "left")
        .withColumn("compute_type", compute_type)
        .withColumn("is_all_purpose", F.col("compute_type") == "ALL_PURPOSE")
        .drop("_kind", "_on_warehouse", "_on_serverless")
    )


def attempt_hour_shares(slices: DataFrame) -> DataFrame:
    """Per (workspace_id, run_id, hour_start): the share of the run's time in that clock hour spent in attempts
    that ended in failure (`failed_share`, 0..1). Used to split an hour's run cost between attempts."""
    from pyspark.sql import functions as F

    seconds = seconds_between("period_start_time", "period_end_time")
    failed = F.upper(F.col("attempt_result")).isin(*FAILURE_STATES)
    return (
        slices.withColumn("hour_start", F.date_trunc("hour", "period_start_time"))
        .groupBy("workspace_id", "run_id", "hour_start")
        .agg(F.sum(seconds).alias("_all"), F.sum(F.when(failed, seconds).otherwise(0)).alias("_failed"))
        .select(
            "workspace_id",
            "run_id",
            "hour_start",
            F.when(F.col("_all") > 0, F.col("_failed") / F.col("_all"))
            .otherwise(F.when(F.col("_failed") > 0, 1.0).otherwise(0.0))
            .alias("failed_share"),
        )
    )


def run_costs(run_hour_cost: DataFrame, shares: DataFrame) -> DataFrame:
    """Per (workspace_id, run_id): dbus, list_cost, effective_cost, the failed part of the hours the timeline
    covers (`_failed_list`, `_failed_effective`) and the cost of hours it does not (`_unmatched_*`, charged to
    the run's final state by :func:`job_runs_frame`), and cost_source.

    `run_hour_cost` has (workspace_id, run_id, hour_start, dbus, list_cost, effective_cost, cost_source) with
    cost_source JOB_USAGE or ALL_PURPOSE_SHARE. Totals are summed exactly; only hours shared by a failed and a
    successful attempt are split by time share.
    """
    from pyspark.sql import functions as F

    joined = run_hour_cost.join(shares, ["workspace_id", "run_id", "hour_start"], "left")
    share = F.col("failed_share")

    def failed_part(column: str) -> Column:
        return (
            F.when(share.isNull() | (share == 0), F.expr(ZERO))
            .when(share == 1, F.col(column))
            .otherwise((F.col(column) * share).cast("decimal(38,10)"))
        )

    def unmatched(column: str) -> Column:
        return F.when(share.isNull(), F.col(column)).otherwise(F.expr(ZERO))

    return joined.groupBy("workspace_id", "run_id").agg(
        F.sum("dbus").alias("dbus"),
        F.sum("list_cost").alias("list_cost"),
        F.sum("effective_cost").alias("effective_cost"),
        F.sum(failed_part("list_cost")).alias("_failed_list"),
        F.sum(failed_part("effective_cost")).alias("_failed_effective"),
        F.sum(unmatched("list_cost")).alias("_unmatched_list"),
        F.sum(unmatched("effective_cost")).alias("_unmatched_effective"),
        F.max("cost_source").alias("cost_source"),  # JOB_USAGE wins over ALL_PURPOSE_SHARE (sorts after it)
    )


def job_runs_frame(timeline: DataFrame, clusters: DataFrame, run_hour_cost: DataFrame) -> DataFrame:
    """fct_job_runs: one row per run from timeline slices, dim_cluster and the run-hour cost (see run_costs)."""
    from pyspark.sql import functions as F

    slices = job_run_slices(timeline)
    runs = classify_run_compute(assemble_job_runs(slices), clusters)
    costs = run_costs(run_hour_cost, attempt_hour_shares(slices))
    zero = F.expr(ZERO)
    return runs.join(costs, ["workspace_id", "run_id"], "left").select(
        *[c for c in runs.columns],
        F.coalesce(F.col("dbus"), F.expr(ZERO_UNITS)).alias("dbus"),
        F.coalesce(F.col("list_cost"), zero).alias("list_cost"),
        F.coalesce(F.col("effective_cost"), zero).alias("effective_cost"),
        (
            F.coalesce(F.col("_failed_list"), zero)
            + F.when(F.col("is_failure"), F.coalesce(F.col("_unmatched_list"), zero)).otherwise(zero)
        )
        .cast("decimal(38,10)")
        .alias("failed_list_cost"),
        (
            F.coalesce(F.col("_failed_effective"), zero)
            + F.when(F.col("is_failure"), F.coalesce(F.col("_unmatched_effective"), zero)).otherwise(zero)
        )
        .cast("decimal(38,10)")
        .alias("failed_effective_cost"),
        F.coalesce(F.col("cost_source"), F.lit("NONE")).alias("cost_source"),
    )


def task_runs_frame(task_timeline: DataFrame) -> DataFrame:
    """fct_task_runs: one row per (workspace_id, task run id) from job_task_run_timeline slices."""
    from pyspark.sql import functions as F

    terminal = F.col("result_state").isNotNull()
    terminal_end = F.when(terminal, F.col("period_end_time"))
    types = F.flatten(F.collect_list(F.coalesce(F.col("compute.type"), F.array().cast("array<string>"))))
    cluster = _slice_cluster()
    runs = task_timeline.groupBy("workspace_id", F.col("run_id").alias("task_run_id")).agg(
        F.min("job_id").alias("job_id"),
        F.min(F.coalesce(F.col("job_run_id"), F.col("parent_run_id"))).alias("job_run_id"),
        F.min("parent_run_id").alias("parent_run_id"),
        F.min("task_key").alias("task_key"),
        F.min("period_start_time").alias("start_time"),
        F.max("period_end_time").alias("end_time"),
        F.max_by("result_state", terminal_end).alias("result_state"),
        F.max_by("termination_code", terminal_end).alias("termination_code"),
        F.max_by("termination_type", terminal_end).alias("termination_type"),
        F.count(F.when(terminal, 1)).cast("int").alias("attempts"),
        F.count(F.lit(1)).cast("int").alias("slice_count"),
        F.sum("setup_duration_seconds").alias("setup_seconds"),
        F.sum("execution_duration_seconds").alias("execution_seconds"),
        F.sum("cleanup_duration_seconds").alias("cleanup_seconds"),
        F.min_by(cluster, F.when(cluster.isNotNull(), F.col("period_start_time"))).alias("cluster_id"),
        types.alias("_types"),
    )
    state = F.upper(F.col("result_state"))
    return runs.select(
        "workspace_id",
        "job_id",
        "job_run_id",
        "task_run_id",
        "parent_run_id",
        "task_key",
        F.to_date("start_time").alias("run_date"),
        "start_time",
        "end_time",
        seconds_between("start_time", "end_time").alias("duration_seconds"),
        "result_state",
        "termination_code",
        "termination_type",
        (F.col("attempts") > 0).alias("is_completed"),
        F.coalesce(state == "SUCCEEDED", F.lit(False)).alias("is_success"),
        F.coalesce(state.isin(*FAILURE_STATES), F.lit(False)).alias("is_failure"),
        "attempts",
        "slice_count",
        "setup_seconds",
        "execution_seconds",
        "cleanup_seconds",
        F.when(F.array_contains("_types", "WAREHOUSE"), "WAREHOUSE")
        .when(F.col("cluster_id").isNotNull(), "CLUSTER")
        .when(F.array_contains("_types", "SERVERLESS"), "SERVERLESS")
        .otherwise("UNKNOWN")
        .alias("compute_type"),
        "cluster_id",
    )


def pipeline_updates_frame(update_timeline: DataFrame, update_cost: DataFrame) -> DataFrame:
    """fct_pipeline_updates: one row per update from its slices, with the cost billed to it.

    `update_cost` has (workspace_id, update_id, dbus, list_cost, effective_cost), one row per update."""
    from pyspark.sql import functions as F

    terminal_end = F.when(F.col("result_state").isNotNull(), F.col("period_end_time"))
    first = "period_start_time"
    updates = update_timeline.groupBy("workspace_id", "pipeline_id", "update_id").agg(
        F.min("period_start_time").alias("start_time"),
        F.max("period_end_time").alias("end_time"),
        F.max_by("result_state", terminal_end).alias("result_state"),
        F.min_by("update_type", first).alias("update_type"),
        F.min_by("trigger_type", first).alias("trigger_type"),
        F.min_by(F.col("trigger_details.job_task.job_id"), first).alias("trigger_job_id"),
        F.min_by(F.col("trigger_details.job_task.job_run_id"), first).alias("trigger_job_run_id"),
        F.min_by("run_as_user_name", first).alias("run_as_user_name"),
        F.min_by("request_id", first).alias("request_id"),
        F.min_by(F.col("compute.type"), first).alias("compute_type"),
        F.min_by(F.col("compute.cluster_id"), first).alias("cluster_id"),
        F.max(F.coalesce(F.size("full_refresh_selection"), F.lit(0))).alias("_full_selection"),
        F.count(F.lit(1)).cast("int").alias("slice_count"),
    )
    state = F.upper(F.col("result_state"))
    zero = F.expr(ZERO)
    return updates.join(update_cost, ["workspace_id", "update_id"], "left").select(
        "workspace_id",
        "pipeline_id",
        "update_id",
        F.to_date("start_time").alias("update_date"),
        "start_time",
        "end_time",
        seconds_between("start_time", "end_time").alias("duration_seconds"),
        "result_state",
        F.col("result_state").isNotNull().alias("is_completed"),
        F.coalesce(state == "COMPLETED", F.lit(False)).alias("is_success"),
        F.coalesce(state.isin(*PIPELINE_FAILURE_STATES), F.lit(False)).alias("is_failure"),
        "update_type",
        (
            (F.upper(F.coalesce(F.col("update_type"), F.lit(""))) == "FULL_REFRESH") | (F.col("_full_selection") > 0)
        ).alias("is_full_refresh"),
        "trigger_type",
        "trigger_job_id",
        "trigger_job_run_id",
        "run_as_user_name",
        "request_id",
        "compute_type",
        "cluster_id",
        "slice_count",
        F.coalesce(F.col("dbus"), F.expr(ZERO_UNITS)).alias("dbus"),
        F.coalesce(F.col("list_cost"), zero).alias("list_cost"),
        F.coalesce(F.col("effective_cost"), zero).alias("effective_cost"),
    )


def daily_jobs_frame(job_runs: DataFrame, jobs: DataFrame) -> DataFrame:
    """agg_daily_jobs from fct_job_runs and the current dim_job names."""
    from pyspark.sql import functions as F

    names = current_rows(jobs).select("workspace_id", "job_id", "job_name")
    daily = job_runs.groupBy("run_date", "workspace_id", "job_id").agg(
        F.count(F.lit(1)).alias("runs"),
        F.count(F.when(F.col("is_completed"), 1)).alias("completed_runs"),
        F.count(F.when(F.col("is_success"), 1)).alias("successes"),
        F.count(F.when(F.col("is_failure"), 1)).alias("failures"),
        F.count(F.when(F.upper("result_state").startswith("CANCEL"), 1)).alias("cancellations"),
        F.count(F.when(F.col("is_retry"), 1)).alias("retries"),
        F.sum("repairs").cast("bigint").alias("repairs"),
        F.sum("duration_seconds").alias("total_duration_seconds"),
        F.avg(F.when(F.col("is_completed"), F.col("duration_seconds"))).alias("avg_duration_seconds"),
        F.max("duration_seconds").alias("max_duration_seconds"),
        *[
            F.sum(c).alias(c)
            for c in ("dbus", "list_cost", "effective_cost", "failed_list_cost", "failed_effective_cost")
        ],
    )
    return daily.join(names, ["workspace_id", "job_id"], "left").withColumn(
        "success_rate",
        F.when(F.col("completed_runs") > 0, F.col("successes") / F.col("completed_runs")),
    )


def job_run_hour_cost(allocation: DataFrame) -> DataFrame:
    """Cost per job run and usage hour from fct_cost_allocation: billed to the run (rule `direct`,
    cost_source JOB_USAGE) or the run's share of an all-purpose cluster-hour (ALL_PURPOSE_SHARE)."""
    from pyspark.sql import functions as F

    return allocation.where(F.col("job_run_id").isNotNull()).select(
        "workspace_id",
        F.col("job_run_id").alias("run_id"),
        F.date_trunc("hour", "usage_start_time").alias("hour_start"),
        F.col("usage_quantity").alias("dbus"),
        "list_cost",
        "effective_cost",
        F.when(F.col("allocation_rule") == "cluster_time_share", "ALL_PURPOSE_SHARE")
        .otherwise("JOB_USAGE")
        .alias("cost_source"),
    )


def build_fct_job_runs(inputs: Inputs) -> DataFrame:
    return job_runs_frame(
        inputs.read("silver.lakeflow_job_run_timeline"),
        inputs.read("gold.dim_cluster"),
        job_run_hour_cost(inputs.read("gold.fct_cost_allocation")),
    )


def build_fct_task_runs(inputs: Inputs) -> DataFrame:
    return task_runs_frame(inputs.read("silver.lakeflow_job_task_run_timeline"))


def build_fct_pipeline_updates(inputs: Inputs) -> DataFrame:
    from pyspark.sql import functions as F

    usage = inputs.read("gold.fct_usage_hourly").where(F.col("pipeline_update_id").isNotNull())
    update_cost = usage.groupBy("workspace_id", F.col("pipeline_update_id").alias("update_id")).agg(
        F.sum("usage_quantity").alias("dbus"),
        F.sum("list_cost").alias("list_cost"),
        F.sum("effective_cost").alias("effective_cost"),
    )
    return pipeline_updates_frame(inputs.read("silver.lakeflow_pipeline_update_timeline"), update_cost)


def build_agg_daily_jobs(inputs: Inputs) -> DataFrame:
    return daily_jobs_frame(inputs.read("gold.fct_job_runs"), inputs.read("gold.dim_job"))
