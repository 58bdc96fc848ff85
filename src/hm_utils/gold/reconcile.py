"""Exact reconciliation of gold with bronze, run by every gold build; results in `ops.reconciliation`.

Checks (one `check_name` each; scope `account` or `workspace=<id>/date=<day>`):

- `list_cost_by_workspace_day`: gold's list cost per workspace and usage day equals Σ usage_quantity x the list
  price valid at usage time computed straight from BRONZE by independently written SQL (:data:`BRONZE_COST_SQL`,
  the documented price join), to `gold.reconcile_tolerance` (the cent), and the record counts are equal. The
  accounting is explicit: bronze (every bronze row priced) - duplicates (extra copies of a record_id that silver
  removed) - quarantined (rows silver moved to silver.quarantine) = expected, compared with gold's actual.
- `one_owner_per_usage_row`: every fct_usage_hourly row has exactly one owner (a known owner_type and an owner_id)
  and record_id is unique.
- `allocation_sums_to_usage`: for every usage record, its fct_cost_allocation rows add up to its cost and
  quantity exactly and their shares to 1.
- `job_runs_once` (when gold.fct_job_runs exists): every job run in bronze job_run_timeline (not wholly
  quarantined) appears exactly once in fct_job_runs, and no other run does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from hm_utils import io, system_schema, tables
from hm_utils.config import Config
from hm_utils.gold.cost import COST_TYPE, OWNER_RULES, UNALLOCATED
from hm_utils.gold.dimensions import PRICE_FIELDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

ACCOUNT = "account"
RESULT_COLUMNS = (
    "run_id string, check_name string, scope string, workspace_id string, usage_date date, "
    "bronze_value decimal(38,10), duplicate_value decimal(38,10), quarantined_value decimal(38,10), "
    "expected_value decimal(38,10), actual_value decimal(38,10), difference decimal(38,10), "
    "expected_rows bigint, actual_rows bigint, passed boolean, message string"
)
OWNER_TYPES = tuple(sorted({kind for kind, _ in OWNER_RULES} | {UNALLOCATED}))

# Independent of hm_utils.gold.cost on purpose: plain SQL over bronze with the documented join. Placeholders:
# {usage}, {prices}, {quarantine} (table names from the registry) and {price} (the configured pricing field).
BRONZE_COST_SQL = """
with quarantined as (
    select distinct q.row.record_id, q.row.workspace_id, q.row.sku_name, q.row.usage_quantity, q.row.record_type,
           q.row.usage_date, true as matched
    from (select from_json(row_json, '{usage_schema}') as row
          from {quarantine} where table_key = 'silver.billing_usage') as q
),
usage_rows as (
    select u.record_id, u.workspace_id, u.usage_date, u.usage_start_time, u.usage_end_time, u.cloud, u.sku_name,
           u.usage_unit, try_cast(u.usage_quantity as decimal(38,18)) as usage_quantity, u.record_type,
           u.ingestion_date, u._hm_ingested_at,
           coalesce(q.matched, false) as is_quarantined
    from {usage} as u
    left join quarantined as q
      on q.record_id <=> u.record_id and q.workspace_id <=> u.workspace_id and q.sku_name <=> u.sku_name
     and q.usage_quantity <=> try_cast(u.usage_quantity as decimal(38,18)) and q.record_type <=> u.record_type
     and q.usage_date <=> u.usage_date
),
ranked as (
    select r.*,
           row_number() over (partition by r.record_id, r.is_quarantined
                              order by r._hm_ingested_at desc, r.ingestion_date desc) as copy_number
    from usage_rows as r
),
prices as (
    select p.sku_name, p.cloud, p.usage_unit, p.price_start_time, p.price_end_time, {price} as unit_price
    from (select lp.*, row_number() over (partition by lp.sku_name, lp.cloud, lp.usage_unit, lp.price_start_time
                                          order by lp._hm_ingested_at desc) as version
          from {prices} as lp) as p
    where p.version = 1
),
priced as (
    select r.workspace_id, r.usage_date,
           case when r.is_quarantined then 'quarantined' when r.copy_number > 1 then 'duplicate' else 'kept' end as kind,
           cast(cast(r.usage_quantity as decimal(28,18)) * cast(p.unit_price as decimal(18,10)) as decimal(38,10)) as cost
    from ranked as r
    left join prices as p
      on r.cloud = p.cloud and r.sku_name = p.sku_name and r.usage_unit = p.usage_unit
     and r.usage_start_time >= p.price_start_time
     and (r.usage_end_time <= p.price_end_time or p.price_end_time is null)
)
select workspace_id, usage_date,
       coalesce(sum(cost), 0) as bronze_value,
       coalesce(sum(case when kind = 'duplicate' then cost end), 0) as duplicate_value,
       coalesce(sum(case when kind = 'quarantined' then cost end), 0) as quarantined_value,
       coalesce(sum(case when kind = 'kept' then cost end), 0) as expected_value,
       count_if(kind = 'kept') as expected_rows
