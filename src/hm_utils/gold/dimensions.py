"""Shared gold dimensions: dim_date, dim_workspace (SCD2), dim_sku (price windows) and dim_identity.

Each `build_<table>(spark, config, run_id)` returns the finished DataFrame in the model's columns; the gold
orchestrator writes it (whole table, these dimensions are small). dim_workspace keeps history across builds:
system.access.workspaces_latest only has the latest state, so a build compares it with the current versions
and opens a new version (valid_from = the build's time) when the name, URL or status changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hm_utils import clock, io
from hm_utils.config import Config
from hm_utils.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

EPOCH = "1970-01-01 00:00:00"
"""valid_from of a first version, so that every earlier fact row finds it."""

PRICE_FIELDS = {
    "default": "pricing.default",
    "effective_list": "pricing.effective_list.default",
    "promotional": "pricing.promotional.default",
}
UNKNOWN_IDENTITY = "unknown"


def read_input(spark: SparkSession, config: Config, name: str) -> DataFrame:
    """The input table `name` (e.g. `billing_usage`) of the layer gold reads, `gold.input_layer` (silver)."""
    return io.read_table(spark, config, f"{config.get('gold.input_layer', 'silver')}.{name}")


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


def build_dim_sku(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    """One row per price window. A window's end is cut at the next window's start, so windows never overlap
    and a usage row matches at most one price (overlaps in the source would otherwise double-count usage)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    prices = read_input(spark, config, "billing_list_prices")
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
            price_column(config).alias("list_price"),
        )
        .withColumn("valid_to", valid_to)
        .select(
            *key,
            "currency_code",
            sku_family(config, F.col("sku_name")).alias("sku_family"),
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


def build_dim_date(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    """Whole calendar years from the first to the last usage date (the current year when there is no usage),
    within the plausible dates (`silver.earliest_date` to today): an implausible date never stretches it."""
    from pyspark.sql import functions as F

    today = F.lit(clock.today(config))
    earliest = F.lit(str(config.get("silver.earliest_date"))).cast("date")
    usage = read_input(spark, config, "billing_usage").where(F.col("usage_date").between(earliest, today))
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


def build_dim_workspace(spark: SparkSession, config: Config, run_id: str, now: datetime | None = None) -> DataFrame:
    """Workspace versions: the previous dim_workspace plus a new version for each changed or new workspace.

    `now` (default: the run's time, `hm_utils.clock.now`) is the valid_from of versions opened by this build.
    """
    from pyspark.sql import functions as F

    now = now or clock.now(config)
    latest = read_input(spark, config, "access_workspaces_latest").select(
        "workspace_id",
        "account_id",
        "workspace_name",
        "workspace_url",
        "status",
        "create_time",
        F.lit("workspaces_latest").alias("source"),
    )
    billed = (
        read_input(spark, config, "billing_usage")
        .groupBy("workspace_id")
        .agg(F.first("account_id").alias("account_id"))
    )
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
    if not io.table_exists(spark, config, "gold.dim_workspace"):
        return candidate.select(
            "workspace_id",
            *_WORKSPACE_ATTRIBUTES,
            epoch.alias("valid_from"),
            F.lit(None).cast("timestamp").alias("valid_to"),
            F.lit(True).alias("is_current"),
        )
    previous = io.read_table(spark, config, "gold.dim_workspace")
    current = previous.where("is_current")
    history = previous.where("not is_current")
    build_time = F.lit(now).cast("timestamp")
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


def build_dim_identity(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    """Every identity seen in billing, job/pipeline definitions, clusters, queries and audit, with its roles."""
    from pyspark.sql import functions as F

    no_date = F.lit(None).cast("date")
    sightings = []
    usage = read_input(spark, config, "billing_usage")
    for role in ("run_as", "owned_by", "created_by", "run_by"):
        sightings.append(
            usage.select(
                F.col(f"identity_metadata.{role}").alias("identity"),
                F.lit(role).alias("role"),
                F.col("usage_date").alias("seen_date"),
            )
        )
    definitions = [
        ("lakeflow_jobs", "run_as_user_name", "job_run_as"),
        ("lakeflow_jobs", "creator_user_name", "job_creator"),
        ("lakeflow_pipelines", "run_as", "pipeline_run_as"),
        ("lakeflow_pipelines", "created_by", "pipeline_creator"),
        ("compute_clusters", "owned_by", "cluster_owner"),
    ]
    for table, column, role in definitions:
        sightings.append(
            read_input(spark, config, table).select(
                F.col(column).alias("identity"), F.lit(role).alias("role"), no_date.alias("seen_date")
            )
        )
    sightings.append(
        read_input(spark, config, "query_history").select(
            F.col("executed_by").alias("identity"),
            F.lit("query_user").alias("role"),
            F.to_date("start_time").alias("seen_date"),
        )
    )
    sightings.append(
        read_input(spark, config, "access_audit").select(
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
    unknown = spark.createDataFrame(
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
