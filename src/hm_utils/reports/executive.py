"""The executive report (reports/index.ipynb): every semantic call it needs, made once, the pure functions that
turn the results into waste, reliability figures and the ranked attention list, and its KPIs and table columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.attention import Attention, rank
from hm_utils.reports.blocks import Kpi
from hm_utils.reports.page import ALL_ROWS, Report

DRIVER_COLUMNS = {
    "job": {"driver_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "list_cost": ("Spend", "money"), "share_of_total": ("Share of spend", "percent")},
    "warehouse": {"driver_name": ("SQL warehouse", "text"), "workspace_name": ("Workspace", "text"), "list_cost": ("Spend", "money"), "share_of_total": ("Share of spend", "percent")},
}  # fmt: skip
WASTE_COLUMNS = {"kind": ("Kind", "text"), "items": ("Items", "count"), "amount": ("Saving", "money"), "function": ("Detail", "text")}  # fmt: skip
RELIABILITY_COLUMNS = {"job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"), "completed_runs": ("Completed runs", "count"), "failures": ("Failures", "count"), "success_rate": ("Success rate", "percent")}  # fmt: skip
BOTTLENECK_COLUMNS = {"workspace_name": ("Workspace", "text"), "area": ("Area", "text"), "signal": ("Signal", "text"), "reading": ("Value", "text"), "worst_entity": ("Worst", "text"), "next_step": ("Detail", "text")}  # fmt: skip
SECURITY_COLUMNS = {"signal": ("Signal", "text"), "count": ("Count", "count"), "risk": ("Risk", "text"), "function": ("Detail", "text")}  # fmt: skip


@dataclass
class ExecutiveData:
    """One frame per semantic call of the executive report (money columns still at list price)."""

    daily: pd.DataFrame
    daily_previous: pd.DataFrame
    skus: pd.DataFrame
    drivers: pd.DataFrame
    tags: pd.DataFrame
    anomalies: pd.DataFrame
    failed_runs: pd.DataFrame
    idle: pd.DataFrame
    oversized: pd.DataFrame
    ap_jobs: pd.DataFrame
    success: pd.DataFrame
    sla: pd.DataFrame
    flaky: pd.DataFrame
    bottlenecks: pd.DataFrame
    failed_logins: pd.DataFrame
    admin_changes: pd.DataFrame
    downloads: pd.DataFrame
    sensitive: pd.DataFrame
    quality: pd.DataFrame
    alerts: pd.DataFrame

    @property
    def empty(self) -> bool:
        """True when the period has no cost and no job data at all."""
        return self.daily.empty and self.success.empty


def gather(rep: Report, tag_key: str | None = None) -> ExecutiveData:
    """All the executive report's data: one call per semantic function (two for the daily cost),
    run a few at a time (see Report.call_many)."""
    tag_key = tag_key or (rep.config.get("gold.tag_keys") or ["team"])[0]
    frames = rep.call_many(
        {
            "daily": ("get_daily_cost_summary", {}),
            "daily_previous": ("get_daily_cost_summary", {"previous": True}),
            "skus": ("get_sku_cost_breakdown", {}),
            "drivers": ("get_top_cost_drivers", {"top_n": 200}),
            "tags": ("get_tag_chargeback", {"tag_key": tag_key}),
            "anomalies": ("get_cost_anomalies", {}),
            "failed_runs": ("get_failed_run_cost", {"top_n": ALL_ROWS}),
            "idle": ("get_idle_clusters", {}),
            "oversized": ("get_oversized_clusters", {}),
            "ap_jobs": ("get_all_purpose_job_clusters", {"top_n": ALL_ROWS}),
            "success": ("get_job_success_rate", {}),
            "sla": ("get_sla_breaches", {}),
            "flaky": ("get_flaky_jobs", {}),
            "bottlenecks": ("get_bottleneck_summary", {}),
            "failed_logins": ("get_failed_logins", {}),
            "admin_changes": ("get_permission_changes", {"admin_only": True}),
            "downloads": ("get_download_activity", {}),
            "sensitive": ("get_sensitive_table_access", {"top_n": ALL_ROWS}),
            # each silver table's latest validation, whenever it ran (not limited to the report period)
            "quality": ("get_quality_gate_results", {"start_date": None, "end_date": None}),
            # alert state changes in the period, with each instance's current state
            "alerts": ("get_alert_history", {}),
        }
    )
    return ExecutiveData(**frames)


def _sum(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].sum()) if not frame.empty else 0.0


def spend(data: ExecutiveData, discount: float = 1.0) -> tuple[float, float]:
    """(this period, previous period) spend at the report's price."""
    return _sum(data.daily, "list_cost") * discount, _sum(data.daily_previous, "list_cost") * discount


