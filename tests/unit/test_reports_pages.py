"""The report pages' logic on hand-made semantic results (no engine): what each page gathers, prices and labels,
its KPIs, and that every table's columns exist in the function results they show."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from hm_utils import config as config_module
from hm_utils.reports import compute, cost, executive, models, quality, reliability, security
from hm_utils.reports.page import Period
from hm_utils.semantic import assets


class _FakeReport:
    """A Report answering call_many and metric from hand-made frames (no rows, with the function's columns, when
    a test gives none); money at half price."""

    currency = "USD"
    history_start = date(2024, 1, 1)
    period = Period(date(2026, 11, 1), date(2026, 11, 30))

    def __init__(self, results: dict[str, pd.DataFrame], metrics: dict[str, pd.DataFrame] | None = None) -> None:
        self.results = results
        self.metrics = metrics or {}
        self.config = config_module.load("ci")
        self.calls: dict[str, tuple[str, dict]] = {}

    def call_many(self, calls):
        self.calls = calls
        return {key: self.results.get(key, self._empty(function)) for key, (function, _) in calls.items()}

    def _empty(self, function: str) -> pd.DataFrame:
        return pd.DataFrame(columns=[c.name for c in assets.function_spec(self.config, function).columns])

    def metric(self, view, measures, dimensions, date_dimension, where=None):
        self.where = where
        return self.metrics.get(view, pd.DataFrame(columns=[*dimensions, *measures]))

    def priced(self, frame, *columns):
        return frame.assign(**{column: frame[column] * 0.5 for column in columns})

    def money(self, amount, compact=None):
        return f"${amount:,.2f}"


def test_cost_page_prices_its_money_and_compares_with_the_previous_period():
    rep = _FakeReport(
        {
            "daily": pd.DataFrame(
                {
                    "list_cost": [100.0, 100.0],
                    "dbus": [10, 5],
                    "unallocated_list_cost": [20.0, 0.0],
                    "untagged_list_cost": [0.0, 50.0],
                }
            ),
            "previous": pd.DataFrame({"list_cost": [160.0]}),
            "drivers": pd.DataFrame(
                {"driver_type": ["job"], "driver_name": ["etl"], "workspace_name": ["prod"], "list_cost": [8.0]}
            ),
        },
        metrics={"mv_cost_by_tag": pd.DataFrame({"tag_key": ["team", "env"], "unallocated_share": [0.1, 0.4]})},
    )
    data = cost.gather(rep)
    assert data.daily["list_cost"].sum() == 100.0 and data.drivers["list_cost"].iloc[0] == 4.0
    assert data.drivers["label"].iloc[0] == "job · etl · prod"
    assert list(data.tag_gaps["tag_key"]) == ["env", "team"]  # largest unallocated share first
    kpis = {k.label: k for k in cost.kpis(data, rep)}
    assert kpis["Spend"].text == "$100.00" and kpis["Spend"].note == "15 DBUs"
    assert kpis["vs previous period"].text == "+25.0%" and kpis["vs previous period"].note == "previous $80.00"
    assert (kpis["Unallocated"].text, kpis["Untagged"].text) == ("10.0%", "25.0%")


def test_reliability_page_ranks_the_most_failing_jobs_and_marks_breaches():
    success = pd.DataFrame(
        {
            "job_name": ["a", "b", "c"],
            "workspace_name": ["w", "w", "w"],
            "completed_runs": [10, 4, 8],
            "successes": [9, 2, 8],
            "failures": [1, 2, 0],
            "cancellations": [0, 1, 0],
            "success_rate": [0.9, 0.5, 1.0],
        }
    )
    rep = _FakeReport(
        {
            "success": success,
            "sla": pd.DataFrame({"job_id": ["j1", "j1"], "list_cost": [2.0, 2.0]}),
            "mttr": pd.DataFrame({"mttr_minutes": [10.0, 30.0]}),
            "slow": pd.DataFrame({"job_name": [1]}),
        }
    )
    data = reliability.gather(rep)
    worst = reliability.most_failing(data)
    assert list(worst["job"]) == ["b (w)", "a (w)"] and list(worst["failure_rate"]) == pytest.approx([0.5, 0.1])
    kpis = {k.label: k for k in reliability.kpis(data)}
    assert kpis["Job run success rate"].text == "86.4%" and kpis["Failed runs"].note == "1 cancelled"
    assert (kpis["SLA breaches"].text, kpis["SLA breaches"].tone, kpis["SLA breaches"].note) == ("2", "bad", "1 jobs")
    assert kpis["Flaky jobs"].tone == "good" and kpis["Median time to recover"].text == "20 min"
    assert data.slow["job"].iloc[0] == "1" and rep.calls["quality"][1] == {"start_date": None, "end_date": None}


def test_compute_page_reads_bottlenecks_with_units_and_keeps_queueing_days():
    rep = _FakeReport(
        {
            "queries": pd.DataFrame(
                {"statement_id": ["0123456789"], "warehouse_name": ["wh"], "total_seconds": [90.0]}
            ),
            "bottlenecks": pd.DataFrame({"value": [2.5], "unit": ["seconds"]}),
            "queueing": pd.DataFrame({"is_queueing": [True, False], "query_date": [date(2024, 1, 1)] * 2}),
            "utilization": pd.DataFrame({"avg_cpu_percent": [50.0], "cluster_name": ["c"]}),
            "idle": pd.DataFrame({"list_cost": [4.0], "idle_list_cost": [2.0]}),
        }
    )
    data = compute.gather(rep)
    assert data.queries["label"].iloc[0] == "01234567 · wh" and data.utilization["cpu"].iloc[0] == 0.5
    assert data.bottlenecks["reading"].iloc[0] != "" and len(compute.queueing_days(data)) == 1
    kpis = {k.label: k for k in compute.kpis(data, rep)}
    assert kpis["Idle cluster cost"].text == "$1.00" and kpis["Idle cluster cost"].tone == "bad"
    assert kpis["Warehouse-days queueing"].text == "1" and kpis["Right-sizing saving"].tone == "good"


def test_security_page_turns_the_daily_signals_into_one_line_each():
    daily = pd.DataFrame(
        {
            "event_date": [date(2024, 1, 1)],
            "failed_logins": [3],
            "admin_changes": [1],
            "permission_changes": [0],
            "downloads": [2],
        }
    )
    rep = _FakeReport(
        {
            "changes": pd.DataFrame({"is_admins_group": [True, None, False]}),
            "logins": pd.DataFrame({"user_email": ["a", "a"]}),
        },
        metrics={"mv_security_daily": daily},
    )
    data = security.gather(rep)
    assert dict(zip(data.daily["signal"], data.daily["events"], strict=True)) == {
        "Failed logins": 3, "Admin changes": 1, "Permission changes": 0, "Downloads": 2,
    }  # fmt: skip
    kpis = {k.label: k for k in security.kpis(data)}
    assert kpis["Permission changes"].note == "1 on the admins group" and kpis["Permission changes"].tone == "bad"
    assert kpis["Failed-login bursts"].note == "1 distinct users"


def test_models_page_shows_the_account_forecast_the_jobs_at_risk_and_models_below_their_baseline():
    days = pd.to_datetime(["2026-12-01", "2026-12-02"])
    forecast = pd.DataFrame(
        {
            "forecast_date": [*days, *days],
            "workspace_id": ["account", "account", "1", "1"],
            "forecast_list_cost": [100.0, 120.0, 60.0, 70.0],
            "lower_list_cost": [80.0, 90.0, 50.0, 50.0],
            "upper_list_cost": [130.0, 150.0, 70.0, 90.0],
        }
    )
    risk = pd.DataFrame(
        {"job_name": ["a", "b", "c"], "failure_probability": [0.1, 0.7, 0.3], "risk_band": ["low", "high", "medium"]}
    )
    quality = pd.DataFrame(
        {  # the budget model could not be scored (no whole month in the data): neither beating nor losing
            "model_name": ["cost_forecaster", "cost_forecaster", "job_failure_predictor", "budget_alert_model"],
            "model_version": ["1", "2", "1", "1"],
            "dataset": ["held out", "held out", "seed 7", "held out"],
            "metric": ["mape", "mape", "auc_pr", "brier"],
            "value": [0.2, 0.12345, 0.15, None],
            "baseline_value": [0.1, 0.1, 0.04, None],
            "beats_baseline": [False, False, True, None],
            "evaluated_at": pd.to_datetime(["2026-11-01", "2026-11-20", "2026-11-25", "2026-11-25"]),
            "days_since_evaluated": [29, 10, 5, 5],
        }
    )
    anomalies = pd.DataFrame(
        {
            "is_anomaly": [True, True],
            "list_cost": [9.0, 8.0],
            "expected_list_cost": [1.0, 2.0],
            "excess_list_cost": [8.0, 6.0],
        }
    )
    rep = _FakeReport({"forecast": forecast, "risk": risk, "quality": quality, "anomalies": anomalies})
    data = models.gather(rep)
    after = {"start_date": date(2026, 12, 1), "end_date": date(2026, 12, 30)}
    assert rep.calls["forecast"][1] == after, "the forecast that continues the period"
    assert rep.calls["risk"][1]["start_date"] == date(2026, 11, 24) and rep.calls["risk"][1]["end_date"] is None
    assert rep.calls["quality"][1] == {"start_date": None, "end_date": None}, "every evaluation, however old"
    daily = models.forecast_by_day(data)
    assert list(daily["forecast_list_cost"]) == [50.0, 60.0], "the account series (priced), not account + workspace"
    assert list(models.at_risk(data)["job_name"]) == ["b", "c"]
    latest = models.latest_evaluations(data)
    latest = latest[latest["model_name"] != "budget_alert_model"]
    assert list(latest["model_version"]) == ["2", "1"], "the latest version per dataset, weaker models first"
    assert list(latest["value_text"]) == ["0.123", "0.15"]
    assert models.not_beating(data) == ["cost_forecaster"]
    assert models.quality_note(data).startswith("cost_forecaster does not beat")
    kpis = {k.label: k for k in models.kpis(data, rep)}
    assert kpis["Forecast spend"].text == "$110.00" and "next 2 days" in kpis["Forecast spend"].note
    assert (kpis["Jobs at high risk"].text, kpis["Unusual cost days"].text) == ("1", "2")
    assert (kpis["Models beating their baseline"].text, kpis["Models beating their baseline"].tone) == ("1 of 2", "bad")
    assert kpis["Oldest training"].text == "10 days ago"


def test_models_page_without_any_model_run_says_so():
    data = models.gather(_FakeReport({}))
    assert models.forecast_by_day(data).empty and models.at_risk(data).empty
    assert models.quality_note(data).startswith("No model has been evaluated yet")
    kpis = {k.label: k for k in models.kpis(data, _FakeReport({}))}
    assert kpis["Forecast spend"].note == "no forecast yet" and kpis["Models beating their baseline"].text == "–"


def test_quality_page_counts_what_is_wrong_and_says_when_no_model_was_trained():
    rep = _FakeReport(
        {
            "freshness": pd.DataFrame(
                {
                    "table_key": ["a", "b", "c"],
                    "status": ["stale", "late", "fresh"],
                    "severity": ["critical", "warning", "ok"],
                }
            ),
            "gates": pd.DataFrame({"table_key": ["x", "y"], "gate_passed": [True, False]}),
            "quarantine": pd.DataFrame(
                {
                    "table_key": ["x", "x", "y"],
                    "rule": ["r1", "r2", "r1"],
                    "quarantine_date": [date(2024, 1, 1)] * 3,
                    "quarantined_rows": [2, 3, 4],
                    "runs": [1, 1, 1],
                }
            ),
            "drift": pd.DataFrame({"table_key": ["t", "t", "t"], "column_name": ["c1", "c1", "c2"]}),
            "runs": pd.DataFrame({"run_id": ["r1", "r1", "r2"], "status": ["ok", "failed", "ok"]}),
        }
    )
    data = quality.gather(rep)
    assert rep.calls["gates"][1] == {"start_date": None, "end_date": None}, "the latest validation, whenever it ran"
    assert rep.where == {"drift_type": "BASELINE", "granularity": "1 day"}
    rows = list(
        zip(data.quarantine["table_key"], data.quarantine["rule"], data.quarantine["quarantined_rows"], strict=True)
    )
    assert rows == [("y", "r1", 4), ("x", "r2", 3), ("x", "r1", 2)], "by table and rule, most rows first"
    kpis = {k.label: k for k in quality.kpis(data)}
    assert kpis["Late or stale tables"].text == "2" and kpis["Late or stale tables"].note == "1 critical, of 3 checked"
    assert kpis["Failed quality gates"].text == "1" and kpis["Failed quality gates"].tone == "bad"
    assert kpis["Drifted columns"].text == "2"
    assert kpis["Models under baseline"].note == "no model trained yet"
    assert kpis["Failed monitor steps"].text == "1" and kpis["Failed monitor steps"].note == "2 runs logged"
    assert kpis["Volume drops"].tone == "good"


def test_quality_page_names_the_models_that_do_not_beat_their_baseline():
    evaluations = pd.DataFrame(
        {
            "model_name": ["forecast", "forecast", "anomaly"],
            "metric": ["mae", "rmse", "f1"],
            "beats_baseline": [True, False, True],
        }
    )
    data = quality.gather(_FakeReport({"evaluations": evaluations}))
    kpis = {k.label: k for k in quality.kpis(data)}
    assert kpis["Models under baseline"].text == "1" and kpis["Models under baseline"].note == "2 models evaluated"


def test_executive_drivers_are_filtered_by_type_and_priced():
    data = executive.ExecutiveData(**{name: pd.DataFrame() for name in executive.ExecutiveData.__dataclass_fields__})
    data.drivers = pd.DataFrame({"driver_type": ["job", "warehouse"], "list_cost": [10.0, 20.0]})
    assert list(executive.top_drivers(data, "warehouse", 0.5)["list_cost"]) == [10.0]
    assert executive.tag_subtitle(data) is None and executive.tag_key(data) == "tag"


@pytest.mark.parametrize(
    ("columns", "function"),
    [
        (cost.JOB_COLUMNS, "get_job_cost"),
        (cost.ANOMALY_COLUMNS, "get_cost_anomalies"),
        (reliability.FAILED_COLUMNS, "get_failed_jobs"),
        (reliability.MTTR_COLUMNS, "get_mttr"),
        (reliability.QUALITY_COLUMNS, "get_quality_gate_results"),
        (compute.IDLE_COLUMNS, "get_idle_clusters"),
        (compute.ALL_PURPOSE_COLUMNS, "get_all_purpose_job_clusters"),
        (security.SENSITIVE_COLUMNS, "get_sensitive_table_access"),
        (executive.RELIABILITY_COLUMNS, "get_job_success_rate"),
        (models.ANOMALY_COLUMNS, "get_cost_anomalies_ml"),
        (models.RISK_COLUMNS, "get_job_failure_risk"),
        (models.DURATION_COLUMNS, "get_duration_forecast"),
        ({k: v for k, v in models.QUALITY_COLUMNS.items() if not k.endswith("_text")}, "get_ml_model_quality"),
        (quality.FRESHNESS_COLUMNS, "get_source_freshness"),
        (quality.GATE_COLUMNS, "get_quality_gate_results"),
        (quality.VOLUME_COLUMNS, "get_volume_drops"),
        (quality.DRIFT_COLUMNS, "get_drift_alerts"),
        (quality.EVALUATION_COLUMNS, "get_ml_model_quality"),
        (quality.RUN_COLUMNS, "get_monitor_runs"),
        (quality.HEALTH_COLUMNS, "get_pipeline_run_health"),
        ({k: v for k, v in quality.QUARANTINE_COLUMNS.items() if k != "last_day"}, "get_quarantine_summary"),
    ],
)
def test_table_columns_are_columns_of_the_function_they_show(columns, function):
    returned = {column.name for column in assets.function_spec(config_module.load("ci"), function).columns}
    assert set(columns) <= returned
