"""Train, evaluate and register the models: one MLflow run per model, held-out evaluation against the
model's baseline, registration with the champion/challenger aliases, and the evaluation rows the report reads.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pandas as pd

from hm_utils import sources
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.ml import catalog, estimators, tracking
from hm_utils.ml.catalog import ModelSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """One model's training: the registered version, its held-out score, its baseline's, and the alias."""

    model: str
    version: str
    metric: str
    score: float
    baseline_score: float
    beats_baseline: bool
    alias: str
    champion_version: str | None
    train_rows: int
    test_rows: int
    seconds: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class Evaluated:
    """A model version's metrics on one dataset (what an evaluation row is made of)."""

    model: str
    version: str
    train_rows: int
    test_rows: int
    metrics: dict[str, float]


def read_incidents(config: Config) -> pd.DataFrame | None:
    """The simulated account's labelled incidents (ground truth); None for a real account or an export."""
    if config.get("source.kind") != "simulated":
        return None
    folder = sources.simulated_folder(config) / "_ground_truth" / "incidents"
    return pd.read_parquet(folder) if folder.is_dir() else None


def train_models(
    config: Config, features: dict[str, pd.DataFrame], names: list[str] | None = None
) -> list[TrainResult]:
    """Train every declared model (or `names`) on the feature tables; each tracked, evaluated and registered."""
    specs = [catalog.get_model(name) for name in names] if names else list(catalog.models().values())
    incidents = read_incidents(config)
    return [train_model(config, spec, features[spec.reads.removeprefix("ml.")], incidents) for spec in specs]


def train_model(
    config: Config, spec: ModelSpec, frame: pd.DataFrame, incidents: pd.DataFrame | None = None
) -> TrainResult:
    """Fit on all but the last `holdout_days`, evaluate on those days, log to MLflow, register, promote."""
    import mlflow

    started = time.perf_counter()
    spec = catalog.configured(spec, config)
    client = tracking.configure(config)
    table = catalog.feature_tables()[spec.reads.removeprefix("ml.")]
    train, test = estimators.split_by_time(frame, table.time, spec.holdout_days)
    estimator = estimators.make(spec)
    train = estimator.training_rows(train)
    name = tracking.registered_name(config, spec.name)
    with mlflow.start_run(experiment_id=tracking.experiment_id(client, config, spec.domain), run_name=spec.name):
        mlflow.log_params({"estimator": spec.estimator, "holdout_days": spec.holdout_days, **spec.params})
        mlflow.log_input(mlflow.data.from_pandas(train, name=table.key, targets=spec.label), context="training")
        mlflow.log_input(mlflow.data.from_pandas(test, name=table.key, targets=spec.label), context="evaluation")
        estimator.fit(train)
        scores = estimator.evaluate(test, incidents)
        mlflow.log_metrics({key: value for key, value in scores.items() if not math.isnan(value)})
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=tracking.EstimatorModel(estimator),
            signature=_signature(estimator, train),
            pip_requirements=tracking.pip_requirements(),
            registered_model_name=name,
        )
        version = str(info.registered_model_version)
        score, baseline = scores[spec.metric], scores.get(f"baseline_{spec.metric}", float("nan"))
        better = tracking.beats(score, baseline, spec.higher_is_better)
        promotion = tracking.promote(
            client,
            name,
            version,
            score,
            spec.higher_is_better,
            float(config.get("ml.promote_margin", 0.01)),
            lambda champion: tracking.load_version(config, spec.name, champion).evaluate(test, incidents)[spec.metric],
        )
        mlflow.set_tags({"alias": promotion.alias, "beats_baseline": str(better), "model_version": version})
    return TrainResult(
        model=spec.name,
        version=version,
        metric=spec.metric,
        score=score,
        baseline_score=baseline,
        beats_baseline=better,
        alias=promotion.alias,
        champion_version=promotion.champion_version,
        train_rows=len(train),
        test_rows=len(test),
        seconds=round(time.perf_counter() - started, 2),
        metrics=scores,
    )


def _signature(estimator: estimators.Estimator, train: pd.DataFrame):
    from mlflow.models import infer_signature

    example = estimator.example_input(train)
    return infer_signature(example, estimator.predict(example) if len(example) else None)


# What "better" means for each reported metric: max, min, or a nominal value to be close to (an interval's
# coverage). Counts such as `rows` have no goal and no baseline.
METRIC_GOALS: dict[str, str | float] = {
    "auc_pr": "max", "recall_at_precision": "max", "precision": "max", "recall": "max", "f1": "max",
    "mae_minutes": "min", "mape": "min", "mape_account": "min", "p90_coverage": 0.9, "interval_coverage": 0.8,
    "mae_dbus": "min", "wape": "min", "brier": "min", "breach_recall": "max", "breach_precision": "max",
    "savings_pct": "max",
}  # fmt: skip


