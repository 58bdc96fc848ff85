"""Gold job facts on tiny hand-made frames: run assembly from hourly slices, repairs and the cost of failed
attempts, retries, compute classification and task runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from hm_utils.gold import jobs

from .gold_frames import WS, clusters_dim, system_frame, ts

pytestmark = pytest.mark.engine


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
    runs = jobs.job_runs_frame(timeline, clusters_dim(spark, [("c-job-1", "JOB")]), hour_cost(spark, []))
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
    [run] = jobs.job_runs_frame(timeline, clusters_dim(spark, [("c-job-1", "JOB")]), cost).collect()
    assert (run.attempts, run.repairs) == (2, 1)
    assert (run.result_state, run.first_result_state, run.is_success) == ("SUCCEEDED", "FAILED", True)
    assert run.duration_seconds == 90 * 60 and run.active_seconds == 70 * 60
    assert run.list_cost == Decimal("7.0")
    assert run.failed_list_cost == Decimal("2.0")  # half of the 10:00 hour, nothing of 11:00


def test_a_failed_run_costs_everything_including_hours_without_slices(spark):
    slices = [slice_("r3", ts(8), ts(8, 50), "TIMED_OUT", "RUN_EXECUTION_ERROR")]
    timeline = system_frame(spark, "lakeflow.job_run_timeline", slices)
    cost = hour_cost(spark, [("r3", ts(8), "1.5", "JOB_USAGE"), ("r3", ts(9), "0.25", "JOB_USAGE")])
    [run] = jobs.job_runs_frame(timeline, clusters_dim(spark, [("c-job-1", "JOB")]), cost).collect()
    assert run.is_failure and run.failed_list_cost == run.list_cost == Decimal("1.75")


def test_runs_in_progress_retries_and_all_purpose_compute(spark):
    slices = [
        slice_("r4", ts(7), ts(8), cluster="c-ap"),  # still running: no terminal slice yet
        slice_("r5", ts(7), ts(7, 30), "SUCCEEDED", "SUCCESS", trigger="ONETIME_RETRY", cluster="c-ap"),
        slice_("r6", ts(7), ts(7, 10), "SUCCEEDED", "SUCCESS", cluster=None, compute_type="SERVERLESS"),
    ]
    timeline = system_frame(spark, "lakeflow.job_run_timeline", slices)
    cost = hour_cost(spark, [("r5", ts(7), "0.5", "ALL_PURPOSE_SHARE")])
    runs = {r.run_id: r for r in jobs.job_runs_frame(timeline, clusters_dim(spark, [("c-ap", "UI")]), cost).collect()}
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
    [task] = jobs.task_runs_frame(system_frame(spark, "lakeflow.job_task_run_timeline", rows)).collect()
    assert (task.task_run_id, task.job_run_id, task.duration_seconds, task.result_state) == (
        "t1",
        "r1",
        35 * 60,
        "FAILED",
    )
    assert (task.slice_count, task.attempts, task.is_failure, task.compute_type) == (2, 1, True, "UNKNOWN")
