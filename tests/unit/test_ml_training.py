"""Training, registration and promotion on tiny synthetic data, with MLflow in a temporary folder."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from hm_utils import config as config_module
from hm_utils.errors import ConfigError
from hm_utils.ml import catalog, estimators, tracking, training


@pytest.fixture(scope="module")
def ml_config(tmp_path_factory):
    return config_module.load("ci").with_overrides({"paths.home": str(tmp_path_factory.mktemp("ml") / "home")})


def _run_features(days: int = 40, jobs: int = 12, seed: int = 0) -> pd.DataFrame:
    """Runs whose failure depends on the job's recent failures and on night starts (learnable, noisy)."""
    rng = np.random.default_rng(seed)
    rows = []
    for job in range(jobs):
        hour = int(rng.integers(0, 24))
        risk = 0.05 + 0.25 * (hour < 5) + 0.2 * (job % 3 == 0)
        recent = []
        for day in range(days):
            failed = int(rng.random() < risk)
            start = pd.Timestamp("2026-10-01") + pd.Timedelta(days=day, hours=hour)
            minutes = 20 * (1 + 0.5 * (start.dayofweek == 0)) * float(np.exp(rng.normal(0, 0.1)))
            rows.append(
                {
                    "workspace_id": "1",
                    "run_id": f"{job}-{day}",
                    "job_id": str(job),
                    "run_date": start.date(),
                    "start_time": start,
                    "hour_of_day": hour,
                    "day_of_week": start.dayofweek,
                    "is_serverless": 0,
                    "is_all_purpose": 0,
                    "is_manual": 0,
                    "prior_runs": day,
                    "prior_failure_rate": np.mean(recent) if recent else np.nan,
                    "recent_failure_rate": np.mean(recent[-5:]) if recent else np.nan,
                    "failed_last_run": recent[-1] if recent else 0,
                    "hours_since_last_run": 24.0 * (1 + 2 * (start.dayofweek == 0)),
                    "prior_median_minutes": 20.0,
                    "prior_p90_minutes": 24.0,
                    "last_minutes": 20.0,
                    "is_failure": failed,
                    "duration_minutes": minutes,
                }  # fmt: skip
            )
            recent.append(failed)
    return pd.DataFrame(rows)


def _tiny(name: str, **params) -> catalog.ModelSpec:
    spec = catalog.get_model(name)
    return dataclasses.replace(spec, params={**spec.params, **params})


def test_retraining_on_the_same_data_registers_a_challenger_not_a_new_champion(ml_config):
    spec = _tiny("duration_predictor", max_iter=20)
    frame = _run_features()
    first = training.train_model(ml_config, spec, frame)
    second = training.train_model(ml_config, spec, frame)
    assert (first.alias, second.alias) == (tracking.CHAMPION, tracking.CHALLENGER)
    assert second.champion_version == first.version
    client = tracking.configure(ml_config)
    name = tracking.registered_name(ml_config, spec.name)
    assert str(client.get_model_version_by_alias(name, tracking.CHAMPION).version) == first.version
    assert str(client.get_model_version_by_alias(name, tracking.CHALLENGER).version) == second.version
    estimator, version = tracking.load_champion(ml_config, spec.name)
    assert version == first.version
    assert (
        estimator.predict(frame.head(3))["p90_minutes"].ge(estimator.predict(frame.head(3))["expected_minutes"]).all()
    )


def test_a_better_version_replaces_the_champion_and_beats_failed_last_time(ml_config):
    frame = _run_features()
    weak = training.train_model(ml_config, _tiny("job_failure_predictor", n_estimators=1, max_depth=1), frame)
    strong = training.train_model(ml_config, _tiny("job_failure_predictor", n_estimators=60), frame)
    assert (weak.alias, weak.champion_version) == (tracking.CHAMPION, None)
    assert strong.score > weak.score
    assert strong.alias == tracking.CHAMPION and strong.champion_version == weak.version
    assert strong.metrics["auc_pr"] > strong.metrics["baseline_auc_pr"] and strong.beats_baseline


