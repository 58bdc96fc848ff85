"""Gold query facts: fct_queries, one row per SQL statement with durations, queueing, bytes, spill and source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hm_utils.gold.build import Inputs
from hm_utils.gold.columns import INGESTED

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


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


def build_fct_queries(inputs: Inputs) -> DataFrame:
    return queries_frame(inputs.read("silver.query_history"))