from priced
group by workspace_id, usage_date
"""

GOLD_COST_SQL = """
select workspace_id, usage_date, coalesce(sum(list_cost), 0) as actual_value, count(*) as actual_rows
from {hourly}
group by workspace_id, usage_date
"""


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome over all its scopes (the per-scope rows are in ops.reconciliation)."""

    check_name: str
    scopes: int
    failed_scopes: int
    expected: Decimal | int | None
    actual: Decimal | int | None
    detail: str

    @property
    def passed(self) -> bool:
        return self.failed_scopes == 0

    def describe(self) -> str:
        status = "passed" if self.passed else f"FAILED in {self.failed_scopes} of {self.scopes} scope(s)"
        return f"{self.check_name} {status}: expected {self.expected}, actual {self.actual}; {self.detail}"


def bronze_cost_sql(config: Config) -> str:
    """BRONZE_COST_SQL with the registry's table names and the configured price field."""
    field = PRICE_FIELDS[str(config.get("gold.price_field", "effective_list"))]
    price = f"coalesce(p.{field}, p.{PRICE_FIELDS['default']})"
    schema = system_schema.spark_type_ddl("billing.usage").replace("'", "\\'")
    return BRONZE_COST_SQL.format(
        usage=tables.full_name(config, "bronze.billing_usage"),
        prices=tables.full_name(config, "bronze.billing_list_prices"),
        quarantine=tables.full_name(config, "silver.quarantine"),
        price=price,
        usage_schema=schema,
    )


def run_checks(spark: SparkSession, config: Config, run_id: str) -> list[CheckResult]:
    """Run every check, upsert the per-scope rows into ops.reconciliation and return one result per check."""
    from pyspark.sql import functions as F

    frames = [
        _list_cost_by_workspace_day(spark, config, run_id),
        _one_owner_per_usage_row(spark, config, run_id),
        _allocation_sums_to_usage(spark, config, run_id),
    ]
    if io.table_exists(spark, config, "gold.fct_job_runs"):
        frames.append(_job_runs_once(spark, config, run_id))
    rows = frames[0]
    for frame in frames[1:]:
        rows = rows.unionByName(frame)
    io.write_table(spark, config, "ops.reconciliation", rows.withColumn("checked_at", F.current_timestamp()), "upsert")
    written = io.read_table(spark, config, "ops.reconciliation").where(F.col("run_id") == run_id)
    return [_result(row) for row in _summaries(written).orderBy("check_name").collect()]


def _summaries(frame: DataFrame) -> DataFrame:
    """One row per check of `frame` (ops.reconciliation rows): scopes, failures and the account-level figures."""
    from pyspark.sql import functions as F

    account = F.col("scope") == ACCOUNT
    return frame.groupBy("check_name").agg(
        F.count(F.lit(1)).alias("scopes"),
        F.count_if(~F.col("passed")).alias("failed"),
        F.max(F.when(account, F.col("expected_value"))).alias("expected_value"),
        F.max(F.when(account, F.col("actual_value"))).alias("actual_value"),
        F.max(F.when(account, F.col("expected_rows"))).alias("expected_rows"),
        F.max(F.when(account, F.col("actual_rows"))).alias("actual_rows"),
        F.max(F.when(account, F.col("message"))).alias("message"),
        F.max(F.when(~F.col("passed"), F.col("scope"))).alias("failed_scope"),
    )


def _result(row: Row) -> CheckResult:
    expected = row["expected_value"] if row["expected_value"] is not None else row["expected_rows"]
    actual = row["actual_value"] if row["actual_value"] is not None else row["actual_rows"]
    detail = row["message"] or ""
    if row["failed_scope"]:
        detail += f" (e.g. {row['failed_scope']})"
    return CheckResult(row["check_name"], int(row["scopes"]), int(row["failed"]), expected, actual, detail)


