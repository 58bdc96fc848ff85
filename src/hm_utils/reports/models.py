"""The models page (reports/models.ipynb): the ML layer's cost forecast with its interval, the cost days its
anomaly model flags, the jobs at risk of failing or running long, and each model's latest held-out evaluation
against its baseline with how long ago it was trained. Reads only the semantic functions over the ML tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.blocks import Kpi
from hm_utils.reports.page import Report

ACCOUNT = "account"  # workspace_id of get_cost_forecast's account series
FORECAST_DAYS = 30  # days of forecast shown after the period
ANOMALY_COLUMNS = {
    "usage_date": ("Day", "date"), "workspace_name": ("Workspace", "text"), "sku_family": ("Product", "text"),
    "list_cost": ("Spend", "money"), "expected_list_cost": ("Expected", "money"),
    "excess_list_cost": ("Above expected", "money"), "anomaly_score": ("Score", "decimal"),
}  # fmt: skip
RISK_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"),
    "failure_probability": ("Failure probability", "percent"), "risk_band": ("Risk", "text"),
    "recent_failure_rate": ("Last 5 runs failed", "percent"), "failed_last_run": ("Failed last run", "flag"),
    "last_run_end": ("Last run ended", "datetime"),
}  # fmt: skip
DURATION_COLUMNS = {
    "job_name": ("Job", "text"), "workspace_name": ("Workspace", "text"),
    "expected_minutes": ("Expected (min)", "decimal"), "p90_minutes": ("p90 (min)", "decimal"),
    "usual_minutes": ("Usual (min)", "decimal"), "last_minutes": ("Last (min)", "decimal"),
}  # fmt: skip
QUALITY_COLUMNS = {
    "model_name": ("Model", "text"), "model_version": ("Version", "text"), "dataset": ("Evaluated on", "text"),
    "metric": ("Metric", "text"), "value_text": ("Model", "text"), "baseline_text": ("Baseline", "text"),
    "beats_baseline": ("Beats baseline", "flag"), "baseline": ("Baseline rule", "text"),
    "days_since_evaluated": ("Days since trained", "count"),
}  # fmt: skip


@dataclass
class ModelsData:
    """One frame per semantic call of the page, money at the report's price."""

    forecast: pd.DataFrame
    actual: pd.DataFrame
    anomalies: pd.DataFrame
    risk: pd.DataFrame
    durations: pd.DataFrame
    quality: pd.DataFrame


def gather(rep: Report) -> ModelsData:
    """Every semantic call of the page. The forecast is the one that continues the period (its days after the
    period's last day: none for a period in the past); the jobs at risk are those that ran in the period's last
    week or since (a job's next run follows its latest); the next runs' durations and the evaluations are read
    whole (NULL bounds); anomalies are the period's."""
    whole = {"start_date": None, "end_date": None}
    after = {
        "start_date": rep.period.end + timedelta(days=1),
        "end_date": rep.period.end + timedelta(days=FORECAST_DAYS),
    }
    recent = {"start_date": rep.period.end - timedelta(days=6), "end_date": None}
    r = rep.call_many(
        {
            "forecast": ("get_cost_forecast", after),
            "actual": ("get_daily_cost_summary", {}),
            "anomalies": ("get_cost_anomalies_ml", {}),
            "risk": ("get_job_failure_risk", {**recent, "min_probability": 0.0, "top_n": 200}),
            "durations": ("get_duration_forecast", {**whole, "top_n": 10}),
            "quality": ("get_ml_model_quality", whole),
        }
    )
    return ModelsData(
        forecast=rep.priced(r["forecast"], "forecast_list_cost", "lower_list_cost", "upper_list_cost"),
        actual=rep.priced(r["actual"], "list_cost"),
        anomalies=rep.priced(r["anomalies"], "list_cost", "expected_list_cost", "excess_list_cost"),
        risk=r["risk"],
        durations=r["durations"],
        quality=r["quality"],
    )


def forecast_by_day(data: ModelsData) -> pd.DataFrame:
    """Forecast and 80% bounds per day: the account series, or the workspaces' series added up when the report
    covers chosen workspaces (their bounds added, which makes the band wider than the total's own interval)."""
    columns = ["forecast_date", "forecast_list_cost", "lower_list_cost", "upper_list_cost"]
    forecast = data.forecast
    if forecast.empty:
        return pd.DataFrame(columns=columns)
    account = forecast[forecast["workspace_id"] == ACCOUNT]
    chosen = account if not account.empty else forecast
    return chosen.groupby("forecast_date", as_index=False)[columns[1:]].sum().sort_values("forecast_date")


