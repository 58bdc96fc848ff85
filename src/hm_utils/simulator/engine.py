"""Runs the simulator end to end: entities → activity → tables → incidents/defects → parquet."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.simulator import access, billing, compute, lakeflow, query, serving
from hm_utils.simulator.common import US_PER_DAY, US_PER_HOUR, SimulationOptions, SimulationSummary, Window, build_table
from hm_utils.simulator.defects import defects_table, inject_defects
from hm_utils.simulator.entities import Account, build_account
from hm_utils.simulator.incidents import GroundTruth, IncidentPlan, day_bounds
from hm_utils.simulator.writer import write_table
from hm_utils.system_schema import SYSTEM_TABLES


def simulate(out_dir: Path, options: SimulationOptions) -> SimulationSummary:
    """Simulate every system table of the reference into `out_dir` (see the package docstring)."""
    began = time.perf_counter()
    out_dir = Path(out_dir)
    tables, truth = build_tables(options)
    defects = inject_defects(options, tables) if options.defects else []
    rows = {key: write_table(out_dir, key, tables[key]) for key in SYSTEM_TABLES}
    write_table(out_dir, "_ground_truth.incidents", truth.table())
    write_table(out_dir, "_ground_truth.defects", defects_table(defects))
    return SimulationSummary(rows=rows, incidents=len(truth.records), seconds=round(time.perf_counter() - began, 3))


def build_tables(options: SimulationOptions) -> tuple[dict[str, pa.Table], GroundTruth]:
    """All reference tables (defect-free) and the incidents' ground truth, in memory."""
    window = Window.from_options(options)
    account = build_account(options)
    plan = IncidentPlan.build(window, options.incidents)
    truth = GroundTruth()
    t: dict[str, pa.Table] = {}

    seg = lakeflow.simulate_job_runs(options, account, window, plan)
    t["lakeflow.job_run_timeline"] = lakeflow.job_run_timeline(options, account, window, seg)
    t["lakeflow.job_task_run_timeline"] = lakeflow.job_task_run_timeline(options, account, window, seg)
    t["lakeflow.jobs"], t["lakeflow.job_tasks"] = lakeflow.jobs_scd2(options, account, window, plan)
    upd = lakeflow.simulate_pipeline_updates(options, account, window)
    t["lakeflow.pipelines"], t["lakeflow.pipeline_update_timeline"], dlt_usage = lakeflow.pipeline_tables(
        options, account, window, upd
    )

    hours = compute.simulate_cluster_hours(options, account, window, plan, seg)
    t["compute.clusters"] = compute.clusters_table(account, window, plan, seg)
    t["compute.node_types"] = compute.node_types_table(account)
    t["compute.node_timeline"] = compute.node_timeline(account, window, hours)
    t["compute.warehouses"] = compute.warehouses_table(account)

    queries = query.simulate_queries(options, account, window, plan, seg)
    t["query.history"] = query.query_history(options, account, window, queries, seg)
    queue = None
    if plan.enabled:
        q_start, _ = day_bounds(plan.queueing_day)
        queue = (plan.queueing_warehouse, q_start + 10 * US_PER_HOUR, q_start + 12 * US_PER_HOUR)
    t["compute.warehouse_events"], sql_usage = compute.warehouse_activity(
        account, window, queries.wh, queries.start, queries.end, queue
    )

    t["serving.served_entities"] = serving.served_entities(account, window)
    t["serving.endpoint_usage"], serving_usage = serving.serving(options, account, window)
    parts = [
        lakeflow.job_usage(options, account, seg),
        compute.all_purpose_usage(account, hours),
        sql_usage,
        dlt_usage,
        serving_usage,
        serving.notebook_usage(options, account, window),
    ]
    spike = _spike_target(account, plan, serving_usage)
    t["billing.usage"] = billing.assemble_usage(
        options, account.account_id, account.workspaces.workspace_id.to_numpy(), window, parts, spike
    )
    skus = sorted(set(t["billing.usage"]["sku_name"].unique().to_pylist()))
    t["billing.list_prices"] = billing.list_prices(options, account.account_id, skus, window)

    t["access.audit"] = access.audit_log(options, account, window, plan, truth)
    t["access.table_lineage"], t["access.column_lineage"] = access.lineage(options, account, window, seg, upd, queries)
    t["access.workspaces_latest"] = access.workspaces_latest(account)
    for key in ("storage.predictive_optimization_operations_history", "ai_gateway.usage"):
        t[key] = build_table(key, 0, {})
    if plan.enabled:
        _record_incidents(account, window, plan, truth, t, seg, spike)
    return t, truth


