"""Gold dimensions: dim_date, dim_workspace, dim_sku, dim_identity, dim_job, dim_cluster, dim_warehouse,
dim_pipeline and dim_node_type.

Rebuilt whole from silver on every build (SCD2 versions can change anywhere in history, and dimensions are small).
The change-history dimensions (job, cluster, warehouse, pipeline) are SCD2 over the system tables' change_time:
one row per version, closed at the next change. dim_workspace keeps history across builds itself:
system.access.workspaces_latest only has the latest state, so a build compares it with the current versions and
opens a new version (valid_from = the build's time) when the name, URL or status changed. dim_sku holds the
list-price windows that cost is priced by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hm_utils import clock
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.gold.build import Inputs

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

EPOCH = "1970-01-01 00:00:00"
"""valid_from of a first version, so that every earlier fact row finds it."""

PRICE_FIELDS = {
    "default": "pricing.default",
    "effective_list": "pricing.effective_list.default",
    "promotional": "pricing.promotional.default",
}

UNKNOWN_IDENTITY = "unknown"


def sku_family(config: Config, sku_name: Column) -> Column:
    """The SKU family of `sku_name` by the ordered substring rules `gold.sku_families` (else OTHER)."""
    from pyspark.sql import functions as F

    rules = config.get("gold.sku_families") or []
    upper = F.upper(sku_name)
    family = F.lit("OTHER")
    for rule in reversed(_family_rules(rules)):
        condition = None
        for needle in rule[1]:
            part = upper.contains(needle.upper())
            condition = part if condition is None else condition | part
        family = F.when(condition, F.lit(rule[0])).otherwise(family)
    return family


def _family_rules(rules: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    parsed = []
    for rule in rules:
        if not isinstance(rule, Mapping) or not rule.get("family") or not rule.get("contains"):
            raise ConfigError(
                f"invalid SKU family rule {rule!r}",
                where="params gold.sku_families",
                fix="write {family: NAME, contains: [SUBSTRING, ...]}",
            )
        parsed.append((str(rule["family"]), [str(s) for s in rule["contains"]]))
    return parsed


def price_column(config: Config) -> Column:
    """The unit price used for cost: the `gold.price_field` of `pricing`, falling back to `pricing.default`."""
    from pyspark.sql import functions as F

    field = str(config.get("gold.price_field", "effective_list"))
    if field not in PRICE_FIELDS:
        raise ConfigError(
            f"unknown price field '{field}'", where="params gold.price_field", fix=f"use one of {sorted(PRICE_FIELDS)}"
        )
    return F.coalesce(F.col(PRICE_FIELDS[field]), F.col(PRICE_FIELDS["default"]))


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


def _change_history_dimension(rows: DataFrame, keys: list[str], *columns: str | Column) -> DataFrame:
    """An SCD2 dimension of a change-history system table: its keys and `columns`, then what every such dimension
    carries (tags, empty when null; delete_time, is_deleted; valid_from, valid_to, is_current). The model sets the
    column order."""
    from pyspark.sql import functions as F

    return scd2_versions(rows, keys).select(
        *keys,
        *columns,
        F.coalesce(F.col("tags"), F.create_map().cast("map<string,string>")).alias("tags"),
        "delete_time",
        F.col("delete_time").isNotNull().alias("is_deleted"),
        "valid_from",
        "valid_to",
        "is_current",
    )


def dim_job_frame(jobs: DataFrame) -> DataFrame:
    """dim_job from silver lakeflow_jobs (one row per workspace_id, job_id, change_time)."""
    from pyspark.sql import functions as F

    return _change_history_dimension(
        jobs,
        ["workspace_id", "job_id"],
        F.col("name").alias("job_name"),
        "description",
        "creator_id",
        "creator_user_name",
        "run_as",
        "run_as_user_name",
        "trigger_type",
        F.col("trigger.schedule.quartz_cron_expression").alias("schedule_cron"),
        F.coalesce(F.col("paused"), F.lit(False)).alias("is_paused"),
        "timeout_seconds",
        "create_time",
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
    return _change_history_dimension(
        clusters,
        ["workspace_id", "cluster_id"],
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
        "create_time",
    )


def dim_warehouse_frame(warehouses: DataFrame) -> DataFrame:
    """dim_warehouse from silver compute_warehouses."""

    return _change_history_dimension(
        warehouses,
        ["workspace_id", "warehouse_id"],
        "warehouse_name",
        "warehouse_type",
        "warehouse_channel",
        "warehouse_size",
        "min_clusters",
        "max_clusters",
        "auto_stop_minutes",
    )


def dim_pipeline_frame(pipelines: DataFrame) -> DataFrame:
    """dim_pipeline from silver lakeflow_pipelines."""
    from pyspark.sql import functions as F

    return _change_history_dimension(
        pipelines,
        ["workspace_id", "pipeline_id"],
        F.col("name").alias("pipeline_name"),
        "pipeline_type",
        "created_by",
        "run_as",
        F.col("settings.serverless").alias("is_serverless"),
        F.col("settings.photon").alias("is_photon"),
        F.col("settings.continuous").alias("is_continuous"),
        F.col("settings.development").alias("is_development"),
        F.col("settings.edition").alias("edition"),
        F.col("settings.channel").alias("channel"),
        "configuration",
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


def build_dim_sku(inputs: Inputs) -> DataFrame:
    """One row per price window. A window's end is cut at the next window's start, so windows never overlap
    and a usage row matches at most one price (overlaps in the source would otherwise double-count usage)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    prices = inputs.read("silver.billing_list_prices")
    key = ["sku_name", "cloud", "usage_unit"]
    following = Window.partitionBy(*key).orderBy("price_start_time")
    next_start = F.lead("price_start_time").over(following)
    valid_to = F.when(next_start.isNull(), F.col("price_end_time")).otherwise(
        F.when(F.col("price_end_time").isNull() | (F.col("price_end_time") > next_start), next_start).otherwise(
            F.col("price_end_time")
        )
    )
    return (
        prices.select(
            *key,
            "currency_code",
            "price_start_time",
            "price_end_time",
            F.col("pricing.default").alias("default_price"),
            F.col("pricing.promotional.default").alias("promotional_price"),
            F.col("pricing.effective_list.default").alias("effective_list_price"),
            price_column(inputs.config).alias("list_price"),
        )
        .withColumn("valid_to", valid_to)
        .select(
            *key,
            "currency_code",
            sku_family(inputs.config, F.col("sku_name")).alias("sku_family"),
            F.upper("sku_name").contains("SERVERLESS").alias("is_serverless"),
            F.upper("sku_name").contains("PHOTON").alias("is_photon"),
            "default_price",
            "promotional_price",
            "effective_list_price",
            "list_price",
            F.col("price_start_time").alias("valid_from"),
            "valid_to",
            F.col("valid_to").isNull().alias("is_current"),
        )
    )