def actual_by_day(data: ModelsData) -> pd.DataFrame:
    """Spend per day of the report period (the history the forecast continues)."""
    if data.actual.empty:
        return pd.DataFrame(columns=["usage_date", "list_cost"])
    return data.actual.groupby("usage_date", as_index=False)["list_cost"].sum().sort_values("usage_date")


def at_risk(data: ModelsData, top: int = 15) -> pd.DataFrame:
    """Jobs at medium or high risk of failing on their next run, riskiest first."""
    risk = data.risk
    if risk.empty:
        return risk
    return (
        risk[risk["risk_band"].isin(["high", "medium"])].sort_values("failure_probability", ascending=False).head(top)
    )


def latest_evaluations(data: ModelsData) -> pd.DataFrame:
    """Each model's latest evaluation per dataset (held-out days of this account, accounts of other seeds), the
    values written with three significant digits, models that do not beat their baseline first."""
    quality = data.quality
    if quality.empty:
        return quality.assign(value_text=pd.Series(dtype=str), baseline_text=pd.Series(dtype=str))
    latest = quality.sort_values("evaluated_at").drop_duplicates(["model_name", "dataset", "metric"], keep="last")
    latest = latest.assign(
        value_text=latest["value"].map(_significant),
        baseline_text=latest["baseline_value"].map(_significant),
        beats_baseline=latest["beats_baseline"].astype("boolean").fillna(False).astype(bool),
    )
    return latest.sort_values(["beats_baseline", "model_name", "dataset"]).reset_index(drop=True)


def not_beating(data: ModelsData) -> list[str]:
    """Models whose latest evaluation on any dataset is no better than their baseline (a model the data could not
    score, e.g. month-end budgets on an account younger than a month, is not counted as losing)."""
    latest = latest_evaluations(data)
    if latest.empty:
        return []
    return sorted(set(latest.loc[~latest["beats_baseline"] & latest["value"].notna(), "model_name"]))


def quality_note(data: ModelsData) -> str:
    """One sentence on the evaluations: none yet, every model beats its baseline, or which ones do not."""
    if data.quality.empty:
        return "No model has been evaluated yet: the ml_train step (hm ml train) trains and evaluates them."
    weaker = not_beating(data)
    if not weaker:
        return "Every model beats its simple baseline on each dataset it was last evaluated on."
    return (
        f"{', '.join(weaker)} {'does' if len(weaker) == 1 else 'do'} not beat the simple baseline on at least one "
        "dataset: where it does not, the baseline rule is the better guide."
    )


def kpis(data: ModelsData, rep: Report) -> list[Kpi]:
    """Forecast spend of the next days, flagged cost days, jobs at high risk, models beating their baseline and
    the age of the oldest latest training."""
    forecast = forecast_by_day(data)
    days = len(forecast)
    latest = latest_evaluations(data)
    models = latest.loc[latest["value"].notna(), "model_name"].nunique() if not latest.empty else 0
    beating = models - len(not_beating(data)) if models else 0
    age = latest.groupby("model_name")["days_since_evaluated"].min().max() if models else None
    high = int((data.risk["risk_band"] == "high").sum()) if not data.risk.empty else 0
    flagged = int(data.anomalies["is_anomaly"].fillna(False).astype(bool).sum()) if not data.anomalies.empty else 0
    return [
        Kpi("Forecast spend", rep.money(forecast["forecast_list_cost"].sum()) if days else formatting.MISSING,
            f"next {days} days, daily 80% bounds {rep.money(forecast['lower_list_cost'].sum())}–{rep.money(forecast['upper_list_cost'].sum())}" if days else "no forecast yet"),
        Kpi("Unusual cost days", formatting.count(flagged), "flagged by the anomaly model", "bad" if flagged else "good"),
        Kpi("Jobs at high risk", formatting.count(high), "next run fails with probability ≥ 50%", "bad" if high else "good"),
        Kpi("Models beating their baseline", f"{beating} of {models}" if models else formatting.MISSING,
            "on data they did not train on", "bad" if beating < models else "good"),
        Kpi("Oldest training", f"{age:.0f} days ago" if age is not None and pd.notna(age) else formatting.MISSING,
            "of the models' latest versions"),
    ]  # fmt: skip


def _significant(value: object) -> str:
    return formatting.MISSING if value is None or pd.isna(value) else f"{float(value):.3g}"
