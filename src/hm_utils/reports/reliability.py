"""The jobs and reliability page (reports/reliability.ipynb): its semantic calls, KPIs and table columns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.blocks import Kpi
from hm_utils.reports.page import Report

FAILED_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "failed_runs": ("Failed", "count"),
    "completed_runs": ("Completed", "count"), "failure_rate": ("Failure rate", "percent"),
    "max_consecutive_failures": ("Longest streak", "count"), "last_termination_code": ("Last code", "text"),
    "failed_list_cost": ("Spent on failures", "money"),
}  # fmt: skip
SLA_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "start_time": ("Started", "datetime"),
    "duration_minutes": ("Minutes", "decimal"), "target_minutes": ("Target", "decimal"),
    "overrun_minutes": ("Over by", "decimal"), "result_state": ("Result", "text"),
}  # fmt: skip
FLAKY_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "completed_runs": ("Runs", "count"),
    "failures": ("Failures", "count"), "flips": ("Flips", "count"), "flip_rate": ("Flip rate", "percent"),
    "rescued_by_repair": ("Rescued by repair", "count"),
}  # fmt: skip
RETRY_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "runs": ("Runs", "count"),
    "retry_runs": ("Retries", "count"), "retries_succeeded": ("Retries that worked", "count"),
    "repairs": ("Repairs", "count"), "retry_list_cost": ("Retry cost", "money"),
    "repair_failed_list_cost": ("Cost before repair", "money"),
}  # fmt: skip
MTTR_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "incidents": ("Incidents", "count"),
    "mttr_minutes": ("MTTR (min)", "decimal"), "max_recovery_minutes": ("Longest (min)", "decimal"),
    "open_incident_since": ("Still failing since", "datetime"),
}  # fmt: skip
REGRESSION_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"),
    "baseline_median_minutes": ("Usual (min)", "decimal"), "recent_median_minutes": ("Recent (min)", "decimal"),
    "ratio": ("× usual", "decimal"), "first_slow_run_time": ("Slow since", "datetime"),
}  # fmt: skip
PIPELINE_COLUMNS = {
    "pipeline_name": ("Pipeline", "text"), "workspace_name": ("Workspace", "text"), "updates": ("Updates", "count"),
    "failures": ("Failures", "count"), "success_rate": ("Success rate", "percent"),
    "last_result_state": ("Last result", "text"), "list_cost": ("Spend", "money"),
}  # fmt: skip
STALE_COLUMNS = {
    "table_full_name": ("Table", "text"), "writer_job_name": ("Written by", "text"),
    "last_write_time": ("Last write", "datetime"), "hours_since_last_write": ("Hours since", "decimal"),
    "usual_interval_hours": ("Usual interval (h)", "decimal"),
}  # fmt: skip
QUALITY_COLUMNS = {
    "table_key": ("Table", "text"), "expectations": ("Expectations", "count"), "failed_expectations": ("Failed", "count"),
    "failed_blocking": ("Failed blocking", "count"), "bronze_rows": ("Bronze rows", "count"),
    "silver_rows": ("Silver rows", "count"), "quarantined_rows": ("Quarantined", "count"),
    "duplicates_removed": ("Duplicates", "count"), "gate_passed": ("Gate passed", "flag"),
}  # fmt: skip
"""The data-quality table (get_quality_gate_results), on this page and the executive summary."""


@dataclass
class ReliabilityData:
    """One frame per semantic call of the page, money at the report's price."""

    success: pd.DataFrame
    daily_success: pd.DataFrame
    sla: pd.DataFrame
    flaky: pd.DataFrame
    mttr: pd.DataFrame
    failed: pd.DataFrame
    retries: pd.DataFrame
    slow: pd.DataFrame
    regressions: pd.DataFrame
    pipelines: pd.DataFrame
    stale: pd.DataFrame
    quality: pd.DataFrame


def gather(rep: Report) -> ReliabilityData:
    """Every semantic call of the page, a few at a time (Report.call_many), priced."""
    r = rep.call_many(
        {
            "success": ("get_job_success_rate", {}),
            "sla": ("get_sla_breaches", {}),
            "flaky": ("get_flaky_jobs", {}),
            "mttr": ("get_mttr", {}),
            "failed": ("get_failed_jobs", {}),
            "retries": ("get_run_retries", {}),
            "slow": ("get_slow_jobs", {"top_n": 10}),
            "regressions": ("get_duration_regressions", {}),
            "pipelines": ("get_pipeline_health", {}),
            "stale": ("get_table_freshness", {"only_stale": True}),
            # each table's latest validation, whenever it ran (not limited to the report period)
            "quality": ("get_quality_gate_results", {"start_date": None, "end_date": None}),
        }
    )
    return ReliabilityData(
        success=r["success"],
        daily_success=rep.metric("mv_job_reliability", ["success_rate"], ["run_date"], date_dimension="run_date"),
        sla=rep.priced(r["sla"], "list_cost"),
        flaky=r["flaky"],
        mttr=r["mttr"],
        failed=rep.priced(r["failed"], "failed_list_cost"),
        retries=rep.priced(r["retries"], "retry_list_cost", "repair_failed_list_cost"),
        slow=r["slow"].assign(job=r["slow"]["job_name"].astype(str)),
        regressions=r["regressions"],
        pipelines=rep.priced(r["pipelines"], "list_cost"),
        stale=r["stale"],
        quality=r["quality"],
    )


def kpis(data: ReliabilityData) -> list[Kpi]:
    """Success rate, failed runs, SLA breaches, flaky jobs and the median time to recover."""
    success, sla, mttr = data.success, data.sla, data.mttr
    completed = success["completed_runs"].sum() if not success.empty else 0
    failures = success["failures"].sum() if not success.empty else 0
    cancelled = success["cancellations"].sum() if not success.empty else 0
    recovery = mttr["mttr_minutes"].median() * 60 if not mttr.empty else None
    return [
        Kpi("Job run success rate", formatting.percent(success["successes"].sum() / completed if completed else None), f"{formatting.count(completed)} completed runs"),
        Kpi("Failed runs", formatting.count(failures), f"{formatting.count(cancelled)} cancelled"),
        Kpi("SLA breaches", formatting.count(len(sla)), f"{sla['job_id'].nunique() if not sla.empty else 0} jobs", "bad" if len(sla) else "good"),
        Kpi("Flaky jobs", formatting.count(len(data.flaky)), "alternating success and failure", "bad" if len(data.flaky) else "good"),
        Kpi("Median time to recover", formatting.duration(recovery), "from a failure to the next success"),
    ]  # fmt: skip


def most_failing(data: ReliabilityData, top: int = 15) -> pd.DataFrame:
    """Jobs with at least one failure, worst success rate first, labelled with their workspace, with failure_rate."""
    worst = data.success[data.success["failures"] > 0].sort_values(
        ["success_rate", "completed_runs"], ascending=[True, False]
    )
    worst = worst.head(top)
    return worst.assign(
        job=worst["job_name"].astype(str) + " (" + worst["workspace_name"].astype(str) + ")",
        failure_rate=1 - worst["success_rate"],
    )
