"""The cost page (reports/cost.ipynb): its semantic calls, KPIs and table columns; money at the report's price."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.blocks import Kpi
from hm_utils.reports.page import Report

WEEK_OVER_WEEK_COLUMNS = {
    "workspace_name": ("Workspace", "text"), "sku_family": ("SKU family", "text"),
    "previous_list_cost": ("Previous week", "money"), "current_list_cost": ("Last week", "money"),
    "change_list_cost": ("Change", "money"), "change_pct": ("Change %", "decimal"),
}  # fmt: skip
SKU_COLUMNS = {
    "sku_name": ("SKU", "text"), "sku_family": ("Family", "text"), "usage_quantity": ("Units", "decimal"),
    "usage_unit": ("Unit", "text"), "list_cost": ("Spend", "money"), "share_of_total": ("Share", "percent"),
}  # fmt: skip
DRIVER_COLUMNS = {
    "driver_type": ("Type", "text"), "driver_name": ("Name", "text"), "workspace_name": ("Workspace", "text"),
    "list_cost": ("Spend", "money"), "share_of_total": ("Share", "percent"),
}  # fmt: skip
JOB_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "runs": ("Runs", "count"),
    "failed_runs": ("Failed", "count"), "all_purpose_runs": ("On all-purpose", "count"), "list_cost": ("Spend", "money"),
    "failed_list_cost": ("Spent on failures", "money"), "avg_run_list_cost": ("Per run", "money"),
}  # fmt: skip
TAG_GAP_COLUMNS = {"tag_key": ("Tag key", "text"), "unallocated_share": ("Unallocated share", "percent")}
ANOMALY_COLUMNS = {
    "usage_date": ("Day", "date"), "workspace_name": ("Workspace", "text"), "sku_name": ("SKU", "text"),
    "list_cost": ("Spend", "money"), "baseline_mean_cost": ("Usual", "money"), "ratio_to_baseline": ("× usual", "decimal"),
    "excess_cost": ("Above usual", "money"),
}  # fmt: skip


@dataclass
class CostData:
    """One frame per semantic call of the cost page, money at the report's price."""

    daily: pd.DataFrame
    previous: pd.DataFrame
    trend: pd.DataFrame
    week_over_week: pd.DataFrame
    families: pd.DataFrame
    skus: pd.DataFrame
    drivers: pd.DataFrame
    jobs: pd.DataFrame
    anomalies: pd.DataFrame
    tags: pd.DataFrame
    tag_gaps: pd.DataFrame


def gather(rep: Report) -> CostData:
    """Every semantic call of the page, a few at a time (Report.call_many), priced."""
    tag_key = (rep.config.get("gold.tag_keys") or ["team"])[0]
    r = rep.call_many(
        {
            "daily": ("get_daily_cost_summary", {}),
            "previous": ("get_daily_cost_summary", {"previous": True}),
            "trend": ("get_workspace_cost_trend", {"grain": "week", "start_date": rep.history_start}),
            "wow": ("get_cost_week_over_week", {}),
            "skus": ("get_sku_cost_breakdown", {}),
            "drivers": ("get_top_cost_drivers", {"top_n": 200}),
            "jobs": ("get_job_cost", {"top_n": 10}),
            "anomalies": ("get_cost_anomalies", {}),
            "tags": ("get_tag_chargeback", {"tag_key": tag_key}),
        }
    )
    families = rep.metric(
        "mv_cost_daily", ["total_list_cost"], ["usage_date", "sku_family"], date_dimension="usage_date"
    )
    drivers = rep.priced(r["drivers"], "list_cost")
    return CostData(
        daily=rep.priced(r["daily"], "list_cost", "unallocated_list_cost", "untagged_list_cost"),
        previous=rep.priced(r["previous"], "list_cost"),
        trend=rep.priced(r["trend"], "list_cost"),
        week_over_week=rep.priced(r["wow"], "current_list_cost", "previous_list_cost", "change_list_cost"),
        families=rep.priced(families, "total_list_cost"),
        skus=rep.priced(r["skus"], "list_cost"),
        drivers=drivers.assign(
            label=drivers["driver_type"]
            + " · "
            + drivers["driver_name"].astype(str)
            + " · "
            + drivers["workspace_name"].astype(str)
        ),
        jobs=rep.priced(r["jobs"], "list_cost", "failed_list_cost", "avg_run_list_cost"),
        anomalies=rep.priced(r["anomalies"], "list_cost", "baseline_mean_cost", "excess_cost"),
        tags=rep.priced(r["tags"], "list_cost"),
        tag_gaps=rep.metric(
            "mv_cost_by_tag", ["unallocated_share"], ["tag_key"], date_dimension="usage_date"
        ).sort_values("unallocated_share", ascending=False),
    )


def kpis(data: CostData, rep: Report) -> list[Kpi]:
    """Spend, change against the previous period, unallocated and untagged shares."""
    spend, before = data.daily["list_cost"].sum(), data.previous["list_cost"].sum()
    return [
        Kpi("Spend", rep.money(spend), f"{formatting.count(data.daily['dbus'].sum())} DBUs"),
        Kpi("vs previous period", formatting.signed_percent(formatting.change(spend, before)), f"previous {rep.money(before)}"),
        Kpi("Unallocated", formatting.percent(data.daily["unallocated_list_cost"].sum() / spend if spend else None), "spend with no owner"),
        Kpi("Untagged", formatting.percent(data.daily["untagged_list_cost"].sum() / spend if spend else None), "spend without any tag"),
    ]  # fmt: skip


def tag_key(data: CostData) -> str:
    return data.tags["tag_key"].iloc[0] if not data.tags.empty else "tag"
