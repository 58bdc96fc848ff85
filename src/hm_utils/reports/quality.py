"""The data quality and MLOps page (reports/quality.ipynb): its semantic calls, KPIs, table columns and the
drift heat map's data. Freshness, gate results, model evaluations and the kit's own runs describe the latest
state (validation and run times are the kit's own, not the period's data days); volume drops and drift cover
the report period."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.blocks import Kpi

FRESHNESS_COLUMNS = {
    "table_key": ("Table", "text"), "status": ("Status", "text"), "last_data_time": ("Data up to", "datetime"),
    "expected_next_update": ("New data due", "datetime"), "expected_interval_hours": ("Usual interval (h)", "decimal"),
    "hours_since_data": ("Hours since data", "decimal"),
}  # fmt: skip
GATE_COLUMNS = {
    "table_key": ("Table", "text"), "gate_passed": ("Gate passed", "flag"),
    "failed_expectations": ("Rules failed", "count"), "failed_rules": ("Which", "text"),
    "quarantined_rows": ("Quarantined", "count"), "duplicates_removed": ("Duplicates", "count"),
    "bronze_rows": ("Bronze rows", "count"),
}  # fmt: skip
VOLUME_COLUMNS = {
    "day": ("Day", "date"), "table_key": ("Table", "text"), "actual_rows": ("Rows", "count"),
    "expected_rows": ("Expected", "count"), "volume_ratio": ("Share", "percent"),
    "downstream_tables": ("Layer tables affected", "count"),
}  # fmt: skip
DRIFT_COLUMNS = {
    "window_start": ("Window", "date"), "table_key": ("Table", "text"), "column_name": ("Column", "text"),
    "drift_type": ("Against", "text"), "population_stability_index": ("PSI", "decimal"),
    "ks_pvalue": ("KS p-value", "decimal"), "chi_squared_pvalue": ("Chi² p-value", "decimal"),
}  # fmt: skip
EVALUATION_COLUMNS = {
    "model_name": ("Model", "text"), "metric": ("Metric", "text"), "value": ("Value", "decimal"),
    "baseline_value": ("Baseline", "decimal"), "beats_baseline": ("Beats baseline", "flag"),
    "evaluated_at": ("Evaluated", "datetime"),
}  # fmt: skip
RUN_COLUMNS = {
    "started_at": ("Started", "datetime"), "run_id": ("Run", "text"), "step": ("Step", "text"),
    "status": ("Status", "text"), "seconds": ("Took", "duration"), "baseline_seconds": ("Usually", "duration"),
}  # fmt: skip
QUARANTINE_COLUMNS = {
    "table_key": ("Table", "text"), "rule": ("Rule", "text"), "quarantined_rows": ("Rows", "count"),
    "runs": ("Runs", "count"), "last_day": ("Last", "date"),
}  # fmt: skip
HEALTH_COLUMNS = {
    "run_id": ("Run", "text"), "tables_ingested": ("Tables ingested", "count"),
    "source_rows_read": ("Rows read", "count"), "tables_with_warnings": ("With warnings", "count"),
    "quality_rules_failed": ("Rules failed", "count"), "reconciliation_failed": ("Reconciliations failed", "count"),
    "windows_profiled": ("Windows profiled", "count"),
}  # fmt: skip
NOT_FRESH = ("late", "stale", "no_data")
# A failed step's error text stays in get_monitor_runs (its detail): the page counts and lists the failures.


@dataclass
class QualityData:
    """One frame per semantic call of the page."""

    freshness: pd.DataFrame
    gates: pd.DataFrame
    quarantine: pd.DataFrame
    volume_drops: pd.DataFrame
    drift: pd.DataFrame
    drift_map: pd.DataFrame
    evaluations: pd.DataFrame
    runs: pd.DataFrame
    run_health: pd.DataFrame


def gather(rep) -> QualityData:
    """Every semantic call of the page, a few at a time (Report.call_many)."""
    every_run = {"start_date": None, "end_date": None}  # the kit's own times, not the period's data days
    r = rep.call_many(
        {
            "freshness": ("get_source_freshness", {}),
            "gates": ("get_quality_gate_results", every_run),
            "quarantine": ("get_quarantine_summary", every_run),
            "volume_drops": ("get_volume_drops", {}),  # where data is lost first: the system tables
            "drift": ("get_drift_alerts", {"drift_type": None}),
            "evaluations": ("get_ml_model_quality", {}),  # the primary metric of every evaluation of the last 90 days
            "runs": ("get_monitor_runs", every_run),
            "run_health": ("get_pipeline_run_health", {}),
        }
    )
    drift_map = rep.metric(
        "mv_monitor_drift",
        ["max_psi", "drifted_windows"],
        ["table_key", "column_name"],
        date_dimension="window_date",
        where={"drift_type": "BASELINE", "granularity": "1 day"},
    )
    return QualityData(
        freshness=r["freshness"],
        gates=r["gates"],
        quarantine=quarantine_by_rule(r["quarantine"]),
        volume_drops=r["volume_drops"],
        drift=r["drift"],
        drift_map=drift_map,
        evaluations=r["evaluations"],
        runs=r["runs"],
        run_health=r["run_health"],
    )


def quarantine_by_rule(summary: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows per table and rule over every run, most first."""
    columns = ["table_key", "rule", "quarantined_rows", "runs", "last_day"]
    if summary.empty:
        return pd.DataFrame(columns=columns)
    frame = summary.groupby(["table_key", "rule"], as_index=False).agg(
        quarantined_rows=("quarantined_rows", "sum"), runs=("runs", "sum"), last_day=("quarantine_date", "max")
    )
    return frame.sort_values(["quarantined_rows", "table_key"], ascending=[False, True], ignore_index=True)[columns]


