"""Monitors on the built ci account: Databricks' profile/drift layouts, values against an independent
recomputation from gold, queries written for Databricks' tables run unchanged, a rerun recomputes nothing,
injected table defects are flagged, and the MLOps answers with and without a trained model."""

from __future__ import annotations

import pytest

from hm_utils import io, monitoring, tables
from hm_utils.monitoring import declarations, evaluation, mlflow_runs
from hm_utils.semantic import assets, genie

pytestmark = [pytest.mark.engine]

PROFILE_TYPES = {
    "window": "struct<start:timestamp,end:timestamp>",
    "log_type": "string",
    "logging_table_commit_version": "int",
    "monitor_version": "bigint",
    "granularity": "string",
    "slice_key": "string",
    "slice_value": "string",
    "column_name": "string",
    "data_type": "string",
    "count": "bigint",
    "num_nulls": "bigint",
    "avg": "double",
    "quantiles": "array<double>",
    "min": "double",
    "max": "double",
    "stddev": "double",
    "num_zeros": "bigint",
    "num_nan": "bigint",
    "min_length": "double",
    "max_length": "double",
    "avg_length": "double",
    "non_null_columns": "array<string>",
    "frequent_items": "array<struct<item:string,count:bigint>>",
    "median": "double",
    "distinct_count": "bigint",
    "percent_nan": "double",
    "percent_null": "double",
    "percent_zeros": "double",
    "percent_distinct": "double",
}
DRIFT_TYPES = {
    "window": "struct<start:timestamp,end:timestamp>",
    "granularity": "string",
    "monitor_version": "bigint",
    "slice_key": "string",
    "slice_value": "string",
    "column_name": "string",
    "data_type": "string",
    "window_cmp": "struct<start:timestamp,end:timestamp>",
    "drift_type": "string",
    "count_delta": "bigint",
    "avg_delta": "double",
    "percent_null_delta": "double",
    "percent_zeros_delta": "double",
    "percent_distinct_delta": "double",
    "non_null_columns_delta": "struct<added:int,missing:int>",
    "js_distance": "double",
    "ks_test": "struct<statistic:double,pvalue:double>",
    "wasserstein_distance": "double",
    "population_stability_index": "double",
    "chi_squared_test": "struct<statistic:double,pvalue:double>",
    "tv_distance": "double",
    "l_infinity_distance": "double",
}


def _types(spark, config, key):
    return {f.name: f.dataType.simpleString() for f in io.read_table(spark, config, key).schema.fields}


@pytest.mark.parametrize("monitor", declarations.load_monitors(), ids=lambda m: m.name)
def test_output_tables_have_the_databricks_columns_and_types(account, spark, config, monitor):
    profile = _types(spark, config, monitor.profile_key)
    assert {name: profile.get(name) for name in PROFILE_TYPES} == PROFILE_TYPES
    drift = _types(spark, config, monitor.drift_key)
    assert {name: drift.get(name) for name in DRIFT_TYPES} == DRIFT_TYPES
    for metric in monitor.custom_metrics:
        assert (drift if metric.type == "drift" else profile)[metric.name] == metric.output_data_type


