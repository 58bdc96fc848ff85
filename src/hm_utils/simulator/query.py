"""query.history: SQL statements on the account's warehouses (and a few on serverless compute).

Volume follows the weekly pattern; most statements fall in each warehouse's working hours; some
are issued by job runs (query_source.job_info links to the run). The queueing incident adds a
burst with long `waiting_at_capacity_duration_ms` on one warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    SimulationOptions,
    Window,
    activity_factor,
    build_table,
    concat_strings,
    day_rng,
    hashed_hex,
    hashed_uuids,
    int_strings,
    repeat_scalar,
    take_strings,
    timestamps,
    unit_hash,
)
from hm_utils.simulator.entities import Account
from hm_utils.simulator.incidents import IncidentPlan
from hm_utils.simulator.lakeflow import Segments

STATEMENT_TYPES = ["SELECT", "INSERT", "MERGE", "CREATE", "SHOW", "DESCRIBE", "UPDATE"]
STATEMENT_WEIGHTS = [0.72, 0.08, 0.05, 0.04, 0.05, 0.04, 0.02]
CLIENTS = [
    "Databricks SQL Editor",
    "Databricks SQL Dashboard",
    "Tableau",
    "Power BI",
    "dbt",
    "Genie",
    "Databricks Notebooks",
]
DRIVERS = [
    None,
    None,
    "Databricks JDBC Driver",
    "Databricks ODBC Driver",
    "Databricks SQL Connector for Python",
    None,
    None,
]
ERRORS = [
    "[TABLE_OR_VIEW_NOT_FOUND] The table or view cannot be found.",
    "[DIVIDE_BY_ZERO] Division by zero.",
    "[UNRESOLVED_COLUMN] A column cannot be resolved.",
    "Query exceeded the maximum allowed memory.",
]
QUERIES_PER_DAY_AT_SCALE_1 = 100_000


@dataclass
class Queries:
    """Statements before they become a table (numpy columns)."""

    wh: np.ndarray
    start: np.ndarray
    end: np.ndarray
    key: np.ndarray
    queued_ms: np.ndarray
    job_seg: np.ndarray  # index into Segments or -1


def simulate_queries(
    options: SimulationOptions, account: Account, window: Window, plan: IncidentPlan, seg: Segments
) -> Queries:
    wh = account.warehouses
    weight = wh.queries_per_day.to_numpy() / wh.queries_per_day.sum()
    parts = []
    for day in window.days(lead=1):
        rng = day_rng(options, day, "queries")
        counts = rng.poisson(QUERIES_PER_DAY_AT_SCALE_1 * options.scale * activity_factor(day) * weight)
        w = np.repeat(np.arange(len(wh)), counts)
        n = w.size
        in_hours = rng.random(n) < 0.95
        hour = np.where(
            in_hours, wh.start_hour.to_numpy()[w] + rng.random(n) * wh.hours.to_numpy()[w], rng.random(n) * 24
        )
        start = day * US_PER_DAY + (np.clip(hour, 0, 23.99) * US_PER_HOUR).astype(np.int64)
        exec_ms = np.exp(rng.normal(np.log(900), 1.3, n)).astype(np.int64) + 20
        queued = np.where(rng.random(n) < 0.04, rng.integers(100, 5000, n), 0)
        key = day * 10_000_000 + np.arange(n)
        job_seg = np.full(n, -1)
        for queueing in plan.on("warehouse_queueing", day):
            extra = max(40, int(2000 * options.scale))
            w = np.r_[w, np.full(extra, queueing.entity)]
            start = np.r_[start, day * US_PER_DAY + 10 * US_PER_HOUR + rng.integers(0, 2 * US_PER_HOUR, extra)]
            exec_ms = np.r_[exec_ms, rng.integers(2_000, 30_000, extra)]
            queued = np.r_[queued, rng.integers(60_000, 600_000, extra)]
            key = np.r_[key, day * 10_000_000 + 9_000_000 + queueing.entity * 10_000 + np.arange(extra)]
            job_seg = np.r_[job_seg, np.full(extra, -1)]
        parts.append((w, start, start + (exec_ms + queued) * 1000, key, queued, job_seg))
    # statements issued by job runs: one per run for ~10 % of runs, on a warehouse of the job's workspace
    first_wh = {int(ws): int(i) for i, ws in reversed(list(enumerate(wh.ws.to_numpy())))}
    ws_of_run = account.jobs.ws.to_numpy()[seg.job]
    chosen = np.flatnonzero((seg.seg_no == 0) & (seg.run_id % 10 == 3) & np.isin(ws_of_run, list(first_wh)))
    if chosen.size:
        jw = np.array([first_wh[int(x)] for x in ws_of_run[chosen]])
        js = seg.start[chosen] + 2 * US_PER_MINUTE
        parts.append((jw, js, js + 3_000_000, 10**14 + seg.run_id[chosen], np.zeros(chosen.size, np.int64), chosen))
    return Queries(*(np.concatenate([p[i] for p in parts]) for i in range(6)))


def _parameters(has_params: np.ndarray, positional: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """query_parameters.named_parameters and pos_parameters of parameterised statements (one date each;
    only one of the two is set, as the reference says)."""
    from hm_utils.system_schema import arrow_schema

    struct = arrow_schema("query.history").field("query_parameters").type
    expr = {
        "exprs": [{"tag": "literal", "literal": {"data_type": {"type_name": "STRING"}, "string_value": "2026-11-01"}}]
    }
    named = [
        [("start_date", expr)] if flag and not pos else None for flag, pos in zip(has_params, positional, strict=True)
    ]
    ordered = [[expr] if flag and pos else None for flag, pos in zip(has_params, positional, strict=True)]
    return (
        pa.array(named, struct.field("named_parameters").type),
        pa.array(ordered, struct.field("pos_parameters").type),
    )


def query_history(options: SimulationOptions, account: Account, window: Window, q: Queries, seg: Segments) -> pa.Table:
    wh, principals = account.warehouses, account.principals
    keep = np.flatnonzero((q.start >= window.start_us) & (q.end < window.end_us))
    w, start, end, key, queued, job_seg = (x[keep] for x in (q.wh, q.start, q.end, q.key, q.queued_ms, q.job_seg))
    n = keep.size
    u = [unit_hash(options.seed, key, i) for i in range(8)]
    ws = wh.ws.to_numpy()[w]
    users = principals[~principals.is_sp]
    user_pick = (u[0] * len(users)).astype(int)
    by_job = job_seg >= 0
    run_as = account.jobs.run_as.to_numpy()[seg.job[np.maximum(job_seg, 0)]]
    email = np.where(by_job, principals.email.to_numpy()[run_as], users.email.to_numpy()[user_pick])
    user_id = np.where(by_job, principals.user_id.to_numpy()[run_as], users.user_id.to_numpy()[user_pick])
    stype = np.searchsorted(np.cumsum(STATEMENT_WEIGHTS), u[1] * 0.9999)
    stype = np.where(by_job, 2, stype)
    status = np.where(u[2] < 0.05, "FAILED", np.where(u[2] < 0.07, "CANCELED", "FINISHED")).astype(object)
    total_ms = (end - start) // 1000
    compile_ms = np.minimum((50 + 400 * u[3]).astype(np.int64), total_ms // 3)
    wait_compute = np.where(u[4] < 0.03, np.minimum((5000 + 40000 * u[5]).astype(np.int64), total_ms // 2), 0)
    exec_ms = np.maximum(total_ms - queued - compile_ms - wait_compute, 1)
    read_bytes = np.exp(16 + 4 * u[6]).astype(np.int64)
    tables = account.tables.target.to_numpy()
    table = tables[(u[7] * len(tables)).astype(int)]
    text = np.array(STATEMENT_TYPES, dtype=object)[stype]
    statement = np.where(
        text == "SELECT",
        "SELECT * FROM " + table.astype(str) + " LIMIT 1000",
        np.where(
            text == "MERGE",
            "MERGE INTO " + table.astype(str) + " USING updates ON id = id",
            text + " " + table.astype(str),
        ),
    )
    cache_hit = (text == "SELECT") & (u[5] > 0.9)
    client = (u[3] * len(CLIENTS)).astype(int)
    statement_id = hashed_uuids(options.seed, 31, key)
    source_kind = (u[4] * 10).astype(int)
    ws_ids = account.workspaces.workspace_id.to_numpy()
    pipeline_ids = account.pipelines.pipeline_id.to_numpy()[w % len(account.pipelines)]
    has_params = ~by_job & (client <= 1) & (u[6] < 0.3)  # editor and dashboard statements with parameters
    named, ordered = _parameters(has_params, u[5] < 0.3)
    # a few statements run on a classic cluster (notebooks and jobs attached to one)
    on_cluster = ~by_job & (client == 6) & (u[7] < 0.3)
    return build_table(
        "query.history",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(ws_ids[ws], pa.string()),
            "statement_id": statement_id,
            "executed_by": pa.array(email, pa.string()),
            "session_id": hashed_uuids(options.seed, 32, key // 7),
            "execution_status": pa.array(status, pa.string()),
            "compute.type": pa.array(np.where(on_cluster, "CLUSTER", "WAREHOUSE"), pa.string()),
            "compute.warehouse_id": pa.array(np.where(on_cluster, None, wh.warehouse_id.to_numpy()[w]), pa.string()),
            "compute.cluster_id": pa.array(
                np.where(on_cluster, account.clusters.cluster_id.to_numpy()[w % len(account.clusters)], None),
                pa.string(),
            ),
            "executed_by_user_id": pa.array(user_id, pa.string()),
            "statement_text": pa.array(statement, pa.string()),
            "statement_type": pa.array(text, pa.string()),
            "error_message": pa.array(
                np.where(status == "FAILED", np.array(ERRORS, dtype=object)[client % 4], None), pa.string()
            ),
            "client_application": take_strings(CLIENTS, np.where(by_job, 4, client)),
            "client_driver": take_strings(DRIVERS, np.where(by_job, 4, client)),
            "total_duration_ms": total_ms,
            "waiting_for_compute_duration_ms": wait_compute.astype(np.int64),
            "waiting_at_capacity_duration_ms": queued.astype(np.int64),
            "execution_duration_ms": exec_ms,
            "compilation_duration_ms": compile_ms,
            "total_task_duration_ms": exec_ms * (1 + (u[6] * 16).astype(np.int64)),
            "result_fetch_duration_ms": (5 + 200 * u[7]).astype(np.int64),
            "start_time": timestamps(start),
            "end_time": timestamps(end),
            "update_time": timestamps(end),
            "read_partitions": (1 + 50 * u[2]).astype(np.int64),
            "pruned_files": (100 * u[3]).astype(np.int64),
            "read_files": (1 + read_bytes // 64_000_000),
            "read_rows": read_bytes // 120,
            "produced_rows": np.where(text == "SELECT", np.minimum(read_bytes // 1200, 1000), 0).astype(np.int64),
            "read_bytes": read_bytes,
            "read_io_cache_percent": (u[4] * 100).astype(np.int8),
            "from_result_cache": cache_hit,
            "spilled_local_bytes": np.where(u[6] > 0.97, read_bytes * 2, 0).astype(np.int64),
            "written_bytes": np.where(
                np.isin(text, ["INSERT", "MERGE", "CREATE", "UPDATE"]), read_bytes // 3, 0
            ).astype(np.int64),
            "shuffle_read_bytes": (read_bytes * u[5] / 2).astype(np.int64),
            "query_source.job_info.job_id": pa.array(
                np.where(by_job, account.jobs.job_id.to_numpy()[seg.job[np.maximum(job_seg, 0)]], None), pa.string()
            ),
            "query_source.job_info.job_run_id": pa.array(
                np.where(by_job, seg.run_id[np.maximum(job_seg, 0)].astype(str), None), pa.string()
            ),
            "query_source.job_info.__null__": ~by_job,
            "query_source.dashboard_id": pa.array(
                np.where(~by_job & (client == 1), hashed_hex(32, ws, w).to_numpy(zero_copy_only=False), None),
                pa.string(),
            ),
            "query_source.sql_query_id": pa.array(
                np.where(
                    ~by_job & (client == 0) & (source_kind < 5), int_strings(w).to_numpy(zero_copy_only=False), None
                ),
                pa.string(),
            ),
            "query_source.genie_space_id": pa.array(
                np.where(
                    ~by_job & (client == 5),
                    concat_strings("01ef", hashed_hex(28, w)).to_numpy(zero_copy_only=False),
                    None,
                ),
                pa.string(),
            ),
            "query_source.job_info.job_task_run_id": pa.array(
                np.where(by_job, (seg.run_id[np.maximum(job_seg, 0)] + 7).astype(str), None), pa.string()
            ),
            "query_source.legacy_dashboard_id": pa.array(
                np.where(
                    ~by_job & (client == 1) & (source_kind == 9),
                    hashed_uuids(ws, w, 5).to_numpy(zero_copy_only=False),
                    None,
                ),
                pa.string(),
            ),
            "query_source.alert_id": pa.array(
                np.where(
                    ~by_job & (client == 0) & (source_kind == 8),
                    hashed_uuids(w, 6).to_numpy(zero_copy_only=False),
                    None,
                ),
                pa.string(),
            ),
            "query_source.notebook_id": pa.array(
                np.where(~by_job & (client == 6), int_strings(10**15 + w).to_numpy(zero_copy_only=False), None),
                pa.string(),
            ),
            "query_source.pipeline_info.pipeline_id": pa.array(
                np.where(~by_job & (client == 4) & (source_kind == 7), pipeline_ids, None), pa.string()
            ),
            "query_source.pipeline_info.update_id": pa.array(
                np.where(
                    ~by_job & (client == 4) & (source_kind == 7),
                    hashed_uuids(key, 8).to_numpy(zero_copy_only=False),
                    None,
                ),
                pa.string(),
            ),
            "query_parameters.named_parameters": named,
            "query_parameters.pos_parameters": ordered,
            "query_parameters.truncated": np.zeros(n, bool),
            "query_parameters.__null__": ~has_params,
            "query_tags": pa.array(
                [[("team", "bi")] if t else [] for t in has_params], pa.map_(pa.string(), pa.string())
            ),
            "executed_as_user_id": pa.array(user_id, pa.string()),
            "executed_as": pa.array(email, pa.string()),
            "written_rows": np.where(np.isin(text, ["INSERT", "MERGE"]), read_bytes // 400, 0).astype(np.int64),
            "written_files": np.where(np.isin(text, ["INSERT", "MERGE"]), 1 + read_bytes // 128_000_000, 0).astype(
                np.int64
            ),
            "cache_origin_statement_id": statement_id,
            "pruned_files_bytes": (read_bytes * u[3]).astype(np.int64),
            "read_files_bytes": read_bytes,
        },
    )
