"""Semantic layer source files without Spark: the function contract, comments, placeholders, bound calls."""

from __future__ import annotations

import re

import pytest

from hm_utils import config as config_module
from hm_utils.errors import ConfigError
from hm_utils.semantic import assets, query

CONTRACT = {
    "cost": [
        "get_daily_cost_summary",
        "get_top_cost_drivers",
        "get_cost_anomalies",
        "get_workspace_cost_trend",
        "get_sku_cost_breakdown",
        "get_tag_chargeback",
        "get_job_cost",
        "get_failed_run_cost",
        "get_all_purpose_job_clusters",
        "get_cost_week_over_week",
    ],
    "security": [
        "get_failed_logins",
        "get_permission_changes",
        "get_token_activity",
        "get_download_activity",
        "get_off_hours_access",
        "get_access_by_ip",
        "get_sensitive_table_access",
        "get_identity_activity",
        "get_secret_access",
        "get_temporary_credentials",
        "get_cross_workspace_activity",
    ],
    "performance": [
        "get_failed_jobs",
        "get_slow_jobs",
        "get_duration_regressions",
        "get_slowest_queries",
        "get_query_failures",
        "get_warehouse_queueing",
        "get_cluster_utilization",
        "get_idle_clusters",
        "get_oversized_clusters",
        "get_longest_tasks",
        "get_spill_heavy_queries",
        "get_bottleneck_summary",
    ],
    "reliability": [
        "get_job_success_rate",
        "get_sla_breaches",
        "get_pipeline_health",
        "get_run_retries",
        "get_compute_uptime",
        "get_mttr",
        "get_flaky_jobs",
        "get_table_freshness",
        "get_termination_codes",
        "get_incident_timeline",
    ],
    "quality": [  # data quality of the kit's own tables: gates, reconciliation, quarantine, freshness, completeness, drift
        "get_quality_gate_results",
        "get_reconciliation_results",
        "get_quarantine_summary",
        "get_data_freshness",
        "get_source_freshness",
        "get_late_tables",
        "get_table_completeness",
        "get_volume_drops",
        "get_schema_drift_events",
        "get_drift_alerts",
        "get_profile_outliers",
    ],
    "mlops": [  # the kit's models (MLflow), their inputs' drift, and the kit's own runs and alerts
        "get_model_training_runs",
        "get_stale_models",
        "get_feature_drift",
        "get_pipeline_run_health",
        "get_profiling_activity",
        "get_monitor_runs",
        "get_alert_history",
    ],
    # predictions and evaluations of the ML layer (ml.pred_*, ml.model_evaluation)
    "ml": [
        "get_job_failure_risk",
        "get_duration_forecast",
        "get_cost_anomalies_ml",
        "get_cost_forecast",
        "get_dbu_demand_forecast",
        "get_budget_breach_risk",
        "get_commitment_recommendation",
        "get_ml_model_quality",
    ],
}
# Functions that describe the current state rather than a period: no date parameters, a filter first.
STATUS = {
    "get_source_freshness",
    "get_late_tables",
    "get_schema_drift_events",
    "get_stale_models",
    "get_pipeline_run_health",
    "get_profiling_activity",
}
DOMAINS = ("cost", "security", "performance", "reliability")  # functions over the account's activity
ALL = sorted(name for names in CONTRACT.values() for name in names)
SQL_KEYWORDS = re.compile(
    r"\b(SELECT|FROM|WHERE|GROUP BY|ORDER BY|JOIN|CREATE|RETURNS|RETURN|WITH|UNION ALL|CASE|WHEN)\b"
)


@pytest.fixture(scope="module")
def config():
    return config_module.load("ci")


@pytest.fixture(scope="module")
def specs(config):
    return {name: assets.function_spec(config, name) for name in assets.function_names()}


def _code_only(text: str) -> str:
    """The SQL text with string literals removed."""
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)


def test_the_contract_functions_exist_and_nothing_else():
    assert assets.function_names() == ALL
    assert sum(len(CONTRACT[domain]) for domain in DOMAINS) == 43


