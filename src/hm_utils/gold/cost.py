"""Gold usage and cost facts: fct_usage_hourly, fct_cost_allocation, fct_usage_daily, fct_cost_by_tag, agg_daily_cost.

Pricing: each usage record gets the list price valid at usage time by the documented join (same cloud, sku_name
and usage_unit, usage_start_time >= valid_from and (usage_end_time <= valid_to or valid_to is null)) against
dim_sku. Costs are exact decimals: list_cost = usage_quantity x list_price computed as decimal(28,18) x
decimal(18,10) (exact for prices with up to 10 decimals) and stored as decimal(38,10); effective_cost applies
`gold.discount_pct`. RETRACTION / RESTATEMENT rows are kept and net out when summed.

Ownership: every record has exactly one owner, by the first rule that matches: job (usage_metadata.job_id),
pipeline, warehouse, serving_endpoint, app, cluster (classic compute without a job id, i.e. all-purpose), notebook,
else unallocated. Tags: billed custom_tags completed with the job's or pipeline's own tags (the definition valid
at usage time; billed values win).

All-purpose clusters (fct_cost_allocation): a cluster record (one cluster-hour) is split between the job runs
whose task slices (lakeflow job_task_run_timeline, compute_ids / compute) ran on that cluster in that hour. Run r
gets cost x s_r / max(S, D), where s_r = seconds of r's task slices overlapping the record's period (parallel
tasks count separately), S = the sum over runs and D = the record's duration; the rest (idle or interactive use)
stays with the cluster. The last allocation of a record takes the rounding residue, so allocations add up to the
record exactly.

Refresh (models): fct_usage_hourly rewrites the usage dates of billing rows ingested since `gold.lookback_days`
before the newest ingestion_date it holds (late rows and corrections update their day); the four tables built from
it rewrite the same dates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.gold import models
from hm_utils.gold.build import Inputs
from hm_utils.gold.dimensions import UNKNOWN_IDENTITY, sku_family

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

COST_TYPE = "decimal(38,10)"
QUANTITY_TYPE = "decimal(38,18)"
_QTY_FACTOR = "decimal(28,18)"
_PRICE_FACTOR = "decimal(18,10)"
UNALLOCATED = "unallocated"

# (owner_type, usage_metadata field): the first non-null field decides the owner of a usage record.
OWNER_RULES = (
    ("job", "job_id"),
    ("pipeline", "dlt_pipeline_id"),
    ("warehouse", "warehouse_id"),
    ("serving_endpoint", "endpoint_id"),
    ("serving_endpoint", "endpoint_name"),
    ("app", "app_id"),
    ("cluster", "cluster_id"),
    ("notebook", "notebook_id"),
)


def list_cost(quantity: Column, price: Column) -> Column:
    """quantity x price as decimal(38,10), exact for quantities with <= 18 and prices with <= 10 decimals."""
    return (quantity.cast(_QTY_FACTOR) * price.cast(_PRICE_FACTOR)).cast(COST_TYPE)


def discount_factor(config: Config) -> Decimal:
    """1 - gold.discount_pct / 100, validated to [0, 1]."""
    raw = config.get("gold.discount_pct", 0) or 0
    pct = Decimal(str(raw))
    if not Decimal(0) <= pct <= Decimal(100):
        raise ConfigError(f"discount {pct}% is outside 0-100", where="params gold.discount_pct", fix="use a percentage")
    return Decimal(1) - pct / Decimal(100)


def effective_cost(cost: Column, factor: Decimal) -> Column:
    from pyspark.sql import functions as F

    return (cost.cast("decimal(27,10)") * F.lit(str(factor)).cast("decimal(10,8)")).cast(COST_TYPE)


# ---------------------------------------------------------------------------------------------- fct_usage_hourly


def price_usage(config: Config, usage: DataFrame, skus: DataFrame, jobs: DataFrame, pipelines: DataFrame) -> DataFrame:
    """fct_usage_hourly rows for `usage` (billing.usage columns): price, cost, owner, identity and tags."""
    from pyspark.sql import functions as F

    prices = skus.select(
        F.col("sku_name").alias("p_sku"),
        F.col("cloud").alias("p_cloud"),
        F.col("usage_unit").alias("p_unit"),
        "valid_from",
        "valid_to",
        "list_price",
        "currency_code",
    )
    u = F.col
    matches = (
        (u("sku_name") == u("p_sku"))
        & (u("cloud") == u("p_cloud"))
        & (u("usage_unit") == u("p_unit"))
        & (u("usage_start_time") >= u("valid_from"))
        & (u("valid_to").isNull() | (u("usage_end_time") <= u("valid_to")))
    )
    meta = "usage_metadata."
    owner_type, owner_id = F.lit(UNALLOCATED), F.lit(UNALLOCATED)
    for kind, field in reversed(OWNER_RULES):
        present = u(meta + field).isNotNull()
        owner_type = F.when(present, F.lit(kind)).otherwise(owner_type)
        owner_id = F.when(present, u(meta + field)).otherwise(owner_id)
    identity = F.coalesce(
        *[_blank_to_null(u(f"identity_metadata.{r}")) for r in ("run_as", "owned_by", "created_by", "run_by")],
        F.lit(UNKNOWN_IDENTITY),
    )
    priced = usage.join(F.broadcast(prices), matches, "left").select(
        "record_id",
        "account_id",
        "workspace_id",
        "usage_date",
        "usage_start_time",
        "usage_end_time",
        "record_type",
        "ingestion_date",
        "sku_name",
        sku_family(config, u("sku_name")).alias("sku_family"),
        "cloud",
        "usage_unit",
        "usage_type",
        "billing_origin_product",
        u("product_features.is_serverless").alias("is_serverless"),
        u("product_features.is_photon").alias("is_photon"),
        u("usage_quantity").cast(QUANTITY_TYPE).alias("usage_quantity"),
        u("valid_from").alias("price_valid_from"),
        "currency_code",
        "list_price",
        list_cost(u("usage_quantity"), u("list_price")).alias("list_cost"),
        u("valid_from").isNotNull().alias("is_priced"),
        owner_type.alias("owner_type"),
        owner_id.alias("owner_id"),
        u(meta + "job_id").alias("job_id"),
        u(meta + "job_run_id").alias("job_run_id"),
        u(meta + "cluster_id").alias("cluster_id"),
        u(meta + "warehouse_id").alias("warehouse_id"),
        u(meta + "dlt_pipeline_id").alias("pipeline_id"),
        u(meta + "dlt_update_id").alias("pipeline_update_id"),
        u(meta + "endpoint_id").alias("endpoint_id"),
        u(meta + "endpoint_name").alias("endpoint_name"),
        u(meta + "notebook_id").alias("notebook_id"),
        u(meta + "app_id").alias("app_id"),
        identity.alias("identity"),
        u("identity_metadata.run_as").alias("run_as"),
        u("identity_metadata.owned_by").alias("owned_by"),
        u("identity_metadata.created_by").alias("created_by"),
        F.coalesce(u("custom_tags"), F.create_map().cast("map<string,string>")).alias("custom_tags"),
    )
    priced = priced.withColumn("effective_cost", effective_cost(u("list_cost"), discount_factor(config)))
    return _with_backfilled_tags(priced, jobs, pipelines)


def _blank_to_null(column: Column) -> Column:
    from pyspark.sql import functions as F

    return F.when(F.trim(column) != "", column)


def definition_versions(definitions: DataFrame, id_column: str) -> DataFrame:
    """(workspace_id, <id_column>, tags, valid_from, valid_to) of SCD2 definitions; the first version of each object is
    valid from the epoch so that usage before its first recorded change still finds tags."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("workspace_id", id_column).orderBy("change_time")
    return definitions.select(
        "workspace_id",
        id_column,
        "tags",
        F.when(F.row_number().over(order) == 1, F.to_timestamp(F.lit("1970-01-01")))
        .otherwise(F.col("change_time"))
        .alias("valid_from"),
        F.lead("change_time").over(order).alias("valid_to"),
    )


