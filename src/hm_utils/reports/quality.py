"""Data-quality gate results of the latest silver build, for the reports.

TEMPORARY ACCESS PATH: the semantic layer has no function over `ops.quality_results` yet, so this one
function is the only place where a report reads an ops table (through `hm_utils.io`). Replace its body
with a `semantic.call(...)` when such a function exists; the report notebooks do not change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from hm_utils import io
from hm_utils.config import Config

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RESULTS_KEY = "ops.quality_results"
ACCOUNTING = "accounting"  # the per-table accounting row written by hm_utils.silver
COLUMNS = [
    "table_key", "expectations", "failed_expectations", "failed_blocking", "bronze_rows", "silver_rows",
    "quarantined_rows", "duplicates_removed", "gate_passed", "validated_at",
]  # fmt: skip


def gate_results(spark: SparkSession, config: Config) -> pd.DataFrame:
    """Per silver table, the latest validation run: expectations checked and failed, row accounting, pass/fail.

    Empty (with the columns) when silver has not been validated yet."""
    if not io.table_exists(spark, config, RESULTS_KEY):
        return pd.DataFrame(columns=COLUMNS)
    from pyspark.sql import functions as F

    results = io.read_table(spark, config, RESULTS_KEY)
    latest = results.agg(F.max("validated_at")).collect()[0][0]
    if latest is None:
        return pd.DataFrame(columns=COLUMNS)
    rows = results.where(results.validated_at == latest).toPandas()
    return summarize(rows)


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """ops.quality_results rows of one run → one row per table (see COLUMNS), failing tables first."""
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    checks = rows[rows["expectation"] != ACCOUNTING]
    accounting = rows[rows["expectation"] == ACCOUNTING].set_index("table_key")
    failed = checks[~checks["success"].astype(bool)]
    summary = pd.DataFrame({"table_key": sorted(rows["table_key"].unique())}).set_index("table_key")
    summary["expectations"] = checks.groupby("table_key").size()
    summary["failed_expectations"] = failed.groupby("table_key").size()
    summary["failed_blocking"] = failed[failed["severity"] == "blocking"].groupby("table_key").size()
    for column in ("bronze_rows", "silver_rows", "quarantined_rows", "duplicates_removed"):
        summary[column] = accounting[column]
    summary["gate_passed"] = accounting["success"].astype(bool)
    summary["validated_at"] = rows.groupby("table_key")["validated_at"].max()
    counts = ["expectations", "failed_expectations", "failed_blocking"]
    summary[counts] = summary[counts].fillna(0).astype(int)
    summary = summary.reset_index()
    summary = summary.sort_values(["gate_passed", "failed_expectations", "table_key"], ascending=[True, False, True])
    return summary[COLUMNS].reset_index(drop=True)
