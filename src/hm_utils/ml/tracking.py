"""MLflow tracking and registry, the same code locally and on Databricks (decided by config).

Locally: a SQLite store and an artifact folder under `<paths.home>/mlflow`. On Databricks: the workspace's
tracking server with experiments `<ml.experiment_prefix><domain>_ml` and the Unity Catalog registry, models
named `<catalog>.<schemas.ml>.<model>`. Aliases: `champion` (what scoring and serving use) and `challenger`
(the latest version that did not beat the champion on the held-out evaluation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import pandas as pd

from hm_utils.config import Config
from hm_utils.errors import HealthMonitorError

if TYPE_CHECKING:
    from hm_utils.ml.estimators import Estimator

CHAMPION, CHALLENGER = "champion", "challenger"


class ModelNotTrainedError(HealthMonitorError):
    """A model has no champion version yet."""


def local_folder(config: Config) -> Path:
    return config.home / "mlflow"


def tracking_uri(config: Config) -> str:
    configured = config.get("ml.tracking_uri")
    if configured:
        return str(configured)
    if config.is_local:
        return f"sqlite:///{local_folder(config).resolve() / 'mlflow.db'}"
    return "databricks"


def registry_uri(config: Config) -> str:
    return str(config.get("ml.registry_uri") or (tracking_uri(config) if config.is_local else "databricks-uc"))


def configure(config: Config) -> mlflow.MlflowClient:
    """Point MLflow at the configured tracking store and registry; the client to use."""
    if config.is_local:
        local_folder(config).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri(config))
    mlflow.set_registry_uri(registry_uri(config))
    return mlflow.MlflowClient(tracking_uri(config), registry_uri(config))


def experiment_prefix(config: Config) -> str:
    """What the name of every experiment of the kit starts with."""
    return str(config.get("ml.experiment_prefix", "/Shared/health_monitor_"))


def experiment_name(config: Config, domain: str) -> str:
    return f"{experiment_prefix(config)}{domain}_ml"


def experiment_id(client: mlflow.MlflowClient, config: Config, domain: str) -> str:
    """The domain's experiment, created on first use (locally with its artifacts under the kit's home)."""
    name = experiment_name(config, domain)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    artifacts = (local_folder(config).resolve() / "artifacts").as_uri() if config.is_local else None
    return client.create_experiment(name, artifact_location=artifacts)


def registered_name(config: Config, model: str) -> str:
    """The registry name: the model's name locally, `<catalog>.<schema>.<model>` in Unity Catalog."""
    if registry_uri(config).startswith("databricks-uc"):
        return f"{config.catalog}.{config.require('schemas.ml')}.{model}"
    return model


class EstimatorModel(mlflow.pyfunc.PythonModel):
    """A fitted estimator as an MLflow pyfunc: the same object for batch scoring and the model server."""

    def __init__(self, estimator: Estimator) -> None:
        self.estimator = estimator

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ARG002 (pyfunc API)
        return self.estimator.predict(model_input)


def pip_requirements() -> list[str]:
    """The model's environment, stated rather than inferred (inference imports the model in a subprocess, which
    costs seconds per model): the kit's package pins everything the estimators need."""
    from importlib.metadata import version

    return [
        f"{package}=={version(package)}" for package in ("mlflow", "scikit-learn", "xgboost-cpu", "prophet", "pandas")
    ]


def champion_uri(config: Config, model: str) -> str:
    return f"models:/{registered_name(config, model)}@{CHAMPION}"


def champion_version(config: Config, model: str) -> str | None:
    """The version of the model's champion; None when the model has none (or is not registered)."""
    return _champion_of(configure(config), registered_name(config, model))


def _champion_of(client: mlflow.MlflowClient, name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except mlflow.exceptions.MlflowException:
        return None


def load_champion(config: Config, model: str) -> tuple[Estimator, str]:
    """(estimator, version) of the model's champion; ModelNotTrainedError when there is none."""
    version = champion_version(config, model)
    if version is None:
        raise ModelNotTrainedError(
            f"model {model} has no champion version",
            where=registry_uri(config),
            fix="train it first: `hm ml train` (or the ml_train step of `hm run`)",
        )
    return load_version(config, model, version), version


def load_version(config: Config, model: str, version: str) -> Estimator:
    loaded = mlflow.pyfunc.load_model(f"models:/{registered_name(config, model)}/{version}")
    return loaded.unwrap_python_model().estimator


@dataclass(frozen=True)
class Promotion:
    """What registration decided: the alias the new version got and the champion's held-out score."""

    alias: str
    champion_version: str | None
    champion_score: float | None


def promote(
    client: mlflow.MlflowClient,
    name: str,
    version: str,
    score: float,
    higher_is_better: bool,
    margin: float,
    champion_score: Callable[[str], float],
) -> Promotion:
    """Make `version` the champion when there is none or when `score` beats the champion's score on the same
    held-out data by `margin` (a share); otherwise make it the challenger. A retrain on the same data scores
    the same, so it never replaces the champion."""
    current = _champion_of(client, name)
    if current is None:
        client.set_registered_model_alias(name, CHAMPION, version)
        return Promotion(CHAMPION, None, None)
    previous = champion_score(current)
    if beats(score, previous, higher_is_better, margin):
        client.set_registered_model_alias(name, CHAMPION, version)
        return Promotion(CHAMPION, current, previous)
    client.set_registered_model_alias(name, CHALLENGER, version)
    return Promotion(CHALLENGER, current, previous)


def beats(score: float, other: float, higher_is_better: bool, margin: float = 0.0) -> bool:
    """True when `score` is better than `other` by more than `margin` (a share of |other|); NaN never beats."""
    if score is None or math.isnan(score):
        return False
    if other is None or math.isnan(other):
        return True
    needed = abs(other) * margin
    return score > other + needed if higher_is_better else score < other - needed
