"""Gold operations transforms on tiny hand-made frames: run assembly from hourly slices, repairs and the cost of
failed attempts, SCD2 versions, compute classification and audit flags."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from hm_utils import system_schema
from hm_utils.gold import operations as ops

pytestmark = pytest.mark.engine

WS = "1001"


def ts(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute)  # naive: Spark returns naive UTC timestamps (engine and tests in UTC)


def system_frame(spark, table: str, rows: list[dict]):
    """A DataFrame with the exact columns of system table `table`; columns a row does not give are NULL."""
    columns = [name for name, _ in system_schema.table_columns(table)]
    return spark.createDataFrame([[row.get(c) for c in columns] for row in rows], system_schema.spark_type_ddl(table))


def slice_(
    run_id: str,
    start: datetime,
    end: datetime,
    result=None,
    code=None,
    trigger="CRON",
    cluster="c-job-1",
    compute_type="CLUSTER",
) -> dict:
    return {
        "workspace_id": WS,
        "job_id": "j1",
        "run_id": run_id,
        "period_start_time": start,
        "period_end_time": end,
        "trigger_type": trigger,
        "run_type": "JOB_RUN",
        "run_name": "nightly",
        "result_state": result,
        "termination_code": code,
        "compute_ids": [cluster] if cluster else [],
        "compute": [{"type": compute_type, "cluster_id": cluster, "warehouse_id": None}],
    }


def clusters_dim(spark, rows: list[tuple[str, str]]):
    """dim_cluster from (cluster_id, cluster_source) pairs."""
    frame = system_frame(
        spark,
        "compute.clusters",
        [
            {"workspace_id": WS, "cluster_id": cid, "cluster_source": source, "change_time": ts(0, day=1)}
            for cid, source in rows
        ],
    )
    return ops.dim_cluster_frame(frame)


def hour_cost(spark, rows: list[tuple[str, datetime, str, str]]):
    """Run-hour cost rows (run_id, hour_start, list_cost, cost_source); dbus = effective = list here."""
    return spark.createDataFrame(
        [(WS, run, hour, Decimal(cost), Decimal(cost), Decimal(cost), source) for run, hour, cost, source in rows],
        "workspace_id string, run_id string, hour_start timestamp, dbus decimal(38,18), list_cost decimal(38,10), "
        "effective_cost decimal(38,10), cost_source string",
    )


def test_a_long_run_split_into_hourly_slices_becomes_one_run(spark):
    slices = [
        slice_("r1", ts(9, 40), ts(10)),
        slice_("r1", ts(10), ts(11)),
        slice_("r1", ts(11), ts(12)),
        slice_("r1", ts(12), ts(12, 25), "FAILED", "DRIVER_ERROR"),
    ]
    timeline = system_frame(spark, "lakeflow.job_run_timeline", slices)
    runs = ops.job_runs_frame(timeline, clusters_dim(spark, [("c-job-1", "JOB")]), hour_cost(spark, []))
    [run] = runs.collect()
    assert (run.start_time, run.end_time) == (ts(9, 40), ts(12, 25))
    assert run.duration_seconds == run.active_seconds == (2 * 3600 + 45 * 60)
    assert (run.result_state, run.termination_code, run.is_failure, run.is_completed) == (
        "FAILED",
        "DRIVER_ERROR",
        True,
        True,
    )
    assert (run.attempts, run.repairs, run.slice_count, run.is_retry) == (1, 0, 4, False)
    assert (run.compute_type, run.is_all_purpose, run.cost_source) == ("JOB_CLUSTER", False, "NONE")
    assert str(run.run_date) == "2026-03-10"


def test_a_repaired_run_counts_repairs_and_splits_failed_cost_by_attempt_time(spark):
    # attempt 1 fails at 10:20; the repair runs 10:40-11:30 and succeeds: the 10:00 hour is 20 min failed, 20 ok
    slices = [
        slice_("r2", ts(10), ts(10, 20), "FAILED", "RUN_EXECUTION_ERROR"),
        slice_("r2", ts(10, 40), ts(11)),
        slice_("r2", ts(11), ts(11, 30), "SUCCEEDED", "SUCCESS"),
    ]
    timeline = system_frame(spark, "lakeflow.job_run_timeline", slices)
    cost = hour_cost(spark, [("r2", ts(10), "4.0", "JOB_USAGE"), ("r2", ts(11), "3.0", "JOB_USAGE")])
    [run] = ops.job_runs_frame(timeline, clusters_dim(spark, [("c-job-1", "JOB")]), cost).collect()
    assert (run.attempts, run.repairs) == (2, 1)
    assert (run.result_state, run.first_result_state, run.is_success) == ("SUCCEEDED", "FAILED", True)
    assert run.duration_seconds == 90 * 60 and run.active_seconds == 70 * 60
    assert run.list_cost == Decimal("7.0")
    assert run.failed_list_cost == Decimal("2.0")  # half of the 10:00 hour, nothing of 11:00


def test_a_failed_run_costs_everything_including_hours_without_slices(spark):
    slices = [slice_("r3", ts(8), ts(8, 50), "TIMED_OUT", "RUN_EXECUTION_ERROR")]
    timeline = system_frame(spark, "lakeflow.job_run_timeline", slices)
    cost = hour_cost(spark, [("r3", ts(8), "1.5", "JOB_USAGE"), ("r3", ts(9), "0.25", "JOB_USAGE")])
    [run] = ops.job_runs_frame(timeline, clusters_dim(spark, [("c-job-1", "JOB")]), cost).collect()
    assert run.is_failure and run.failed_list_cost == run.list_cost == Decimal("1.75")


def test_runs_in_progress_retries_and_all_purpose_compute(spark):
    slices = [
        slice_("r4", ts(7), ts(8), cluster="c-ap"),  # still running: no terminal slice yet
        slice_("r5", ts(7), ts(7, 30), "SUCCEEDED", "SUCCESS", trigger="ONETIME_RETRY", cluster="c-ap"),
        slice_("r6", ts(7), ts(7, 10), "SUCCEEDED", "SUCCESS", cluster=None, compute_type="SERVERLESS"),
    ]
    timeline = system_frame(spark, "lakeflow.job_run_timeline", slices)
    cost = hour_cost(spark, [("r5", ts(7), "0.5", "ALL_PURPOSE_SHARE")])
    runs = {r.run_id: r for r in ops.job_runs_frame(timeline, clusters_dim(spark, [("c-ap", "UI")]), cost).collect()}
    assert (runs["r4"].is_completed, runs["r4"].result_state, runs["r4"].attempts, runs["r4"].repairs) == (
        False,
        None,
        0,
        0,
    )
    assert runs["r5"].is_retry and runs["r5"].is_all_purpose and runs["r5"].cost_source == "ALL_PURPOSE_SHARE"
    assert runs["r5"].list_cost == Decimal("0.5") and runs["r5"].failed_list_cost == 0
    assert (runs["r6"].compute_type, runs["r6"].cluster_id, runs["r6"].list_cost) == ("SERVERLESS", None, 0)


def test_task_runs_are_assembled_per_task_run_id(spark):
    rows = [
        {
            "workspace_id": WS,
            "job_id": "j1",
            "run_id": "t1",
            "job_run_id": "r1",
            "parent_run_id": "r1",
            "task_key": "ingest",
            "period_start_time": ts(9, 30),
            "period_end_time": ts(10),
        },
        {
            "workspace_id": WS,
            "job_id": "j1",
            "run_id": "t1",
            "job_run_id": "r1",
            "parent_run_id": "r1",
            "task_key": "ingest",
            "period_start_time": ts(10),
            "period_end_time": ts(10, 5),
            "result_state": "FAILED",
            "termination_code": "DRIVER_ERROR",
        },
    ]
    [task] = ops.task_runs_frame(system_frame(spark, "lakeflow.job_task_run_timeline", rows)).collect()
    assert (task.task_run_id, task.job_run_id, task.duration_seconds, task.result_state) == (
        "t1",
        "r1",
        35 * 60,
        "FAILED",
    )
    assert (task.slice_count, task.attempts, task.is_failure, task.compute_type) == (2, 1, True, "UNKNOWN")


def test_scd2_versions_close_each_version_at_the_next_change(spark):
    rows = [
        {"workspace_id": WS, "job_id": "j1", "name": name, "change_time": ts(0, day=day)}
        for name, day in (("old", 1), ("renamed", 5), ("latest", 9))
    ]
    rows.append({"workspace_id": WS, "job_id": "j2", "name": "only", "change_time": ts(0, day=2)})
    dim = {(r.job_id, r.job_name): r for r in ops.dim_job_frame(system_frame(spark, "lakeflow.jobs", rows)).collect()}
    assert dim[("j1", "old")].valid_to == ts(0, day=5) and not dim[("j1", "old")].is_current
    assert dim[("j1", "renamed")].valid_to == ts(0, day=9)
    assert dim[("j1", "latest")].valid_to is None and dim[("j1", "latest")].is_current
    assert dim[("j2", "only")].is_current and dim[("j2", "only")].tags == {}


def test_cluster_kind_comes_from_cluster_source(spark):
    dim = {
        r.cluster_id: r
        for r in clusters_dim(
            spark, [("a", "UI"), ("b", "API"), ("c", "JOB"), ("d", "PIPELINE"), ("e", "SQL")]
        ).collect()
    }
    assert {k: (v.compute_kind, v.is_all_purpose) for k, v in dim.items()} == {
        "a": ("ALL_PURPOSE", True),
        "b": ("ALL_PURPOSE", True),
        "c": ("JOB", False),
        "d": ("PIPELINE", False),
        "e": ("OTHER", False),
    }


def test_audit_flags(spark):
    def event(event_id, service, action, status=200, params=None, email="a@x.com"):
        return {
            "event_id": event_id,
            "event_time": ts(3),
            "event_date": ts(3).date(),
            "workspace_id": WS,
            "service_name": service,
            "action_name": action,
            "request_params": params or {},
            "user_identity": {"email": email, "subject_name": None},
            "response": {"status_code": status, "error_message": None, "result": None},
            "source_ip_address": "10.0.0.1",
            "_hm_ingested_at": ts(4),
        }

    rows = [
        event("e1", "accounts", "login", 401, {"user": "v@x.com"}, email=None),
        event("e2", "accounts", "tokenLogin", 200),
        event("e3", "accounts", "setAdmin"),
        event("e4", "unityCatalog", "updatePermissions", params={"securable_full_name": "main.s.t"}),
        event("e5", "accounts", "generateDbToken"),
        event("e6", "databrickssql", "downloadQueryResult"),
        event("e7", "unityCatalog", "getTable", params={"full_name_arg": "main.s.u"}),
    ]
    audit = system_frame(spark, "access.audit", rows)
    audit = audit.withColumn("_hm_ingested_at", audit.event_time)
    flags = ["is_failed_login", "is_admin_change", "is_permission_change", "is_token_event", "is_download"]
    got = {r.event_id: r for r in ops.audit_events_frame(audit).collect()}
    assert {e: [f for f in flags if getattr(r, f)] for e, r in got.items()} == {
        "e1": ["is_failed_login"],
        "e2": [],
        "e3": ["is_admin_change"],
        "e4": ["is_permission_change"],
        "e5": ["is_token_event"],
        "e6": ["is_download"],
        "e7": [],
    }
    assert got["e1"].user_email == "v@x.com" and got["e2"].user_email == "a@x.com"
    assert (got["e4"].securable_full_name, got["e7"].securable_full_name) == ("main.s.t", "main.s.u")
    [day] = ops.daily_security_frame(ops.audit_events_frame(audit)).collect()
    assert (
        day.events,
        day.failed_logins,
        day.admin_changes,
        day.permission_changes,
        day.token_events,
        day.downloads,
        day.logins,
        day.distinct_ips,
    ) == (7, 1, 1, 1, 1, 1, 2, 1)
