"""Gold lineage facts: fct_table_lineage, table reads and writes with the job, pipeline, notebook or query behind
them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hm_utils.gold.build import Inputs
from hm_utils.gold.columns import INGESTED

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


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


def build_fct_table_lineage(inputs: Inputs) -> DataFrame:
    return table_lineage_frame(inputs.read("silver.access_table_lineage"))