def test_profiles_and_custom_metrics_agree_with_gold(account, spark, config):
    runs, profile = (
        tables.full_name(config, "gold.fct_job_runs"),
        tables.full_name(config, "monitoring.fct_job_runs_profile_metrics"),
    )
    expected = (
        spark.sql(
            f"select cast(run_date as timestamp) as start, count(*) as n, sum(case when is_failure then 1 else 0 end) as failed, "
            f"avg(duration_seconds) as mean, count(duration_seconds) as present from {runs} group by run_date"
        )
        .toPandas()
        .set_index("start")
    )
    table = (
        spark.sql(
            f"select window.start as start, count, failed_runs, failure_rate from {profile} "
            f"where granularity = '1 day' and slice_key is null and column_name = ':table' and log_type = 'INPUT'"
        )
        .toPandas()
        .set_index("start")
    )
    column = (
        spark.sql(
            f"select window.start as start, avg, count - num_nulls as present_profiled from {profile} "
            f"where granularity = '1 day' and slice_key is null and column_name = 'duration_seconds'"
        )
        .toPandas()
        .set_index("start")
    )
    assert sorted(table.index) == sorted(expected.index) and len(expected) >= 14
    joined = expected.join(table).join(column)
    assert (joined["count"] == joined.n).all() and (joined.failed_runs == joined.failed).all()
    assert ((joined.failure_rate - joined.failed / joined.n).abs() < 1e-12).all()
    assert ((joined.avg - joined["mean"]).abs() <= 1e-6 * joined["mean"].abs().clip(lower=1)).all()
    assert (joined.present_profiled == joined.present).all(), "non-null durations per day"
    slices = (
        spark.sql(
            f"select window.start as start, sum(count) as n from {profile} where granularity = '1 day' "
            f"and slice_key = 'workspace_id' and column_name = ':table' group by 1"
        )
        .toPandas()
        .set_index("start")
    )
    assert (slices.n == expected.loc[slices.index].n).all(), "the workspace slices partition each window"


def test_databricks_style_queries_run_unchanged(account, spark, config):
    """Queries written from Databricks' documented output columns, only the schema name substituted."""
    schema = tables.schema_of(config, "monitoring.fct_job_runs_profile_metrics")
    queries = [
        f"""SELECT window.start AS ws, column_name, js_distance, ks_test.pvalue AS ks_p
            FROM {schema}.fct_job_runs_drift_metrics
            WHERE drift_type = 'CONSECUTIVE' AND slice_key IS NULL AND column_name <> ':table'
            ORDER BY ws DESC""",
        f"""SELECT window.start, window.end, granularity, count, failed_runs, failure_rate
            FROM {schema}.fct_job_runs_profile_metrics
            WHERE column_name = ':table' AND slice_key IS NULL AND log_type = 'INPUT' AND granularity = '1 day'
            ORDER BY window.start""",
        f"""SELECT slice_key, slice_value, column_name, percent_null, distinct_count, frequent_items[0].item AS top_item
            FROM {schema}.fct_queries_profile_metrics
            WHERE granularity = '1 week' AND slice_key IS NOT NULL AND data_type = 'string'""",
        f"""SELECT column_name, chi_squared_test.statistic, chi_squared_test.pvalue, tv_distance, l_infinity_distance
            FROM {schema}.fct_job_runs_drift_metrics
            WHERE drift_type = 'BASELINE' AND window_cmp IS NULL AND data_type = 'string'""",
        f"""SELECT window.start, wasserstein_distance, population_stability_index, dbu_change_ratio
            FROM {schema}.fct_usage_daily_drift_metrics
            WHERE column_name = 'usage_quantity' OR column_name = ':table'""",
        f"""SELECT window.start, quantiles[10] AS p50, median, stddev, min, max
            FROM {schema}.fct_queries_profile_metrics
            WHERE column_name = 'total_duration_ms' AND slice_key IS NULL AND granularity = '1 day'""",
    ]
    for query in queries:
        assert spark.sql(query).count() > 0, query


def test_a_rerun_with_no_new_data_recomputes_nothing(account, spark, config):
    state = io.read_table(spark, config, monitoring.STATE_KEY).toPandas()
    sizes = {m.name: io.read_table(spark, config, m.profile_key).count() for m in declarations.load_monitors()[:3]}
    report = monitoring.run_monitors(spark, config, "test-rerun")
    assert report.recomputed == 0 and all(result.profile_rows == 0 for result in report.monitors)
    again = io.read_table(spark, config, monitoring.STATE_KEY).toPandas()
    assert "test-rerun" not in set(again.run_id) and len(again) == len(state)
    assert sizes == {name: io.read_table(spark, config, f"monitoring.{name}_profile_metrics").count() for name in sizes}


