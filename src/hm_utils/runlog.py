"""The monitor's own run log, `ops.step_log`: one row per step of each `hm run` (status, start,
duration, error), which the MLOps alerts and `get_monitor_runs` read."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from hm_utils import io
from hm_utils.config import Config

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

KEY = "ops.step_log"
COLUMNS = {
    "run_id": ("string", "Run of the monitor (hm run)"),
    "step": ("string", "Step of the run plan"),
    "notebook": ("string", "Notebook the step ran"),
    "status": ("string", "ok or failed"),
    "started_at": ("timestamp", "When the step started (UTC)"),
    "seconds": ("double", "How long it took"),
    "error": ("string", "What failed, for a failed step"),
}
log = logging.getLogger(__name__)


def _frame(spark: SparkSession, rows: list[tuple]):
    return spark.createDataFrame(rows, ", ".join(f"{name} {kind}" for name, (kind, _) in COLUMNS.items()))


def ensure_table(spark: SparkSession, config: Config) -> None:
    """Create the empty log (the semantic layer reads it before any run has written it)."""
    if not io.table_exists(spark, config, KEY):
        io.write_table(spark, config, KEY, _frame(spark, []), "overwrite", column_comments=_comments())


def record_step(
    config: Config, run_id: str, step: str, notebook: str, status: str, started_at: datetime, seconds: float,
    error: str | None = None,
) -> None:  # fmt: skip
    """Upsert one step's row; a failure to log is a warning, never the run's failure.

    Locally the row is written only while the engine runs (every step that reads or writes tables starts
    it): logging never starts an engine of its own, e.g. for a step that failed before reaching it."""
    try:
        from hm_utils.spark import get_spark

        if config.is_local:
            from hm_utils.engine import LocalEngine

            if not LocalEngine(config).status().running:
                log.info("step %s of run %s not recorded in %s: the engine is not running", step, run_id, KEY)
                return
        spark = get_spark(config)
        row = (run_id, step, notebook, status, started_at, float(seconds), error)
        io.write_table(spark, config, KEY, _frame(spark, [row]), "upsert", column_comments=_comments())
    except Exception as exc:  # the run goes on without its log row
        log.warning("could not record step %s of run %s in %s: %s", step, run_id, KEY, exc)


def _comments() -> dict[str, str]:
    return {name: comment for name, (_, comment) in COLUMNS.items()}
