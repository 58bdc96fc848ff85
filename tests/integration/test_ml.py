"""The ML layer on the ci account: features from its gold, every model trained, evaluated against its baseline and
registered, predictions written and read through the semantic functions, and the champion served over HTTP."""

from __future__ import annotations

import socket

import pandas as pd
import pytest

from hm_utils import io, semantic
from hm_utils.ml import catalog, features, scoring, serving, tracking

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def trained(account):
    """Every model as the ci account's build trained (the run plan's ml_train step) and scored (ml_score)."""
    return {r.model: r for r in account["ml_train"]}, account["ml_score"]


def test_feature_tables_hold_one_row_per_completed_run_and_per_cost_day(spark, config, trained):
    runs = io.read_table(spark, config, "gold.fct_job_runs").where("is_completed")
    built = io.read_table(spark, config, "ml.job_run_features")
    assert built.count() == runs.count()
    assert built.select("workspace_id", "run_id").distinct().count() == built.count()
    cost = io.read_table(spark, config, "ml.cost_daily_features").toPandas()
    gold = io.read_table(spark, config, "gold.agg_daily_cost").where("currency_code <> 'UNPRICED'").toPandas()
    last_day = features.last_complete_day(config)
    gold = gold[pd.to_datetime(gold["usage_date"]).dt.date <= last_day]
    assert cost["list_cost"].sum() == pytest.approx(float(gold["list_cost"].astype(float).sum()), rel=1e-9)


def test_every_model_is_registered_as_champion_with_its_evaluation(spark, config, trained):
    results, _ = trained
    assert set(results) == set(catalog.models())
    client = tracking.configure(config)
    for name in results:
        version = client.get_model_version_by_alias(tracking.registered_name(config, name), tracking.CHAMPION)
        assert version is not None
    evaluation = semantic.call("get_ml_model_quality", spark=spark, config=config)
    assert set(evaluation["model_name"]) == set(results)
    scored = evaluation[evaluation["value"].notna()]
    assert scored["baseline_value"].notna().all(), "every primary metric is compared with its baseline"
    # the ci account's 21 days hold no whole calendar month (month-end budgets) and no 30-day commitment period
    # to backtest: those models say so with an empty score rather than a made-up one
    assert set(evaluation.loc[evaluation["value"].isna(), "model_name"]) <= {
        "budget_alert_model",
        "commitment_recommender",
    }


def test_predictions_reach_the_semantic_layer(spark, config, trained):
    _, scored = trained
    assert {r.table.rsplit(".", 1)[-1] for r in scored} == {
        s.predictions.removeprefix("ml.") for s in catalog.models().values()
    }
    risk = semantic.call("get_job_failure_risk", spark=spark, config=config, min_probability=0.0, top_n=5)
    assert len(risk) == 5 and risk["failure_probability"].is_monotonic_decreasing
    durations = semantic.call("get_duration_forecast", spark=spark, config=config, top_n=5)
    assert (durations["p90_minutes"] >= durations["expected_minutes"]).all()
    forecast = semantic.call("get_cost_forecast", spark=spark, config=config)
    assert len(forecast) > 0 and (forecast["lower_list_cost"] <= forecast["upper_list_cost"]).all()
    assert (forecast["lower_list_cost"] >= 0).all()
    scored_days = semantic.call("get_cost_anomalies_ml", spark=spark, config=config, flagged_only=False)
    assert len(scored_days) > 0
    demand = semantic.call("get_dbu_demand_forecast", spark=spark, config=config)
    assert len(demand) > 0 and set(demand["horizon_days"]) == set(range(1, 8)) and (demand["forecast_dbus"] >= 0).all()
    budgets = semantic.call("get_budget_breach_risk", spark=spark, config=config).set_index("workspace_id")
    assert "account" in budgets.index and budgets["breach_probability"].between(0, 1).all()
    assert (budgets["budget_source"] == "default").all() and budgets["breach_probability"].is_monotonic_decreasing
    commitment = semantic.call("get_commitment_recommendation", spark=spark, config=config)
    assert list(commitment["workspace_id"]) == ["account"]
    assert (commitment["recommended_commit_list_cost"] <= commitment["p90_list_cost"]).all()
    assert (commitment["expected_saving"] >= 0).all()
    every_job = semantic.call(
        "get_job_failure_risk",
        spark=spark,
        config=config,
        start_date=None,
        end_date=None,
        min_probability=0.0,
        top_n=10_000,
    )
    assert len(every_job) == io.read_table(spark, config, "ml.pred_job_failure_risk").count(), "NULL bounds: all jobs"
    every_duration = semantic.call("get_duration_forecast", spark=spark, config=config, start_date=None, top_n=10_000)
    assert len(every_duration) == io.read_table(spark, config, "ml.pred_duration_forecast").count()
    every_evaluation = semantic.call(
        "get_ml_model_quality", spark=spark, config=config, start_date=None, end_date=None, primary_only=False
    )
    assert len(every_evaluation) == io.read_table(spark, config, "ml.model_evaluation").count()


def test_the_champion_failure_predictor_answers_over_http(spark, config, trained):
    runs = features.read_gold_inputs(spark, config)["gold.fct_job_runs"]
    upcoming = scoring.next_runs(runs)
    spec = catalog.get_model("job_failure_predictor")
    records = upcoming[list(spec.features)].astype(float).head(3)
    estimator, _ = tracking.load_champion(config, spec.name)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with serving.start_server(config, spec.name, port) as server:
        answered = serving.score(server.url, records)
    expected = estimator.predict(records)["failure_probability"]
    assert answered["failure_probability"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-6)
