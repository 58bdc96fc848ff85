"""The compute and queries page (reports/compute.ipynb): its semantic calls, KPIs and table columns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.blocks import Kpi
from hm_utils.reports.page import ALL_ROWS, Report

BOTTLENECK_COLUMNS = {
    "workspace_name": ("Workspace", "text"), "area": ("Area", "text"), "signal": ("Signal", "text"),
    "reading": ("Value", "text"), "affected": ("Affected", "count"), "worst_entity": ("Worst", "text"),
    "next_step": ("Detail", "text"),
}  # fmt: skip
QUERY_COLUMNS = {
    "statement_preview": ("Statement", "text"), "warehouse_name": ("Warehouse", "text"), "executed_by": ("By", "text"),
    "total_seconds": ("Total", "duration"), "queued_seconds": ("Queued", "duration"), "read_gb": ("Read (GB)", "decimal"),
    "spilled_gb": ("Spilled (GB)", "decimal"),
}  # fmt: skip
FAILURE_COLUMNS = {
    "error_class": ("Error", "text"), "warehouse_id": ("Warehouse", "text"), "failures": ("Failures", "count"),
    "distinct_users": ("Users", "count"), "failure_rate": ("Failure rate", "percent"),
    "example_error_message": ("Example", "text"),
}  # fmt: skip
SPILL_COLUMNS = {
    "statement_preview": ("Statement", "text"), "warehouse_name": ("Warehouse", "text"),
    "warehouse_size": ("Size", "text"), "spilled_gb": ("Spilled (GB)", "decimal"),
    "spill_to_read_ratio": ("Spill / read", "decimal"), "total_seconds": ("Duration", "duration"),
}  # fmt: skip
QUEUEING_COLUMNS = {
    "query_date": ("Day", "date"), "warehouse_name": ("Warehouse", "text"), "warehouse_size": ("Size", "text"),
    "max_clusters": ("Max clusters", "count"), "statements": ("Statements", "count"),
    "queued_statements": ("Queued", "count"), "p95_queue_seconds": ("p95 queue", "duration"),
    "peak_hour": ("Worst hour", "datetime"),
}  # fmt: skip
IDLE_COLUMNS = {
    "cluster_name": ("Cluster", "text"), "workspace_name": ("Workspace", "text"), "owned_by": ("Owner", "text"),
    "auto_termination_minutes": ("Auto-stop (min)", "count"), "idle_hours": ("Idle hours", "decimal"),
    "idle_share": ("Idle share", "percent"), "idle_list_cost": ("Idle cost", "money"), "severity": ("Severity", "text"),
}  # fmt: skip
OVERSIZED_COLUMNS = {
    "cluster_name": ("Cluster", "text"), "workspace_name": ("Workspace", "text"),
    "worker_node_type": ("Node type", "text"), "avg_workers": ("Avg workers", "decimal"),
    "suggested_workers": ("Enough", "count"), "avg_worker_cpu_percent": ("Worker CPU %", "decimal"),
    "estimated_saving": ("Saving", "money"),
}  # fmt: skip
ALL_PURPOSE_COLUMNS = {
    "cluster_name": ("Cluster", "text"), "workspace_name": ("Workspace", "text"), "jobs": ("Jobs", "count"),
    "job_runs": ("Runs", "count"), "job_run_list_cost": ("Job spend", "money"), "saving_ratio": ("Cheaper by", "percent"),
    "estimated_saving": ("Saving", "money"),
}  # fmt: skip


@dataclass
class ComputeData:
    """One frame per semantic call of the page, money at the report's price."""

    queries: pd.DataFrame
    failures: pd.DataFrame
    queueing: pd.DataFrame
    idle: pd.DataFrame
    oversized: pd.DataFrame
    bottlenecks: pd.DataFrame
    spill: pd.DataFrame
    utilization: pd.DataFrame
    all_purpose_jobs: pd.DataFrame
    daily_duration: pd.DataFrame


def gather(rep: Report) -> ComputeData:
    """Every semantic call of the page, a few at a time (Report.call_many), priced and labelled for the charts."""
    r = rep.call_many(
        {
            "queries": ("get_slowest_queries", {"top_n": 15}),
            "failures": ("get_query_failures", {"top_n": 10}),
            "queueing": ("get_warehouse_queueing", {}),
            "idle": ("get_idle_clusters", {}),
            "oversized": ("get_oversized_clusters", {}),
            "bottlenecks": ("get_bottleneck_summary", {}),
            "spill": ("get_spill_heavy_queries", {"top_n": 10}),
            "utilization": ("get_cluster_utilization", {"top_n": 15}),
            "ap_jobs": ("get_all_purpose_job_clusters", {"top_n": ALL_ROWS}),
        }
    )
    queries, bottlenecks, utilization = r["queries"], r["bottlenecks"], r["utilization"]
    if not bottlenecks.empty:
        readings = zip(bottlenecks["value"], bottlenecks["unit"], strict=True)
        bottlenecks = bottlenecks.assign(reading=[formatting.with_unit(v, u) for v, u in readings])
    daily = rep.metric(
        "mv_queries", ["p95_duration_seconds"], ["query_date", "warehouse_name"], date_dimension="query_date"
    )
    return ComputeData(
        queries=queries.assign(
            label=queries["statement_id"].astype(str).str[:8] + " · " + queries["warehouse_name"].astype(str)
        ),
        failures=r["failures"],
        queueing=r["queueing"],
        idle=rep.priced(r["idle"], "list_cost", "idle_list_cost"),
        oversized=rep.priced(r["oversized"], "list_cost", "estimated_saving"),
        bottlenecks=bottlenecks,
        spill=r["spill"],
        utilization=utilization.assign(
            cpu=utilization["avg_cpu_percent"] / 100, cluster=utilization["cluster_name"].astype(str)
        ),
        all_purpose_jobs=rep.priced(r["ap_jobs"], "job_run_list_cost", "estimated_saving"),
        daily_duration=daily,
    )


def kpis(data: ComputeData, rep: Report) -> list[Kpi]:
    """Slowest query, failed statements, queueing, idle cluster cost and right-sizing saving."""
    queries, failures, queueing, idle, oversized = data.queries, data.failures, data.queueing, data.idle, data.oversized
    queueing_days = queueing["is_queueing"].sum() if not queueing.empty else 0
    return [
        Kpi("Slowest query", formatting.duration(queries["total_seconds"].max() if not queries.empty else None), "end to end, queue included"),
        Kpi("Failed statements", formatting.count(failures["failures"].sum() if not failures.empty else 0), f"{len(failures)} error classes × warehouse"),
        Kpi("Warehouse-days queueing", formatting.count(queueing_days), "statements waited at capacity", "bad" if not queueing.empty and queueing["is_queueing"].any() else ""),
        Kpi("Idle cluster cost", rep.money(idle["idle_list_cost"].sum() if not idle.empty else 0), f"{len(idle)} clusters", "bad" if len(idle) else "good"),
        Kpi("Right-sizing saving", rep.money(oversized["estimated_saving"].sum() if not oversized.empty else 0), f"{len(oversized)} oversized clusters", "bad" if len(oversized) else "good"),
    ]  # fmt: skip


def queueing_days(data: ComputeData) -> pd.DataFrame:
    """The warehouse-days on which statements waited at capacity."""
    return data.queueing[data.queueing["is_queueing"]] if not data.queueing.empty else data.queueing
