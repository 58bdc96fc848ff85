"""The MLflow runs of the kit's models as a table (`ops.mlflow_runs`), so the semantic layer can answer MLOps
questions in SQL: one row per run with its model, status, times, metrics and parameters.

Reads the store the kit's models are tracked in (`ml.tracking_uri`, hm_utils.ml.tracking: the SQLite store
`<paths.home>/mlflow/mlflow.db` locally, the workspace's tracking server on Databricks), only the kit's own
experiments (`ml.experiment_prefix`: a workspace holds everyone's); with no store or no runs the table is written
empty, so the MLOps functions answer "no models yet" instead of failing. The monitoring step exports them and so
does every training (the daily step and the weekly job), so the table never lags a training.
(MLflow 3 refuses the file-system store, so a local store is a database.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pyspark.sql import SparkSession

from hm_utils import io
from hm_utils.config import Config
from hm_utils.ml import tracking

if TYPE_CHECKING:
    from mlflow.store.entities.paged_list import PagedList

RUNS_KEY = "ops.mlflow_runs"
SCHEMA = (
    "experiment_name string, model_name string, run_id string, run_name string, status string, "
    "start_time timestamp, end_time timestamp, metrics map<string,double>, params map<string,string>, "
    "tags map<string,string>"
)


def runs_frame(uri: str, experiment_prefix: str) -> pd.DataFrame:
    """Every run of the experiments named `<experiment_prefix>...` in the store at `uri` (an empty frame when
    there is no store)."""
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return pd.DataFrame()  # no model trained yet: never create an empty store here
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    pattern = experiment_prefix.replace("'", "''") + "%"
    experiments = {
        e.experiment_id: e.name
        for e in _every_page(
            lambda token: client.search_experiments(filter_string=f"name LIKE '{pattern}'", page_token=token)
        )
    }
    if not experiments:
        return pd.DataFrame()  # searching the runs of no experiment is an error
    rows = []
    for run in _every_page(lambda token: client.search_runs(list(experiments), page_token=token)):
        tags, experiment = dict(run.data.tags), experiments[run.info.experiment_id]
        rows.append(
            {
                "experiment_name": experiment,
                "model_name": tags.get("model_name") or tags.get("mlflow.runName") or experiment,
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "status": run.info.status,
                "start_time": _utc(run.info.start_time),
                "end_time": _utc(run.info.end_time),
                "metrics": {k: float(v) for k, v in run.data.metrics.items()},
                "params": dict(run.data.params),
                "tags": {k: v for k, v in tags.items() if not k.startswith("mlflow.")},
            }
        )
    return pd.DataFrame(rows)


def _every_page(search: Callable[[str | None], PagedList]) -> list:
    """Every item of an MLflow search that answers a page at a time (`search(page_token)`)."""
    items: list = []
    token = None
    while True:
        page = search(token)
        items += list(page)
        token = page.token
        if not token:
            return items


def _utc(milliseconds: int | None) -> datetime | None:
    """An MLflow time (epoch milliseconds) as an aware UTC datetime, which Spark takes as it is."""
    return None if milliseconds is None else datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc)


def export_runs(spark: SparkSession, config: Config) -> int:
    """Write the runs to `ops.mlflow_runs` (replacing the previous copy); returns how many."""
    frame = runs_frame(tracking.tracking_uri(config), tracking.experiment_prefix(config))
    records = [] if frame.empty else [tuple(row) for row in frame.itertuples(index=False)]
    io.write_table(spark, config, RUNS_KEY, spark.createDataFrame(records, SCHEMA))
    return len(records)
