"""Gold operations: jobs, compute, queries, audit, lineage and serving as a star schema.

Dimensions (SCD2, history kept): dim_job, dim_cluster, dim_warehouse, dim_pipeline, plus dim_node_type.
Facts: fct_job_runs (one row per run assembled from hourly timeline slices, with cost and the cost of failed
attempts), fct_task_runs, fct_pipeline_updates, fct_queries, fct_audit_events, fct_node_utilization_hourly,
fct_warehouse_events, fct_table_lineage, fct_serving_usage. Summaries: agg_daily_jobs, agg_daily_security.

Transforms are pure DataFrame → DataFrame functions (`*_frame`, unit tested on tiny frames); builders
`build_<table>(spark, config, run_id)` read the input layer (`gold.input_layer`, silver) and return the DataFrame.
`hm_utils.gold.build_gold` calls :func:`build_dimension` (silver only) for each dimension before the usage facts,
:func:`build_whole_facts` after them and :func:`refresh_dated_tables` (silver only) beside them: run cost comes
from gold.fct_cost_allocation (direct job-run usage and the runs' shares of all-purpose cluster-hours), pipeline
update cost from gold.fct_usage_hourly. All write through
:func:`hm_utils.gold.models.write_model` and return one :class:`TableBuild` per table. The check that every source
run appears once in fct_job_runs is `job_runs_once` in hm_utils.gold.reconcile.

Refresh (correctness first):
- Rebuilt in full every run: the dimensions (SCD2 versions can change anywhere in history), the run-grain facts
  (a run's slices, and its cost through late usage corrections, can change days later) and the summaries of
  jobs. They hold one row per run, version or event and stay small.
- Refreshed by date: the high-volume event facts (audit, queries, node utilisation, lineage, serving) and
  agg_daily_security. Each such table keeps `_hm_ingested_at` (latest silver ingestion time of its rows); the
  dates of silver rows ingested after the table's maximum are rebuilt whole with `replace_where`. Bronze
  re-ingests its lookback every run, so those days are refreshed too; a rerun with nothing new writes nothing;
  `gold.full_refresh: true` (or a missing table) rebuilds everything.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hm_utils import io
from hm_utils.config import Config

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

# Job / task result states counted as failures (cancelled, skipped and blocked runs are neither success nor failure).
FAILURE_STATES = ("FAILED", "TIMED_OUT", "ERROR")
PIPELINE_FAILURE_STATES = ("FAILED",)

# Audit actions behind the security flags (system_tables_notes §4, peers §5.7); matched on action_name.
LOGIN_ACTIONS = (
    "login",
    "tokenLogin",
    "samlLogin",
    "oidcBrowserLogin",
    "jwtLogin",
    "certLogin",
    "aadBrowserLogin",
    "aadTokenLogin",
    "mfaLogin",
    "passwordVerifyAuthentication",
)
ADMIN_ACTIONS = (
    "setAdmin",
    "removeAdmin",
    "setAccountAdmin",
    "removeAccountAdmin",
    "addPrincipalToGroup",
    "removePrincipalFromGroup",
    "createGroup",
    "removeGroup",
    "updateGroup",
    "changeAccountOwner",
    "addPrincipalsToGroup",
    "removePrincipalsFromGroup",
)
PERMISSION_ACTIONS = (
    "updatePermissions",
    "grantPermission",
    "revokePermission",
    "denyPermission",
    "updatePermissionAssignment",
    "deletePermissionAssignment",
    "updateRoleAssignment",
    "changeClusterAcl",
    "changeJobAcl",
    "changeWarehouseAcls",
    "changePipelineAcls",
    "changeClusterPolicyAcl",
    "changeInstancePoolAcl",
    "changeNotebookAcl",
    "changeDirectoryAcl",
    "changeRegisteredModelAcl",
    "changeServingEndpointAcl",
    "changePermissions",
    "setPermissions",
    "transferObjectOwnership",
    "changeSecurableOwner",
    "updateSharePermissions",
    "putAcl",
    "resetJobAcl",
    "changeDatabricksSqlAcl",
    "changeDatabricksWorkspaceAcl",
    "changeWorkspaceAcl",
    "changeDbTokenAcl",
    "changeFeatureTableAcl",
    "changeIamRoleAcl",
    "changeInferenceEndpointAcl",
    "changePasswordAcl",
    "changeServicePrincipalAcls",
)
TOKEN_ACTIONS = (
    "generateDbToken",
    "revokeDbToken",
    "createToken",
    "revokeToken",
    "deleteToken",
    "createOboToken",
    "rotateToken",
    "tokenCreate",
    "tokenRevoke",
)
DOWNLOAD_ACTIONS = (
    "downloadQueryResult",
    "downloadPreviewResults",
    "downloadLargeResults",
    "workspaceExport",
    "exportNotebook",
    "filesGet",
    "downloadArtifact",
    "getModelVersionDownloadUri",
    "getModelVersionSignedDownloadUri",
    "downloadFile",
)
# request_params keys naming the Unity Catalog securable an event touched, first present wins.
SECURABLE_PARAMS = ("full_name_arg", "table_full_name", "securable_full_name", "volume_full_name", "securable")

INGESTED = "_hm_ingested_at"
ZERO = "cast(0 as decimal(38,10))"  # costs
ZERO_UNITS = "cast(0 as decimal(38,18))"  # DBUs


# --------------------------------------------------------------------------------------------------- helpers


def _lit_list(values: tuple[str, ...]) -> list:
    from pyspark.sql import functions as F

    return [F.lit(v) for v in values]


def _seconds(start: str, end: str) -> Column:
    from pyspark.sql import functions as F

    return F.unix_timestamp(F.col(end)) - F.unix_timestamp(F.col(start))


def scd2_versions(df: DataFrame, keys: list[str], change_column: str = "change_time") -> DataFrame:
    """`df` (one row per version) with valid_from, valid_to (next version's change time) and is_current."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(*keys).orderBy(F.col(change_column))
    return (
        df.withColumn("valid_from", F.col(change_column))
        .withColumn("valid_to", F.lead(F.col(change_column)).over(window))
        .withColumn("is_current", F.col("valid_to").isNull())
    )


def current_rows(dimension: DataFrame) -> DataFrame:
    """The current version of every key of an SCD2 dimension."""
    return dimension.where("is_current")


# ------------------------------------------------------------------------------------------------ dimensions


def dim_job_frame(jobs: DataFrame) -> DataFrame:
    """dim_job from silver lakeflow_jobs (one row per workspace_id, job_id, change_time)."""
    from pyspark.sql import functions as F

    return scd2_versions(jobs, ["workspace_id", "job_id"]).select(
        "workspace_id",
        "job_id",
        F.col("name").alias("job_name"),
        "description",
        "creator_id",
        "creator_user_name",
        "run_as",
        "run_as_user_name",
        F.coalesce(F.col("tags"), F.create_map().cast("map<string,string>")).alias("tags"),
        "trigger_type",
        F.col("trigger.schedule.quartz_cron_expression").alias("schedule_cron"),
        F.coalesce(F.col("paused"), F.lit(False)).alias("is_paused"),
        "timeout_seconds",
        "create_time",
        "delete_time",
        F.col("delete_time").isNotNull().alias("is_deleted"),
        "valid_from",
        "valid_to",
        "is_current",
    )


def dim_cluster_frame(clusters: DataFrame) -> DataFrame:
    """dim_cluster from silver compute_clusters; compute_kind tells all-purpose (UI/API) from job clusters."""
    from pyspark.sql import functions as F

    source = F.upper(F.col("cluster_source"))
    kind = (
        F.when(source.isin("UI", "API"), "ALL_PURPOSE")
        .when(source == "JOB", "JOB")
        .when(source.startswith("PIPELINE"), "PIPELINE")
        .otherwise("OTHER")
    )
    return scd2_versions(clusters, ["workspace_id", "cluster_id"]).select(
        "workspace_id",
        "cluster_id",
        "cluster_name",
        "owned_by",
        "cluster_source",
        kind.alias("compute_kind"),
        (kind == "ALL_PURPOSE").alias("is_all_purpose"),
        "driver_node_type",
        "worker_node_type",
        "worker_count",
        "min_autoscale_workers",
        "max_autoscale_workers",
        F.col("max_autoscale_workers").isNotNull().alias("is_autoscaling"),
        "auto_termination_minutes",
        "dbr_version",
        "data_security_mode",
        "policy_id",
        F.coalesce(
            F.col("aws_attributes.availability"),
            F.col("azure_attributes.availability"),
            F.col("gcp_attributes.availability"),
        ).alias("availability"),
        F.coalesce(F.col("tags"), F.create_map().cast("map<string,string>")).alias("tags"),
        "create_time",
        "delete_time",
        F.col("delete_time").isNotNull().alias("is_deleted"),
        "valid_from",
        "valid_to",
        "is_current",
    )


def dim_warehouse_frame(warehouses: DataFrame) -> DataFrame:
    """dim_warehouse from silver compute_warehouses."""
    from pyspark.sql import functions as F

    return scd2_versions(warehouses, ["workspace_id", "warehouse_id"]).select(
        "workspace_id",
        "warehouse_id",
        "warehouse_name",
        "warehouse_type",
        "warehouse_channel",
        "warehouse_size",
        "min_clusters",
        "max_clusters",
        "auto_stop_minutes",
        F.coalesce(F.col("tags"), F.create_map().cast("map<string,string>")).alias("tags"),
        "delete_time",
        F.col("delete_time").isNotNull().alias("is_deleted"),
        "valid_from",
        "valid_to",
        "is_current",
    )


def dim_pipeline_frame(pipelines: DataFrame) -> DataFrame:
    """dim_pipeline from silver lakeflow_pipelines."""
    from pyspark.sql import functions as F

    return scd2_versions(pipelines, ["workspace_id", "pipeline_id"]).select(
        "workspace_id",
        "pipeline_id",
        F.col("name").alias("pipeline_name"),
        "pipeline_type",
        "created_by",
        "run_as",
        F.coalesce(F.col("tags"), F.create_map().cast("map<string,string>")).alias("tags"),
        F.col("settings.serverless").alias("is_serverless"),
        F.col("settings.photon").alias("is_photon"),
        F.col("settings.continuous").alias("is_continuous"),
        F.col("settings.development").alias("is_development"),
        F.col("settings.edition").alias("edition"),
        F.col("settings.channel").alias("channel"),
        "configuration",
        "delete_time",
        F.col("delete_time").isNotNull().alias("is_deleted"),
        "valid_from",
        "valid_to",
        "is_current",
    )


def dim_node_type_frame(node_types: DataFrame) -> DataFrame:
    """dim_node_type from silver compute_node_types (one row per node type across accounts)."""
    from pyspark.sql import functions as F

    return node_types.groupBy("node_type").agg(
        F.max("core_count").alias("core_count"),
        F.max("memory_mb").alias("memory_mb"),
        (F.max("memory_mb") / F.lit(1024.0)).alias("memory_gb"),
        F.max("gpu_count").alias("gpu_count"),
    )


# -------------------------------------------------------------------------------------------------- job runs


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
        F.sum(_seconds("period_start_time", "period_end_time")).alias("active_seconds"),
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
        .withColumn("duration_seconds", _seconds("start_time", "end_time"))
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

    seconds = _seconds("period_start_time", "period_end_time")
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
        _seconds("start_time", "end_time").alias("duration_seconds"),
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
        _seconds("start_time", "end_time").alias("duration_seconds"),
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


# -------------------------------------------------------------------------------------------- event facts


def queries_frame(history: DataFrame) -> DataFrame:
    """fct_queries from silver query_history (one row per statement_id)."""
    from pyspark.sql import functions as F

    source = F.col("query_source")
    source_type = (
        F.when(source["job_info"]["job_id"].isNotNull(), "JOB")
        .when(source["dashboard_id"].isNotNull(), "DASHBOARD")
        .when(source["legacy_dashboard_id"].isNotNull(), "LEGACY_DASHBOARD")
        .when(source["alert_id"].isNotNull(), "ALERT")
        .when(source["genie_space_id"].isNotNull(), "GENIE")
        .when(source["pipeline_info"]["pipeline_id"].isNotNull(), "PIPELINE")
        .when(source["notebook_id"].isNotNull(), "NOTEBOOK")
        .when(source["sql_query_id"].isNotNull(), "SQL_QUERY")
        .otherwise("OTHER")
    )
    return history.select(
        "statement_id",
        "workspace_id",
        F.to_date("start_time").alias("query_date"),
        "start_time",
        "end_time",
        F.col("compute.type").alias("compute_type"),
        F.col("compute.warehouse_id").alias("warehouse_id"),
        F.col("compute.cluster_id").alias("cluster_id"),
        "executed_by",
        "executed_by_user_id",
        "executed_as",
        "statement_type",
        "execution_status",
        F.coalesce(F.upper("execution_status") == "FAILED", F.lit(False)).alias("is_failed"),
        "error_message",
        "client_application",
        "statement_text",
        "total_duration_ms",
        (
            F.coalesce(F.col("waiting_for_compute_duration_ms"), F.lit(0))
            + F.coalesce(F.col("waiting_at_capacity_duration_ms"), F.lit(0))
        ).alias("queued_ms"),
        F.col("waiting_for_compute_duration_ms").alias("waiting_for_compute_ms"),
        F.col("waiting_at_capacity_duration_ms").alias("waiting_at_capacity_ms"),
        F.col("compilation_duration_ms").alias("compilation_ms"),
        F.col("execution_duration_ms").alias("execution_ms"),
        F.col("result_fetch_duration_ms").alias("result_fetch_ms"),
        F.col("total_task_duration_ms").alias("total_task_ms"),
        "read_bytes",
        "read_rows",
        "read_files",
        "pruned_files",
        "produced_rows",
        "written_bytes",
        "written_rows",
        "spilled_local_bytes",
        "shuffle_read_bytes",
        "read_io_cache_percent",
        "from_result_cache",
        source_type.alias("source_type"),
        source["job_info"]["job_id"].alias("source_job_id"),
        source["job_info"]["job_run_id"].alias("source_job_run_id"),
        F.coalesce(source["dashboard_id"], source["legacy_dashboard_id"]).alias("source_dashboard_id"),
        source["notebook_id"].alias("source_notebook_id"),
        source["genie_space_id"].alias("source_genie_space_id"),
        source["pipeline_info"]["pipeline_id"].alias("source_pipeline_id"),
        INGESTED,
    )


def audit_events_frame(audit: DataFrame) -> DataFrame:
    """fct_audit_events from silver access_audit, with the security flags (see the *_ACTIONS constants)."""
    from pyspark.sql import functions as F

    action = F.col("action_name")
    status = F.col("response.status_code")
    params = F.col("request_params")
    is_login = action.isin(*LOGIN_ACTIONS)
    return audit.select(
        "event_id",
        "event_time",
        F.coalesce(F.col("event_date"), F.to_date("event_time")).alias("event_date"),
        "workspace_id",
        "service_name",
        "action_name",
        F.coalesce(F.col("user_identity.email"), F.when(is_login, params["user"])).alias("user_email"),
        "source_ip_address",
        "user_agent",
        status.alias("status_code"),
        F.col("response.error_message").alias("error_message"),
        F.coalesce(status >= 400, F.lit(False)).alias("is_failed"),
        is_login.alias("is_login"),
        (is_login & F.coalesce(status.isin(401, 403), F.lit(False))).alias("is_failed_login"),
        action.isin(*ADMIN_ACTIONS).alias("is_admin_change"),
        action.isin(*PERMISSION_ACTIONS).alias("is_permission_change"),
        action.isin(*TOKEN_ACTIONS).alias("is_token_event"),
        action.isin(*DOWNLOAD_ACTIONS).alias("is_download"),
        F.coalesce(*[params[key] for key in SECURABLE_PARAMS]).alias("securable_full_name"),
        F.coalesce(params, F.create_map().cast("map<string,string>")).alias("request_params"),
        F.col("identity_metadata.run_by").alias("run_by"),
        F.col("identity_metadata.run_as").alias("run_as"),
        "session_id",
        "audit_level",
        INGESTED,
    )


def node_utilization_frame(node_timeline: DataFrame) -> DataFrame:
    """fct_node_utilization_hourly: per-minute node metrics rolled up per cluster, clock hour and node role."""
    from pyspark.sql import functions as F

    cpu = F.col("cpu_user_percent") + F.col("cpu_system_percent")
    return (
        node_timeline.withColumn("hour_start", F.date_trunc("hour", "start_time"))
        .groupBy("workspace_id", "cluster_id", "hour_start", F.col("driver").alias("is_driver"))
        .agg(
            F.max("node_type").alias("node_type"),
            F.countDistinct("instance_id").alias("instance_count"),
            F.round(F.sum(_seconds("start_time", "end_time")) / 60).cast("bigint").alias("node_minutes"),
            F.avg(cpu).alias("avg_cpu_percent"),
            F.max(cpu).alias("peak_cpu_percent"),
            F.avg("cpu_wait_percent").alias("avg_cpu_wait_percent"),
            F.avg("mem_used_percent").alias("avg_mem_used_percent"),
            F.max("mem_used_percent").alias("peak_mem_used_percent"),
            F.avg("mem_swap_percent").alias("avg_mem_swap_percent"),
            F.sum("network_sent_bytes").alias("network_sent_bytes"),
            F.sum("network_received_bytes").alias("network_received_bytes"),
            F.max(INGESTED).alias(INGESTED),
        )
        .withColumn("usage_date", F.to_date("hour_start"))
    )


def warehouse_events_frame(events: DataFrame) -> DataFrame:
    """fct_warehouse_events with the previous cluster count and the seconds until the warehouse's next event."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("workspace_id", "warehouse_id").orderBy("event_time", "event_type")
    return events.select(
        "workspace_id",
        "warehouse_id",
        "event_time",
        F.to_date("event_time").alias("event_date"),
        "event_type",
        "cluster_count",
        F.lag("cluster_count").over(order).alias("previous_cluster_count"),
        (F.unix_timestamp(F.lead("event_time").over(order)) - F.unix_timestamp("event_time")).alias(
            "seconds_to_next_event"
        ),
    )


def table_lineage_frame(lineage: DataFrame) -> DataFrame:
    """fct_table_lineage from silver access_table_lineage."""
    from pyspark.sql import functions as F

    meta = F.col("entity_metadata")
    entity = F.upper(F.col("entity_type"))
    has_source = F.col("source_table_full_name").isNotNull() | F.col("source_path").isNotNull()
    has_target = F.col("target_table_full_name").isNotNull() | F.col("target_path").isNotNull()
    return lineage.select(
        "record_id",
        "event_id",
        "event_time",
        F.coalesce(F.col("event_date"), F.to_date("event_time")).alias("event_date"),
        "workspace_id",
        "entity_type",
        "entity_id",
        "entity_run_id",
        "source_table_full_name",
        "source_type",
        "source_path",
        "target_table_full_name",
        "target_type",
        "target_path",
        (has_source & ~has_target).alias("is_read"),
        has_target.alias("is_write"),
        "created_by",
        "statement_id",
        F.coalesce(meta["job_info"]["job_id"], F.when(entity == "JOB", F.col("entity_id"))).alias("job_id"),
        F.coalesce(meta["job_info"]["job_run_id"], F.when(entity == "JOB", F.col("entity_run_id"))).alias("job_run_id"),
        F.coalesce(
            meta["dlt_pipeline_info"]["dlt_pipeline_id"], F.when(entity == "PIPELINE", F.col("entity_id"))
        ).alias("pipeline_id"),
        F.coalesce(meta["notebook_id"], F.when(entity == "NOTEBOOK", F.col("entity_id"))).alias("notebook_id"),
        F.coalesce(meta["dashboard_id"], meta["legacy_dashboard_id"]).alias("dashboard_id"),
        "direct_access",
        INGESTED,
    )


def serving_usage_frame(endpoint_usage: DataFrame, served_entities: DataFrame) -> DataFrame:
    """fct_serving_usage: requests and tokens per served entity and hour, named from its latest definition."""
    from pyspark.sql import functions as F

    hourly = (
        endpoint_usage.withColumn("hour_start", F.date_trunc("hour", "request_time"))
        .withColumn("served_entity_id", F.coalesce(F.col("served_entity_id"), F.lit("unknown")))
        .groupBy("workspace_id", "served_entity_id", "hour_start")
        .agg(
            F.count(F.lit(1)).alias("requests"),
            F.count(F.when(F.col("status_code") >= 400, 1)).alias("failed_requests"),
            F.count(F.when(F.col("request_streaming"), 1)).alias("streaming_requests"),
            F.coalesce(F.sum("input_token_count"), F.lit(0)).alias("input_tokens"),
            F.coalesce(F.sum("output_token_count"), F.lit(0)).alias("output_tokens"),
            F.coalesce(F.sum("input_character_count"), F.lit(0)).alias("input_characters"),
            F.coalesce(F.sum("output_character_count"), F.lit(0)).alias("output_characters"),
            F.countDistinct("requester").alias("distinct_requesters"),
            F.max(INGESTED).alias(INGESTED),
        )
    )
    latest = served_entities.groupBy("served_entity_id").agg(
        *[
            F.max_by(c, "change_time").alias(c)
            for c in ("endpoint_id", "endpoint_name", "entity_name", "entity_type", "task")
        ]
    )
    return hourly.join(latest, "served_entity_id", "left").withColumn("usage_date", F.to_date("hour_start"))


# ------------------------------------------------------------------------------------------------ summaries


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


def daily_security_frame(audit_events: DataFrame) -> DataFrame:
    """agg_daily_security from fct_audit_events."""
    from pyspark.sql import functions as F

    def flagged(column: str) -> Column:
        return F.count(F.when(F.col(column), 1))

    return audit_events.groupBy("event_date", "workspace_id").agg(
        F.count(F.lit(1)).alias("events"),
        flagged("is_failed").alias("failed_events"),
        flagged("is_login").alias("logins"),
        flagged("is_failed_login").alias("failed_logins"),
        F.countDistinct(F.when(F.col("is_failed_login"), F.col("user_email"))).alias("users_with_failed_logins"),
        flagged("is_admin_change").alias("admin_changes"),
        flagged("is_permission_change").alias("permission_changes"),
        flagged("is_token_event").alias("token_events"),
        flagged("is_download").alias("downloads"),
        F.countDistinct("user_email").alias("distinct_users"),
        F.countDistinct("source_ip_address").alias("distinct_ips"),
        F.max(INGESTED).alias(INGESTED),
    )


# ------------------------------------------------------------------------------------------------- builders


def _input(spark: SparkSession, config: Config, name: str) -> DataFrame:
    from hm_utils.gold.dimensions import read_input

    return read_input(spark, config, name)


def build_dim_job(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return dim_job_frame(_input(spark, config, "lakeflow_jobs"))


def build_dim_cluster(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return dim_cluster_frame(_input(spark, config, "compute_clusters"))


def build_dim_warehouse(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return dim_warehouse_frame(_input(spark, config, "compute_warehouses"))


def build_dim_pipeline(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return dim_pipeline_frame(_input(spark, config, "lakeflow_pipelines"))


def build_dim_node_type(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return dim_node_type_frame(_input(spark, config, "compute_node_types"))


def job_run_hour_cost(allocation: DataFrame) -> DataFrame:
    """Cost per job run and usage hour from gold-cost's fct_cost_allocation: billed to the run (rule `direct`,
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


def build_fct_job_runs(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return job_runs_frame(
        _input(spark, config, "lakeflow_job_run_timeline"),
        io.read_table(spark, config, "gold.dim_cluster"),
        job_run_hour_cost(io.read_table(spark, config, "gold.fct_cost_allocation")),
    )


def build_fct_task_runs(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return task_runs_frame(_input(spark, config, "lakeflow_job_task_run_timeline"))


def build_fct_pipeline_updates(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    from pyspark.sql import functions as F

    usage = io.read_table(spark, config, "gold.fct_usage_hourly").where(F.col("pipeline_update_id").isNotNull())
    update_cost = usage.groupBy("workspace_id", F.col("pipeline_update_id").alias("update_id")).agg(
        F.sum("usage_quantity").alias("dbus"),
        F.sum("list_cost").alias("list_cost"),
        F.sum("effective_cost").alias("effective_cost"),
    )
    return pipeline_updates_frame(_input(spark, config, "lakeflow_pipeline_update_timeline"), update_cost)


def build_fct_warehouse_events(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return warehouse_events_frame(_input(spark, config, "compute_warehouse_events"))


def build_agg_daily_jobs(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    return daily_jobs_frame(
        io.read_table(spark, config, "gold.fct_job_runs"), io.read_table(spark, config, "gold.dim_job")
    )


def _serving(spark: SparkSession, config: Config, usage: DataFrame) -> DataFrame:
    return serving_usage_frame(usage, _input(spark, config, "serving_served_entities"))


@dataclass(frozen=True)
class DatedTable:
    """A table refreshed by date: its input table (`silver.<name>` via gold.input_layer, or a `gold.` key), the
    input's date expression, the transform and the table's date column."""

    table: str
    input_name: str
    input_date: Callable[[], Column]
    transform: Callable[[SparkSession, Config, DataFrame], DataFrame]
    date_column: str


def _date_of(column: str, fallback_time: str | None = None) -> Callable[[], Column]:
    def expression() -> Column:
        from pyspark.sql import functions as F

        date = F.to_date(F.col(column))
        return date if fallback_time is None else F.coalesce(date, F.to_date(F.col(fallback_time)))

    return expression


def _pure(transform: Callable[[DataFrame], DataFrame]) -> Callable[[SparkSession, Config, DataFrame], DataFrame]:
    return lambda spark, config, df: transform(df)


DATED_TABLES: tuple[DatedTable, ...] = (
    DatedTable(
        "fct_audit_events",
        "access_audit",
        _date_of("event_date", "event_time"),
        _pure(audit_events_frame),
        "event_date",
    ),
    DatedTable("fct_queries", "query_history", _date_of("start_time"), _pure(queries_frame), "query_date"),
    DatedTable(
        "fct_node_utilization_hourly",
        "compute_node_timeline",
        _date_of("start_time"),
        _pure(node_utilization_frame),
        "usage_date",
    ),
    DatedTable(
        "fct_table_lineage",
        "access_table_lineage",
        _date_of("event_date", "event_time"),
        _pure(table_lineage_frame),
        "event_date",
    ),
    DatedTable("fct_serving_usage", "serving_endpoint_usage", _date_of("request_time"), _serving, "usage_date"),
    DatedTable(
        "agg_daily_security", "gold.fct_audit_events", _date_of("event_date"), _pure(daily_security_frame), "event_date"
    ),
)


def _read_dated_input(spark: SparkSession, config: Config, name: str) -> DataFrame:
    return io.read_table(spark, config, name) if name.startswith("gold.") else _input(spark, config, name)


def refresh_by_date(spark: SparkSession, config: Config, spec: DatedTable) -> io.WriteResult | None:
    """Rebuild the dates of `spec.table` whose input rows were ingested after the table's watermark (its max
    `_hm_ingested_at`); the whole table when it is missing or empty or `gold.full_refresh` is true. None when no
    input row is newer than the watermark (nothing to do)."""
    from pyspark.sql import functions as F

    from hm_utils.gold.models import write_model

    key = f"gold.{spec.table}"
    data = _read_dated_input(spark, config, spec.input_name)
    watermark = None
    if io.table_exists(spark, config, key) and not config.get("gold.full_refresh", False):
        watermark = io.read_table(spark, config, key).agg(F.max(INGESTED)).first()[0]
    if watermark is None:
        return write_model(spark, config, spec.table, spec.transform(spark, config, data), "overwrite")
    day = spec.input_date()
    changed = data.where(F.col(INGESTED) > F.lit(watermark)).select(day.alias("d")).distinct().collect()
    dates = sorted(row.d for row in changed if row.d is not None)
    if not dates:
        log.info("%s: no input ingested after %s; nothing to refresh", key, watermark)
        return None
    log.info("%s: refreshing %d date(s) from %s to %s", key, len(dates), dates[0], dates[-1])
    where = f"{spec.date_column} in ({', '.join(repr(d.isoformat()) for d in dates)})"
    subset = spec.transform(spark, config, data.where(day.isin(dates)))
    return write_model(spark, config, spec.table, subset, "replace_where", where=where)


Builder = Callable[["SparkSession", Config, str], "DataFrame"]

DIMENSION_BUILDERS: dict[str, Builder] = {
    "dim_job": build_dim_job,
    "dim_cluster": build_dim_cluster,
    "dim_warehouse": build_dim_warehouse,
    "dim_pipeline": build_dim_pipeline,
    "dim_node_type": build_dim_node_type,
}
"""Rebuilt whole from silver; no dependency on other gold tables."""

FACT_BUILDERS: dict[str, Builder] = {
    "fct_job_runs": build_fct_job_runs,
    "fct_task_runs": build_fct_task_runs,
    "fct_pipeline_updates": build_fct_pipeline_updates,
    "fct_warehouse_events": build_fct_warehouse_events,
    "agg_daily_jobs": build_agg_daily_jobs,
}
"""Rebuilt whole; they read silver and the gold tables in FACT_READS."""

FACT_READS: dict[str, tuple[str, ...]] = {
    "fct_job_runs": ("dim_cluster", "fct_cost_allocation"),
    "fct_task_runs": (),
    "fct_pipeline_updates": ("fct_usage_hourly",),
    "fct_warehouse_events": (),
    "agg_daily_jobs": ("fct_job_runs", "dim_job"),
}
"""The gold tables each of FACT_BUILDERS reads (built before it)."""


@dataclass(frozen=True)
class TableBuild:
    """What building one table did: full rebuild, date refresh or nothing new; rows in the table afterwards."""

    table: str
    mode: str
    rows: int
    seconds: float


def build_dimension(spark: SparkSession, config: Config, run_id: str, table: str) -> TableBuild:
    """Write one of DIMENSION_BUILDERS' tables (whole, from silver only)."""
    return _build_whole(spark, config, run_id, table, DIMENSION_BUILDERS[table])


def build_facts(spark: SparkSession, config: Config, run_id: str) -> list[TableBuild]:
    """Write the operational facts and summaries, one at a time; call after the dimensions and gold-cost's
    usage facts (the gold build runs the same builds side by side instead)."""
    whole = [build_whole_fact(spark, config, run_id, table) for table in FACT_BUILDERS]
    return whole + [refresh_dated_table(spark, config, spec) for spec in DATED_TABLES]


def build_whole_fact(spark: SparkSession, config: Config, run_id: str, table: str) -> TableBuild:
    """One of FACT_BUILDERS' tables, rebuilt whole; the tables of its FACT_READS must be built."""
    return _build_whole(spark, config, run_id, table, FACT_BUILDERS[table])


def refresh_dated_table(spark: SparkSession, config: Config, spec: DatedTable) -> TableBuild:
    """One of DATED_TABLES refreshed by date (see refresh_by_date); it reads silver or the gold table it names."""
    started = time.perf_counter()
    result = refresh_by_date(spark, config, spec)
    rows = result.rows if result else int(io.read_table(spark, config, f"gold.{spec.table}").count())
    mode = result.mode if result else "unchanged"
    return TableBuild(spec.table, mode, rows, round(time.perf_counter() - started, 2))


def _build_whole(spark: SparkSession, config: Config, run_id: str, table: str, builder: Builder) -> TableBuild:
    from hm_utils.gold.models import write_model

    started = time.perf_counter()
    result = write_model(spark, config, table, builder(spark, config, run_id), "overwrite")
    return TableBuild(table, result.mode, result.rows, round(time.perf_counter() - started, 2))
