"""Metric views without Spark: spec 1.1 metadata, the derived spec 0.1 form and both DDL texts."""

from __future__ import annotations

import re

import pytest
import yaml

from hm_utils import config as config_module
from hm_utils.semantic import assets, query

VIEWS = assets.metric_view_names()
DOMAINS = {  # at least one view per domain the issue names
    "cost": "mv_cost_daily",
    "jobs/performance": "mv_job_runs",
    "queries/warehouses": "mv_queries",
    "security": "mv_security_events",
    "reliability": "mv_job_reliability",
}


@pytest.fixture(scope="module")
def config():
    return config_module.load("ci")


@pytest.fixture(scope="module")
def databricks_config():
    return config_module.load("ci", {"target": "databricks", "source.kind": "system", "catalog": "main"})


def test_at_least_twenty_views_covering_every_domain():
    assert len(VIEWS) >= 20
    assert set(DOMAINS.values()) <= set(VIEWS)


@pytest.mark.parametrize("name", VIEWS)
def test_spec_1_1_with_full_metadata(config, name):
    spec = assets.metric_view_spec(config, name)
    assert str(spec["version"]) == "1.1"
    assert len(" ".join(spec["comment"].split())) > 80
    assert spec["source"].startswith(("spark_catalog.hm_gold.", "spark_catalog.hm_silver.", "spark_catalog.hm_ops."))
    assert spec["measures"] and spec["dimensions"]
    names = [item["name"] for item in spec["dimensions"] + spec["measures"]]
    assert len(names) == len(set(names))
    for item in spec["dimensions"] + spec["measures"]:
        assert item.get("comment") and item.get("display_name") and len(item["display_name"]) <= 255, item["name"]
        assert isinstance(item.get("synonyms"), list) and 1 <= len(item["synonyms"]) <= 10, item["name"]
    for measure in spec["measures"]:
        assert measure["format"]["type"] in ("number", "currency", "percentage"), measure["name"]
        if measure["format"]["type"] == "currency":
            assert measure["format"]["currency_code"] == "USD"
    for join in spec.get("joins") or []:
        assert join["name"] not in names, "a join name must not shadow a dimension or measure"
        assert "source." in join["on"] and f"{join['name']}." in join["on"]


@pytest.mark.parametrize("name", VIEWS)
def test_local_form_is_spec_0_1_with_joins_folded(config, name):
    spec = assets.metric_view_spec(config, name)
    local = assets.local_metric_spec(spec)
    assert local["version"] == "0.1"
    assert set(local) <= set(assets.METRIC_V01_KEYS)
    for item in local["dimensions"] + local["measures"]:
        assert set(item) == {"name", "expr"}
    if spec.get("joins"):
        assert local["source"].startswith("select source.*, ")
        for join in spec["joins"]:
            assert f"struct({join['name']}.*) as {join['name']}" in local["source"]
            assert f"left join {join['source']} as {join['name']} on " in local["source"]
    else:
        assert local["source"] == spec["source"]


def test_local_ddl_moves_comments_to_the_column_list(config):
    ddl = assets.metric_view_ddl(config, "mv_cost_daily")
    assert ddl.startswith("create or replace view spark_catalog.hm_semantic.mv_cost_daily (\n  `usage_date` comment ")
    body = yaml.safe_load(ddl.split("$$")[1])
    assert body["version"] == "0.1"
    assert "display_name" not in ddl.split("$$")[1]


def test_databricks_ddl_keeps_the_canonical_1_1_yaml(databricks_config):
    ddl = assets.metric_view_ddl(databricks_config, "mv_job_runs")
    assert ddl.startswith("create or replace view main.hm_semantic.mv_job_runs\nwith metrics\nlanguage yaml\ncomment ")
    body = ddl.split("$$")[1]
    assert "'on':" in body  # quoted, or YAML 1.1 readers take it for a boolean
    spec = yaml.safe_load(body)
    assert spec["version"] == 1.1 or str(spec["version"]) == "1.1"
    assert spec["joins"][0]["source"] == "main.hm_gold.dim_job"
    assert spec["measures"][0]["synonyms"]


def test_metric_sql_binds_filter_values(config):
    sql, args = query.metric_sql(
        "mv_cost_daily",
        config,
        ["total_list_cost"],
        ["workspace_name"],
        {
            "workspace_name": "x' OR 1=1 --",
            "usage_date": ("between", "2024-01-01", "2024-01-31"),
            "sku_family": ["SQL", "JOBS"],
        },
    )
    assert "OR 1=1" not in sql and "2024" not in sql and "SQL" not in sql
    assert "measure(total_list_cost) as total_list_cost" in sql and sql.endswith("group by all order by workspace_name")
    assert set(args.values()) == {"x' OR 1=1 --", "2024-01-01", "2024-01-31", "SQL", "JOBS"}


def test_metric_sql_rejects_unknown_names(config):
    with pytest.raises(Exception, match="no measure"):
        query.metric_sql("mv_cost_daily", config, ["total_cost; drop view x"])
    with pytest.raises(Exception, match="no dimension"):
        query.metric_sql("mv_cost_daily", config, ["total_list_cost"], ["nope"])


@pytest.mark.parametrize("name", VIEWS)
def test_a_dimension_named_like_a_source_column_is_that_column(config, name):
    """Spark resolves such a dimension to the raw column, so a different expression would be silently ignored."""
    raw = (assets.METRIC_VIEWS_DIR / f"{name}.yml").read_text()
    gold = re.search(r'^source: "\{gold\.(\w+)\}"', raw, re.MULTILINE)
    if not gold:
        return  # views over ops tables: their columns are declared by the code that writes them
    table = gold.group(1)
    model = yaml.safe_load((assets.PACKAGE / "gold_models" / f"{table}.yml").read_text())
    columns = {column["name"] for column in model["columns"]}
    for dimension in assets.metric_view_spec(config, name)["dimensions"]:
        if dimension["name"] in columns:
            assert dimension["expr"] == dimension["name"], f"{name}.{dimension['name']}"