def test_promotion_needs_a_margin_and_nan_never_wins():
    assert tracking.beats(0.62, 0.60, higher_is_better=True, margin=0.01)
    assert not tracking.beats(0.605, 0.60, higher_is_better=True, margin=0.01)
    assert tracking.beats(9.0, 10.0, higher_is_better=False, margin=0.01)
    assert not tracking.beats(float("nan"), 0.1, higher_is_better=True)
    assert tracking.beats(0.1, float("nan"), higher_is_better=True)


def test_registry_names_follow_the_target(ml_config):
    databricks = ml_config.with_overrides({"target": "databricks", "catalog": "main", "source.kind": "system"})
    assert tracking.registered_name(databricks, "cost_forecaster") == "main.hm_ml.cost_forecaster"
    assert tracking.tracking_uri(databricks) == "databricks"
    assert tracking.registry_uri(databricks) == "databricks-uc"
    assert tracking.experiment_name(databricks, "cost") == "/Shared/health_monitor_cost_ml"
    assert tracking.registered_name(ml_config, "cost_forecaster") == "cost_forecaster"
    assert tracking.tracking_uri(ml_config).startswith("sqlite:///") and "mlflow.db" in tracking.tracking_uri(ml_config)


def test_evaluation_rows_say_whether_each_metric_beats_its_baseline():
    result = training.TrainResult(
        "duration_predictor", "3", "mae_minutes", 4.0, 5.0, True, "champion", None, 100, 20, 1.0,
        {"mae_minutes": 4.0, "baseline_mae_minutes": 5.0, "p90_coverage": 0.8, "baseline_p90_coverage": 0.9,
         "rows": 20.0},
    )  # fmt: skip
    rows = training.evaluation_rows([result], "seed 7").set_index("metric")
    assert list(rows.columns) == [c.name for c in catalog.table_columns("model_evaluation") if c.name != "metric"]
    assert rows.loc["mae_minutes", "beats_baseline"] and rows.loc["mae_minutes", "is_primary"]
    assert not rows.loc["p90_coverage", "beats_baseline"]  # the baseline sits on the nominal 0.9
    assert training.metric_beats("p90_coverage", 0.88, 0.80) and not training.metric_beats("p90_coverage", 0.7, 0.95)
    assert rows.loc["rows", "beats_baseline"] is None


def test_split_keeps_the_last_days_out_of_training():
    frame = _run_features(days=20, jobs=1)
    train, test = estimators.split_by_time(frame, "start_time", 5)
    assert train["start_time"].max() < test["start_time"].min()
    assert test["run_date"].nunique() == 5


def test_the_daily_step_trains_only_models_without_a_champion(tmp_path, monkeypatch):
    config = config_module.load("ci").with_overrides({"paths.home": str(tmp_path / "home")})
    champion = training.train_model(config, _tiny("duration_predictor", max_iter=20), _run_features())
    asked, built, exported = [], [], []
    monkeypatch.setattr("hm_utils.ml.features.build_features", lambda spark, config: built.append(1) or {})
    monkeypatch.setattr(training, "train_models", lambda config, features, names: asked.append(names) or [])
    monkeypatch.setattr(training, "write_evaluation", lambda spark, config, rows: None)
    monkeypatch.setattr("hm_utils.monitoring.mlflow_runs.export_runs", lambda spark, config: exported.append(asked[:]))

    training.run_training(None, config, only_missing=True)
    assert sorted(asked[-1]) == sorted(set(catalog.models()) - {champion.model})
    assert exported == [asked]  # the runs are exported for the MLOps functions once the training is done

    training.run_training(None, config, only_missing=True, names=[champion.model])
    assert len(asked) == 1 and len(built) == 1  # nothing without a champion: no features built, nothing trained
    assert len(exported) == 1
    assert training.summary([]).empty


def test_the_models_parameter_says_what_it_accepts():
    assert training.missing_only("missing") and not training.missing_only("all")
    with pytest.raises(ConfigError, match='pass "all"'):
        training.missing_only("some")