def build_dim_date(inputs: Inputs) -> DataFrame:
    """Whole calendar years from the first to the last usage date (the current year when there is no usage),
    within the plausible dates (`silver.earliest_date` to today): an implausible date never stretches it."""
    from pyspark.sql import functions as F

    today = F.lit(clock.today(inputs.config))
    earliest = F.lit(str(inputs.config.get("silver.earliest_date"))).cast("date")
    usage = inputs.read("silver.billing_usage").where(F.col("usage_date").between(earliest, today))
    bounds = usage.agg(F.min("usage_date").alias("first"), F.max("usage_date").alias("last")).select(
        F.trunc(F.coalesce("first", today), "year").alias("first"),
        F.date_add(F.add_months(F.trunc(F.coalesce("last", today), "year"), 12), -1).alias("last"),
    )
    days = bounds.select(F.explode(F.sequence("first", "last", F.expr("interval 1 day"))).alias("calendar_date"))
    d = F.col("calendar_date")
    return days.select(
        d,
        F.year(d).alias("year"),
        F.quarter(d).alias("quarter"),
        F.month(d).alias("month"),
        F.date_format(d, "MMMM").alias("month_name"),
        F.date_format(d, "yyyy-MM").alias("year_month"),
        F.trunc(d, "month").alias("month_start_date"),
        F.date_trunc("week", d).cast("date").alias("week_start_date"),
        F.weekofyear(d).alias("iso_week"),
        F.dayofmonth(d).alias("day_of_month"),
        ((F.dayofweek(d) + 5) % 7 + 1).alias("day_of_week"),
        F.date_format(d, "EEEE").alias("day_name"),
        F.dayofweek(d).isin(1, 7).alias("is_weekend"),
        (F.last_day(d) == d).alias("is_month_end"),
    )