def not_fresh(freshness: pd.DataFrame) -> pd.DataFrame:
    """The tables that are late, stale or without data, most severe first (the board shows these first)."""
    return freshness[freshness["status"].isin(NOT_FRESH)] if not freshness.empty else freshness


def kpis(data: QualityData) -> list[Kpi]:
    """Late tables, failed gates, volume drops, drifted columns, models that do not beat their baseline and
    the kit's failed steps."""
    late = not_fresh(data.freshness)
    stale = late[late["severity"] == "critical"] if not late.empty else late
    failed_gates = data.gates[~data.gates["gate_passed"].astype(bool)] if not data.gates.empty else data.gates
    drifted = data.drift.groupby(["table_key", "column_name"]).ngroups if not data.drift.empty else 0
    worse = (
        data.evaluations[~data.evaluations["beats_baseline"].fillna(False).astype(bool)]
        if not data.evaluations.empty
        else data.evaluations
    )
    failed_steps = data.runs[data.runs["status"] == "failed"] if not data.runs.empty else data.runs
    return [
        Kpi("Late or stale tables", formatting.count(len(late)), f"{len(stale)} critical, of {len(data.freshness)} checked", "bad" if len(stale) else "good"),
        Kpi("Failed quality gates", formatting.count(len(failed_gates)), f"latest validation of {len(data.gates)} tables", "bad" if len(failed_gates) else "good"),
        Kpi("Volume drops", formatting.count(len(data.volume_drops)), "table-days far under their usual rows", "bad" if len(data.volume_drops) else "good"),
        Kpi("Drifted columns", formatting.count(drifted), "monitored gold columns (PSI and test)", "bad" if drifted else ""),
        Kpi("Models under baseline", formatting.count(worse["model_name"].nunique() if not worse.empty else 0), "no model trained yet" if data.evaluations.empty else f"{data.evaluations['model_name'].nunique()} models evaluated", "bad" if len(worse) else ""),
        Kpi("Failed monitor steps", formatting.count(len(failed_steps)), f"{data.runs['run_id'].nunique() if not data.runs.empty else 0} runs logged", "bad" if len(failed_steps) else "good"),
    ]  # fmt: skip