def waste(data: ExecutiveData, discount: float = 1.0) -> pd.DataFrame:
    """What could be saved, per kind: amount at the report's price, how many items, the detail function.

    Idle and oversized savings are counted once per cluster (the larger of the two), since a cluster can be
    both idle at night and too big by day."""
    idle = data.idle.set_index("cluster_id")["idle_list_cost"] if not data.idle.empty else pd.Series(dtype=float)
    over = (
        data.oversized.set_index("cluster_id")["estimated_saving"]
        if not data.oversized.empty
        else pd.Series(dtype=float)
    )
    both = idle.index.intersection(over.index)
    over_extra = (over.loc[both] - idle.loc[both]).clip(lower=0).sum() + over.drop(both).sum()
    rows = [
        ("Failed and repaired job runs", _sum(data.failed_runs, "failed_list_cost"), int(_sum(data.failed_runs, "failed_runs")), "failed runs", "get_failed_run_cost"),
        ("Idle clusters", float(idle.sum()), len(idle), "clusters", "get_idle_clusters"),
        ("Oversized clusters (right-sizing)", float(over_extra), len(over), "clusters", "get_oversized_clusters"),
        ("Jobs on all-purpose clusters", _sum(data.ap_jobs, "estimated_saving"), len(data.ap_jobs), "clusters", "get_all_purpose_job_clusters"),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["kind", "amount", "items", "unit", "function"])
    frame["amount"] = frame["amount"] * discount
    return frame.sort_values("amount", ascending=False, ignore_index=True)


def success_rate(data: ExecutiveData) -> float | None:
    """Successful runs / completed runs over every job (None without completed runs)."""
    completed = _sum(data.success, "completed_runs")
    return _sum(data.success, "successes") / completed if completed else None


def security_events(data: ExecutiveData) -> pd.DataFrame:
    """Security signals worth a look: kind, count, and the function with the detail."""
    off_hours_sensitive = int((data.sensitive["off_hours_accesses"] > 0).sum()) if not data.sensitive.empty else 0
    denied_sensitive = int((data.sensitive["failed_accesses"] > 0).sum()) if not data.sensitive.empty else 0
    rows = [
        ("Failed-login bursts", len(data.failed_logins), "get_failed_logins", "high"),
        ("Admin and group membership changes", len(data.admin_changes), "get_permission_changes", "medium"),
        ("Mass download or export bursts", len(data.downloads), "get_download_activity", "high"),
        ("Sensitive tables read off hours (user × table)", off_hours_sensitive, "get_sensitive_table_access", "medium"),
        ("Denied access to sensitive tables (user × table)", denied_sensitive, "get_sensitive_table_access", "medium"),
    ]
    return pd.DataFrame(rows, columns=["signal", "count", "function", "risk"])


def headline_values(data: ExecutiveData, discount: float = 1.0) -> dict[str, float | None]:
    """The five headline values (hm_utils.headline keys) from the gathered results; the SQL in
    hm_utils.headline is their reference definition (the browser test compares both)."""
    current, previous = spend(data, discount)
    has_spend = not data.daily.empty
    return {
        "spend": current if has_spend else None,
        "spend_change": current / previous - 1 if has_spend and previous else None,
        "savings": float(waste(data, discount)["amount"].sum()),
        "job_success_rate": success_rate(data),
        "security_events": float(security_events(data)["count"].sum()),
    }