_WORKSPACE_ATTRIBUTES = ["account_id", "workspace_name", "workspace_url", "status", "create_time", "source"]


def build_dim_workspace(inputs: Inputs) -> DataFrame:
    """Workspace versions: the previous dim_workspace plus a new version for each changed or new workspace; the
    build's time (`hm_utils.clock`) is the valid_from of the versions it opens."""
    from pyspark.sql import functions as F

    latest = inputs.read("silver.access_workspaces_latest").select(
        "workspace_id",
        "account_id",
        "workspace_name",
        "workspace_url",
        "status",
        "create_time",
        F.lit("workspaces_latest").alias("source"),
    )
    billed = inputs.read("silver.billing_usage").groupBy("workspace_id").agg(F.first("account_id").alias("account_id"))
    usage_only = billed.join(latest.select("workspace_id"), "workspace_id", "left_anti").select(
        "workspace_id",
        "account_id",
        F.lit(None).cast("string").alias("workspace_name"),
        F.lit(None).cast("string").alias("workspace_url"),
        F.lit("UNKNOWN").alias("status"),
        F.lit(None).cast("timestamp").alias("create_time"),
        F.lit("usage_only").alias("source"),
    )
    candidate = latest.unionByName(usage_only)
    epoch = F.to_timestamp(F.lit(EPOCH))
    previous = inputs.previous()
    if previous is None:
        return candidate.select(
            "workspace_id",
            *_WORKSPACE_ATTRIBUTES,
            epoch.alias("valid_from"),
            F.lit(None).cast("timestamp").alias("valid_to"),
            F.lit(True).alias("is_current"),
        )
    current = previous.where("is_current")
    history = previous.where("not is_current")
    build_time = F.lit(inputs.now).cast("timestamp")
    same = None
    for name in _WORKSPACE_ATTRIBUTES:
        part = F.col(f"c.{name}").eqNullSafe(F.col(f"n.{name}"))
        same = part if same is None else same & part
    paired = current.alias("c").join(candidate.alias("n"), "workspace_id", "full_outer")
    in_current = F.col("c.valid_from").isNotNull()
    in_candidate = F.col("n.source").isNotNull()
    changed = in_current & in_candidate & ~same
    kept = paired.where(in_current & ~changed).select(
        "workspace_id",
        *[F.col(f"c.{n}").alias(n) for n in (*_WORKSPACE_ATTRIBUTES, "valid_from", "valid_to", "is_current")],
    )
    closed = paired.where(changed).select(
        "workspace_id",
        *[F.col(f"c.{n}").alias(n) for n in _WORKSPACE_ATTRIBUTES],
        F.col("c.valid_from"),
        build_time.alias("valid_to"),
        F.lit(False).alias("is_current"),
    )
    opened = paired.where(changed | (in_candidate & ~in_current)).select(
        "workspace_id",
        *[F.col(f"n.{n}").alias(n) for n in _WORKSPACE_ATTRIBUTES],
        F.when(in_current, build_time).otherwise(epoch).alias("valid_from"),
        F.lit(None).cast("timestamp").alias("valid_to"),
        F.lit(True).alias("is_current"),
    )
    columns = ["workspace_id", *_WORKSPACE_ATTRIBUTES, "valid_from", "valid_to", "is_current"]
    return history.select(*columns).unionByName(kept.select(*columns)).unionByName(closed).unionByName(opened)


