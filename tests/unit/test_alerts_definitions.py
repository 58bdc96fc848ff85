"""Alert definitions without the engine: the 56 files load, each problem names its file and field, the
schedule and the incident mapping are consistent with the simulator."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
import yaml

from hm_utils.alerts import definitions, scoring
from hm_utils.alerts.definitions import AlertDefinitionError, Schedule, load_definition, load_definitions
from hm_utils.simulator.incidents import INCIDENT_TYPES

GOOD = {
    "id": "job_streak",
    "name": "Job failing repeatedly",
    "domain": "reliability",
    "severity": "critical",
    "description": "A job failed three times in a row.",
    "query": "select workspace_id, job_id, max_consecutive_failures\n"
    "from {semantic}.get_failed_jobs(start_date => {today} - interval 1 day, end_date => {today}, min_failures => 3)",
    "evaluation": {
        "source": "max_consecutive_failures",
        "operator": "GREATER_THAN_OR_EQUAL",
        "threshold": {"value": 3},
    },
    "labels": ["workspace_id", "job_id"],
    "summary": "{job_id} failed {value} times",
    "for": "10m",
    "keep_firing_for": "1h",
    "schedule": {"every": "15m"},
    "route": {"team": "data-engineering", "repeat_interval": "2h"},
    "runbook": "Read the last error.",
    "detail": "get_failed_jobs",
}


def _write(tmp_path, raw: dict, domain: str = "reliability", name: str = "job_streak"):
    folder = tmp_path / domain
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_56_alerts_in_six_domains():
    loaded = load_definitions()
    assert Counter(d.domain for d in loaded) == {
        "cost": 8, "security": 12, "performance": 16, "reliability": 10, "quality": 6, "mlops": 4,
    }  # fmt: skip
    assert len({d.id for d in loaded}) == 56
    assert {d.severity for d in loaded} == {"critical", "warning", "info"}


def test_every_alert_has_a_runbook_naming_a_function_and_labels_from_its_query():
    for definition in load_definitions():
        assert "get_" in definition.runbook, f"{definition.id}: the runbook names a function to look at"
        assert definition.functions, definition.id
        for column in definition.result_columns:
            assert column in definition.query, f"{definition.id}: {column} is selected by the query"


def test_a_good_file_loads_with_its_durations_and_route(tmp_path):
    loaded = load_definition(_write(tmp_path, GOOD))
    assert loaded.for_ == timedelta(minutes=10) and loaded.keep_firing_for == timedelta(hours=1)
    assert loaded.route.repeat_interval == timedelta(hours=2) and loaded.route.group_wait is None
    assert loaded.threshold_value == 3.0 and loaded.threshold_column is None and loaded.empty_result_state == "ok"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"colour": "red"}, "colour", "unknown field"),
        ({"evaluation": {**GOOD["evaluation"], "operator": ">="}}, "evaluation.operator", "is not one of"),
        (
            {"evaluation": {**GOOD["evaluation"], "threshold": {"value": 3, "column": "x"}}},
            "evaluation.threshold",
            "exactly one",
        ),
        ({"evaluation": {**GOOD["evaluation"], "limit": 3}}, "evaluation.limit", "unknown field"),
        ({"severity": "high"}, "severity", "is not one of"),
        ({"domain": "cost"}, "domain", "does not match the folder"),
        ({"for": "10 minutes"}, "for", "is not a duration"),
        ({"schedule": {"every": "7m"}}, "schedule.every", "does not divide"),
        ({"route": {"team": "x", "pager": True}}, "route.pager", "unknown field"),
        ({"summary": "{job_name} failed"}, "summary", "job_name"),
        ({"detail": "get_nothing"}, "detail", "not a semantic function"),
        ({"labels": ["alert_id"]}, "labels", "added by the kit"),
        ({"query": "select * from {gold.fct_job_runs}"}, "query", "not allowed in an alert query"),
        ({"query": "select * from spark_catalog.hm_silver.access_audit"}, "query", "reads nothing from the semantic"),
        ({"query": "select * from {semantic}.get_failed_jobs(days => 3)"}, "query", "has no parameter days"),
        ({"query": "select * from {semantic}.get_failed_jobs({today})"}, "query", "positional argument"),
        ({"query": "select * from {semantic}.get_everything()"}, "query", "neither a table function"),
        (
            {"query": "select * from {semantic}.get_failed_jobs() join hm_gold.dim_job on true"},
            "query",
            "not in the semantic layer",
        ),
    ],
)
def test_each_problem_names_the_file_and_the_field(tmp_path, change, field, message):
    path = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(AlertDefinitionError, match=message) as error:
        load_definition(path)
    assert f"{path}: {field}" in error.value.render()


def test_the_id_must_be_the_file_name(tmp_path):
    with pytest.raises(AlertDefinitionError, match="equal the file name") as error:
        load_definition(_write(tmp_path, GOOD, name="other_name"))
    assert "other_name.yml: id" in error.value.render()


def test_schedules_give_quartz_cron_and_the_last_tick():
    assert Schedule(timedelta(minutes=15)).quartz() == "0 0/15 * * * ?"
    assert Schedule(timedelta(hours=1)).quartz() == "0 0 * * * ?"
    assert Schedule(timedelta(hours=6)).quartz() == "0 0 0/6 * * ?"
    assert Schedule(timedelta(days=1), "06:30").quartz() == "0 30 6 * * ?"
    moment = datetime(2026, 11, 30, 7, 52, 13)
    assert Schedule(timedelta(minutes=15)).tick(moment) == datetime(2026, 11, 30, 7, 45)
    assert Schedule(timedelta(hours=6)).tick(moment) == datetime(2026, 11, 30, 6, 0)
    assert Schedule(timedelta(days=1), "08:00").tick(moment) == datetime(2026, 11, 29, 8, 0)


def test_the_incident_mapping_covers_every_simulated_incident_type_with_labels_alerts_carry():
    rules, grace = scoring.load_rules()
    assert set(rules) == set(INCIDENT_TYPES) and grace > timedelta(0)
    loaded = load_definitions()
    for rule in rules.values():
        assert set(rule.domains) <= set(definitions.DOMAINS)
        candidates = [d for d in loaded if d.domain in rule.domains]
        assert any(set(rule.labels.values()) <= set(d.labels) for d in candidates), (
            f"{rule.incident_type}: some alert of {rule.domains} carries the labels {sorted(rule.labels.values())}"
        )


def test_recall_counts_only_the_incidents_a_replay_could_see():
    """The simulator repeats incidents over the whole account; a replay of the last days judges only those
    whose detection window (start to end + grace) reaches into it."""
    _, grace = scoring.load_rules()
    first, last = datetime(2026, 11, 22, 6), datetime(2026, 12, 6, 6)

    def streak(start: datetime, job: str) -> dict:
        return {"incident_type": "failure_streak", "workspace_id": "1", "entity_id": job,
                "start_time": start, "end_time": start + timedelta(hours=6)}  # fmt: skip

    old, late_notice, recent = (
        streak(first - grace - timedelta(days=2), "10"),  # over before the replay's first evaluation could see it
        streak(first - grace + timedelta(hours=1), "11"),  # its grace reaches into the replay
        streak(last - timedelta(days=2), "12"),
    )
    fired = [{"alert_id": "rel_job_failure_streak", "domain": "reliability", "evaluated_at": first + timedelta(days=12),
              "labels": {"workspace_id": "1", "job_id": "12"}}]  # fmt: skip
    rows = scoring.recall([old, late_notice, recent], fired, (first, last))
    assert [(r["entity_id"], r["detected"]) for r in rows] == [("11", False), ("12", True)]
    assert len(scoring.recall([old, late_notice, recent], fired)) == 3  # without a replay span: every incident
