"""Bronze ingestion from an export folder: exact copies, idempotent reruns, late rows exactly once,
missing tables, and schema drift. Uses its own schemas so the shared test account is untouched."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from hm_utils import bronze, io, sources, tables
from hm_utils.simulator import SimulationOptions, simulate

pytestmark = pytest.mark.engine

END = datetime(2026, 3, 11, 6, 0)  # the account's now: 2026-03-10 complete, 06:00 of the next day


@pytest.fixture
def export(tmp_path):
    return tmp_path / "export"


@pytest.fixture
def parquet_config(spark, config, export):
    """Reads the export folder; writes to its own, emptied, bronze and ops schemas."""
    for schema in ("hm_test_bronze", "hm_test_ops"):
        spark.sql(f"drop schema if exists {config.catalog}.{schema} cascade")
    return config.with_overrides(
        {
            "source.kind": "parquet",
            "source.path": str(export),
            "schemas.bronze": "hm_test_bronze",
            "schemas.ops": "hm_test_ops",
        }
    )


def _folder_rows(export, system_table):
    schema, table = system_table.split(".")
    files = list((export / schema / table).glob("*.parquet"))
    return sum(pq.ParquetFile(path).metadata.num_rows for path in files)


def _bronze_rows(spark, config):
    return {
        key: int(io.read_table(spark, config, bronze.bronze_key(key)).count()) for key in tables.keys(config, "source")
    }


def test_bronze_equals_the_export_and_reruns_change_nothing(spark, parquet_config, export):
    simulate(export, SimulationOptions(workspaces=2, days=3, end=END, seed=7, scale=0.001))
    bronze.ingest_all(spark, parquet_config, "first")
    first = _bronze_rows(spark, parquet_config)
    for key in tables.keys(parquet_config, "source"):
        system_table = tables.get_spec(parquet_config, key).system_table
        assert first[key] == _folder_rows(export, system_table), key
    reports = bronze.ingest_all(spark, parquet_config, "second")
    assert _bronze_rows(spark, parquet_config) == first
    drift = {r.table_key: r.extra_columns for r in reports if r.extra_columns}
    assert drift == {"source.query_history": ["_hm_sim_drift"]}, "the schema-drift column is carried and reported"
    columns = io.read_table(spark, parquet_config, "bronze.query_history").columns
    assert "_hm_sim_drift" in columns and "_hm_run_id" in columns
    encodings = _column_encodings(spark, parquet_config, "bronze.billing_usage")
    assert "PLAIN" in encodings and not encodings & {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}, encodings


def _column_encodings(spark, config, key):
    """Every encoding used by the parquet files of a local table."""
    files = io.read_table(spark, config, key).inputFiles()
    assert files, key
    found = set()
    for path in (file.removeprefix("file:") for file in files):
        meta = pq.ParquetFile(path).metadata
        for group in range(meta.num_row_groups):
            for column in range(meta.num_columns):
                found.update(meta.row_group(group).column(column).encodings)
    return found


def test_tables_are_ingested_largest_first(monkeypatch, spark, parquet_config, export):
    simulate(export, SimulationOptions(workspaces=1, days=2, end=END, seed=5, scale=0.001))
    started = []
    monkeypatch.setattr(bronze, "ingest_table", lambda spark, config, key, run_id: started.append(key))
    monkeypatch.setattr(bronze, "write_ingest_log", lambda *args: None)
    bronze.ingest_all(spark, parquet_config.with_overrides({"bronze.parallel_tables": 1}), "order")
    sizes = [sources.local_size_bytes(parquet_config, key) for key in started]
    assert sorted(started) == sorted(tables.keys(parquet_config, "source"))
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 10 * sizes[-1] > 0, list(
        zip(started, sizes, strict=True)
    )
    assert sources.local_size_bytes(parquet_config.with_overrides({"source.kind": "system"}), started[0]) == 0


def test_late_rows_are_picked_up_exactly_once(spark, parquet_config, export):
    options = dict(workspaces=2, days=4, seed=11, scale=0.001, defects=False, incidents=False)
    simulate(export, SimulationOptions(end=END, **options))
    bronze.ingest_all(spark, parquet_config, "day-1")
    simulate(export, SimulationOptions(end=END + timedelta(days=1), **options))  # appends the next day
    bronze.ingest_all(spark, parquet_config, "day-2")
    usage = io.read_table(spark, parquet_config, "bronze.billing_usage")
    # rows of the appended day for usage hours more than a day before the first end: late arrivals
    appended = pq.ParquetDataset(list((export / "billing" / "usage").glob("part-2*.parquet"))).read()
    hours = appended["usage_start_time"].cast("int64").to_numpy()
    late_ids = appended["record_id"].to_numpy(zero_copy_only=False)[
        hours < (END - timedelta(days=1)).replace(tzinfo=timezone.utc).timestamp() * 1e6
    ]
    assert late_ids.size > 0, "the simulator should deliver some rows late"
    ingested = usage.where(usage.record_id.isin(list(late_ids))).groupBy("record_id").count().collect()
    assert len(ingested) == late_ids.size and {row["count"] for row in ingested} == {1}
    assert usage.count() == _folder_rows(export, "billing.usage")
    assert usage.select("record_id").distinct().count() == usage.count(), "a row was ingested twice"


def test_missing_source_table_gives_warning_and_empty_table(spark, parquet_config, export):
    simulate(export, SimulationOptions(workspaces=1, days=2, end=END, seed=3, scale=0.001))
    shutil.rmtree(export / "serving" / "endpoint_usage")
    spark.sql(f"drop table if exists {tables.full_name(parquet_config, 'bronze.serving_endpoint_usage')}")
    reports = bronze.ingest_all(spark, parquet_config, "missing", only=["source.serving_endpoint_usage"])
    assert "not available" in reports[0].warning
    empty = io.read_table(spark, parquet_config, "bronze.serving_endpoint_usage")
    assert empty.count() == 0
    assert "databricks_request_id" in empty.columns


def test_a_new_source_replaces_what_came_from_the_old_one(spark, parquet_config, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    simulate(first, SimulationOptions(workspaces=2, days=5, end=END, seed=1, scale=0.001))
    simulate(second, SimulationOptions(workspaces=1, days=2, end=END, seed=2, scale=0.001))
    bronze.ingest_all(spark, parquet_config.with_overrides({"source.path": str(first)}), "a")
    switched = parquet_config.with_overrides({"source.path": str(second)})
    bronze.ingest_all(spark, switched, "b", only=["source.billing_usage"])
    usage = io.read_table(spark, switched, "bronze.billing_usage")
    assert usage.count() == _folder_rows(second, "billing.usage")
    assert {row[0] for row in usage.select("_hm_source").distinct().collect()} == {f"parquet:{second}"}