def test_injected_table_defects_are_flagged_by_the_outputs(account, spark, config):
    """Every defect a snapshot can show is flagged, and no critical flag lacks a defect. A volume drop's
    same-weekday history never holds another drop of its table (drops fall every 10 days, so the same weekday
    comes round after 70 days, past the 4 weeks the expectation reads), and a late source's rows keep their
    event times, so a finished outage leaves the daily counts whole."""
    defects, unexplained = evaluation.score(spark, config)
    observable = defects[defects.note == ""]
    assert set(observable.defect_type) >= {"volume_drop", "distribution_shift", "schema_drift"}
    missed = observable[~observable.flagged]
    assert missed.empty, missed.to_string()
    critical = unexplained[~unexplained.output.str.contains("not critical")]
    assert critical.empty, critical.to_string()


@pytest.fixture
def tracked(account, spark, config, tmp_path):
    """Export the runs of another MLflow store (`tracked(uri)`); the account's own export is restored afterwards."""
    from hm_utils import config as config_module

    yield lambda uri: mlflow_runs.export_runs(spark, config_module.load(config.env, {"ml.tracking_uri": uri}))
    mlflow_runs.export_runs(spark, config)


def test_training_exports_its_runs_for_the_mlops_functions(account, spark, config):
    """The account's training ran after its monitoring step: its runs are in the table all the same."""
    exported = io.read_table(spark, config, mlflow_runs.RUNS_KEY).toPandas()
    trained = {result.model for result in account["ml_train"]}
    assert trained <= set(exported.model_name)
    assert exported.experiment_name.str.startswith(config.get("ml.experiment_prefix")).all()


def test_mlops_functions_answer_with_no_model(spark, config, tracked, tmp_path):
    assert tracked(f"sqlite:///{tmp_path / 'never-created.db'}") == 0
    assert io.read_table(spark, config, mlflow_runs.RUNS_KEY).count() == 0
    assert not (tmp_path / "never-created.db").exists()  # reading never creates an empty store
    for name in ("get_model_training_runs", "get_stale_models"):
        assert spark.sql(f"select * from {assets.qualified(config, name)}()").count() == 0


@pytest.fixture
def trained_model(config, tracked, tmp_path):
    """One tiny MLflow run of the kit (a metric and its baseline) an hour before the pinned now, and one run of an
    experiment that is not the kit's, exported."""
    from mlflow.tracking import MlflowClient

    from hm_utils import clock
    from hm_utils.ml import tracking

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    started = int(clock.now(config).timestamp() * 1000) - 3_600_000
    experiments = {tracking.experiment_name(config, "cost"): "cost_forecast", "/Users/someone@example.com/x": "churn"}
    for experiment, model in experiments.items():
        run = client.create_run(client.create_experiment(experiment), start_time=started, tags={"model_name": model})
        client.log_param(run.info.run_id, "horizon_days", 14)
        client.log_metric(run.info.run_id, "mae", 10.0, timestamp=started)
        client.log_metric(run.info.run_id, "baseline_mae", 12.5, timestamp=started)
        client.set_terminated(run.info.run_id, end_time=started + 60_000)
    return tracked(uri)


def test_mlops_answers_with_a_model(account, spark, config, trained_model):
    examples = [e for e in genie.load_space("mlops")["examples"] if e.get("requires_models")]
    assert trained_model == 1 and examples  # the other experiment's run is not the kit's
    empty = [e["question"] for e in examples if spark.sql(genie.example_sql(config, e)).count() == 0]
    assert set(empty) <= {"Which models are stale?"}, empty  # trained an hour ago: not stale under 7 days
    runs = spark.sql(f"select * from {assets.qualified(config, 'get_model_training_runs')}()").toPandas()
    assert list(runs.model_name) == ["cost_forecast"]
