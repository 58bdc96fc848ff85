"""Lakeflow jobs and pipelines: definitions (SCD2), runs sliced by clock hour, and their usage.

A run is one or more segments: the first attempt plus, for repaired runs, a repair under the same
run_id (so a repaired run has several terminal rows). Retries are new runs with trigger_type
ONETIME_RETRY. Slices are clock-hour aligned; result_state and termination_code sit only on the
final slice of each segment; the *_duration_seconds columns are filled on that slice too. Only
slices closed by the end of the window are emitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.simulator.billing import UsagePart
from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    US_PER_SECOND,
    SimulationOptions,
    Window,
    build_table,
    concat_strings,
    day_rng,
    dict_catalog,
    hashed_hex,
    hashed_uuids,
    int_strings,
    mix64,
    repeat_scalar,
    split_into_hours,
    take_strings,
    timestamps,
    unit_hash,
    weekday_of,
)
from hm_utils.simulator.entities import NEVER_US, NODE_TYPES, TAG_SETS, TASK_KEYS, Account
from hm_utils.simulator.incidents import IncidentPlan

HISTORY_FIRST_DAY = 19400  # 2023-02-13: the simulated account's first definitions

FAILURE_CODES = [
    "RUN_EXECUTION_ERROR",
    "DRIVER_ERROR",
    "CLUSTER_ERROR",
    "STORAGE_ACCESS_ERROR",
    "LIBRARY_INSTALLATION_ERROR",
    "CLOUD_FAILURE",
    "UNAUTHORIZED_ERROR",
]
FAILURE_WEIGHTS = [0.5, 0.12, 0.1, 0.1, 0.06, 0.07, 0.05]
MAX_REPAIRS = 3  # a repaired run is repaired again while it fails, at most this many times
TERMINATION_TYPE = {
    "SUCCESS": "SUCCESS",
    "CLOUD_FAILURE": "CLOUD_FAILURE",
    "CLUSTER_ERROR": "INTERNAL_ERROR",
    "CANCELLED": "SUCCESS",
    "SKIPPED": "SUCCESS",
}
JOB_PARAMETER_SETS: list[dict[str, dict[str, str]] | None] = [
    None,
    {"env": {"default": "prod", "value": "prod"}},
    {"env": {"default": "prod", "value": "prod"}, "catalog": {"default": "main", "value": "main"}},
    {"full_refresh": {"default": "false", "value": "false"}},
]


@dataclass
class Segments:
    """One row per run attempt segment (numpy columns; strings as Arrow arrays)."""

    job: np.ndarray
    run_id: np.ndarray
    seg_no: np.ndarray
    start: np.ndarray
    end: np.ndarray
    result: np.ndarray
    term: np.ndarray
    trigger: np.ndarray
    cluster_id: pa.Array


def _job_cluster_ids(start: np.ndarray, run_id: np.ndarray, seg_no: np.ndarray) -> pa.Array:
    moment = start.astype("datetime64[us]")
    month = moment.astype("datetime64[M]")
    mmdd = (month.astype(np.int64) % 12 + 1) * 100 + (moment.astype("datetime64[D]") - month).astype(np.int64) + 1
    hhmmss_s = (start % US_PER_DAY) // US_PER_SECOND
    hhmmss = (hhmmss_s // 3600) * 10000 + (hhmmss_s % 3600 // 60) * 100 + hhmmss_s % 60
    return concat_strings(
        pc.utf8_lpad(int_strings(mmdd), 4, "0"),
        "-",
        pc.utf8_lpad(int_strings(hhmmss), 6, "0"),
        "-",
        hashed_hex(8, run_id, seg_no),
    )


MAX_FAIL_PROB = 0.6
BAD_CHANGE_SHARE = 0.03  # share of (job, 4-day block) pairs in which a bad code change makes the job fail often
BAD_CHANGE_DAYS = 4


def run_signals(
    seed: int, jobs: pd.DataFrame, job: np.ndarray, start: np.ndarray, day: int, bad_changes: bool = True
) -> tuple[np.ndarray, ...]:
    """What makes a run fail or run long, from things observable before it starts (docs/simulator.md, ML signals).

    Failure odds (times the job's base rate): x2 for starts between 00:00 and 05:00 UTC (the nightly batch
    window), x0.5 on serverless, x8 while a bad code change is live (a hash of seed, job and 4-day block,
    so it shows in the job's recent failures and is fixed by the next block; an incident of the job's owners, so
    `bad_changes=False` on an account without incidents). Duration (times the job's usual
    time): grows with the input volume since the previous run; a daily job's input is the previous day's
    activity (weekends 0.45 of a weekday), a weekday-only job's Monday run takes Friday to Sunday; half of the
    duration is fixed overhead. Pure functions of (seed, job, day, start): the same draws as before."""
    hour = (start % US_PER_DAY) // US_PER_HOUR
    serverless = jobs.compute.to_numpy()[job] == "SERVERLESS"
    block = day // BAD_CHANGE_DAYS
    bad_change = bad_changes & (unit_hash(seed, 991, job, block) < BAD_CHANGE_SHARE)
    odds = np.where(hour < 5, 2.0, 1.0) * np.where(serverless, 0.5, 1.0) * np.where(bad_change, 8.0, 1.0)
    previous_day_volume = 0.45 if weekday_of(day - 1) >= 5 else 1.0
    monday_backlog = (weekday_of(day) == 0) & jobs.weekday_only.to_numpy()[job]
    daily = jobs.period_h.to_numpy()[job] >= 24
    volume = np.where(monday_backlog, 1.9, np.where(daily, previous_day_volume, 0.45 if weekday_of(day) >= 5 else 1.0))
    return odds, 0.5 + 0.5 * volume


def simulate_job_runs(options: SimulationOptions, account: Account, window: Window, plan: IncidentPlan) -> Segments:
    """All run segments that start in the window (or the day before, for carry-over)."""
    jobs = account.jobs
    n_jobs = len(jobs)
    period = jobs.period_h.to_numpy()
    pieces: list[dict[str, np.ndarray]] = []
    for day in window.days(lead=1):
        rng = day_rng(options, day, "job_runs")
        per_day = 24 // period
        if weekday_of(day) >= 5:
            per_day = np.where(jobs.weekday_only.to_numpy(), 0, per_day)
        paused = np.zeros(n_jobs, bool)
        for stale in plan.on("stale_table", day):
            paused[stale.entity] = True
        alive = _alive(jobs, day)
        per_day = np.where(alive & ~paused, per_day, 0)
        job = np.repeat(np.arange(n_jobs), per_day)
        slot = np.arange(job.size) - np.repeat(np.cumsum(per_day) - per_day, per_day)
        start = (
            day * US_PER_DAY
            + jobs.offset_min.to_numpy()[job] * US_PER_MINUTE
            + slot * period[job] * US_PER_HOUR
            + rng.integers(0, 90 * US_PER_SECOND, job.size)
        )
        trigger = jobs.trigger.to_numpy()[job].astype(object)
        # nobody runs a paused job by hand: its table stays stale
        manual = (rng.random(n_jobs) < 0.02) & alive & ~paused
        if manual.any():
            extra = np.flatnonzero(manual)
            job = np.r_[job, extra]
            slot = np.r_[slot, np.full(extra.size, 99)]
            start = np.r_[start, day * US_PER_DAY + rng.integers(7 * US_PER_HOUR, 18 * US_PER_HOUR, extra.size)]
            trigger = np.r_[trigger, np.full(extra.size, "ONETIME", dtype=object)]
        n = job.size
        fail_odds, volume = run_signals(options.seed, jobs, job, start, day, bad_changes=options.incidents)
        duration = jobs.duration_min.to_numpy()[job] * volume * np.exp(rng.normal(0.0, 0.25, n)) * US_PER_MINUTE
        failed = rng.random(n) < np.minimum(jobs.fail_prob.to_numpy()[job] * fail_odds, MAX_FAIL_PROB)
        code_pick = rng.choice(len(FAILURE_CODES), size=n, p=FAILURE_WEIGHTS)
        state_pick = rng.random(n)
        forced = np.zeros(n, bool)
        for regression in plan.on("duration_regression", day):
            duration = np.where(job == regression.entity, duration * plan.regression_factor, duration)
        for runaway_plan in plan.on("runaway_job", day):
            runaway = (job == runaway_plan.entity) & (slot == 0)
            duration = np.where(runaway, plan.runaway_hours * US_PER_HOUR, duration)
            failed &= ~runaway
        for streak in plan.on("failure_streak", day):
            forced |= (job == streak.entity) & (slot < plan.streak_runs)
        failed |= forced
        code_pick = np.where(forced, FAILURE_CODES.index("DRIVER_ERROR"), code_pick)
        duration = np.where(failed, duration * rng.uniform(0.2, 0.9, n), duration).astype(np.int64)
        result = np.where(
            failed,
            np.where(state_pick < 0.85, "FAILED", np.where(state_pick < 0.95, "TIMED_OUT", "ERROR")),
            "SUCCEEDED",
        ).astype(object)
        result[forced] = "FAILED"
        term = np.where(failed, np.array(FAILURE_CODES, dtype=object)[code_pick], "SUCCESS").astype(object)
        term[(result == "TIMED_OUT")] = "RUN_EXECUTION_ERROR"
        cancelled = ~failed & (rng.random(n) < 0.005)
        result[cancelled], term[cancelled] = "CANCELLED", "CANCELLED"
        run_id = 100_000_000_000_000 + day * 10_000_000 + np.arange(n)
        end = start + duration

        follow = failed & ~forced & (result != "TIMED_OUT")
        retry = follow & (rng.random(n) < 0.35)
        repair = follow & ~retry & (rng.random(n) < 0.3)
        r_idx = np.flatnonzero(retry)
        retry_start = end[r_idx] + rng.integers(60, 300, r_idx.size) * US_PER_SECOND
        retry_ok = rng.random(r_idx.size) < 0.85
        piece = {
            "job": np.r_[job, job[r_idx]],
            "run_id": np.r_[run_id, run_id[-1] + 1 + np.arange(r_idx.size)],
            "seg_no": np.zeros(n + r_idx.size, np.int64),
            "start": np.r_[start, retry_start],
            "end": np.r_[end, retry_start + (end[r_idx] - start[r_idx]) * 2],
            "result": np.r_[result, np.where(retry_ok, "SUCCEEDED", "FAILED")],
            "term": np.r_[term, np.where(retry_ok, "SUCCESS", "RUN_EXECUTION_ERROR")],
            "trigger": np.r_[trigger, np.full(r_idx.size, "ONETIME_RETRY", dtype=object)],
        }
        # repairs under the same run_id: a repair that fails is repaired again, up to MAX_REPAIRS times
        pending, last_end, half = np.flatnonzero(repair), end[repair], duration[repair] // 2
        for attempt in range(1, MAX_REPAIRS + 1):
            if pending.size == 0:
                break
            repair_start = last_end + rng.integers(20, 120, pending.size) * US_PER_MINUTE
            repair_end = repair_start + half + US_PER_MINUTE
            ok = (rng.random(pending.size) < 0.75) | (attempt == MAX_REPAIRS)
            piece = {
                "job": np.r_[piece["job"], job[pending]],
                "run_id": np.r_[piece["run_id"], run_id[pending]],
                "seg_no": np.r_[piece["seg_no"], np.full(pending.size, attempt, np.int64)],
                "start": np.r_[piece["start"], repair_start],
                "end": np.r_[piece["end"], repair_end],
                "result": np.r_[piece["result"], np.where(ok, "SUCCEEDED", "FAILED")],
                "term": np.r_[piece["term"], np.where(ok, "SUCCESS", "RUN_EXECUTION_ERROR")],
                "trigger": np.r_[piece["trigger"], trigger[pending]],
            }
            pending, last_end, half = pending[~ok], repair_end[~ok], half[~ok]
        pieces.append(piece)
    merged = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    compute = jobs.compute.to_numpy()[merged["job"]]
    job_clusters = _job_cluster_ids(merged["start"], merged["run_id"], merged["seg_no"])
    ap_index = jobs.ap_cluster.to_numpy()[merged["job"]]
    ap_ids = take_strings(
        list(account.clusters.cluster_id) + [None], np.where(ap_index < 0, len(account.clusters), ap_index)
    )
    cluster_id = pc.if_else(
        pa.array(compute == "JOB_CLUSTER"),
        job_clusters,
        pc.if_else(pa.array(compute == "ALL_PURPOSE"), ap_ids, pa.nulls(compute.size, pa.string())),
    )
    return Segments(cluster_id=cluster_id, **{k: v for k, v in merged.items()})


def _alive(jobs: pd.DataFrame, day: int) -> np.ndarray:
    """Jobs that exist on epoch day `day` (created before it, not yet deleted)."""
    return (jobs.create_us.to_numpy() // US_PER_DAY <= day) & (day < jobs.delete_us.to_numpy() // US_PER_DAY)


def _compute_lists(compute: np.ndarray, cluster_id: pa.Array) -> tuple[pa.Array, pa.Array]:
    n = compute.size
    classic = compute != "SERVERLESS"
    ids_offsets = np.r_[0, np.cumsum(classic)].astype(np.int32)
    compute_ids = pa.ListArray.from_arrays(pa.array(ids_offsets), cluster_id.filter(pa.array(classic)))
    element = pa.StructArray.from_arrays(
        [
            pa.array(np.where(classic, "CLUSTER", "SERVERLESS").astype(object), pa.string()),
            cluster_id,
            pa.nulls(n, pa.string()),
        ],
        names=["type", "cluster_id", "warehouse_id"],
    )
    compute_list = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), element)
    return compute_ids, compute_list


def _slices(start: np.ndarray, end: np.ndarray, window: Window) -> tuple[np.ndarray, ...]:
    owner, s0, s1 = split_into_hours(start, end)
    last = np.r_[owner[1:] != owner[:-1], True]
    keep = (s0 >= window.start_us) & (s1 <= window.end_us)
    position = np.arange(owner.size) - np.searchsorted(owner, owner)
    return owner[keep], s0[keep], s1[keep], last[keep], position[keep]


def job_run_timeline(options: SimulationOptions, account: Account, window: Window, seg: Segments) -> pa.Table:
    jobs = account.jobs
    owner, s0, s1, last, _ = _slices(seg.start, seg.end, window)
    n = owner.size
    job = seg.job[owner]
    compute = jobs.compute.to_numpy()[job]
    cluster = seg.cluster_id.take(pa.array(owner))
    compute_ids, compute_list = _compute_lists(compute, cluster)
    total_s = (seg.end - seg.start)[owner] // US_PER_SECOND
    setup = np.where(compute == "JOB_CLUSTER", 120 + mix64(seg.run_id[owner]) % 240, 5 + mix64(seg.run_id[owner]) % 25)
    setup = np.minimum(setup.astype(np.int64), total_s // 3)
    queue = (mix64(seg.run_id[owner], 7) % 20).astype(np.int64)
    cleanup = np.minimum(5 + (mix64(seg.run_id[owner], 8) % 25).astype(np.int64), total_s // 5)
    result = np.where(last, seg.result[owner], None)
    term = np.where(last, seg.term[owner], None)
    term_type = np.where(
        last, np.array([TERMINATION_TYPE.get(t, "CLIENT_ERROR") for t in seg.term[owner]], dtype=object), None
    )

    def terminal(values: np.ndarray) -> pa.Array:
        return pc.if_else(pa.array(last), pa.array(values, pa.int64()), pa.nulls(n, pa.int64()))

    params = dict_catalog(JOB_PARAMETER_SETS, pa.map_(pa.string(), pa.string()))
    orchestrated = jobs.triggered_by_task.to_numpy()[job]
    chain = 300_000_000_000_000 + (mix64(seg.run_id[owner], 9) % 10**14).astype(np.int64)
    return build_table(
        "lakeflow.job_run_timeline",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[jobs.ws.to_numpy()[job]], pa.string()),
            "job_id": pa.array(jobs.job_id.to_numpy()[job], pa.string()),
            "run_id": int_strings(seg.run_id[owner]),
            "period_start_time": timestamps(s0),
            "period_end_time": timestamps(s1),
            "trigger_type": pa.array(seg.trigger[owner], pa.string()),
            "result_state": pa.array(result, pa.string()),
            "run_type": repeat_scalar("JOB_RUN", n),
            "run_name": pa.array(jobs.name.to_numpy()[job], pa.string()),
            "compute_ids": compute_ids,
            "termination_code": pa.array(term, pa.string()),
            "job_parameters": params.take(pa.array(jobs.params.to_numpy()[job])),
            "compute": compute_list,
            "termination_type": pa.array(term_type, pa.string()),
            "setup_duration_seconds": terminal(setup),
            "queue_duration_seconds": terminal(queue),
            "run_duration_seconds": terminal(total_s),
            "cleanup_duration_seconds": terminal(cleanup),
            "execution_duration_seconds": terminal(np.maximum(total_s - setup - queue - cleanup, 0)),
            # runs started by a run-job task of an orchestrating job (ids of that task run; UNCONFIRMED linkage)
            "source_task_run_id": pa.array(np.where(orchestrated, chain.astype(str), None), pa.string()),
            "root_task_run_id": pa.array(np.where(orchestrated, (chain - 1).astype(str), None), pa.string()),
        },
    )


def job_task_run_timeline(options: SimulationOptions, account: Account, window: Window, seg: Segments) -> pa.Table:
    jobs = account.jobs
    tasks = jobs.tasks.to_numpy()[seg.job]
    parent = np.repeat(np.arange(seg.job.size), tasks)
    task_no = np.arange(parent.size) - np.repeat(np.cumsum(tasks) - tasks, tasks)
    weight = 0.3 + unit_hash(seg.run_id[parent], seg.seg_no[parent], task_no)
    total = np.bincount(parent, weights=weight, minlength=seg.job.size)
    before = np.cumsum(weight) - weight - np.repeat(np.cumsum(total) - total, tasks)
    span = (seg.end - seg.start)[parent]
    t_start = seg.start[parent] + (span * before / total[parent]).astype(np.int64)
    t_end = seg.start[parent] + (span * (before + weight) / total[parent]).astype(np.int64)
    is_final_task = task_no == tasks[parent] - 1
    t_result = np.where(is_final_task, seg.result[parent], "SUCCEEDED").astype(object)
    t_term = np.where(is_final_task, seg.term[parent], "SUCCESS").astype(object)
    task_run = 200_000_000_000_000 + (
        mix64(seg.run_id[parent], seg.seg_no[parent], task_no) % 700_000_000_000_000
    ).astype(np.int64)

    owner, s0, s1, last, _ = _slices(t_start, t_end, window)
    n = owner.size
    seg_idx = parent[owner]
    job = seg.job[seg_idx]
    compute = jobs.compute.to_numpy()[job]
    compute_ids, compute_list = _compute_lists(compute, seg.cluster_id.take(pa.array(seg_idx)))
    total_s = (t_end - t_start)[owner] // US_PER_SECOND
    setup = np.minimum(np.where(task_no[owner] == 0, 60, 2), total_s // 3)

    def terminal(values: np.ndarray) -> pa.Array:
        return pc.if_else(pa.array(last), pa.array(values, pa.int64()), pa.nulls(n, pa.int64()))

    return build_table(
        "lakeflow.job_task_run_timeline",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[jobs.ws.to_numpy()[job]], pa.string()),
            "job_id": pa.array(jobs.job_id.to_numpy()[job], pa.string()),
            "run_id": int_strings(task_run[owner]),
            "job_run_id": int_strings(seg.run_id[seg_idx]),
            "parent_run_id": int_strings(seg.run_id[seg_idx]),
            "period_start_time": timestamps(s0),
            "period_end_time": timestamps(s1),
            "task_key": take_strings(TASK_KEYS, task_no[owner]),
            "task_parameters": dict_catalog([None, {"env": "prod"}, {"env": "prod", "catalog": "main"}]).take(
                pa.array(jobs.params.to_numpy()[job] % 3)
            ),
            "compute_ids": compute_ids,
            "result_state": pa.array(np.where(last, t_result[owner], None), pa.string()),
            "termination_code": pa.array(np.where(last, t_term[owner], None), pa.string()),
            "compute": compute_list,
            "termination_type": pa.array(
                np.where(
                    last, np.array([TERMINATION_TYPE.get(t, "CLIENT_ERROR") for t in t_term[owner]], dtype=object), None
                ),
                pa.string(),
            ),
            "setup_duration_seconds": terminal(setup),
            "cleanup_duration_seconds": terminal(np.minimum(3, total_s)),
            "execution_duration_seconds": terminal(np.maximum(total_s - setup - 3, 0)),
        },
    )


def job_usage(options: SimulationOptions, account: Account, seg: Segments) -> UsagePart:
    """Usage of job compute and serverless jobs; runs on all-purpose clusters are billed there."""
    jobs, principals = account.jobs, account.principals
    compute = jobs.compute.to_numpy()[seg.job]
    billed = np.flatnonzero(compute != "ALL_PURPOSE")
    owner, s0, s1 = split_into_hours(seg.start[billed], seg.end[billed])
    idx = billed[owner]
    position = np.arange(owner.size) - np.searchsorted(owner, owner)
    job = seg.job[idx]
    n = idx.size
    serverless = compute[idx] == "SERVERLESS"
    node = jobs.node.to_numpy()[job]
    rate = np.where(
        serverless,
        (0.6 + 0.8 * unit_hash(job, 5)) * (jobs.workers.to_numpy()[job] + 1),  # serverless sizes like the job
        np.array([t[4] for t in NODE_TYPES])[node] * (jobs.workers.to_numpy()[job] + 1),
    )
    hours = (s1 - s0) / US_PER_HOUR
    photon = jobs.photon.to_numpy()[job] & ~serverless
    ws = jobs.ws.to_numpy()[job]
    region = account.workspaces.region_sku.to_numpy()[ws]
    sku = np.where(
        serverless,
        "PREMIUM_JOBS_SERVERLESS_COMPUTE_" + region.astype(str),
        np.where(photon, "PREMIUM_JOBS_COMPUTE_(PHOTON)", "PREMIUM_JOBS_COMPUTE"),
    )
    tag_index = np.where(jobs.tags_missing_in_billing.to_numpy()[job], 0, jobs.tags.to_numpy()[job])
    cluster = seg.cluster_id.take(pa.array(idx))
    return UsagePart(
        domain="jobs",
        key=seg.run_id[idx] * 1000 + seg.seg_no[idx] * 100 + position,
        ws=ws,
        hour_us=(s0 // US_PER_HOUR) * US_PER_HOUR,
        micro_units=np.maximum(np.round(rate * hours * 1e6), 1).astype(np.int64),
        sku=pa.array(sku.astype(object), pa.string()),
        columns={
            "custom_tags": tag_catalog().take(pa.array(tag_index)),
            "usage_metadata.cluster_id": cluster,
            "usage_metadata.node_type": pc.if_else(
                pa.array(serverless), pa.nulls(n, pa.string()), take_strings([t[0] for t in NODE_TYPES], node)
            ),
            "usage_metadata.job_id": pa.array(jobs.job_id.to_numpy()[job], pa.string()),
            "usage_metadata.job_run_id": int_strings(seg.run_id[idx]),
            "usage_metadata.job_name": pa.array(jobs.name.to_numpy()[job], pa.string()),
            "identity_metadata.run_as": pa.array(principals.email.to_numpy()[jobs.run_as.to_numpy()[job]], pa.string()),
            "billing_origin_product": repeat_scalar("JOBS", n),
            "product_features.jobs_tier": pa.array(np.where(serverless, None, "CLASSIC"), pa.string()),
            "product_features.is_serverless": serverless,
            "product_features.is_photon": photon,
            "product_features.performance_target": pa.array(
                np.where(serverless, np.where(unit_hash(job, 6) < 0.3, "PERFORMANCE_OPTIMIZED", "STANDARD"), None),
                pa.string(),
            ),
        },
    )


def _health_rules(has_rule: np.ndarray, duration_min: np.ndarray) -> pa.Array:
    """Jobs' health rules: a run-duration threshold of three times the usual duration, when set."""
    n = has_rule.size
    rule = pa.StructArray.from_arrays(
        [
            repeat_scalar("RUN_DURATION_SECONDS", n),
            repeat_scalar("GREATER_THAN", n),
            pa.array((duration_min * 180).astype(np.int64)),
        ],
        names=["metric", "operator", "value"],
    )
    offsets = np.r_[0, np.cumsum(has_rule)].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), rule.filter(pa.array(has_rule)))


