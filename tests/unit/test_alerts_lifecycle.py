"""The alert lifecycle without the engine: states, for / keep_firing_for, silences, inhibition, grouping
and the evaluation cycle on an in-memory store with a stand-in query runner."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd
import pytest

from hm_utils import config as config_module
from hm_utils.alerts import evaluation, lifecycle
from hm_utils.alerts.definitions import get_definition
from hm_utils.alerts.lifecycle import InhibitRule, Silence
from hm_utils.alerts.store import MemoryStore

T0 = datetime(2026, 11, 30, 6, 0)
STREAK = replace(
    get_definition("rel_job_failure_streak"), keep_firing_for=timedelta(0), threshold_value=3
)  # critical, >= 3 (pinned: these tests are about the lifecycle, not the threshold), workspace + job


def _rows(*jobs: tuple[str, int]) -> list[dict]:
    return [{"workspace_id": "w1", "workspace_name": "prod", "job_id": job, "job_name": f"job {job}",
             "max_consecutive_failures": streak, "last_termination_code": "DRIVER_ERROR"} for job, streak in jobs]  # fmt: skip


def _step(definition, previous, rows, moment):
    return lifecycle.advance(definition, previous, lifecycle.judge(definition, rows), moment, "data-engineering")


def test_condition_compares_like_databricks():
    assert lifecycle.condition("GREATER_THAN_OR_EQUAL", 3, 3.0)
    assert not lifecycle.condition("GREATER_THAN", None, 1) and not lifecycle.condition("LESS_THAN", float("nan"), 1)
    assert lifecycle.condition("EQUAL", "FAILED", "FAILED") and not lifecycle.condition("EQUAL", "COMPLETED", "FAILED")
    assert lifecycle.condition("IS_NOT_NULL", datetime(2026, 1, 1), None)
    assert not lifecycle.condition("IS_NOT_NULL", pd.NaT, None) and lifecycle.condition("IS_NULL", pd.NaT, None)
    from decimal import Decimal

    assert lifecycle.condition("GREATER_THAN", Decimal("25.5"), 25)


def test_for_keeps_an_instance_pending_until_the_condition_held_long_enough():
    definition = replace(STREAK, for_=timedelta(minutes=30))
    state, events = _step(definition, [], _rows(("j1", 4)), T0)
    assert [i.state for i in state] == ["pending"] and [(e.from_state, e.to_state) for e in events] == [
        ("inactive", "pending")
    ]
    state, events = _step(definition, state, _rows(("j1", 4)), T0 + timedelta(minutes=15))
    assert state[0].state == "pending" and not events
    state, events = _step(definition, state, _rows(("j1", 5)), T0 + timedelta(minutes=30))
    assert state[0].state == "firing" and state[0].fired_at == T0 + timedelta(minutes=30)
    assert [(e.from_state, e.to_state) for e in events] == [("pending", "firing")] and state[0].value == "5"


def test_a_pending_instance_whose_condition_clears_is_dropped_without_firing():
    definition = replace(STREAK, for_=timedelta(hours=1))
    state, _ = _step(definition, [], _rows(("j1", 4)), T0)
    state, events = _step(definition, state, [], T0 + timedelta(minutes=15))
    assert state == [] and [(e.from_state, e.to_state) for e in events] == [("pending", "inactive")]


def test_keep_firing_for_holds_a_cleared_instance_then_it_resolves():
    definition = replace(STREAK, keep_firing_for=timedelta(hours=2))
    state, events = _step(definition, [], _rows(("j1", 3)), T0)
    assert state[0].state == "firing" and [e.to_state for e in events] == ["pending", "firing"]  # for = 0
    state, events = _step(definition, state, _rows(("j1", 1)), T0 + timedelta(hours=1))  # below the threshold
    assert state[0].state == "firing" and not events
    state, events = _step(definition, state, [], T0 + timedelta(hours=2))
    assert state[0].state == "resolved" and state[0].resolved_at == T0 + timedelta(hours=2)
    assert [(e.from_state, e.to_state) for e in events] == [("firing", "resolved")]
    state, events = _step(definition, state, _rows(("j1", 6)), T0 + timedelta(hours=3))  # a new episode
    assert state[0].state == "firing" and state[0].fired_at == T0 + timedelta(hours=3) and len(events) == 2


def test_instances_are_told_apart_by_their_labels_and_the_same_evaluation_gives_the_same_ids():
    state, events = _step(STREAK, [], _rows(("j1", 3), ("j2", 7), ("j1", 2)), T0)
    assert sorted(i.labels["job_id"] for i in state) == ["j1", "j2"]
    assert len({i.fingerprint for i in state}) == 2
    again, events_again = _step(STREAK, [], _rows(("j1", 3), ("j2", 7)), T0)
    assert [e.event_id for e in events] == [e.event_id for e in events_again]
    assert lifecycle.fingerprint("a", {"x": "1", "y": "2"}) == lifecycle.fingerprint("a", {"y": "2", "x": "1"})


def test_an_empty_result_follows_empty_result_state():
    assert lifecycle.judge(STREAK, []) == []
    (observation,) = lifecycle.judge(replace(STREAK, empty_result_state="triggered"), [])
    assert observation.active and observation.labels == {}


def test_a_threshold_column_is_read_per_row():
    definition = get_definition("perf_runaway_job_run")
    rows = [{"workspace_id": "w", "workspace_name": "n", "job_id": "j", "job_name": "x", "longest_active_run_id": "r",
             "p50_duration_minutes": 20.0, "max_active_minutes": minutes, "runaway_minutes": 260.0} for minutes in (840.0,)]  # fmt: skip
    assert lifecycle.judge(definition, rows)[0].active
    rows[0]["max_active_minutes"] = 200.0
    assert not lifecycle.judge(definition, rows)[0].active


def _firing(definition, job="j1", workspace="w1"):
    state, _ = _step(definition, [], [{**_rows((job, 9))[0], "workspace_id": workspace,
                                       "failed_runs": 9, "completed_runs": 9, "failure_rate": 1.0}], T0)  # fmt: skip
    return state[0]


def test_silences_match_labels_exactly_or_by_regex_and_only_while_active():
    instance = _firing(STREAK)
    silence = Silence("s1", {"job_id": "j1", "alert_id": "~rel_.*"}, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert lifecycle.mute([instance], [silence], [], T0)[0].silenced_by == "s1"
    assert lifecycle.mute([instance], [silence], [], T0 + timedelta(hours=2))[0].silenced_by is None
    expired = replace(silence, expired_at=T0 - timedelta(minutes=1))
    assert lifecycle.mute([instance], [expired], [], T0)[0].silenced_by is None
    other = replace(silence, matchers={"job_id": "j2"})
    assert lifecycle.mute([instance], [other], [], T0)[0].silenced_by is None


def test_a_firing_critical_inhibits_warnings_with_the_same_labels_only():
    critical = _firing(STREAK)
    warning = _firing(get_definition("rel_job_failure_rate"))
    other_job = _firing(get_definition("rel_job_failure_rate"), job="j2")
    rules = [InhibitRule("critical", ("warning", "info"), ("domain", "workspace_id", "job_id"))]
    muted = {i.fingerprint: i for i in lifecycle.mute([critical, warning, other_job], [], rules, T0)}
    assert muted[warning.fingerprint].inhibited_by == critical.fingerprint
    assert muted[other_job.fingerprint].inhibited_by is None and muted[critical.fingerprint].inhibited_by is None
    no_job_rule = [InhibitRule("critical", ("warning",), ("domain", "user_email"))]  # a label neither carries
    assert all(i.inhibited_by is None for i in lifecycle.mute([critical, warning], [], no_job_rule, T0))


def _route(**overrides):
    base = dict(team="data-engineering", channels=("hook",), group_by=("alert_id",), group_wait=timedelta(seconds=30),
                group_interval=timedelta(minutes=5), repeat_interval=timedelta(hours=4), evaluation_gap=timedelta(hours=1))  # fmt: skip
    return lifecycle.RoutePlan(**{**base, **overrides})


def _previous(notifications):
    return {n.group_key: lifecycle.PreviousNotification(n.group_key, n.created_at, n.firing) for n in notifications}


def test_notifications_new_repeat_changed_and_resolved():
    routes = {STREAK.id: _route()}
    state, _ = _step(STREAK, [], _rows(("j1", 3)), T0)
    (first,) = lifecycle.plan_notifications(state, routes, {}, {}, T0)
    assert (
        first.reason == "new"
        and first.status == "firing"
        and first.title == "[FIRING:1] alert_id=rel_job_failure_streak"
    )
    assert lifecycle.plan_notifications(state, routes, {}, {}, T0)[0].notification_id == first.notification_id
    later = T0 + timedelta(hours=1)
    state, _ = _step(STREAK, state, _rows(("j1", 4)), later)
    assert lifecycle.plan_notifications(state, routes, _previous([first]), {}, later) == []  # nothing new yet
    state, _ = _step(STREAK, state, _rows(("j1", 4), ("j2", 3)), later)
    (changed,) = lifecycle.plan_notifications(state, routes, _previous([first]), {}, later)
    assert changed.reason == "changed" and len(changed.firing) == 2
    repeat_at = later + timedelta(hours=4)
    state, _ = _step(STREAK, state, _rows(("j1", 4), ("j2", 3)), repeat_at)
    (repeat,) = lifecycle.plan_notifications(state, routes, _previous([changed]), {}, repeat_at)
    assert repeat.reason == "repeat"
    done = repeat_at + timedelta(hours=1)
    state, _ = _step(STREAK, state, [], done)
    (resolved,) = lifecycle.plan_notifications(state, routes, _previous([repeat]), {}, done)
    assert resolved.status == "resolved" and len(resolved.resolved) == 2 and not resolved.firing
    assert [a["status"] for a in resolved.alerts] == ["resolved", "resolved"]
    assert lifecycle.plan_notifications(state, routes, _previous([resolved]), {}, done + timedelta(hours=1)) == []


def test_a_long_group_wait_holds_the_first_notification_until_a_later_cycle():
    routes = {STREAK.id: _route(group_wait=timedelta(hours=2))}
    state, _ = _step(STREAK, [], _rows(("j1", 3)), T0)
    assert lifecycle.plan_notifications(state, routes, {}, {}, T0) == []
    assert lifecycle.plan_notifications(state, routes, {}, {}, T0 + timedelta(hours=1)) == []
    assert len(lifecycle.plan_notifications(state, routes, {}, {}, T0 + timedelta(hours=2))) == 1


def test_group_by_joins_alerts_into_one_notification_and_muted_ones_stay_out():
    routes = {d.id: _route(group_by=("workspace_id",)) for d in (STREAK, get_definition("rel_job_failure_rate"))}
    a, b = _firing(STREAK), _firing(get_definition("rel_job_failure_rate"), job="j2")
    (together,) = lifecycle.plan_notifications([a, b], routes, {}, {}, T0)
    assert together.group_labels == {"workspace_id": "w1"} and len(together.firing) == 2
    silenced = replace(b, silenced_by="s1")
    (alone,) = lifecycle.plan_notifications([a, silenced], routes, {}, {}, T0)
    assert alone.firing == (a.fingerprint,)
    assert lifecycle.plan_notifications([silenced], routes, {}, {}, T0) == []


# ------------------------------------------------------------------------------------------ the cycle


@pytest.fixture
def cycle_config(http_receiver, monkeypatch):
    """ci params with a webhook and a Slack channel pointing at the local receiver."""
    monkeypatch.setenv("HM_TEST_HOOK", http_receiver.url("/hook"))
    monkeypatch.setenv("HM_TEST_SLACK", http_receiver.url("/slack"))
    return config_module.load(
        "ci",
        {
            "alerts.channels": {
                "hook": {"type": "webhook", "url": "env:HM_TEST_HOOK", "timeout_seconds": 1},
                "chat": {"type": "slack", "url": "env:HM_TEST_SLACK", "timeout_seconds": 1},
            },  # fmt: skip
            "alerts.routing.default_channels": ["hook", "chat"],
            "alerts.delivery.backoff_seconds": 0.01,
        },
    )


class Runner:
    """Answers every alert query: the failure-streak function returns `rows`, everything else nothing."""

    def __init__(self) -> None:
        self.rows = _rows(("j1", 5))

    def __call__(self, text: str) -> pd.DataFrame:
        if "get_failed_jobs" in text and "max_consecutive_failures" in text:
            return pd.DataFrame(self.rows, columns=list(_rows(("x", 0))[0]))
        return pd.DataFrame(columns=["workspace_id"])


def test_the_cycle_evaluates_commits_and_delivers_once(cycle_config, http_receiver):
    memory, runner = MemoryStore(), Runner()
    only = [STREAK.id]
    report = evaluation.run_cycle(cycle_config, memory, runner, T0, only=only)
    assert report.delivered == 2 and report.firing[0]["alert_id"] == STREAK.id
    assert len(http_receiver.bodies("/hook")) == len(http_receiver.bodies("/slack")) == 1
    again = evaluation.run_cycle(cycle_config, memory, runner, T0, only=only)  # the same evaluation time
    assert again.planned == 0 and again.events == 0 and len(http_receiver.received) == 2
    runner.rows = []
    evaluation.run_cycle(cycle_config, memory, runner, T0 + timedelta(hours=3), only=only)
    (resolved,) = [b for b in http_receiver.bodies("/hook") if b["status"] == "resolved"]
    assert resolved["alerts"][0]["status"] == "resolved"


def test_a_failing_channel_is_retried_later_without_holding_up_the_other(cycle_config, http_receiver):
    http_receiver.behaviour = {"/slack": 500}
    memory, runner = MemoryStore(), Runner()
    report = evaluation.run_cycle(cycle_config, memory, runner, T0, only=[STREAK.id])
    assert (report.delivered, report.retrying) == (1, 1) and len(http_receiver.bodies("/hook")) == 1
    (pending,) = memory.open_notifications()
    assert pending["channel"] == "chat" and pending["attempts"] == 3 and "HTTP 500" in pending["last_error"]
    http_receiver.behaviour = {}
    evaluation.run_cycle(cycle_config, memory, runner, T0 + timedelta(minutes=2), only=[STREAK.id])
    assert http_receiver.bodies("/slack") == []  # retry_after (5m) has not passed yet
    evaluation.run_cycle(cycle_config, memory, runner, T0 + timedelta(minutes=10), only=[STREAK.id])
    assert len(http_receiver.bodies("/slack")) == 1 and not memory.open_notifications()


def test_a_crash_before_delivery_is_delivered_by_the_next_cycle_once(cycle_config, http_receiver):
    memory, runner = MemoryStore(), Runner()
    evaluation.run_cycle(cycle_config, memory, runner, T0, only=[STREAK.id], deliver=False)
    assert http_receiver.received == [] and len(memory.open_notifications()) == 2
    evaluation.run_cycle(cycle_config, memory, runner, T0 + timedelta(hours=1), only=[STREAK.id])
    evaluation.run_cycle(cycle_config, memory, runner, T0 + timedelta(hours=2), only=[STREAK.id])
    assert len(http_receiver.bodies("/hook")) == len(http_receiver.bodies("/slack")) == 1


def test_events_of_a_cycle_that_died_before_its_commit_are_dropped(cycle_config):
    memory, runner = MemoryStore(), Runner()
    evaluation.run_cycle(cycle_config, memory, runner, T0, only=[STREAK.id], deliver=False)
    orphan = {**next(iter(memory.events.values())), "event_id": "orphan", "evaluated_at": T0 + timedelta(hours=1)}
    memory.write_events([orphan])
    memory.snapshot()
    assert "orphan" not in memory.events and memory.events


def test_an_evaluation_time_before_the_last_one_is_refused(cycle_config):
    memory = MemoryStore()
    evaluation.run_cycle(cycle_config, memory, Runner(), T0, only=[STREAK.id], deliver=False)
    with pytest.raises(Exception, match="before the last committed evaluation"):
        evaluation.run_cycle(cycle_config, memory, Runner(), T0 - timedelta(hours=1), only=[STREAK.id])


class FakeSession:
    """Records the SQL a SparkRunner sends; `cache table` fails when `refuse` is set (as on serverless)."""

    def __init__(self, refuse: bool = False) -> None:
        self.sql_text: list[str] = []
        self.refuse = refuse
        self.catalog = type("Catalog", (), {"dropTempView": lambda _self, name: self.sql_text.append(f"drop {name}")})()

    def sql(self, text: str):
        if self.refuse and text.startswith("cache table"):
            raise RuntimeError("CACHE TABLE is not supported")
        self.sql_text.append(text)


def test_calls_shared_by_several_queries_are_cached_once_and_released():
    call = "c.s.get_failed_jobs(start_date => date'2026-11-30' - interval 1 day, end_date => date'2026-11-30')"
    texts = [
        f"select job_id from {call}",
        f"select workspace_id from {call} where 1 = 1",
        "select 1 from c.s.get_mttr()",
    ]
    session = FakeSession()
    runner = evaluation.SparkRunner(session, "c.s")
    prepared = runner.prepare(texts, threads=2)
    (cache,) = [text for text in session.sql_text if text.startswith("cache table")]
    view = cache.split()[2]
    assert cache == f"cache table {view} as select * from {call}"
    assert prepared[texts[0]] == f"select job_id from {view}" and prepared[texts[2]] == texts[2]
    runner.release()
    assert session.sql_text[-2:] == [f"uncache table if exists {view}", f"drop {view}"]
    refusing = evaluation.SparkRunner(FakeSession(refuse=True), "c.s")
    assert refusing.prepare(texts, threads=2) == {text: text for text in texts}
