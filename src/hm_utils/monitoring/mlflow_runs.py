"""The MLflow runs of the kit's models as a table (`ops.mlflow_runs`), so the semantic layer can answer MLOps
questions in SQL: one row per run with its model, status, times, metrics and parameters.

Reads the tracking store at `monitoring.mlflow_tracking_uri` (default: `<engine home>/mlruns`); with no store
or no runs the table is written empty, so the MLOps functions answer "no models yet" instead of failing.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import SparkSession

from hm_utils import io
from hm_utils.config import Config

RUNS_KEY = "ops.mlflow_runs"
SCHEMA = (
    "experiment_name string, model_name string, run_id string, run_name string, status string, "
    "start_time timestamp, end_time timestamp, metrics map<string,double>, params map<string,string>, "
    "tags map<string,string>"
)


def tracking_uri(config: Config) -> str:
    return str(config.get("monitoring.mlflow_tracking_uri") or (config.home / "mlruns").resolve().as_uri())


def runs_frame(uri: str) -> pd.DataFrame:
    """Every run of every experiment in the store at `uri` (an empty frame when there is no store)."""
    if uri.startswith("file:"):
        from pathlib import Path
        from urllib.parse import urlparse

        if not Path(urlparse(uri).path).is_dir():
            return pd.DataFrame()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    rows = []
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            tags = dict(run.data.tags)
            rows.append(
                {
                    "experiment_name": experiment.name,
                    "model_name": tags.get("model_name") or tags.get("mlflow.runName") or experiment.name,
                    "run_id": run.info.run_id,
                    "run_name": run.info.run_name,
                    "status": run.info.status,
                    "start_time": pd.to_datetime(run.info.start_time, unit="ms"),
                    "end_time": pd.to_datetime(run.info.end_time, unit="ms") if run.info.end_time else None,
                    "metrics": {k: float(v) for k, v in run.data.metrics.items()},
                    "params": dict(run.data.params),
                    "tags": {k: v for k, v in tags.items() if not k.startswith("mlflow.")},
                }
            )
    return pd.DataFrame(rows)


def export_runs(spark: SparkSession, config: Config) -> int:
    """Write the runs to `ops.mlflow_runs` (replacing the previous copy); returns how many."""
    frame = runs_frame(tracking_uri(config))
    records = [] if frame.empty else [tuple(row) for row in frame.itertuples(index=False)]
    io.write_table(spark, config, RUNS_KEY, spark.createDataFrame(records, SCHEMA))
    return len(records)