def tag_catalog() -> pa.Array:
    """TAG_SETS as a map array; index 0 (no tags) is an empty map."""
    return dict_catalog([e or {} for e in TAG_SETS])


def jobs_scd2(
    options: SimulationOptions, account: Account, window: Window, plan: IncidentPlan
) -> tuple[pa.Table, pa.Table]:
    """lakeflow.jobs (creation row, occasional edits, the stale job's pause) and lakeflow.job_tasks."""
    jobs, principals = account.jobs, account.principals
    n_jobs = len(jobs)
    rows_job, rows_time, rows_paused, rows_timeout = [], [], [], []
    for i in range(n_jobs):
        rows_job.append(i), rows_time.append(jobs.create_us.iat[i]), rows_paused.append(False), rows_timeout.append(0)
    rows_deleted = [False] * n_jobs
    # definitions keep their whole history (not only the window's): edits drawn per day since the account began
    for day in range(HISTORY_FIRST_DAY, window.last_day + 1):
        rng = day_rng(options, day, "job_changes")
        changed = np.flatnonzero((rng.random(n_jobs) < jobs.change_prob.to_numpy()) & _alive(jobs, day))
        for i in changed:
            rows_job.append(i), rows_time.append(day * US_PER_DAY + int(rng.integers(8, 18)) * US_PER_HOUR)
            rows_paused.append(False), rows_timeout.append(int(rng.choice([3600, 7200, 14400])))
            rows_deleted.append(False)
    for i in np.flatnonzero(jobs.delete_us.to_numpy() < NEVER_US):
        rows_job.append(i), rows_time.append(int(jobs.delete_us.iat[i]) + 10 * US_PER_HOUR)
        rows_paused.append(True), rows_timeout.append(0), rows_deleted.append(True)
    for stale in plan.of("stale_table"):  # paused the evening before, resumed when the pause ends
        rows_job += [stale.entity, stale.entity]
        rows_time += [stale.day * US_PER_DAY - 2 * US_PER_HOUR, (stale.last_day + 1) * US_PER_DAY + 9 * US_PER_HOUR]
        rows_paused += [True, False]
        rows_timeout += [0, 0]
        rows_deleted += [False, False]
    job = np.array(rows_job)
    n = job.size
    period = jobs.period_h.to_numpy()[job]
    cron = np.array(
        [
            f"0 {m % 60} {'*' if p < 24 else (m // 60) % 24} * * ?"
            for m, p in zip(jobs.offset_min.to_numpy()[job], period, strict=False)
        ],
        dtype=object,
    )
    trigger = jobs.trigger.to_numpy()[job]
    emails = principals.email.to_numpy()
    jobs_table = build_table(
        "lakeflow.jobs",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[jobs.ws.to_numpy()[job]], pa.string()),
            "job_id": pa.array(jobs.job_id.to_numpy()[job], pa.string()),
            "name": pa.array(jobs.name.to_numpy()[job], pa.string()),
            "creator_id": pa.array(principals.user_id.to_numpy()[jobs.creator.to_numpy()[job]], pa.string()),
            "tags": tag_catalog().take(pa.array(jobs.tags.to_numpy()[job])),
            "run_as": pa.array(principals.user_id.to_numpy()[jobs.run_as.to_numpy()[job]], pa.string()),
            "change_time": timestamps(np.array(rows_time, dtype=np.int64)),
            "description": pa.array(jobs.description.to_numpy()[job], pa.string()),
            "trigger.schedule.quartz_cron_expression": pa.array(np.where(trigger == "CRON", cron, None), pa.string()),
            "trigger.schedule.timezone_id": pa.array(np.where(trigger == "CRON", "UTC", None), pa.string()),
            "trigger.schedule.__null__": trigger != "CRON",
            "trigger.periodic.interval": pa.array(period, pa.int32()),
            "trigger.periodic.units": pa.array(np.where(trigger == "PERIODIC", "HOURS", None), pa.string()),
            "trigger.periodic.__null__": trigger != "PERIODIC",
            "trigger.file_arrival.url": pa.array(
                np.where(trigger == "FILE_ARRIVAL", "s3://landing/incoming/", None), pa.string()
            ),
            "trigger.file_arrival.min_time_between_triggers_seconds": pa.array(np.full(n, 300), pa.int32()),
            "trigger.file_arrival.wait_after_last_change_seconds": pa.array(np.full(n, 60), pa.int32()),
            "trigger.file_arrival.__null__": trigger != "FILE_ARRIVAL",
            "trigger.continuous.enabled": np.ones(n, bool),
            "trigger.continuous.__null__": trigger != "CONTINUOUS",
            "trigger.table_update.table_names": pa.ListArray.from_arrays(
                pa.array(np.arange(n + 1, dtype=np.int32)),
                take_strings(list(account.tables.source_a), job % len(account.tables)),
            ),
            "trigger.table_update.min_time_between_triggers_seconds": np.full(n, 600, np.int64),
            "trigger.table_update.wait_after_last_change_seconds": np.full(n, 120, np.int64),
            "trigger.table_update.condition": repeat_scalar("ANY_UPDATED", n),
            "trigger.table_update.__null__": trigger != "TABLE_UPDATE",
            "health_rules": _health_rules(jobs.health_rule.to_numpy()[job], jobs.duration_min.to_numpy()[job]),
            "deployment.kind": repeat_scalar("BUNDLE", n),
            "deployment.metadata_file_path": concat_strings(
                "/Workspace/Users/",
                pa.array(emails[jobs.creator.to_numpy()[job]], pa.string()),
                "/.bundle/etl/files/databricks.yml",
            ),
            "deployment.__null__": ~jobs.bundle.to_numpy()[job],
            "delete_time": pa.array(np.where(np.array(rows_deleted), np.array(rows_time), None), pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "trigger_type": pa.array(trigger.astype(object), pa.string()),
            "run_as_user_name": pa.array(emails[jobs.run_as.to_numpy()[job]], pa.string()),
            "creator_user_name": pa.array(emails[jobs.creator.to_numpy()[job]], pa.string()),
            "paused": np.array(rows_paused),
            "timeout_seconds": pa.array(np.where(np.array(rows_timeout) > 0, rows_timeout, None), pa.int64()),
            "create_time": timestamps(jobs.create_us.to_numpy()[job]),
        },
    )
    tasks = jobs.tasks.to_numpy()
    t_job = np.repeat(np.arange(n_jobs), tasks)
    t_no = np.arange(t_job.size) - np.repeat(np.cumsum(tasks) - tasks, tasks)
    gone = np.flatnonzero(jobs.delete_us.to_numpy()[t_job] < NEVER_US)  # a deleted job's tasks get a deletion row
    t_change = np.r_[jobs.create_us.to_numpy()[t_job], jobs.delete_us.to_numpy()[t_job[gone]] + 10 * US_PER_HOUR]
    t_deleted = np.r_[np.zeros(t_job.size, bool), np.ones(gone.size, bool)]
    t_job, t_no = np.r_[t_job, t_job[gone]], np.r_[t_no, t_no[gone]]
    depends = pa.ListArray.from_arrays(
        pa.array(np.r_[0, np.cumsum(t_no > 0)].astype(np.int32)), take_strings(TASK_KEYS, t_no[t_no > 0] - 1)
    )
    m = t_job.size
    tasks_table = build_table(
        "lakeflow.job_tasks",
        m,
        {
            "account_id": repeat_scalar(account.account_id, m),
            "workspace_id": pa.array(
                account.workspaces.workspace_id.to_numpy()[jobs.ws.to_numpy()[t_job]], pa.string()
            ),
            "job_id": pa.array(jobs.job_id.to_numpy()[t_job], pa.string()),
            "task_key": take_strings(TASK_KEYS, t_no),
            "depends_on_keys": depends,
            "change_time": timestamps(t_change),
            "timeout_seconds": pa.array(np.full(m, 3600), pa.int64()),
            "health_rules": _health_rules(jobs.health_rule.to_numpy()[t_job], jobs.duration_min.to_numpy()[t_job] / 2),
            "delete_time": pa.array(np.where(t_deleted, t_change, None), pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        },
    )
    return jobs_table, tasks_table


@dataclass
class Updates:
    """Pipeline update attempts."""

    pipeline: np.ndarray
    update_key: np.ndarray
    start: np.ndarray
    end: np.ndarray
    result: np.ndarray


def simulate_pipeline_updates(options: SimulationOptions, account: Account, window: Window) -> Updates:
    pipes = account.pipelines
    period = pipes.period_h.to_numpy()
    pieces = []
    for day in window.days(lead=1):
        rng = day_rng(options, day, "pipeline_updates")
        per_day = 24 // period
        pipe = np.repeat(np.arange(len(pipes)), per_day)
        slot = np.arange(pipe.size) - np.repeat(np.cumsum(per_day) - per_day, per_day)
        start = (
            day * US_PER_DAY
            + pipes.offset_min.to_numpy()[pipe] * US_PER_MINUTE
            + slot * period[pipe] * US_PER_HOUR
            + rng.integers(0, 60 * US_PER_SECOND, pipe.size)
        )
        duration = (pipes.duration_min.to_numpy()[pipe] * np.exp(rng.normal(0, 0.3, pipe.size)) * US_PER_MINUTE).astype(
            np.int64
        )
        draw = rng.random(pipe.size)
        result = np.where(draw < 0.04, "FAILED", np.where(draw < 0.05, "CANCELED", "COMPLETED")).astype(object)
        pieces.append((pipe, day * 1000 + slot, start, start + duration, result))
    return Updates(*(np.concatenate([p[i] for p in pieces]) for i in range(5)))


def pipeline_tables(
    options: SimulationOptions, account: Account, window: Window, upd: Updates
) -> tuple[pa.Table, pa.Table, UsagePart]:
    """lakeflow.pipelines, lakeflow.pipeline_update_timeline and DLT usage."""
    pipes, principals = account.pipelines, account.principals
    update_id = hashed_uuids(options.seed, 77, mix64(upd.pipeline, upd.update_key))
    request_id = hashed_uuids(options.seed, 78, mix64(upd.pipeline, upd.update_key))
    owner, s0, s1, last, _ = _slices(upd.start, upd.end, window)
    n = owner.size
    pipe = upd.pipeline[owner]
    serverless = pipes.serverless.to_numpy()[pipe]
    ws_ids = account.workspaces.workspace_id.to_numpy()
    emails = principals.email.to_numpy()
    by_task = unit_hash(upd.update_key[owner], pipe, 4) < 0.33
    selected = unit_hash(upd.update_key[owner], pipe, 5) < 0.1  # updates limited to some tables
    pick = (unit_hash(upd.update_key[owner], pipe, 6) * 3).astype(int)

    def _selection(mask: np.ndarray, pipe: np.ndarray) -> pa.Array:
        offsets = np.r_[0, np.cumsum(mask)].astype(np.int32)
        names = pa.array([f"{name}_table" for name in pipes.name.to_numpy()[pipe[mask]]], pa.string())
        return pa.ListArray.from_arrays(pa.array(offsets), names)

    timeline = build_table(
        "lakeflow.pipeline_update_timeline",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(ws_ids[pipes.ws.to_numpy()[pipe]], pa.string()),
            "pipeline_id": pa.array(pipes.pipeline_id.to_numpy()[pipe], pa.string()),
            "update_id": update_id.take(pa.array(owner)),
            "update_type": pa.array(
                np.where(unit_hash(upd.update_key[owner], 3) < 0.05, "FULL_REFRESH", "REFRESH").astype(object),
                pa.string(),
            ),
            "request_id": request_id.take(pa.array(owner)),
            "run_as_user_name": pa.array(emails[pipes.run_as.to_numpy()[pipe]], pa.string()),
            "trigger_type": repeat_scalar("API_CALL", n),
            "result_state": pa.array(np.where(last, upd.result[owner], None), pa.string()),
            "compute.type": pa.array(np.where(serverless, "SERVERLESS", "CLASSIC").astype(object), pa.string()),
            # a third of the updates are started by a pipeline task of a job (ids UNCONFIRMED as linked)
            "trigger_details.job_task.job_id": pa.array(
                np.where(by_task, account.jobs.job_id.to_numpy()[pipe % len(account.jobs)], None), pa.string()
            ),
            "trigger_details.job_task.job_run_id": pa.array(
                np.where(by_task, (100_000_000_000_000 + upd.update_key[owner]).astype(str), None), pa.string()
            ),
            "trigger_details.job_task.__null__": ~by_task,
            "trigger_details.__null__": ~by_task,
            "refresh_selection": _selection(selected & (pick == 0), pipe),
            "full_refresh_selection": _selection(selected & (pick == 1), pipe),
            "reset_checkpoint_selection": _selection(selected & (pick == 2), pipe),
            "compute.cluster_id": pa.array(np.where(serverless, None, pipes.cluster_id.to_numpy()[pipe]), pa.string()),
            "period_start_time": timestamps(s0),
            "period_end_time": timestamps(s1),
        },
    )
    m = len(pipes)
    definitions = build_table(
        "lakeflow.pipelines",
        m,
        {
            "account_id": repeat_scalar(account.account_id, m),
            "workspace_id": pa.array(ws_ids[pipes.ws.to_numpy()], pa.string()),
            "pipeline_id": pa.array(pipes.pipeline_id.to_numpy(), pa.string()),
            "pipeline_type": repeat_scalar("ETL_PIPELINE", m),
            "name": pa.array(pipes.name.to_numpy(), pa.string()),
            "created_by": pa.array(emails[pipes.creator.to_numpy()], pa.string()),
            "run_as": pa.array(emails[pipes.run_as.to_numpy()], pa.string()),
            "tags": tag_catalog().take(pa.array(pipes.tags.to_numpy())),
            "settings.photon": pipes.photon.to_numpy(),
            "settings.development": np.zeros(m, bool),
            "settings.continuous": pipes.continuous.to_numpy(),
            "settings.serverless": pipes.serverless.to_numpy(),
            "settings.edition": pa.array(pipes.edition.to_numpy(), pa.string()),
            "settings.channel": repeat_scalar("CURRENT", m),
            "configuration": dict_catalog([{"pipelines.trigger.interval": "1 hour"}] * m),
            "change_time": timestamps(pipes.create_us.to_numpy()),
        },
    )
    definitions = pa.concat_tables([definitions, retired_rows(definitions, "delete_time", account.account_id)])

    u_owner, u0, u1 = split_into_hours(upd.start, upd.end)
    u_pipe = upd.pipeline[u_owner]
    k = u_owner.size
    u_serverless = pipes.serverless.to_numpy()[u_pipe]
    edition = pipes.edition.to_numpy()[u_pipe]
    photon = pipes.photon.to_numpy()[u_pipe] & ~u_serverless
    node = pipes.node.to_numpy()[u_pipe]
    rate = np.where(
        u_serverless,
        3.0 + 5.0 * unit_hash(u_pipe, 9),
        np.array([t[4] for t in NODE_TYPES])[node] * (pipes.workers.to_numpy()[u_pipe] + 1),
    )
    ws = pipes.ws.to_numpy()[u_pipe]
    region = account.workspaces.region_sku.to_numpy()[ws].astype(str)
    sku = np.where(
        u_serverless,
        "PREMIUM_JOBS_SERVERLESS_COMPUTE_" + region,
        "PREMIUM_DLT_" + edition.astype(str) + "_COMPUTE" + np.where(photon, "_(PHOTON)", ""),
    )
    tag_index = np.where(pipes.tags_missing_in_billing.to_numpy()[u_pipe], 0, pipes.tags.to_numpy()[u_pipe])
    position = np.arange(k) - np.searchsorted(u_owner, u_owner)
    usage = UsagePart(
        domain="dlt",
        key=mix64(u_pipe, upd.update_key[u_owner], position).astype(np.int64) >> 1,
        ws=ws,
        hour_us=(u0 // US_PER_HOUR) * US_PER_HOUR,
        micro_units=np.maximum(np.round(rate * (u1 - u0) / US_PER_HOUR * 1e6), 1).astype(np.int64),
        sku=pa.array(sku.astype(object), pa.string()),
        columns={
            "custom_tags": tag_catalog().take(pa.array(tag_index)),
            "usage_metadata.cluster_id": pa.array(
                np.where(u_serverless, None, pipes.cluster_id.to_numpy()[u_pipe]), pa.string()
            ),
            "usage_metadata.node_type": pa.array(
                np.where(u_serverless, None, np.array([t[0] for t in NODE_TYPES], dtype=object)[node]), pa.string()
            ),
            "usage_metadata.dlt_pipeline_id": pa.array(pipes.pipeline_id.to_numpy()[u_pipe], pa.string()),
            "usage_metadata.dlt_update_id": update_id.take(pa.array(u_owner)),
            "identity_metadata.run_as": pa.array(emails[pipes.run_as.to_numpy()[u_pipe]], pa.string()),
            "billing_origin_product": repeat_scalar("DLT", k),
            "product_features.dlt_tier": pa.array(edition, pa.string()),
            "product_features.is_serverless": u_serverless,
            "product_features.is_photon": photon,
        },
    )
    return definitions, timeline, usage


def retired_rows(table: pa.Table, delete_column: str, account_id: str) -> pa.Table:
    """Two rows (created, then deleted) for a resource retired before the simulated period: SCD2 tables
    keep deleted resources with their delete time. Copies the first row with a new id and old dates."""
    if table.num_rows == 0:
        return table.slice(0, 0)
    created, deleted = 19_450 * US_PER_DAY, 19_700 * US_PER_DAY
    rows = pa.concat_tables([table.slice(0, 1), table.slice(0, 1)])
    id_column = table.schema.names[
        [name.endswith("_id") and name not in ("account_id", "workspace_id") for name in table.schema.names].index(True)
    ]
    rows = rows.set_column(
        rows.schema.get_field_index(id_column), id_column, pa.array([f"retired-{account_id[:8]}"] * 2, pa.string())
    )
    for name in ("change_time", "create_time"):
        if name in rows.schema.names:
            values = pa.array([created, deleted], pa.int64()).cast(rows.schema.field(name).type)
            rows = rows.set_column(rows.schema.get_field_index(name), name, values)
    values = pa.array([None, deleted], pa.int64()).cast(rows.schema.field(delete_column).type)
    return rows.set_column(rows.schema.get_field_index(delete_column), delete_column, values)


def segments_frame(account: Account, seg: Segments) -> pd.DataFrame:
    """Run segments as a small frame (for lineage, queries and ground truth)."""
    return pd.DataFrame(
        {
            "job": seg.job,
            "run_id": seg.run_id,
            "seg_no": seg.seg_no,
            "start": seg.start,
            "end": seg.end,
            "result": seg.result,
            "term": seg.term,
            "ws": account.jobs.ws.to_numpy()[seg.job],
        }
    )
