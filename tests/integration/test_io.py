"""The io layer on the local engine: write modes, comments, and a crash midway leaves the old version."""

from __future__ import annotations

import shutil

import pytest

from hm_utils import io, tables

pytestmark = pytest.mark.engine

KEY = "ops.step_log"
DDL = "run_id string, step string, status string"


@pytest.fixture(autouse=True, scope="module")
def _restore_the_run_log(spark, config):
    """These tests use the run log's table as scratch space; afterwards it is the empty run log again
    (get_monitor_runs reads it)."""
    yield
    from hm_utils import runlog

    spark.sql(f"drop table if exists {tables.full_name(config, KEY)}")
    runlog.ensure_table(spark, config)


def _rows(spark, config):
    return sorted(tuple(row) for row in io.read_table(spark, config, KEY).select("run_id", "step", "status").collect())


def test_write_modes(spark, config):
    io.write_table(spark, config, KEY, spark.createDataFrame([("r1", "a", "ok"), ("r1", "b", "ok")], DDL))
    io.write_table(spark, config, KEY, spark.createDataFrame([("r1", "b", "failed"), ("r2", "a", "ok")], DDL), "upsert")
    assert _rows(spark, config) == [("r1", "a", "ok"), ("r1", "b", "failed"), ("r2", "a", "ok")]
    io.write_table(spark, config, KEY, spark.createDataFrame([("r3", "a", "ok")], DDL), "append")
    io.write_table(
        spark, config, KEY, spark.createDataFrame([("r1", "c", "ok")], DDL), "replace_where", where="run_id = 'r1'"
    )
    assert _rows(spark, config) == [("r1", "c", "ok"), ("r2", "a", "ok"), ("r3", "a", "ok")]
    result = io.write_table(spark, config, KEY, spark.createDataFrame([], DDL))
    assert result.rows == 0


def test_upsert_is_idempotent(spark, config):
    frame = spark.createDataFrame([("r1", "a", "ok"), ("r2", "a", "ok")], DDL)
    io.write_table(spark, config, KEY, frame)
    io.write_table(spark, config, KEY, frame, "upsert")
    io.write_table(spark, config, KEY, frame, "upsert")
    assert len(_rows(spark, config)) == 2


def test_comment_from_registry_is_applied(spark, config):
    io.write_table(
        spark, config, KEY, spark.createDataFrame([("r1", "a", "ok")], DDL), column_comments={"step": "Step name."}
    )
    name = tables.full_name(config, KEY)
    described = {row["col_name"]: row for row in spark.sql(f"describe table extended {name}").collect()}
    assert described["Comment"]["data_type"] == tables.get_spec(config, KEY).comment
    assert described["step"]["comment"] == "Step name."


def test_failed_write_keeps_previous_version_readable(spark, config):
    from pyspark.sql import functions as F

    io.write_table(spark, config, KEY, spark.createDataFrame([("r1", "a", "ok")], DDL))
    failing = spark.range(1000).select(
        F.when(F.col("id") > 500, F.raise_error(F.lit("disk on fire"))).otherwise(F.lit("r9")).alias("run_id"),
        F.lit("a").alias("step"),
        F.lit("ok").alias("status"),
    )
    with pytest.raises(Exception, match="disk on fire"):
        io.write_table(spark, config, KEY, failing, "append")
    assert _rows(spark, config) == [("r1", "a", "ok")]
    io.write_table(spark, config, KEY, spark.createDataFrame([("r2", "a", "ok")], DDL), "append")
    assert _rows(spark, config) == [("r1", "a", "ok"), ("r2", "a", "ok")]
    table_root = config.home / "warehouse" / "tables" / "hm_ops" / "step_log"
    assert len(list(table_root.glob("v-*"))) == 2, "only the current and the replaced version should remain"


def test_a_reader_in_another_session_sees_the_new_version(spark, config):
    from pyspark.sql import SparkSession

    from hm_utils.engine import LocalEngine

    io.write_table(spark, config, KEY, spark.createDataFrame([("r1", "a", "ok")], DDL))
    other = SparkSession.builder.remote(LocalEngine(config).url).create()  # a second client session
    name = tables.full_name(config, KEY)
    assert other.table(name).count() == 1
    for run in ("r2", "r3", "r4"):  # three swaps: the version the other session read first is deleted
        io.write_table(spark, config, KEY, spark.createDataFrame([(run, "a", "ok")], DDL), "append")
    assert other.table(name).count() == 4


def test_missing_table_says_which_step_builds_it(spark, config):
    from hm_utils.errors import TableNotFoundError

    empty_schema = config.with_overrides({"schemas.bronze": "hm_test_never_built"})  # shared tables stay
    with pytest.raises(TableNotFoundError) as raised:
        io.read_table(spark, empty_schema, "bronze.compute_node_types")
    assert "hm run" in raised.value.fix


def test_a_clustered_table_is_written_sorted_so_date_filters_skip_pages(spark, config):
    """agg_daily_security declares cluster_by [event_date]: each file holds its rows in date order."""
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    scratch = config.with_overrides({"schemas.gold": "hm_test_clustered"})  # the shared gold stays as it is
    key = "gold.agg_daily_security"
    assert tables.get_spec(scratch, key).cluster_by == ("event_date",)
    days = (
        spark.range(400)
        .select(
            F.date_sub(F.lit("2026-06-30").cast("date"), ((F.col("id") * 7919) % 120).cast("int")).alias("event_date"),
            F.col("id").cast("string").alias("workspace_id"),
        )
        .repartition(3)
    )  # shuffled: the dates arrive out of order in every partition
    io.write_table(spark, scratch, key, days)
    table_root = scratch.home / "warehouse" / "tables" / "hm_test_clustered" / "agg_daily_security"
    files = [path for path in table_root.glob("v-*/*.parquet")]
    assert files
    for path in files:
        dates = pq.read_table(path, columns=["event_date"]).column("event_date").to_pylist()
        assert dates == sorted(dates), f"{path.name} is not in event_date order"
    assert sum(pq.read_metadata(path).num_rows for path in files) == 400
    spark.sql("drop schema if exists spark_catalog.hm_test_clustered cascade")
    shutil.rmtree(table_root.parent, ignore_errors=True)  # the version folders are outside the schema


def test_local_size_grows_with_the_rows_written_and_is_zero_on_databricks(spark, config):
    io.write_table(spark, config, KEY, spark.createDataFrame([("r1", "a", "ok")], DDL))
    one_row = io.local_size_bytes(config, KEY)
    many = spark.range(20_000).selectExpr("cast(id as string) as run_id", "'a' as step", "'ok' as status")
    io.write_table(spark, config, KEY, many)
    assert io.local_size_bytes(config, KEY) > one_row > 0
    databricks = config.with_overrides({"target": "databricks", "source.kind": "system"})
    assert io.local_size_bytes(databricks, KEY) == 0