def metric_beats(metric: str, value: float, baseline: float) -> bool | None:
    """True when `value` is better than `baseline` for `metric`; None when the metric has no goal or baseline."""
    goal = METRIC_GOALS.get(metric)
    if goal is None or baseline is None or math.isnan(baseline):
        return None
    if isinstance(goal, float):
        return abs(value - goal) < abs(baseline - goal)
    return tracking.beats(value, baseline, higher_is_better=goal == "max")


def evaluation_rows(
    results: list[TrainResult] | list[Evaluated], dataset: str, evaluated_at: datetime | None = None
) -> pd.DataFrame:
    """Evaluation table rows: one per model version, dataset and metric that has a baseline (and the rest).
    `evaluated_at` is the kit's clock (hm_utils.clock), so the semantic layer's default dates find the rows."""
    evaluated_at = evaluated_at or datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for result in results:
        spec = catalog.get_model(result.model)
        for metric, value in result.metrics.items():
            if metric.startswith("baseline_"):
                continue
            baseline = result.metrics.get(f"baseline_{metric}", float("nan"))
            rows.append(
                {
                    "model_name": result.model,
                    "model_version": result.version,
                    "dataset": dataset,
                    "metric": metric,
                    "value": value,
                    "baseline_value": baseline,
                    "is_primary": metric == spec.metric,
                    "higher_is_better": spec.higher_is_better,
                    "beats_baseline": metric_beats(metric, value, baseline),
                    "baseline": spec.baseline,
                    "train_rows": result.train_rows,
                    "test_rows": result.test_rows,
                    "evaluated_at": evaluated_at,
                }
            )
    return pd.DataFrame(rows)


def summary(results: list[TrainResult]) -> pd.DataFrame:
    """One line per model: version, alias, held-out score vs baseline, seconds (sorted by model)."""
    keep = ["model", "version", "alias", "metric", "score", "baseline_score", "beats_baseline", "seconds"]
    frame = pd.DataFrame([asdict(r) for r in results], columns=[f.name for f in fields(TrainResult)])
    return frame[keep].sort_values("model").reset_index(drop=True)


def missing_only(models: str) -> bool:
    """The ml_train notebook's `models` parameter: "all" retrains every model, "missing" trains only the
    models without a champion."""
    if models not in ("all", "missing"):
        raise ConfigError(
            f"models = {models!r} is not a choice of the ml_train notebook",
            where="notebooks/06_ml_train.ipynb: parameter models",
            fix='pass "all" (retrain every model) or "missing" (only models without a champion)',
        )
    return models == "missing"


def write_evaluation(spark: SparkSession, config: Config, rows: pd.DataFrame) -> None:
    """Upsert evaluation rows into ml.model_evaluation (a re-evaluation of a version replaces its rows)."""
    from hm_utils.ml import features

    features.write_frame(spark, config, "ml.model_evaluation", rows, EVALUATION_COLUMNS, mode="upsert")


EVALUATION_COLUMNS = catalog.table_columns("model_evaluation")


def dataset_label(config: Config, holdout: str = "held-out last days") -> str:
    """The evaluation dataset's name: which account (seed) and which window."""
    if config.get("source.kind") == "simulated":
        return f"seed {config.get('simulation.seed')}, {holdout}"
    return f"{config.get('source.kind')} account, {holdout}"


def run_training(
    spark: SparkSession, config: Config, names: list[str] | None = None, *, only_missing: bool = False
) -> list[TrainResult]:
    """Build the feature tables from gold, train, evaluate and register the models (or `names`), and write
    their held-out evaluation to ml.model_evaluation.

    `only_missing` trains only the models without a champion (the daily pipeline's ml_train step: a first
    run, or a model newly declared); the weekly training job retrains every model."""
    from hm_utils.ml import features

    if only_missing:
        names = [name for name in (names or list(catalog.models())) if tracking.champion_version(config, name) is None]
        if not names:
            log.info("every model has a champion: nothing to train (the training job retrains them)")
            return []
    built = features.build_features(spark, config)
    results = train_models(config, built, names)
    from hm_utils import clock

    evaluated_at = clock.now(config).replace(tzinfo=None)
    write_evaluation(spark, config, evaluation_rows(results, dataset_label(config), evaluated_at))
    from hm_utils.monitoring import mlflow_runs

    mlflow_runs.export_runs(spark, config)  # the MLOps functions see these runs now, not after the next monitoring
    return results
