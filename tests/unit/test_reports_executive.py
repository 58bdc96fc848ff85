"""Executive report logic on hand-made semantic results: waste without double counting, success rate,
security signals, the attention list and the headline SQL."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import pandas as pd
import pytest

from hm_utils import headline
from hm_utils.reports import executive


def _data(**frames: pd.DataFrame) -> executive.ExecutiveData:
    empty = {f.name: pd.DataFrame() for f in fields(executive.ExecutiveData)}
    return executive.ExecutiveData(**{**empty, **frames})


def _account() -> executive.ExecutiveData:
    return _data(
        daily=pd.DataFrame({"list_cost": [600.0, 400.0]}),
        daily_previous=pd.DataFrame({"list_cost": [800.0]}),
        failed_runs=pd.DataFrame({"failed_list_cost": [90.0, 10.0], "failed_runs": [4, 1]}),
        idle=pd.DataFrame({"cluster_id": ["c1", "c2"], "idle_list_cost": [30.0, 5.0]}),
        oversized=pd.DataFrame({"cluster_id": ["c1", "c3"], "estimated_saving": [50.0, 7.0]}),
        ap_jobs=pd.DataFrame({"estimated_saving": [12.0]}),
        success=pd.DataFrame({"completed_runs": [10, 30], "successes": [9, 27]}),
        failed_logins=pd.DataFrame({"user_email": ["a", "b"]}),
        sensitive=pd.DataFrame({"off_hours_accesses": [0, 3], "failed_accesses": [1, 0]}),
        anomalies=pd.DataFrame(
            {"usage_date": [date(2024, 1, 3)], "sku_name": ["JOBS"], "ratio_to_baseline": [6.0], "excess_cost": [20.0]}
        ),
        quality=pd.DataFrame({"table_key": ["silver.a"], "gate_passed": [False]}),
    )


def test_waste_counts_a_cluster_that_is_idle_and_oversized_once_at_the_larger_saving():
    waste = executive.waste(_account()).set_index("kind")
    assert waste.loc["Failed and repaired job runs", "amount"] == 100.0
    assert waste.loc["Idle clusters", "amount"] == 35.0
    # c1: idle 30, oversized 50 → 20 more on top of idle; c3: 7 → 27
    assert waste.loc["Oversized clusters (right-sizing)", "amount"] == 27.0
    assert waste["amount"].sum() == 100.0 + 35.0 + 27.0 + 12.0
    assert executive.waste(_account(), discount=0.5)["amount"].sum() == pytest.approx(87.0)


def test_spend_success_rate_and_security_signals():
    data = _account()
    assert executive.spend(data, 0.9) == (900.0, 720.0)
    assert executive.success_rate(data) == pytest.approx(36 / 40)
    assert executive.success_rate(_data()) is None
    signals = executive.security_events(data).set_index("signal")["count"]
    assert signals["Failed-login bursts"] == 2 and signals.sum() == 4


def test_findings_are_ranked_and_point_to_functions():
    found = executive.findings(_account())
    assert [item.risk for item in found] == sorted((item.risk for item in found), key=["high", "medium", "low"].index)
    assert found[0].function == "get_failed_run_cost"  # $100 of $1,000 spend → high, the largest amount
    functions = {item.function for item in found}
    assert {"get_failed_logins", "get_cost_anomalies", "get_idle_clusters"} <= functions
    assert any("Data-quality gates failed" in item.title for item in found)
    assert executive.findings(_data()) == []


def test_an_empty_period_is_reported_as_empty():
    assert _data().empty and not _account().empty
    assert executive.waste(_data())["amount"].sum() == 0


def test_headline_sql_is_complete_and_scoped(config):
    text = headline.sql(config, "spend_change", "2024-01-11", "2024-01-20", discount_pct=10)
    assert "date'2024-01-11'" in text and "date'2024-01-20'" in text
    assert "date'2024-01-01'" in text and "date'2024-01-10'" in text  # previous period, same length
    assert "{" not in text
    scoped = headline.sql(config, "savings", "2024-01-01", "2024-01-10", ["ws1", "o'brien"], 25)
    assert scoped.count("workspace => 'ws1'") == 4 and scoped.count("workspace => 'o\\'brien'") == 4  # escaped
    assert "* 0.75" in scoped and "top_n => 10000" in scoped
    assert [h.key for h in headline.HEADLINES] == [
        "spend",
        "spend_change",
        "savings",
        "job_success_rate",
        "security_events",
    ]


def test_headline_values_read_like_the_page():
    assert headline.format_value("money", 1234.4) == "$1,234"
    assert headline.format_value("change", -0.1) == "−10.0%"
    assert headline.format_value("percent", None) == "–"
    lines = headline.format_lines([{"label": "Spend", "text": "$1"}])
    assert lines == [f"{'Spend':<28} $1"]
