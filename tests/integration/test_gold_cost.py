"""Gold usage and cost facts on a tiny hand-made account whose costs are computed by hand here.

The account lives in its own schemas (config overrides), so these tests neither need nor disturb the
simulated `account` fixture. Prices: ALL_PURPOSE 0.55 until 2025-01-03, then 0.60 list / 0.48 effective
(promotion); JOBS 0.15; SQL_PRO 0.55.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from hm_utils import gold, io
from hm_utils.gold import build, cost, dimensions, models
from hm_utils.simulator.common import build_table
from hm_utils.system_schema import arrow_schema, spark_type_ddl

pytestmark = pytest.mark.engine

AP, JOBS, SQL = "PREMIUM_ALL_PURPOSE_COMPUTE", "PREMIUM_JOBS_COMPUTE", "PREMIUM_SQL_PRO_COMPUTE"
INGESTED = datetime(2025, 1, 6, tzinfo=timezone.utc)
USAGE_TABLES = tuple(models.by_domain()["cost"])  # fct_usage_hourly and the four tables built from it


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _usage_row(record_id, ws, start, sku, qty, *, ingestion="2025-01-02", record_type="ORIGINAL", **meta):
    begin = _ts(start)
    return {
        "record_id": record_id,
        "account_id": "acc",
        "workspace_id": ws,
        "sku_name": sku,
        "cloud": "AWS",
        "usage_start_time": begin,
        "usage_end_time": begin.replace(hour=begin.hour + 1),
        "usage_date": begin.date(),
        "usage_unit": "DBU",
        "usage_quantity": Decimal(qty),
        "record_type": record_type,
        "ingestion_date": date.fromisoformat(ingestion),
        "custom_tags": meta.pop("tags", {}),
        "billing_origin_product": meta.pop("product", None),
        **{f"usage_metadata.{k}": v for k, v in meta.items() if k != "owned_by"},
        "identity_metadata.owned_by": meta.get("owned_by"),
    }


USAGE = [
    _usage_row("u1", "1", "2025-01-02T10:00", JOBS, "2.5", job_id="J1", job_run_id="R1", product="JOBS"),
    _usage_row(
        "u2", "1", "2025-01-02T10:00", AP, "4.0", cluster_id="C1", tags={"team": "platform"}, product="ALL_PURPOSE"
    ),
    _usage_row("u3", "1", "2025-01-02T11:00", AP, "2.0", cluster_id="C1", product="ALL_PURPOSE"),
    _usage_row("u4", "1", "2025-01-03T09:00", SQL, "1.0", warehouse_id="W1", owned_by="ana@example.com", product="SQL"),
    _usage_row("u5", "2", "2025-01-03T09:00", JOBS, "1.0"),
    _usage_row("u6", "1", "2025-01-02T12:00", JOBS, "3.0", job_id="J1", job_run_id="R5"),
    _usage_row(
        "u7",
        "1",
        "2025-01-02T12:00",
        JOBS,
        "-3.0",
        job_id="J1",
        job_run_id="R5",
        record_type="RETRACTION",
        ingestion="2025-01-05",
    ),
    _usage_row(
        "u8",
        "1",
        "2025-01-02T12:00",
        JOBS,
        "2.0",
        job_id="J1",
        job_run_id="R5",
        record_type="RESTATEMENT",
        ingestion="2025-01-05",
    ),
    _usage_row("u9", "1", "2025-01-03T10:00", AP, "10", cluster_id="C2", product="ALL_PURPOSE"),
]
# Hand-computed list cost per (workspace, day) with effective_list prices.
EXPECTED_DAY_COST = {
    ("1", date(2025, 1, 2)): Decimal("0.375") + Decimal("2.2") + Decimal("1.1") + Decimal("0.30"),
    ("1", date(2025, 1, 3)): Decimal("0.55") + Decimal("4.80"),
    ("2", date(2025, 1, 3)): Decimal("0.15"),
}


def _arrow(table: str, rows: list[dict]) -> pa.Table:
    columns = {key: [row.get(key) for row in rows] for key in {k for row in rows for k in row}}
    return build_table(table, len(rows), {k: _array(table, k, v) for k, v in columns.items()})


def _array(table: str, path: str, values: list) -> object:
    arrow_type = arrow_schema(table)
    for part in path.split("."):
        arrow_type = arrow_type.field(part).type if isinstance(arrow_type, pa.Schema) else arrow_type[part].type
    if pa.types.is_map(arrow_type):
        return pa.array([list(v.items()) for v in values], arrow_type)
    return pa.array(values, arrow_type)


def _write_input(spark, config, name: str, table: str, rows: list[dict], layer: str = "silver") -> None:
    from pyspark.sql import functions as F

    data = spark.createDataFrame(_arrow(table, rows)) if rows else spark.createDataFrame([], spark_type_ddl(table))
    frame = data.select("*", F.lit(INGESTED).alias("_hm_ingested_at"), F.lit("test").alias("_hm_run_id"))
    io.write_table(spark, config, f"{layer}.{name}", frame, "overwrite")


@pytest.fixture(scope="module")
def tiny(spark, config):
    """Config whose silver/gold/ops/bronze schemas hold the tiny account; silver tables written, gold built."""
    cfg = config.with_overrides(
        {
            "schemas.silver": "hm_t_silver",
            "schemas.gold": "hm_t_gold",
            "schemas.ops": "hm_t_ops",
            "schemas.bronze": "hm_t_bronze",
            "gold.lookback_days": 1,
            "gold.discount_pct": 10,
        }
    )
    prices = [
        {
            "account_id": "acc",
            "price_start_time": _ts("2025-01-01T00:00"),
            "price_end_time": _ts("2025-01-03T00:00"),
            "sku_name": AP,
            "cloud": "AWS",
            "currency_code": "USD",
            "usage_unit": "DBU",
            "pricing.default": Decimal("0.55"),
            "pricing.effective_list.default": Decimal("0.55"),
        },
        {
            "account_id": "acc",
            "price_start_time": _ts("2025-01-03T00:00"),
            "price_end_time": None,
            "sku_name": AP,
            "cloud": "AWS",
            "currency_code": "USD",
            "usage_unit": "DBU",
            "pricing.default": Decimal("0.60"),
            "pricing.promotional.default": Decimal("0.48"),
            "pricing.effective_list.default": Decimal("0.48"),
        },
        *[
            {
                "account_id": "acc",
                "price_start_time": _ts("2025-01-01T00:00"),
                "price_end_time": None,
                "sku_name": sku,
                "cloud": "AWS",
                "currency_code": "USD",
                "usage_unit": "DBU",
                "pricing.default": Decimal(p),
                "pricing.effective_list.default": Decimal(p),
            }
            for sku, p in ((JOBS, "0.15"), (SQL, "0.55"))
        ],
    ]
    jobs = [
        {
            "workspace_id": "1",
            "job_id": "J1",
            "tags": {"team": "data-eng", "env": "prod"},
            "change_time": _ts("2025-01-01T00:00"),
        },
        {"workspace_id": "1", "job_id": "J2", "tags": {"team": "analytics"}, "change_time": _ts("2025-01-01T00:00")},
    ]
    task_slices = [  # job runs R2, R3 (job J2) share cluster C1 in the 10:00 hour; R4 uses it 15 minutes at 11:00
        {
            "workspace_id": "1",
            "job_id": "J2",
            "run_id": f"T{run}",
            "job_run_id": run,
            "period_start_time": _ts(s),
            "period_end_time": _ts(e),
            "compute_ids": ["C1"],
        }
        for run, s, e in (
            ("R2", "2025-01-02T10:00", "2025-01-02T10:30"),
            ("R3", "2025-01-02T10:15", "2025-01-02T11:00"),
            ("R4", "2025-01-02T11:00", "2025-01-02T11:15"),
        )
    ]
    workspaces = [{"account_id": "acc", "workspace_id": "1", "workspace_name": "alpha", "status": "RUNNING"}]
    for schema in ("gold", "ops"):  # start from nothing, so the first build is a full one
        spark.sql(f"drop schema if exists {cfg.catalog}.{cfg.get(f'schemas.{schema}')} cascade")
    for layer in ("silver", "bronze"):
        _write_input(spark, cfg, "billing_usage", "billing.usage", USAGE, layer)
        _write_input(spark, cfg, "billing_list_prices", "billing.list_prices", prices, layer)
    _write_input(spark, cfg, "lakeflow_jobs", "lakeflow.jobs", jobs)
    _write_input(spark, cfg, "lakeflow_pipelines", "lakeflow.pipelines", [])
    _write_input(spark, cfg, "lakeflow_job_task_run_timeline", "lakeflow.job_task_run_timeline", task_slices)
    _write_input(spark, cfg, "access_workspaces_latest", "access.workspaces_latest", workspaces)
    builds = gold.build_tables(spark, cfg, "t1", ["dim_sku", "dim_workspace", *USAGE_TABLES])
    return cfg, [b for b in builds if b.key.removeprefix("gold.") in USAGE_TABLES]


def _build_usage(spark, cfg, run_id: str) -> list[build.TableBuild]:
    return gold.build_tables(spark, cfg, run_id, USAGE_TABLES)


def _rows(spark, cfg, table: str, order: str = "record_id"):
    return io.read_table(spark, cfg, f"gold.{table}").orderBy(*order.split(",")).collect()


def test_first_build_is_full(tiny):
    _, builds = tiny
    assert {b.mode for b in builds} == {"overwrite"}
    assert sorted(b.key for b in builds) == [f"gold.{t}" for t in sorted(USAGE_TABLES)]


def test_cost_per_workspace_day_is_exact_at_the_price_valid_at_usage_time(spark, tiny):
    cfg, _ = tiny
    daily = (
        io.read_table(spark, cfg, "gold.fct_usage_daily")
        .groupBy("workspace_id", "usage_date")
        .sum("list_cost")
        .collect()
    )
    assert {(r[0], r[1]): r[2] for r in daily} == EXPECTED_DAY_COST
    by_record = {r["record_id"]: r for r in _rows(spark, cfg, "fct_usage_hourly")}
    assert by_record["u9"]["list_price"] == Decimal("0.48")  # promotion window, effective_list price
    assert by_record["u2"]["list_price"] == Decimal("0.55")  # earlier window of the same SKU
    assert by_record["u9"]["effective_cost"] == Decimal("4.32")  # 10 % discount
    assert by_record["u1"]["price_valid_from"] == datetime(2025, 1, 1)


def test_retraction_and_restatement_net_to_the_restated_value(spark, tiny):
    cfg, _ = tiny
    rows = [r for r in _rows(spark, cfg, "fct_usage_hourly") if r["job_run_id"] == "R5"]
    assert sorted(r["record_type"] for r in rows) == ["ORIGINAL", "RESTATEMENT", "RETRACTION"]
    assert sum(r["usage_quantity"] for r in rows) == Decimal("2.0")
    assert sum(r["list_cost"] for r in rows) == Decimal("0.30")
    run_cost = [r for r in _rows(spark, cfg, "fct_cost_allocation") if r["job_run_id"] == "R5"]
    assert sum(r["list_cost"] for r in run_cost) == Decimal("0.30")


def test_every_usage_row_has_exactly_one_owner(spark, tiny):
    cfg, _ = tiny
    owners = {r["record_id"]: (r["owner_type"], r["owner_id"]) for r in _rows(spark, cfg, "fct_usage_hourly")}
    assert owners == {
        "u1": ("job", "J1"),
        "u2": ("cluster", "C1"),
        "u3": ("cluster", "C1"),
        "u4": ("warehouse", "W1"),
        "u5": ("unallocated", "unallocated"),
        "u6": ("job", "J1"),
        "u7": ("job", "J1"),
        "u8": ("job", "J1"),
        "u9": ("cluster", "C2"),
    }


def test_all_purpose_cluster_hours_are_split_between_concurrent_runs(spark, tiny):
    cfg, _ = tiny
    split = {
        (r["record_id"], r["allocated_to"]): r
        for r in _rows(spark, cfg, "fct_cost_allocation", "record_id,allocated_to")
        if r["record_id"] in ("u2", "u3")
    }
    # u2: R2 30 min + R3 45 min = 75 min > 60 -> shares 30/75 and 45/75, nothing left for the cluster.
    assert {k: v["list_cost"] for k, v in split.items() if k[0] == "u2"} == {
        ("u2", "job_run:R2"): Decimal("0.88"),
        ("u2", "job_run:R3"): Decimal("1.32"),
    }
    # u3: R4 used 15 of 60 minutes -> 25 %, the rest stays with the cluster.
    assert {k: (v["list_cost"], v["allocation_rule"]) for k, v in split.items() if k[0] == "u3"} == {
        ("u3", "job_run:R4"): (Decimal("0.275"), "cluster_time_share"),
        ("u3", "cluster:C1"): (Decimal("0.825"), "cluster_remainder"),
    }
    assert split[("u2", "job_run:R3")]["job_id"] == "J2"
    assert split[("u3", "cluster:C1")]["allocation_share"] == Decimal("0.75")


def test_tags_are_backfilled_from_the_job_and_billed_tags_win(spark, tiny):
    cfg, _ = tiny
    by_record = {r["record_id"]: r for r in _rows(spark, cfg, "fct_usage_hourly")}
    assert dict(by_record["u1"]["tags"]) == {"team": "data-eng", "env": "prod"}
    assert by_record["u1"]["tag_source"] == "job"
    assert (dict(by_record["u2"]["tags"]), by_record["u2"]["tag_source"]) == ({"team": "platform"}, "billing")
    assert by_record["u5"]["tag_source"] == "none"
    tags = io.read_table(spark, cfg, "gold.fct_cost_by_tag").where("tag_key = 'team'").collect()
    per_day = {}
    for r in tags:
        per_day[(r["workspace_id"], r["usage_date"])] = (
            per_day.get((r["workspace_id"], r["usage_date"]), 0) + r["list_cost"]
        )
    assert per_day == EXPECTED_DAY_COST  # each key re-counts the whole spend, untagged in 'unallocated'
    unallocated = {(r["workspace_id"], r["usage_date"]): r["list_cost"] for r in tags if r["is_unallocated"]}
    assert unallocated[("2", date(2025, 1, 3))] == Decimal("0.15")


def test_daily_summary_and_dimensions(spark, tiny):
    cfg, _ = tiny
    agg = {
        (r["workspace_id"], r["usage_date"], r["sku_family"]): r
        for r in _rows(spark, cfg, "agg_daily_cost", "usage_date")
    }
    assert agg[("1", date(2025, 1, 3), "ALL_PURPOSE")]["list_cost"] == Decimal("4.80")
    assert agg[("1", date(2025, 1, 3), "ALL_PURPOSE")]["workspace_name"] == "alpha"
    assert agg[("2", date(2025, 1, 3), "JOBS")]["unallocated_list_cost"] == Decimal("0.15")
    assert agg[("1", date(2025, 1, 2), "JOBS")]["correction_list_cost"] == Decimal("-0.15")
    workspaces = {r["workspace_id"]: r["source"] for r in io.read_table(spark, cfg, "gold.dim_workspace").collect()}
    assert workspaces == {"1": "workspaces_latest", "2": "usage_only"}


def _fingerprints(spark, cfg) -> dict[str, tuple]:
    from pyspark.sql import functions as F

    result = {}
    for table in USAGE_TABLES:
        df = io.read_table(spark, cfg, f"gold.{table}")
        row = df.agg(
            F.count(F.lit(1)), F.sum(F.xxhash64(F.to_json(F.struct(*df.columns))).cast("decimal(38,0)"))
        ).first()
        result[table] = tuple(row)
    return result


def test_rerun_changes_nothing_and_a_late_correction_updates_only_its_day(spark, tiny):
    cfg, _ = tiny
    before = _fingerprints(spark, cfg)
    rerun = _build_usage(spark, cfg, "t2")
    assert {b.mode for b in rerun} == {"replace_where"}
    assert {tuple(b.dates) for b in rerun} == {(date(2025, 1, 2),)}  # the lookback reaches back to 2025-01-02
    assert _fingerprints(spark, cfg) == before

    correction = [
        _usage_row(
            "u4r",
            "1",
            "2025-01-03T09:00",
            SQL,
            "-1.0",
            warehouse_id="W1",
            record_type="RETRACTION",
            ingestion="2025-01-09",
        ),
        _usage_row(
            "u4s",
            "1",
            "2025-01-03T09:00",
            SQL,
            "0.5",
            warehouse_id="W1",
            record_type="RESTATEMENT",
            ingestion="2025-01-09",
        ),
    ]
    _write_input(spark, cfg, "billing_usage", "billing.usage", USAGE + correction)
    builds = _build_usage(spark, cfg, "t3")
    # 2025-01-02 (still in the lookback) and the corrected 2025-01-03, in every usage table
    assert {tuple(b.dates) for b in builds} == {(date(2025, 1, 2), date(2025, 1, 3))}
    daily = (
        io.read_table(spark, cfg, "gold.fct_usage_daily")
        .groupBy("workspace_id", "usage_date")
        .sum("list_cost")
        .collect()
    )
    expected = dict(EXPECTED_DAY_COST)
    expected[("1", date(2025, 1, 3))] -= Decimal("0.275")
    assert {(r[0], r[1]): r[2] for r in daily} == expected
    # Restore for the next tests; rows vanishing from silver need a full refresh (billing only ever appends).
    _write_input(spark, cfg, "billing_usage", "billing.usage", USAGE)
    _build_usage(spark, cfg.with_overrides({"gold.full_refresh": True}), "t4")


def test_reconciliation_accounts_for_duplicates_and_quarantine_and_catches_a_wrong_cent(spark, tiny):
    from pyspark.sql import functions as F

    from hm_utils.gold import reconcile

    cfg, _ = tiny
    duplicate = dict(USAGE[0])  # u1 again: silver removed it
    quarantined = _usage_row(None, "1", "2025-01-02T13:00", JOBS, "4.0")  # null key: silver quarantined it
    _write_input(spark, cfg, "billing_usage", "billing.usage", [*USAGE, duplicate, quarantined], layer="bronze")
    bad = spark.createDataFrame(_arrow("billing.usage", [quarantined]))
    io.write_table(
        spark,
        cfg,
        "silver.quarantine",
        bad.select(
            F.lit("silver.billing_usage").alias("table_key"),
            F.lit("t").alias("run_id"),
            F.lit("expect_column_values_to_not_be_null(record_id)").alias("rule"),
            F.lit("{}").alias("business_key"),
            F.to_json(F.struct(*bad.columns)).alias("row_json"),
        ),
        "overwrite",
    )

    checks = {c.check_name: c for c in reconcile.run_checks(spark, cfg, "r1")}
    assert all(c.passed for c in checks.values()), [c.describe() for c in checks.values()]
    day = (
        io.read_table(spark, cfg, "ops.reconciliation")
        .where("run_id = 'r1' and scope = 'workspace=1/date=2025-01-02'")
        .first()
    )
    assert (day["duplicate_value"], day["quarantined_value"]) == (Decimal("0.375"), Decimal("0.60"))
    assert day["bronze_value"] - day["duplicate_value"] - day["quarantined_value"] == day["expected_value"]
    assert day["actual_value"] == EXPECTED_DAY_COST[("1", date(2025, 1, 2))]

    hourly = io.read_table(spark, cfg, "gold.fct_usage_hourly")
    off_by_a_cent = hourly.withColumn(
        "list_cost",
        F.when(F.col("record_id") == "u9", F.col("list_cost") + F.lit(0.01))
        .otherwise(F.col("list_cost"))
        .cast(cost.COST_TYPE),
    )
    models.write_model(spark, cfg, "fct_usage_hourly", off_by_a_cent)
    failed = {c.check_name: c for c in reconcile.run_checks(spark, cfg, "r2") if not c.passed}
    assert set(failed) == {"list_cost_by_workspace_day", "allocation_sums_to_usage"}
    assert failed["list_cost_by_workspace_day"].failed_scopes == 2  # the day and the account total
    assert "workspace=1/date=2025-01-03" in failed["list_cost_by_workspace_day"].describe()
    rebuilt = _build_usage(spark, cfg.with_overrides({"gold.full_refresh": True}), "r3")
    assert {b.mode for b in rebuilt} == {"overwrite"}
    assert all(c.passed for c in reconcile.run_checks(spark, cfg, "r3"))


def _dim_workspace(spark, cfg, now: str):
    """dim_workspace as a build at `now` would write it."""
    pinned = cfg.with_overrides({"clock.now": now})
    return dimensions.build_dim_workspace(build.Inputs(spark, pinned, "w", models.get_model("dim_workspace")))


def test_dim_workspace_opens_a_version_when_the_name_changes_and_is_stable_otherwise(spark, tiny):
    cfg, _ = tiny
    before = sorted(map(tuple, io.read_table(spark, cfg, "gold.dim_workspace").collect()))
    assert sorted(map(tuple, _dim_workspace(spark, cfg, "2025-02-01").collect())) == before

    renamed = [{"account_id": "acc", "workspace_id": "1", "workspace_name": "alpha-prod", "status": "RUNNING"}]
    _write_input(spark, cfg, "access_workspaces_latest", "access.workspaces_latest", renamed)
    models.write_model(spark, cfg, "dim_workspace", _dim_workspace(spark, cfg, "2025-02-01"))
    versions = (
        io.read_table(spark, cfg, "gold.dim_workspace").where("workspace_id = '1'").orderBy("valid_from").collect()
    )
    assert [(v["workspace_name"], v["valid_from"], v["valid_to"], v["is_current"]) for v in versions] == [
        ("alpha", datetime(1970, 1, 1), datetime(2025, 2, 1), False),
        ("alpha-prod", datetime(2025, 2, 1), None, True),
    ]
    restore = [{"account_id": "acc", "workspace_id": "1", "workspace_name": "alpha", "status": "RUNNING"}]
    _write_input(spark, cfg, "access_workspaces_latest", "access.workspaces_latest", restore)
    models.write_model(spark, cfg, "dim_workspace", _dim_workspace(spark, cfg, "2025-02-02"))