@pytest.mark.parametrize("name", ALL)
def test_function_signature_and_comments(specs, name):
    spec = specs[name]
    if name in STATUS:
        assert "start_date" not in spec.param_names and spec.params, "status functions take a filter, no period"
    else:
        own_domain = name in CONTRACT["quality"] or name in CONTRACT["mlops"]
        leading = ["start_date", "end_date"] if own_domain else ["start_date", "end_date", "workspace"]
        assert spec.param_names[: len(leading)] == leading, "common leading parameters"
        assert [p.type for p in spec.params[:3]] == ["date", "date", "string"]
    for param in spec.params:
        assert param.default is not None, f"{name}({param.name}) needs a DEFAULT"
        assert param.comment and len(param.comment) > 15, f"{name}({param.name}) needs a COMMENT"
    for column in spec.columns:
        assert column.comment and len(column.comment) > 5, f"{name}.{column.name} needs a COMMENT"
    assert spec.comment and "BEST FOR:" in spec.comment and "NOT FOR:" in spec.comment
    assert len(spec.comment) > 200
    if "top_n" in spec.param_names:
        assert spec.columns[0].name == query.ORDER_COLUMN, "top-N functions return the rank first"


@pytest.mark.parametrize("name", ALL)
def test_function_text_follows_the_house_rules(name):
    raw = (assets.FUNCTIONS_DIR / f"{name}.sql").read_text()
    code = _code_only(raw)
    assert raw.startswith(f"create or replace function {{semantic}}.{name}(")
    assert not SQL_KEYWORDS.search(code), "lowercase keywords"
    assert not re.search(r"\b(spark_catalog|hm_gold|hm_silver|system\.\w+\.\w+)\b", code), "no table-name literals"
    assert not re.search(r"\blimit\s+[a-z_]", code), "LIMIT <parameter> is rejected by Spark: use row_number"
    assert re.search(r"\{(gold|ops|silver|ml)\.\w+\}", code), (
        "reads gold (ops and silver quarantine for quality, ml for models) through registry placeholders"
    )


def test_cost_functions_return_money_in_the_account_currency(specs):
    for name in CONTRACT["cost"]:
        columns = [c.name for c in specs[name].columns]
        assert any(c.endswith("list_cost") or c.endswith("saving") for c in columns), name


def test_render_fills_registry_and_params(config):
    text = assets.render_function(config, "get_sla_breaches")
    assert "{" not in _code_only(text).replace("{gold", "")
    assert "spark_catalog.hm_gold.fct_job_runs" in text
    assert "default 60 comment" in text
    assert "where false" in text  # no per-job targets in ci: an empty relation


def test_sla_targets_are_baked_in_from_params():
    config = config_module.load(
        "ci", {"semantic.sla.jobs": {"nightly_etl": 45, "123": 90}, "semantic.sla.default_minutes": 30}
    )
    text = assets.render_function(config, "get_sla_breaches")
    assert "values ('123', 90), ('nightly_etl', 45)" in text
    assert "default 30 comment" in text


def test_unknown_placeholder_is_a_clear_error(config):
    with pytest.raises(ConfigError, match="no table 'gold.no_such_table_here' in the registry"):
        assets.render("select * from {gold.no_such_table_here}", config, "test")
    with pytest.raises(ConfigError, match="unknown placeholder"):
        assets.render("select {nope}", config, "test")


def test_call_sql_binds_values_and_never_splices_them(config):
    sql, args = query.call_sql("get_failed_jobs", config, start_date="2024-01-01", workspace="x' OR 1=1 --")
    assert "OR 1=1" not in sql and "2024" not in sql
    assert sql == (
        "select * from spark_catalog.hm_semantic.get_failed_jobs(start_date => :start_date, "
        "workspace => :workspace) order by rank"
    )
    assert args["workspace"] == "x' OR 1=1 --"
    assert str(args["start_date"]) == "2024-01-01"


def test_call_sql_rejects_unknown_functions_and_parameters(config):
    with pytest.raises(ConfigError, match="no semantic function"):
        query.call_sql("get_failed_jobs; drop table x", config)
    with pytest.raises(ConfigError, match="has no parameter"):
        query.call_sql("get_failed_jobs", config, days="7")
    with pytest.raises(ConfigError, match="expects int"):
        query.call_sql("get_failed_jobs", config, min_failures="many")


def test_parser_reads_defaults_types_and_escaped_comments():
    text = (
        "create or replace function c.s.f(a date default current_date() - interval 7 days comment 'it\\'s, (x)',"
        " b decimal(10,2) default 1.5 comment 'b') returns table (x string comment 'the \\'x\\'') comment 'f' return select 1"
    )
    spec = assets._parse_function(text, "f")
    assert [(p.name, p.type, p.default) for p in spec.params] == [
        ("a", "date", "current_date() - interval 7 days"),
        ("b", "decimal(10,2)", "1.5"),
    ]
    assert spec.params[0].comment == "it's, (x)"
    assert spec.columns[0].comment == "the 'x'"
    assert spec.comment == "f"