def build_dim_identity(inputs: Inputs) -> DataFrame:
    """Every identity seen in billing, job/pipeline definitions, clusters, queries and audit, with its roles."""
    from pyspark.sql import functions as F

    no_date = F.lit(None).cast("date")
    sightings = []
    usage = inputs.read("silver.billing_usage")
    for role in ("run_as", "owned_by", "created_by", "run_by"):
        sightings.append(
            usage.select(
                F.col(f"identity_metadata.{role}").alias("identity"),
                F.lit(role).alias("role"),
                F.col("usage_date").alias("seen_date"),
            )
        )
    jobs, pipelines = inputs.read("silver.lakeflow_jobs"), inputs.read("silver.lakeflow_pipelines")
    definitions = [
        (jobs, "run_as_user_name", "job_run_as"),
        (jobs, "creator_user_name", "job_creator"),
        (pipelines, "run_as", "pipeline_run_as"),
        (pipelines, "created_by", "pipeline_creator"),
        (inputs.read("silver.compute_clusters"), "owned_by", "cluster_owner"),
    ]
    for table, column, role in definitions:
        sightings.append(
            table.select(F.col(column).alias("identity"), F.lit(role).alias("role"), no_date.alias("seen_date"))
        )
    sightings.append(
        inputs.read("silver.query_history").select(
            F.col("executed_by").alias("identity"),
            F.lit("query_user").alias("role"),
            F.to_date("start_time").alias("seen_date"),
        )
    )
    sightings.append(
        inputs.read("silver.access_audit").select(
            F.col("user_identity.email").alias("identity"),
            F.lit("audit_user").alias("role"),
            F.col("event_date").alias("seen_date"),
        )
    )
    seen = sightings[0]
    for more in sightings[1:]:
        seen = seen.unionByName(more)
    identities = (
        seen.where(F.col("identity").isNotNull() & (F.trim("identity") != ""))
        .groupBy("identity", "role")
        .agg(F.min("seen_date").alias("first_seen_date"), F.max("seen_date").alias("last_seen_date"))
        .groupBy("identity")
        .agg(
            F.sort_array(F.collect_list("role")).alias("roles"),
            F.min("first_seen_date").alias("first_seen_date"),
            F.max("last_seen_date").alias("last_seen_date"),
        )
    )
    unknown = inputs.spark.createDataFrame(
        [(UNKNOWN_IDENTITY, [], None, None)],
        "identity string, roles array<string>, first_seen_date date, last_seen_date date",
    )
    identity = F.col("identity")
    return identities.unionByName(unknown).select(
        identity,
        F.when(identity == UNKNOWN_IDENTITY, "unknown")
        .when(identity == "__REDACTED__", "redacted")
        .when(identity.isin("System-User", "system") | identity.startswith("System-"), "system")
        .when(identity.contains("@"), "user")
        .otherwise("service_principal")
        .alias("identity_type"),
        "roles",
        "first_seen_date",
        "last_seen_date",
    )


def build_dim_job(inputs: Inputs) -> DataFrame:
    return dim_job_frame(inputs.read("silver.lakeflow_jobs"))


def build_dim_cluster(inputs: Inputs) -> DataFrame:
    return dim_cluster_frame(inputs.read("silver.compute_clusters"))


def build_dim_warehouse(inputs: Inputs) -> DataFrame:
    return dim_warehouse_frame(inputs.read("silver.compute_warehouses"))


def build_dim_pipeline(inputs: Inputs) -> DataFrame:
    return dim_pipeline_frame(inputs.read("silver.lakeflow_pipelines"))


def build_dim_node_type(inputs: Inputs) -> DataFrame:
    return dim_node_type_frame(inputs.read("silver.compute_node_types"))