def _frame(rows: DataFrame, run_id: str, check_name: str) -> DataFrame:
    """`rows` completed to the ops.reconciliation columns (missing ones NULL), in order."""
    from pyspark.sql import functions as F

    columns = [part.strip().split(" ")[0] for part in RESULT_COLUMNS.split(", ") if part.strip()]
    types = dict(part.strip().split(" ", 1) for part in RESULT_COLUMNS.split(", ") if part.strip())
    present = set(rows.columns)
    filled = rows.select(
        *[
            (
                F.lit(run_id)
                if c == "run_id"
                else F.lit(check_name)
                if c == "check_name"
                else F.col(c)
                if c in present
                else F.lit(None)
            )
            .cast(types[c])
            .alias(c)
            for c in columns
        ]
    )
    return filled


def _list_cost_by_workspace_day(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    from pyspark.sql import functions as F

    tolerance = F.lit(str(config.get("gold.reconcile_tolerance", 0.005))).cast(COST_TYPE)
    if io.table_exists(spark, config, "silver.quarantine"):
        bronze = spark.sql(bronze_cost_sql(config))
    else:  # before silver exists (development on bronze): nothing is quarantined
        empty = spark.createDataFrame([], "table_key string, row_json string")
        empty.createOrReplaceTempView("hm_no_quarantine")
        bronze = spark.sql(
            bronze_cost_sql(config).replace(tables.full_name(config, "silver.quarantine"), "hm_no_quarantine")
        )
    gold = spark.sql(GOLD_COST_SQL.format(hourly=tables.full_name(config, "gold.fct_usage_hourly")))
    values = ["bronze_value", "duplicate_value", "quarantined_value", "expected_value", "actual_value"]
    joined = bronze.join(gold, ["workspace_id", "usage_date"], "full_outer").select(
        "workspace_id",
        "usage_date",
        *[F.coalesce(F.col(v), F.lit(0)).cast(COST_TYPE).alias(v) for v in values],
        F.coalesce("expected_rows", F.lit(0)).alias("expected_rows"),
        F.coalesce("actual_rows", F.lit(0)).alias("actual_rows"),
    )
    days = joined.select(
        "*",
        F.concat(
            F.lit("workspace="),
            F.coalesce("workspace_id", F.lit("NULL")),
            F.lit("/date="),
            F.coalesce(F.col("usage_date").cast("string"), F.lit("NULL")),
        ).alias("scope"),
    )
    total = days.agg(
        *[F.sum(v).cast(COST_TYPE).alias(v) for v in values],
        F.sum("expected_rows").alias("expected_rows"),
        F.sum("actual_rows").alias("actual_rows"),
    ).select("*", F.lit(ACCOUNT).alias("scope"))
    both = days.unionByName(total, allowMissingColumns=True)
    difference = (F.col("actual_value") - F.col("expected_value")).cast(COST_TYPE)
    checked = both.select(
        "*",
        difference.alias("difference"),
        ((F.abs(difference) <= tolerance) & (F.col("expected_rows") == F.col("actual_rows"))).alias("passed"),
        F.format_string(
            "bronze %s - duplicates %s - quarantined %s = expected %s; gold %s; records expected %d, gold %d",
            *[F.format_number(F.col(v).cast("double"), 2) for v in values],
            F.col("expected_rows"),
            F.col("actual_rows"),
        ).alias("message"),
    )
    return _frame(checked, run_id, "list_cost_by_workspace_day")


def _one_owner_per_usage_row(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    from pyspark.sql import functions as F

    hourly = io.read_table(spark, config, "gold.fct_usage_hourly")
    owned = F.col("owner_type").isin(*OWNER_TYPES) & F.col("owner_id").isNotNull()
    row = hourly.agg(
        F.count(F.lit(1)).alias("expected_rows"),
        F.count_if(owned).alias("actual_rows"),
        F.count_distinct("record_id").alias("distinct_records"),
    )
    checked = row.select(
        F.lit(ACCOUNT).alias("scope"),
        "expected_rows",
        "actual_rows",
        (
            (F.col("expected_rows") == F.col("actual_rows")) & (F.col("expected_rows") == F.col("distinct_records"))
        ).alias("passed"),
        F.format_string(
            "%d usage rows, %d with exactly one known owner, %d distinct record_ids",
            "expected_rows",
            "actual_rows",
            "distinct_records",
        ).alias("message"),
    )
    return _frame(checked, run_id, "one_owner_per_usage_row")


def _allocation_sums_to_usage(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    from pyspark.sql import functions as F

    hourly = io.read_table(spark, config, "gold.fct_usage_hourly").select(
        "record_id",
        F.col("usage_quantity").alias("h_quantity"),
        F.col("list_cost").alias("h_cost"),
        F.col("effective_cost").alias("h_effective"),
    )
    allocated = (
        io.read_table(spark, config, "gold.fct_cost_allocation")
        .groupBy("record_id")
        .agg(
            F.sum("usage_quantity").alias("a_quantity"),
            F.sum("list_cost").alias("a_cost"),
            F.sum("effective_cost").alias("a_effective"),
            F.sum("allocation_share").alias("a_share"),
        )
    )
    paired = hourly.join(allocated, "record_id", "full_outer")
    exact = (
        F.col("h_quantity").eqNullSafe(F.col("a_quantity"))
        & F.col("h_cost").eqNullSafe(F.col("a_cost"))
        & F.col("h_effective").eqNullSafe(F.col("a_effective"))
        & (F.col("a_share") == 1)
    )
    row = paired.agg(
        F.count(F.lit(1)).alias("expected_rows"),
        F.count_if(F.coalesce(exact, F.lit(False))).alias("actual_rows"),
        F.sum("h_cost").cast(COST_TYPE).alias("expected_value"),
        F.sum("a_cost").cast(COST_TYPE).alias("actual_value"),
    )
    checked = row.select(
        F.lit(ACCOUNT).alias("scope"),
        "*",
        (F.col("actual_value") - F.col("expected_value")).alias("difference"),
        (F.col("expected_rows") == F.col("actual_rows")).alias("passed"),
        F.format_string(
            "%d usage records, %d allocated exactly (quantity, list and effective cost, shares = 1)",
            "expected_rows",
            "actual_rows",
        ).alias("message"),
    )
    return _frame(checked, run_id, "allocation_sums_to_usage")


def _job_runs_once(spark: SparkSession, config: Config, run_id: str) -> DataFrame:
    """Runs in bronze (a run counts unless every one of its bronze slices was quarantined) vs fct_job_runs."""
    from pyspark.sql import functions as F

    slices = (
        io.read_table(spark, config, "bronze.lakeflow_job_run_timeline")
        .groupBy("workspace_id", "run_id")
        .agg(F.count(F.lit(1)).alias("slices"))
    )
    if io.table_exists(spark, config, "silver.quarantine"):
        schema = system_schema.spark_type_ddl("lakeflow.job_run_timeline")
        quarantined = (
            io.read_table(spark, config, "silver.quarantine")
            .where(F.col("table_key") == "silver.lakeflow_job_run_timeline")
            .select(F.from_json("row_json", schema).alias("r"))
            .groupBy(F.col("r.workspace_id").alias("workspace_id"), F.col("r.run_id").alias("run_id"))
            .agg(F.count(F.lit(1)).alias("quarantined"))
        )
        slices = slices.join(quarantined, ["workspace_id", "run_id"], "left").where(
            F.coalesce("quarantined", F.lit(0)) < F.col("slices")
        )
    source = slices.select("workspace_id", "run_id", F.lit(1).alias("in_source"))
    gold = (
        io.read_table(spark, config, "gold.fct_job_runs")
        .groupBy("workspace_id", "run_id")
        .agg(F.count(F.lit(1)).alias("copies"))
    )
    paired = source.join(gold, ["workspace_id", "run_id"], "full_outer")
    row = paired.agg(
        F.count_if(F.col("in_source").isNotNull()).alias("expected_rows"),
        F.coalesce(F.sum("copies"), F.lit(0)).alias("actual_rows"),
        F.count_if(F.col("in_source").isNotNull() & F.col("copies").isNull()).alias("missing"),
        F.count_if(F.col("in_source").isNull()).alias("extra"),
        F.count_if(F.col("copies") > 1).alias("duplicated"),
    )
    checked = row.select(
        F.lit(ACCOUNT).alias("scope"),
        "expected_rows",
        "actual_rows",
        ((F.col("missing") == 0) & (F.col("extra") == 0) & (F.col("duplicated") == 0)).alias("passed"),
        F.format_string(
            "%d runs in bronze, %d rows in fct_job_runs: %d missing, %d not in the source, %d duplicated",
            "expected_rows",
            "actual_rows",
            "missing",
            "extra",
            "duplicated",
        ).alias("message"),
    )
    return _frame(checked, run_id, "job_runs_once")
