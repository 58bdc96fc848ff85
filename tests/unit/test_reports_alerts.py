"""The alerts on the report site, from hand-made get_alert_history rows: firing now, fired in the period, and
links to the runbooks."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd

from hm_utils.alerts.definitions import load_definitions
from hm_utils.reports import alerts


def _history() -> pd.DataFrame:
    rows = [
        # fingerprint f1 fired twice (two episodes) and fires now; f2 fired and resolved; f3 is only pending
        ("f1", "rel_job_failure_streak", "critical", "pending", "firing", datetime(2026, 11, 20, 6), "firing", "job a broke"),
        ("f1", "rel_job_failure_streak", "critical", "firing", "resolved", datetime(2026, 11, 21, 6), "firing", "job a ok"),
        ("f1", "rel_job_failure_streak", "critical", "pending", "firing", datetime(2026, 11, 25, 6), "firing", "job a broke again"),
        ("f2", "security_mass_download", "warning", "pending", "firing", datetime(2026, 11, 22, 6), "resolved", "bob downloaded"),
        ("f2", "security_mass_download", "warning", "firing", "resolved", datetime(2026, 11, 23, 6), "resolved", "bob downloaded"),
        ("f3", "perf_idle_cluster", "warning", "inactive", "pending", datetime(2026, 11, 26, 6), "pending", "idle"),
    ]  # fmt: skip
    columns = ["fingerprint", "alert_id", "severity", "from_state", "to_state", "evaluated_at", "currently", "summary"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(domain=frame["alert_id"].str.split("_").str[0])


def test_firing_now_lists_each_instance_once_since_its_latest_episode():
    now = alerts.firing_now(_history())
    assert now[["alert_id", "summary"]].values.tolist() == [["rel_job_failure_streak", "job a broke again"]]
    assert now.loc[0, "since"] == datetime(2026, 11, 25, 6)


def test_fired_in_period_counts_firings_per_alert_critical_first():
    fired = alerts.fired_in_period(_history())
    assert fired["alert_id"].tolist() == ["rel_job_failure_streak", "security_mass_download"]
    assert fired[["times", "instances"]].values.tolist() == [[2, 1], [1, 1]]
    assert alerts.fired_in_period(_history().iloc[5:]).empty and alerts.firing_now(pd.DataFrame()).empty


def test_the_table_links_each_alert_to_its_runbook_and_names_the_detail_function():
    block = alerts.alert_table(
        alerts.firing_now(_history()), {"severity": "Severity", "alert_id": "Alert"}, empty_message="none"
    )
    assert '<a href="alerts.html#rel_job_failure_streak">runbook</a>' in block
    assert "Job failing repeatedly" in block and "<code>get_failed_jobs</code>" in block
    assert "none" in alerts.alert_table(pd.DataFrame(), {}, empty_message="none")


def test_the_catalogue_has_one_anchor_per_alert():
    catalogue = alerts.runbook_catalogue()
    assert set(re.findall(r'id="([a-z0-9_]+)"', catalogue)) == {d.id for d in load_definitions()}


def test_fired_per_day_counts_instances_starting_to_fire_by_severity():
    per_day = alerts.fired_per_day(_history())
    assert per_day.values.tolist() == [
        [pd.Timestamp("2026-11-20"), "critical", 1],
        [pd.Timestamp("2026-11-22"), "warning", 1],
        [pd.Timestamp("2026-11-25"), "critical", 1],
    ]
