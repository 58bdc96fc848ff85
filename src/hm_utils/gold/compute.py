"""Gold compute facts: fct_node_utilization_hourly (cluster CPU and memory per hour and node role) and
fct_warehouse_events (SQL warehouse start, stop and scaling events)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hm_utils.gold.build import Inputs
from hm_utils.gold.columns import INGESTED, seconds_between

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


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
            F.round(F.sum(seconds_between("start_time", "end_time")) / 60).cast("bigint").alias("node_minutes"),
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


def build_fct_node_utilization_hourly(inputs: Inputs) -> DataFrame:
    return node_utilization_frame(inputs.read("silver.compute_node_timeline"))


def build_fct_warehouse_events(inputs: Inputs) -> DataFrame:
    return warehouse_events_frame(inputs.read("silver.compute_warehouse_events"))
