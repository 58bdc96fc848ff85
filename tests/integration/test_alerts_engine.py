"""Alerts on the built test account: queries against the deployed semantic layer, incidents found with the
right labels, state and history in the ops schema, and the delivery fault cases end to end (a channel that
fails or hangs while another succeeds, a crash between evaluation and delivery, an evaluation run twice)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd
import pytest

from hm_utils import semantic, sources
from hm_utils.alerts import evaluation, operations, scoring, store
from hm_utils.alerts.definitions import AlertDefinitionError, get_definition, load_definitions

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def incidents(account, config):
    """The latest incident of each type; for a stale table, the latest whose writer stopped at least three days
    before the pinned clock (a table that stopped being written yesterday is not stale yet)."""
    from hm_utils import clock

    frame = pd.read_parquet(sources.simulated_folder(config) / "_ground_truth" / "incidents")
    started = pd.to_datetime(frame["start_time"], utc=True)
    settled = (frame["incident_type"] != "stale_table") | (
        started <= pd.Timestamp(clock.now(config), tz="UTC") - pd.Timedelta(days=3)
    )
    return {row["incident_type"]: row for row in frame[settled].sort_values("incident_id").to_dict("records")}


def _morning_after(incident, edge: str = "start_time") -> datetime:
    """06:00 UTC the day after the incident started (or ended: a table is stale only some time after its
    last write): a daily evaluation that sees it."""
    moment = pd.Timestamp(incident[edge]).tz_convert(None).to_pydatetime()
    return (moment + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)


def _pinned(config) -> datetime:
    from hm_utils import clock

    return clock.now(config)


@pytest.fixture
def fresh_store(spark, config):
    """The ops alert tables emptied, so each test starts without state, history or outbox."""
    for key in (store.STATE_KEY, store.EVENTS_KEY, store.NOTIFICATIONS_KEY, store.SILENCES_KEY):
        spark.sql(f"drop table if exists {store.tables.full_name(config, key)}")
    ops = store.SparkStore(spark, config)
    ops.ensure_tables()
    return ops


def test_every_alert_query_analyses_against_the_deployed_semantic_layer(account, spark, config):
    evaluation.validate_queries(spark, config)


def test_a_query_that_does_not_match_the_layer_names_file_and_field(account, spark, config):
    broken = replace(get_definition("rel_job_failure_streak"), source="streak_length")
    with pytest.raises(AlertDefinitionError) as error:
        evaluation.validate_queries(spark, config, [broken])
    assert "reliability/rel_job_failure_streak.yml: evaluation.source: column streak_length" in error.value.render()
    bad_sql = replace(broken, query=broken.query.replace("max_consecutive_failures", "streak_length"), source="job_id")
    with pytest.raises(AlertDefinitionError, match="rel_job_failure_streak.yml: query: .*streak_length"):
        evaluation.validate_queries(spark, config, [bad_sql])


@pytest.mark.parametrize(
    ("incident_type", "alert_id", "labels"),
    [
        ("failure_streak", "rel_job_failure_streak", {"workspace_id": "workspace_id", "entity_id": "job_id"}),
        (
            "brute_force_login",
            "security_brute_force_login",
            {"workspace_id": "workspace_id", "entity_id": "user_email"},
        ),
        ("mass_download", "security_mass_download", {"workspace_id": "workspace_id", "entity_id": "user_email"}),
        (
            "admin_privilege_grant",
            "security_admin_group_change",
            {"workspace_id": "workspace_id", "entity_id": "target"},
        ),
        (
            "permission_change_burst",
            "security_permission_change_burst",
            {"workspace_id": "workspace_id", "entity_id": "changed_by"},
        ),
        (
            "secret_enumeration",
            "security_secret_enumeration",
            {"workspace_id": "workspace_id", "entity_id": "user_email"},
        ),
        (
            "mass_securable_access",
            "security_mass_securable_access",
            {"workspace_id": "workspace_id", "entity_id": "user_email"},
        ),
        (
            "warehouse_queueing",
            "perf_warehouse_queueing_severe",
            {"workspace_id": "workspace_id", "entity_id": "warehouse_id"},
        ),
        ("stale_table", "quality_stale_table", {"workspace_id": "workspace_id", "entity_id": "table_full_name"}),
        ("idle_cluster", "perf_idle_cluster", {"workspace_id": "workspace_id", "entity_id": "cluster_id"}),
    ],
)
def test_incidents_fire_their_alert_with_labels_naming_the_incident(
    account, spark, config, incidents, incident_type, alert_id, labels
):
    incident = incidents[incident_type]
    memory = store.MemoryStore()
    at = _morning_after(incident, "end_time" if incident_type == "stale_table" else "start_time")
    report = evaluation.run_cycle(
        config, memory, evaluation.spark_runner(spark, config), min(at, _pinned(config)), only=[alert_id], deliver=False
    )
    assert not report.errors
    fired = [
        {**e, "labels": __import__("json").loads(e["labels"])}
        for e in memory.events.values()
        if e["to_state"] == "firing"
    ]
    expected = {label: str(incident[field]) for field, label in labels.items()}
    assert any(all(event["labels"].get(k) == v for k, v in expected.items()) for event in fired), (
        f"{alert_id} fired for {[e['labels'] for e in fired]}, expected {expected}"
    )


@pytest.fixture
def channels_config(config, http_receiver, monkeypatch):
    """The ci config with three webhook channels on the local receiver: one works, one answers 500, one hangs."""
    for name in ("good", "down", "slow"):
        monkeypatch.setenv(f"HM_TEST_{name.upper()}", http_receiver.url(f"/{name}"))
    http_receiver.behaviour = {"/down": 500, "/slow": ("sleep", 3)}
    return config.with_overrides(
        {
            "alerts.channels": {
                name: {"type": "webhook", "url": f"env:HM_TEST_{name.upper()}", "timeout_seconds": 1}
                for name in ("good", "down", "slow")
            },
            "alerts.routing.default_channels": ["good", "down", "slow"],
            "alerts.delivery.backoff_seconds": 0.05,
            "alerts.delivery.attempts_per_run": 2,
        }
    )


def _notifications(spark, config) -> pd.DataFrame:
    return semantic.query.fetch(spark, f"select * from {store.tables.full_name(config, store.NOTIFICATIONS_KEY)}", {})


def test_a_failing_and_a_hanging_channel_never_hold_up_the_working_one_nor_lose_the_alert(
    account, spark, channels_config, incidents, fresh_store, http_receiver
):
    at = _morning_after(incidents["failure_streak"])
    only = ["rel_job_failure_streak"]
    runner = evaluation.spark_runner(spark, channels_config)
    report = evaluation.run_cycle(channels_config, fresh_store, runner, at, only=only)
    assert (report.delivered, report.retrying) == (1, 2)
    assert len(http_receiver.bodies("/good")) == 1 and http_receiver.bodies("/good")[0]["status"] == "firing"
    rows = _notifications(spark, channels_config).set_index("channel")
    assert rows.loc["good", "delivery_status"] == "delivered" and rows.loc["good", "attempts"] == 1
    assert rows.loc["down", "delivery_status"] == "retrying" and "HTTP 500" in rows.loc["down", "last_error"]
    assert (
        rows.loc["slow", "delivery_status"] == "retrying" and "no answer within 1 s" in rows.loc["slow", "last_error"]
    )
    assert (rows["attempts"].loc[["down", "slow"]] == 2).all()

    http_receiver.behaviour = {}  # the services recover
    evaluation.run_cycle(channels_config, fresh_store, runner, at + timedelta(minutes=10), only=only)
    rows = _notifications(spark, channels_config).set_index("channel")
    assert (rows["delivery_status"] == "delivered").all() and len(rows) == 3
    assert [len(http_receiver.bodies(f"/{name}")) for name in ("good", "down", "slow")] == [1, 1, 1]


def test_a_crash_between_evaluation_and_delivery_delivers_on_the_next_run_once(
    account, spark, channels_config, incidents, fresh_store, http_receiver
):
    http_receiver.behaviour = {}
    at = _morning_after(incidents["failure_streak"])
    only = ["rel_job_failure_streak"]
    evaluation.run_cycle(
        channels_config, fresh_store, evaluation.spark_runner(spark, channels_config), at, only=only, deliver=False
    )
    assert http_receiver.received == []
    assert set(_notifications(spark, channels_config)["delivery_status"]) == {"pending"}
    # a new process: nothing in memory but what the ops tables hold
    again = store.SparkStore(spark, channels_config)
    evaluation.run_cycle(
        channels_config, again, evaluation.spark_runner(spark, channels_config), at + timedelta(hours=1), only=only
    )
    evaluation.run_cycle(
        channels_config, again, evaluation.spark_runner(spark, channels_config), at + timedelta(hours=2), only=only
    )
    assert [len(http_receiver.bodies(f"/{name}")) for name in ("good", "down", "slow")] == [1, 1, 1]


def test_the_same_evaluation_twice_sends_nothing_twice_and_history_is_queryable(
    account, spark, channels_config, incidents, fresh_store, http_receiver
):
    http_receiver.behaviour = {}
    at = _morning_after(incidents["failure_streak"])
    only = ["rel_job_failure_streak"]
    runner = evaluation.spark_runner(spark, channels_config)
    first = evaluation.run_cycle(channels_config, fresh_store, runner, at, only=only)
    second = evaluation.run_cycle(channels_config, fresh_store, runner, at, only=only)
    assert first.planned == 3 and second.planned == 0 and second.events == 0
    assert len(http_receiver.received) == 3 and len(_notifications(spark, channels_config)) == 3
    history = semantic.call(
        "get_alert_history",
        spark=spark,
        config=channels_config,
        start_date=at.date(),
        end_date=at.date(),
        new_state="firing",
    )
    streak = incidents["failure_streak"]
    (row,) = history.to_dict("records")
    assert row["alert_id"] == "rel_job_failure_streak" and row["currently"] == "firing"
    assert row["workspace_id"] == streak["workspace_id"] and f"job_id={streak['entity_id']}" in row["entity"]


def test_a_silence_mutes_notifications_until_it_is_expired(
    account, spark, channels_config, incidents, fresh_store, http_receiver
):
    http_receiver.behaviour = {}
    streak = incidents["failure_streak"]
    at = _morning_after(streak)
    only = ["rel_job_failure_streak"]
    runner = evaluation.spark_runner(spark, channels_config)
    silenced_config = channels_config.with_overrides({"clock.now": at.isoformat(sep=" ")})
    silence = operations.create_silence(
        spark, silenced_config, [f"job_id={streak['entity_id']}"], "2h", "fixing it", "tester"
    )
    report = evaluation.run_cycle(channels_config, fresh_store, runner, at, only=only)
    assert report.firing and report.firing[0]["muted"] and report.planned == 0 and http_receiver.received == []
    listed = operations.silences_frame(spark, silenced_config)
    assert listed.loc[0, "silence_id"] == silence.silence_id and listed.loc[0, "status"] == "active"
    operations.expire_silence(
        spark,
        silenced_config.with_overrides({"clock.now": (at + timedelta(minutes=30)).isoformat(sep=" ")}),
        silence.silence_id,
    )
    evaluation.run_cycle(channels_config, fresh_store, runner, at + timedelta(hours=1), only=only)
    assert len(http_receiver.bodies("/good")) == 1
    assert (
        operations.silences_frame(
            spark, silenced_config.with_overrides({"clock.now": (at + timedelta(hours=1)).isoformat(sep=" ")})
        ).loc[0, "status"]
        == "expired"
    )


def test_the_incident_mapping_scores_a_replayed_firing(account, config, incidents):
    """The scorer matches on domain, labels and time (its input is what a replay records)."""
    streak = incidents["failure_streak"]
    event = {"alert_id": "rel_job_failure_streak", "domain": "reliability", "evaluated_at": _morning_after(streak),
             "labels": {"workspace_id": streak["workspace_id"], "job_id": streak["entity_id"]}}  # fmt: skip
    (row,) = scoring.recall([streak], [event])
    assert row["detected"] and row["alerts"] == ["rel_job_failure_streak"]
    (row,) = scoring.recall([streak], [{**event, "domain": "cost"}])
    assert not row["detected"]
    assert len(load_definitions()) == 56


def test_a_repaired_run_is_judged_by_its_running_time_not_the_wait_for_its_repair(account, spark, config):
    """A failed run repaired an hour or more later spans hours of wall-clock time; the runaway alert reads the
    time its attempts ran, so the wait for the repair does not make it a runaway."""
    from hm_utils import tables

    runs = semantic.query.fetch(
        spark,
        f"select workspace_id, job_id, run_date, duration_seconds, active_seconds "
        f"from {tables.full_name(config, 'gold.fct_job_runs')} where repairs > 0 "
        f"order by duration_seconds - active_seconds desc, run_id limit 1",
        {},
    )
    repaired = runs.iloc[0]
    assert repaired.duration_seconds >= repaired.active_seconds + 20 * 60  # a repair starts 20+ min after
    at = datetime.combine(repaired.run_date + timedelta(days=1), datetime.min.time()).replace(hour=6)
    definition = get_definition("perf_runaway_job_run")
    rows, errors, _ = evaluation.run_queries(
        [definition], evaluation.config_at(config, at), evaluation.spark_runner(spark, config), 1
    )
    assert not errors
    (row,) = [
        r for r in rows[definition.id] if (r["workspace_id"], r["job_id"]) == (repaired.workspace_id, repaired.job_id)
    ]
    window = semantic.query.fetch(
        spark,
        f"select max(active_seconds) / 60 as active, max(duration_seconds) / 60 as wall "
        f"from {tables.full_name(config, 'gold.fct_job_runs')} where workspace_id = '{repaired.workspace_id}' "
        f"and job_id = '{repaired.job_id}' and is_completed and run_date between '{at.date() - timedelta(days=2)}' "
        f"and '{at.date()}'",
        {},
    ).iloc[0]
    assert row["max_active_minutes"] == pytest.approx(window.active) and window.active < window.wall


def test_the_monitor_watches_its_own_runs(account, spark, config):
    """A failed step recorded in the run log fires the MLOps alert; a slow one the duration alert."""
    from hm_utils import runlog

    at = datetime(2026, 11, 30, 6, 0)
    for day in range(1, 8):  # a week of ordinary gold steps: about 30 s each
        runlog.record_step(
            config,
            f"ok-{day}",
            "gold",
            "notebooks/03_gold_build.ipynb",
            "ok",
            at - timedelta(days=day, hours=3),
            30.0 + day,
        )
    runlog.record_step(config, "slow", "gold", "notebooks/03_gold_build.ipynb", "ok", at - timedelta(hours=5), 400.0)
    runlog.record_step(config, "broken", "silver", "notebooks/02_silver_validate.ipynb", "failed", at - timedelta(hours=2), 12.0,
                       "step 'silver' failed in cell 3: QualityGateError")  # fmt: skip
    memory = store.MemoryStore()
    only = ["mlops_monitor_step_failed", "mlops_monitor_step_slow"]
    report = evaluation.run_cycle(config, memory, evaluation.spark_runner(spark, config), at, only=only, deliver=False)
    assert not report.errors
    fired = {
        (e["alert_id"], json.loads(e["labels"])["step"]) for e in memory.events.values() if e["to_state"] == "firing"
    }
    assert fired == {("mlops_monitor_step_failed", "silver"), ("mlops_monitor_step_slow", "gold")}
    spark.sql(f"drop table {store.tables.full_name(config, runlog.KEY)}")
    runlog.ensure_table(spark, config)


def test_the_databricks_query_of_every_alert_analyses_on_the_same_layer(account, spark, config):
    """The wrapped one-row query deployed as a SQL alert is valid SQL against the semantic layer."""
    from hm_utils.alerts import deploy

    for definition in load_definitions():
        columns = spark.sql(deploy.alert_query(definition, config)).columns
        assert columns == ["firing_instances", "result_rows", "firing_labels"], definition.id