def findings(data: ExecutiveData, discount: float = 1.0, currency: str = "USD", limit: int = 8) -> list[Attention]:
    """The ranked "what needs attention" list (see hm_utils.reports.attention for the order)."""
    total, _ = spend(data, discount)
    items = [
        Attention(f"{row.kind}: {formatting.count(row.items)} {row.unit}", "Money that bought nothing or could be saved.", row.function, float(row.amount))
        for row in waste(data, discount).itertuples(index=False)
        if row.amount > 0
    ]  # fmt: skip
    if not data.anomalies.empty:
        top = data.anomalies.iloc[0]
        items.append(Attention(
            f"{len(data.anomalies)} unusual cost days, worst {top['usage_date']} on {top['sku_name']} ({top['ratio_to_baseline']:.1f}× usual)",
            "Spend far above the trailing baseline of the same workspace and SKU.",
            "get_cost_anomalies", _sum(data.anomalies, "excess_cost") * discount,
        ))  # fmt: skip
    for row in security_events(data).itertuples(index=False):
        if row.count:
            items.append(
                Attention(f"{row.signal}: {row.count}", "Security events worth a look.", row.function, risk=row.risk)
            )
    if not data.sla.empty:
        items.append(Attention(
            f"{len(data.sla)} job runs breached their SLA ({data.sla['job_id'].nunique()} jobs)",
            "Runs that took longer than their target duration.", "get_sla_breaches", risk="medium",
        ))  # fmt: skip
    if not data.flaky.empty:
        items.append(Attention(
            f"{len(data.flaky)} flaky jobs (alternating success and failure)",
            "Unreliable jobs erode trust in the data they produce.", "get_flaky_jobs", risk="low",
        ))  # fmt: skip
    failing = data.quality[~data.quality["gate_passed"].astype(bool)] if not data.quality.empty else data.quality
    if not failing.empty:
        items.append(Attention(
            f"Data-quality gates failed on {len(failing)} tables",
            "Rows were quarantined beyond the allowed share; reports on these tables may be incomplete.",
            "get_quality_gate_results", risk="high",
        ))  # fmt: skip
    return rank(items, total, limit)


def top_drivers(data: ExecutiveData, driver_type: str, discount: float = 1.0) -> pd.DataFrame:
    """The cost drivers of one type (job, warehouse, ...) at the report's price, most expensive first."""
    drivers = data.drivers[data.drivers["driver_type"] == driver_type] if not data.drivers.empty else data.drivers
    return drivers.assign(list_cost=drivers["list_cost"] * discount)


def tag_subtitle(data: ExecutiveData) -> str | None:
    """The share of spend without a value of the chargeback tag key (None without tagged spend)."""
    if data.tags.empty:
        return None
    return f"Unallocated (no tag value): {formatting.percent(data.tags['unallocated_share'].iloc[0])} of spend"


def tag_key(data: ExecutiveData) -> str:
    return data.tags["tag_key"].iloc[0] if not data.tags.empty else "tag"


def reliability_kpis(data: ExecutiveData) -> list[Kpi]:
    """Success rate, SLA breaches and flaky jobs."""
    completed = _sum(data.success, "completed_runs")
    jobs_over = data.sla["job_id"].nunique() if not data.sla.empty else 0
    return [
        Kpi("Job run success rate", formatting.percent(success_rate(data)), f"{formatting.count(completed)} completed runs"),
        Kpi("SLA breaches", formatting.count(len(data.sla)), f"{jobs_over} jobs over their target duration", "bad" if len(data.sla) else "good"),
        Kpi("Flaky jobs", formatting.count(len(data.flaky)), "alternating success and failure", "bad" if len(data.flaky) else "good"),
    ]  # fmt: skip


def least_reliable(data: ExecutiveData) -> pd.DataFrame:
    """Jobs by success rate, worst first (more completed runs first among equals)."""
    return data.success.sort_values(["success_rate", "completed_runs"], ascending=[True, False])


def bottleneck_readings(data: ExecutiveData) -> pd.DataFrame:
    """The bottleneck signals with their value and unit as one readable text (`reading`)."""
    frame = data.bottlenecks
    if frame.empty:
        return frame
    return frame.assign(
        reading=[formatting.with_unit(v, u) for v, u in zip(frame["value"], frame["unit"], strict=True)]
    )
