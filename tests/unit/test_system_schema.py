"""hm_utils.system_schema: the packaged reference parses into DDL, Arrow and Spark simple strings."""

import pyarrow as pa
import pytest

from hm_utils import system_schema as ss


def test_all_reference_tables_present():
    required = {
        "billing.usage",
        "billing.list_prices",
        "lakeflow.jobs",
        "lakeflow.job_tasks",
        "lakeflow.job_run_timeline",
        "lakeflow.job_task_run_timeline",
        "lakeflow.pipelines",
        "lakeflow.pipeline_update_timeline",
        "compute.clusters",
        "compute.node_types",
        "compute.node_timeline",
        "compute.warehouses",
        "compute.warehouse_events",
        "query.history",
        "access.audit",
        "access.table_lineage",
        "access.column_lineage",
        "serving.served_entities",
        "serving.endpoint_usage",
        "access.workspaces_latest",
    }
    assert required <= set(ss.SYSTEM_TABLES)


@pytest.mark.parametrize("table", ss.SYSTEM_TABLES)
def test_simple_strings_round_trip_through_arrow(table):
    simple = ss.spark_simple_string(table)
    assert list(simple) == [name for name, _ in ss.table_columns(table)]
    for name, type_text in ss.table_columns(table):
        assert simple[name] == type_text  # the reference already uses Spark's simpleString spelling
    assert "..." not in ss.spark_type_ddl(table)


def test_parser_handles_nested_types():
    parsed = ss.parse_spark_type("struct<a:map<string,map<string,string>>,b:array<struct<x:decimal(38,18)>>,c:tinyint>")
    assert parsed.field("a").type == pa.map_(pa.string(), pa.map_(pa.string(), pa.string()))
    assert parsed.field("b").type == pa.list_(pa.struct([("x", pa.decimal128(38, 18))]))
    assert parsed.field("c").type == pa.int8()
    assert ss.parse_spark_type("timestamp") == pa.timestamp("us", tz="UTC")


def test_placeholder_structs_use_suggested_type():
    simple = ss.spark_simple_string("lakeflow.pipeline_update_timeline")
    assert simple["compute"] == "struct<type:string,cluster_id:string>"


def test_ddl_and_unknown_table():
    assert ss.spark_type_ddl("compute.node_types").startswith("`account_id` string, `node_type` string")
    with pytest.raises(KeyError, match="unknown system table"):
        ss.table_columns("nope.table")
    with pytest.raises(ValueError):
        ss.parse_spark_type("interval")