def _with_backfilled_tags(priced: DataFrame, jobs: DataFrame, pipelines: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    def versions(definitions: DataFrame, id_column: str, fact_column: str, prefix: str) -> tuple[DataFrame, Column]:
        v = definition_versions(definitions, id_column).select(
            F.col("workspace_id").alias(f"{prefix}_ws"),
            F.col(id_column).alias(f"{prefix}_id"),
            F.col("tags").alias(f"{prefix}_tags"),
            F.col("valid_from").alias(f"{prefix}_from"),
            F.col("valid_to").alias(f"{prefix}_to"),
        )
        condition = (
            (F.col("workspace_id") == F.col(f"{prefix}_ws"))
            & (F.col(fact_column) == F.col(f"{prefix}_id"))
            & (F.col("usage_start_time") >= F.col(f"{prefix}_from"))
            & (F.col(f"{prefix}_to").isNull() | (F.col("usage_start_time") < F.col(f"{prefix}_to")))
        )
        return v, condition

    job_versions, job_match = versions(jobs, "job_id", "job_id", "j")
    pipe_versions, pipe_match = versions(pipelines, "pipeline_id", "pipeline_id", "p")
    joined = priced.join(F.broadcast(job_versions), job_match, "left").join(
        F.broadcast(pipe_versions), pipe_match, "left"
    )
    billed = F.col("custom_tags")
    own = F.when(F.col("owner_type") == "job", F.col("j_tags")).when(F.col("owner_type") == "pipeline", F.col("p_tags"))
    own = F.coalesce(own, F.create_map().cast("map<string,string>"))
    added = F.map_filter(own, lambda k, _: ~F.array_contains(F.map_keys(billed), k))
    tags = F.map_concat(billed, added)
    source = F.when(F.size(tags) == 0, "none").when(F.size(added) > 0, F.col("owner_type")).otherwise("billing")
    model = models.get_model("fct_usage_hourly")
    return joined.withColumn("tags", tags).withColumn("tag_source", source).select(*model.column_names)


# ---------------------------------------------------------------------------------------------- fct_cost_allocation


def task_cluster_seconds(task_slices: DataFrame) -> DataFrame:
    """(workspace_id, cluster_id, hour, job_id, job_run_id, slice_start, slice_end): task-run slices on classic
    clusters, cut at clock hours so they can be matched to hourly usage records by an equi-join."""
    from pyspark.sql import functions as F

    clusters = F.coalesce(F.col("compute_ids"), F.transform(F.col("compute"), lambda c: c["cluster_id"]))
    slices = (
        task_slices.where(F.col("period_end_time") > F.col("period_start_time"))
        .select(
            "workspace_id",
            "job_id",
            F.coalesce("job_run_id", "parent_run_id").alias("job_run_id"),
            "period_start_time",
            "period_end_time",
            F.explode(clusters).alias("cluster_id"),
        )
        .where(F.col("cluster_id").isNotNull())
    )
    hours = F.sequence(
        F.date_trunc("hour", "period_start_time"),
        F.date_trunc("hour", F.col("period_end_time") - F.expr("interval 1 microsecond")),
        F.expr("interval 1 hour"),
    )
    return slices.select("*", F.explode(hours).alias("hour")).select(
        "workspace_id",
        "cluster_id",
        "hour",
        "job_id",
        "job_run_id",
        F.greatest("period_start_time", "hour").alias("slice_start"),
        F.least("period_end_time", F.col("hour") + F.expr("interval 1 hour")).alias("slice_end"),
    )


def allocate_costs(hourly: DataFrame, task_hours: DataFrame) -> DataFrame:
    """fct_cost_allocation rows for the fct_usage_hourly rows in `hourly` (rule: module docstring).

    Decimal operands are narrowed first (quantity decimal(27,18), cost decimal(27,10), seconds decimal(10,0)) so
    that Spark never has to drop scale to fit 38 digits: the split is exact to the stored scale. The (record, run)
    overlaps are few (all-purpose cluster-hours with job runs) and broadcast, so the usage rows are read once.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    base_columns = [
        "record_id", "workspace_id", "usage_date", "usage_start_time", "record_type", "sku_family", "cluster_id",
        "identity",
    ]  # fmt: skip
    amounts = {
        "allocation_share": QUANTITY_TYPE,
        "usage_quantity": QUANTITY_TYPE,
        "list_cost": COST_TYPE,
        "effective_cost": COST_TYPE,
    }
    narrow = {QUANTITY_TYPE: "decimal(27,18)", COST_TYPE: "decimal(27,10)"}
    clusters = hourly.where(F.col("owner_type") == "cluster").select(
        "record_id", "workspace_id", "cluster_id", "usage_start_time", "usage_end_time",
        F.date_trunc("hour", "usage_start_time").alias("hour"),
    )  # fmt: skip
    overlap = F.unix_micros(F.least("slice_end", "usage_end_time")) - F.unix_micros(
        F.greatest("slice_start", "usage_start_time")
    )
    used_clusters = F.broadcast(clusters.select("workspace_id", "cluster_id").distinct())
    run_seconds = (
        clusters.join(
            task_hours.join(used_clusters, ["workspace_id", "cluster_id"]), ["workspace_id", "cluster_id", "hour"]
        )
        .where(overlap > 0)
        .groupBy("record_id", F.col("job_run_id").alias("run_id"))
        .agg(F.first("job_id").alias("run_job_id"), (F.sum(overlap) / 1_000_000).cast("bigint").alias("seconds"))
    )
    joined = hourly.select(
        *base_columns, "owner_type", "owner_id", "job_id", "job_run_id", "usage_quantity", "list_cost",
        "effective_cost", "usage_end_time", F.lit(1).cast(QUANTITY_TYPE).alias("allocation_share"),
    ).join(F.broadcast(run_seconds), "record_id", "left")  # fmt: skip

    direct = joined.where(F.col("run_id").isNull()).select(
        *base_columns,
        "owner_type",
        "owner_id",
        "job_id",
        "job_run_id",
        F.when(F.col("owner_type") == UNALLOCATED, F.lit(UNALLOCATED))
        .when(F.col("job_run_id").isNotNull(), F.concat(F.lit("job_run:"), "job_run_id"))
        .otherwise(F.concat("owner_type", F.lit(":"), "owner_id"))
        .alias("allocated_to"),
        F.lit("direct").alias("allocation_rule"),
        *amounts,
    )

    record = Window.partitionBy("record_id")
    duration = ((F.unix_micros("usage_end_time") - F.unix_micros("usage_start_time")) / 1_000_000).cast("bigint")
    shares = (
        joined.where(F.col("run_id").isNotNull())
        .withColumn("used", F.sum("seconds").over(record))
        .withColumn("fully_used", F.col("used") >= duration)
        .withColumn("denominator", F.greatest(F.col("used"), duration).cast("decimal(10,0)"))
        .withColumn("rank", F.row_number().over(record.orderBy(F.desc("seconds"), "run_id")))
    )
    whole = [F.col(a).alias(f"whole_{a}") for a in amounts]
    run_rows = shares.select(
        *base_columns,
        F.lit("job").alias("owner_type"),
        F.col("run_job_id").alias("owner_id"),
        F.col("run_job_id").alias("job_id"),
        F.col("run_id").alias("job_run_id"),
        F.concat(F.lit("job_run:"), "run_id").alias("allocated_to"),
        F.lit("cluster_time_share").alias("allocation_rule"),
        *[
            ((F.col(a).cast(narrow[t]) * F.col("seconds").cast("decimal(10,0)")) / F.col("denominator"))
            .cast(t)
            .alias(a)
            for a, t in amounts.items()
        ],
        (F.col("fully_used") & (F.col("rank") == 1)).alias("takes_residue"),
        *whole,
    )
    remainder_rows = shares.where(~F.col("fully_used") & (F.col("rank") == 1)).select(
        *base_columns,
        F.lit("cluster").alias("owner_type"),
        F.col("cluster_id").alias("owner_id"),
        F.lit(None).cast("string").alias("job_id"),
        F.lit(None).cast("string").alias("job_run_id"),
        F.concat(F.lit("cluster:"), "cluster_id").alias("allocated_to"),
        F.lit("cluster_remainder").alias("allocation_rule"),
        *[F.lit(0).cast(t).alias(a) for a, t in amounts.items()],
        F.lit(True).alias("takes_residue"),
        *whole,
    )
    # One row per split record takes the residue (record - sum of its rows): the cluster remainder when the runs
    # left time unused, else the run with the most seconds.
    split = run_rows.unionByName(remainder_rows)
    settled = split.select(
        *[c for c in split.columns if c not in amounts and not c.startswith("whole_") and c != "takes_residue"],
        *[
            F.when(
                F.col("takes_residue"),
                F.col(a).cast(narrow[t]) + F.col(f"whole_{a}").cast(narrow[t]) - F.sum(a).over(record).cast(narrow[t]),
            )
            .otherwise(F.col(a))
            .cast(t)
            .alias(a)
            for a, t in amounts.items()
        ],
    )
    names = models.get_model("fct_cost_allocation").column_names
    return direct.select(*names).unionByName(settled.select(*names))


# ---------------------------------------------------------------------------------------------- summaries


def _sum(column: str, cast: str) -> Column:
    from pyspark.sql import functions as F

    return F.coalesce(F.sum(column), F.lit(0)).cast(cast)


def daily_usage(hourly: DataFrame) -> DataFrame:
    """fct_usage_daily from fct_usage_hourly rows."""
    from pyspark.sql import functions as F

    return (
        hourly.withColumn("billing_origin_product", F.coalesce("billing_origin_product", F.lit("UNKNOWN")))
        .groupBy(
            "usage_date",
            "workspace_id",
            "sku_name",
            "cloud",
            "usage_unit",
            "sku_family",
            "billing_origin_product",
            "owner_type",
            "owner_id",
            "identity",
        )
        .agg(
            F.max("currency_code").alias("currency_code"),
            _sum("usage_quantity", QUANTITY_TYPE).alias("usage_quantity"),
            F.sum("list_cost").cast(COST_TYPE).alias("list_cost"),
            F.sum("effective_cost").cast(COST_TYPE).alias("effective_cost"),
            F.count(F.lit(1)).alias("record_count"),
            F.count(F.when(F.col("record_type") != "ORIGINAL", 1)).alias("correction_count"),
            F.count(F.when(~F.col("is_priced"), 1)).alias("unpriced_count"),
        )
    )


def cost_by_tag(hourly: DataFrame, tag_keys: list[str]) -> DataFrame:
    """fct_cost_by_tag: for each tag key, the day's spend by value plus the `unallocated` bucket."""
    from pyspark.sql import functions as F

    if not tag_keys:
        raise ConfigError("no tag keys to allocate by", where="params gold.tag_keys", fix="list at least one tag key")
    keyed = hourly.select(
        "usage_date",
        "workspace_id",
        "usage_quantity",
        "list_cost",
        "effective_cost",
        "tags",
        "custom_tags",
        "tag_source",
        F.explode(F.array(*[F.lit(k) for k in tag_keys])).alias("tag_key"),
    )
    value = F.element_at(F.col("tags"), F.col("tag_key"))
    has = F.map_contains_key("tags", F.col("tag_key"))
    return (
        keyed.select(
            "usage_date",
            "workspace_id",
            "tag_key",
            "usage_quantity",
            "list_cost",
            "effective_cost",
            F.when(has, value).otherwise(F.lit(UNALLOCATED)).alias("tag_value"),
            F.when(~has, F.lit("none"))
            .when(F.map_contains_key("custom_tags", F.col("tag_key")), F.lit("billing"))
            .otherwise(F.col("tag_source"))
            .alias("tag_source"),
            (~has).alias("is_unallocated"),
        )
        .groupBy("usage_date", "workspace_id", "tag_key", "tag_value", "tag_source", "is_unallocated")
        .agg(
            _sum("usage_quantity", QUANTITY_TYPE).alias("usage_quantity"),
            F.sum("list_cost").cast(COST_TYPE).alias("list_cost"),
            F.sum("effective_cost").cast(COST_TYPE).alias("effective_cost"),
            F.count(F.lit(1)).alias("record_count"),
        )
    )


def daily_cost(hourly: DataFrame, workspaces: DataFrame) -> DataFrame:
    """agg_daily_cost from fct_usage_hourly rows and dim_workspace (current names)."""
    from pyspark.sql import functions as F

    cost = F.coalesce(F.col("list_cost"), F.lit(0))
    zero = F.lit(0).cast(COST_TYPE)

    def part(condition: Column) -> Column:
        return F.when(condition, cost).otherwise(zero)

    names = workspaces.where("is_current").select("workspace_id", "workspace_name")
    return (
        hourly.select(
            "usage_date",
            "workspace_id",
            "sku_family",
            F.coalesce("currency_code", F.lit("UNPRICED")).alias("currency_code"),
            F.when(F.col("usage_unit") == "DBU", F.col("usage_quantity")).otherwise(F.lit(0)).alias("dbus"),
            cost.alias("list_cost"),
            F.coalesce("effective_cost", zero).alias("effective_cost"),
            part(F.col("owner_type") == UNALLOCATED).alias("unallocated_list_cost"),
            part(F.col("tag_source") == "none").alias("untagged_list_cost"),
            part(F.col("tag_source").isin("job", "pipeline")).alias("backfilled_list_cost"),
            part(F.col("record_type") != "ORIGINAL").alias("correction_list_cost"),
        )
        .groupBy("usage_date", "workspace_id", "sku_family", "currency_code")
        .agg(
            _sum("dbus", QUANTITY_TYPE).alias("dbus"),
            *[
                _sum(c, COST_TYPE).alias(c)
                for c in (
                    "list_cost",
                    "effective_cost",
                    "unallocated_list_cost",
                    "untagged_list_cost",
                    "backfilled_list_cost",
                    "correction_list_cost",
                )
            ],
            F.count(F.lit(1)).alias("record_count"),
        )
        .join(F.broadcast(names), "workspace_id", "left")
    )


# ---------------------------------------------------------------------------------------------- builders


def build_fct_usage_hourly(inputs: Inputs) -> DataFrame:
    return price_usage(
        inputs.config,
        inputs.read("silver.billing_usage"),
        inputs.read("gold.dim_sku"),
        inputs.read("silver.lakeflow_jobs"),
        inputs.read("silver.lakeflow_pipelines"),
    )


def build_fct_cost_allocation(inputs: Inputs) -> DataFrame:
    task_slices = inputs.read("silver.lakeflow_job_task_run_timeline")
    return allocate_costs(inputs.read("gold.fct_usage_hourly"), task_cluster_seconds(task_slices))


def build_fct_usage_daily(inputs: Inputs) -> DataFrame:
    return daily_usage(inputs.read("gold.fct_usage_hourly"))


def build_fct_cost_by_tag(inputs: Inputs) -> DataFrame:
    return cost_by_tag(inputs.read("gold.fct_usage_hourly"), list(inputs.config.get("gold.tag_keys") or []))


def build_agg_daily_cost(inputs: Inputs) -> DataFrame:
    return daily_cost(inputs.read("gold.fct_usage_hourly"), inputs.read("gold.dim_workspace"))
