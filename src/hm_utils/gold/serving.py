"""Gold model-serving facts: fct_serving_usage, requests and tokens per served entity, endpoint and hour."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hm_utils.gold.build import Inputs
from hm_utils.gold.columns import INGESTED

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


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


def build_fct_serving_usage(inputs: Inputs) -> DataFrame:
    return serving_usage_frame(
        inputs.read("silver.serving_endpoint_usage"), inputs.read("silver.serving_served_entities")
    )