def _spike_target(
    account: Account, plan: IncidentPlan, serving_usage: billing.UsagePart
) -> tuple[int, int, str] | None:
    """The cost spike hits the serving SKU of the first workspace with a billed endpoint (steady daily usage)."""
    if not plan.enabled or len(serving_usage) == 0:
        return None
    ws = int(serving_usage.ws[0])
    return ws, plan.cost_spike_day, serving_usage.sku[0].as_py()


def _usage_mask(usage: pa.Table, column: str, values: list[str]) -> np.ndarray:
    field = usage["usage_metadata"].combine_chunks().field(column)
    return pc.is_in(field, pa.array(values, pa.string())).to_numpy(zero_copy_only=False) & pc.is_valid(field).to_numpy(
        zero_copy_only=False
    )


def _record_incidents(
    account: Account,
    window: Window,
    plan: IncidentPlan,
    truth: GroundTruth,
    t: dict[str, pa.Table],
    seg: lakeflow.Segments,
    spike: tuple[int, int, str] | None,
) -> None:
    jobs, ws_ids = account.jobs, account.workspaces.workspace_id.to_numpy()
    usage, prices = t["billing.usage"], t["billing.list_prices"]

    def job_ws(job: int) -> str:
        return ws_ids[jobs.ws.iat[job]]

    # failure streak
    rows = np.flatnonzero(
        (seg.job == plan.streak_job) & (seg.start // US_PER_DAY == plan.streak_day) & (seg.seg_no == 0)
    )
    rows = rows[np.argsort(seg.start[rows])][: plan.streak_runs]
    run_ids = [str(r) for r in seg.run_id[rows]]
    dbus, cost, effective = billing.priced_cost(usage, prices, _usage_mask(usage, "job_run_id", run_ids))
    truth.add(
        "failure_streak",
        job_ws(plan.streak_job),
        "JOB",
        jobs.job_id.iat[plan.streak_job],
        int(seg.start[rows].min()),
        int(seg.end[rows].max()),
        len(run_ids),
        "consecutive_failed_runs",
        f"{len(run_ids)} consecutive runs FAILED with DRIVER_ERROR",
        run_ids=run_ids,
        termination_code="DRIVER_ERROR",
        result_state="FAILED",
        total_dbus=dbus,
        list_cost_usd=cost,
        effective_list_cost_usd=effective,
    )
    # runaway run
    r = np.flatnonzero(
        (seg.job == plan.runaway_job) & (seg.start // US_PER_DAY == plan.runaway_day) & (seg.seg_no == 0)
    )
    r = r[np.argmax(seg.end[r] - seg.start[r])]
    hours = (seg.end[r] - seg.start[r]) / US_PER_HOUR
    dbus, cost, _ = billing.priced_cost(usage, prices, _usage_mask(usage, "job_run_id", [str(seg.run_id[r])]))
    normal = (
        np.median((seg.end - seg.start)[(seg.job == plan.runaway_job) & (np.arange(seg.job.size) != r)]) / US_PER_HOUR
    )
    truth.add(
        "runaway_job",
        job_ws(plan.runaway_job),
        "JOB",
        jobs.job_id.iat[plan.runaway_job],
        int(seg.start[r]),
        int(seg.end[r]),
        round(hours, 3),
        "hours",
        f"one run lasted {hours:.1f} h (median {normal:.2f} h)",
        run_id=str(seg.run_id[r]),
        median_hours=round(float(normal), 3),
        total_dbus=dbus,
        list_cost_usd=cost,
    )
    # duration regression
    mine = (seg.job == plan.regression_job) & (seg.result == "SUCCEEDED")
    after = mine & (seg.start >= plan.regression_day * US_PER_DAY)
    before = mine & ~after
    dur = (seg.end - seg.start) / 60e6
    ratio = (
        float(np.median(dur[after]) / np.median(dur[before]))
        if before.any() and after.any()
        else plan.regression_factor
    )
    truth.add(
        "duration_regression",
        job_ws(plan.regression_job),
        "JOB",
        jobs.job_id.iat[plan.regression_job],
        plan.regression_day * US_PER_DAY,
        window.end_us,
        round(ratio, 3),
        "ratio",
        f"runs became {ratio:.1f}x slower from {plan.regression_day * US_PER_DAY}",
        from_date=str(np.datetime64(plan.regression_day, "D")),
        factor=plan.regression_factor,
    )
    # stale table
    lineage = t["access.table_lineage"]
    target = account.tables.target.iat[plan.stale_job]
    writes = lineage.filter(pc.equal(lineage["target_table_full_name"], target))
    last_write = int(pc.max(writes["event_time"]).cast(pa.int64()).as_py() or 0) if writes.num_rows else window.start_us
    truth.add(
        "stale_table",
        job_ws(plan.stale_job),
        "TABLE",
        target,
        last_write,
        window.end_us,
        round((window.end_us - last_write) / US_PER_DAY, 2),
        "days_since_last_write",
        f"{target} is no longer written: its job was paused",
        job_id=jobs.job_id.iat[plan.stale_job],
    )
    # cost spike
    if spike is not None:
        ws_id, day, sku = ws_ids[spike[0]], spike[1], spike[2]
        sel = usage.filter(pc.and_(pc.equal(usage["workspace_id"], ws_id), pc.equal(usage["sku_name"], sku)))
        days = sel["usage_date"].cast(pa.int32()).to_numpy()
        qty = np.array([float(x) for x in sel["usage_quantity"].to_pylist()])
        per_day = {d: qty[days == d].sum() for d in np.unique(days)}
        others = [v for d, v in per_day.items() if d != day]
        ratio = per_day.get(day, 0.0) / float(np.median(others)) if others else 6.0
        truth.add(
            "cost_spike",
            ws_id,
            "SKU",
            sku,
            day * US_PER_DAY,
            (day + 1) * US_PER_DAY,
            round(ratio, 3),
            "ratio_to_median",
            f"{sku} usage on one day was {ratio:.1f}x the daily median",
            usage_date=str(np.datetime64(day, "D")),
            dbus=round(per_day.get(day, 0.0), 6),
        )
    # idle and oversized clusters
    timeline = t["compute.node_timeline"]
    for kind, cluster_idx, days, workers in (
        ("idle_cluster", plan.idle_cluster, plan.idle_days, None),
        ("oversized_cluster", plan.oversized_cluster, plan.oversized_days, plan.oversized_workers),
    ):
        cid = account.clusters.cluster_id.iat[cluster_idx]
        start, end = days[0] * US_PER_DAY, (days[1] + 1) * US_PER_DAY
        m = pc.equal(timeline["cluster_id"], cid)
        tt = timeline["start_time"].cast(pa.int64())
        m = pc.and_(m, pc.and_(pc.greater_equal(tt, start), pc.less(tt, end)))
        cpu = pc.mean(timeline.filter(m)["cpu_user_percent"]).as_py() or 0.0
        mask = (
            _usage_mask(usage, "cluster_id", [cid])
            & (usage["usage_start_time"].cast(pa.int64()).to_numpy() >= start)
            & (usage["usage_start_time"].cast(pa.int64()).to_numpy() < end)
        )
        dbus, cost, _ = billing.priced_cost(usage, prices, mask)
        extra = {"workers": workers} if workers else {}
        truth.add(
            kind,
            ws_ids[account.clusters.ws.iat[cluster_idx]],
            "CLUSTER",
            cid,
            start,
            end,
            round(cpu, 2),
            "avg_cpu_user_percent",
            "cluster ran around the clock with almost no CPU use"
            if workers is None
            else f"cluster resized to {workers} workers while CPU stayed low",
            total_dbus=dbus,
            list_cost_usd=cost,
            **extra,
        )
    # warehouse queueing
    history = t["query.history"]
    wid = account.warehouses.warehouse_id.iat[plan.queueing_warehouse]
    q = history.filter(
        pc.and_(
            pc.equal(history["compute"].combine_chunks().field("warehouse_id"), wid),
            pc.greater_equal(history["waiting_at_capacity_duration_ms"], 60_000),
        )
    )
    waits = q["waiting_at_capacity_duration_ms"].to_numpy()
    q_start, _ = day_bounds(plan.queueing_day)
    truth.add(
        "warehouse_queueing",
        ws_ids[account.warehouses.ws.iat[plan.queueing_warehouse]],
        "WAREHOUSE",
        wid,
        q_start + 10 * US_PER_HOUR,
        q_start + 12 * US_PER_HOUR + 15 * 60 * 1_000_000,
        float(np.percentile(waits, 95) / 1000) if waits.size else 0.0,
        "p95_queue_seconds",
        f"{waits.size} statements queued over a minute at capacity",
        queued_statements=int(waits.size),
    )
