"""Runs the simulator end to end: entities → activity → tables → incidents/defects → parquet."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.simulator import access, billing, compute, lakeflow, products, query, serving
from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    SimulationOptions,
    SimulationSummary,
    Window,
    resolve_end,
)
from hm_utils.simulator.defects import defects_table, inject_defects, late_source_outages
from hm_utils.simulator.entities import NEVER_US, Account, build_account
from hm_utils.simulator.incidents import CADENCE, CROSS_WORKSPACE_MIN, GroundTruth, IncidentPlan, day_bounds
from hm_utils.simulator.lakeflow import HISTORY_FIRST_DAY
from hm_utils.simulator.latency import visible
from hm_utils.simulator.writer import append_table, write_table
from hm_utils.system_schema import SYSTEM_TABLES

STAMP = "_simulation.json"
# Bump when a change to the simulator changes its output: an account stamped with another version is
# written again whole instead of being appended to.
SIMULATOR_VERSION = 7


def simulate(out_dir: Path, options: SimulationOptions, append: bool = True) -> SimulationSummary:
    """Simulate every system table of the reference into `out_dir` (see the package docstring).

    When `out_dir` already holds the same account (same seed, size, scale, defect and incident
    settings, first day at or before this window's, simulator version) up to an earlier end, and
    `append` is true, only the rows that became visible since that end are added (a new part file
    per table): earlier rows and ground truth stay as they were. Otherwise the folder is written whole.
    """
    began = time.perf_counter()
    out_dir = Path(out_dir)
    end = resolve_end(options)
    previous = read_stamp(out_dir)
    window = Window.from_options(options)
    after = None
    if (
        append
        and previous
        and previous["account"] == _identity(options, date.fromisoformat(previous["account"]["first"]))
    ):
        previous_end = datetime.fromisoformat(previous["end"])
        first = date.fromisoformat(previous["account"]["first"])
        if previous_end <= end and first <= window.first:
            after = previous_end
            window = Window.from_options(options, first=first, after=after)
    if after is not None and after == end:
        return SimulationSummary(
            rows={}, incidents=0, seconds=round(time.perf_counter() - began, 3), appended_after=after
        )
    tables, truth = build_tables(options, window)
    defects = inject_defects(options, tables, window) if options.defects else []
    suffix = end.strftime("%Y%m%dT%H%M")
    rows = {}
    for key in SYSTEM_TABLES:
        whole = after is None or key not in APPENDED_TABLES
        rows[key] = write_table(out_dir, key, tables[key]) if whole else append_table(out_dir, key, tables[key], suffix)
    truth_table = truth.table(window.after_us, window.start_us, window.end_us)
    if after is None:
        write_table(out_dir, "_ground_truth.incidents", truth_table)
        write_table(out_dir, "_ground_truth.defects", defects_table(defects))
    else:
        append_table(out_dir, "_ground_truth.incidents", truth_table, suffix)
        append_table(out_dir, "_ground_truth.defects", defects_table(defects), suffix)
    write_stamp(out_dir, options, window.first, end)
    return SimulationSummary(
        rows=rows,
        incidents=truth_table.num_rows,
        seconds=round(time.perf_counter() - began, 3),
        appended_after=after,
    )


# Tables a snapshot shows whole (reference data): rewritten on every run instead of appended to.
WHOLE_TABLES = ("billing.list_prices", "compute.node_types", "access.workspaces_latest")
APPENDED_TABLES = tuple(key for key in SYSTEM_TABLES if key not in WHOLE_TABLES)


def _identity(options: SimulationOptions, first: date) -> dict[str, object]:
    """What makes two simulated folders the same account (the end may differ)."""
    return {
        "version": SIMULATOR_VERSION,
        "seed": options.seed,
        "workspaces": options.workspaces,
        "scale": options.scale,
        "defects": options.defects,
        "incidents": options.incidents,
        "first": first.isoformat(),
    }


def write_stamp(out_dir: Path, options: SimulationOptions, first: date, end: datetime) -> None:
    """Record the account a folder holds and the instant it runs up to (read back by `read_stamp`)."""
    stamp = {"account": _identity(options, first), "end": end.isoformat(sep=" "), "days": options.days}
    (out_dir / STAMP).write_text(json.dumps(stamp, sort_keys=True))


def read_stamp(out_dir: Path) -> dict | None:
    """The stamp of a simulated folder, or None when there is none (or it is of an older layout)."""
    path = Path(out_dir) / STAMP
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) and "account" in stamp and "end" in stamp else None


def build_tables(options: SimulationOptions, window: Window) -> tuple[dict[str, pa.Table], GroundTruth]:
    """All reference tables as a snapshot of `window` (defect-free) and the incidents' ground truth."""
    account = build_account(options)
    pools = incident_pools(account, options)
    plan = IncidentPlan.build(options.seed, window.generated_first_day - 1, window.last_day, pools, options.incidents)
    history_plan = IncidentPlan.build(options.seed, HISTORY_FIRST_DAY, window.last_day, pools, options.incidents)
    truth = GroundTruth()
    t: dict[str, pa.Table] = {}

    seg = lakeflow.simulate_job_runs(options, account, window, plan)
    t["lakeflow.job_run_timeline"] = lakeflow.job_run_timeline(options, account, window, seg)
    t["lakeflow.job_task_run_timeline"] = lakeflow.job_task_run_timeline(options, account, window, seg)
    t["lakeflow.jobs"], t["lakeflow.job_tasks"] = lakeflow.jobs_scd2(options, account, window, history_plan)
    upd = lakeflow.simulate_pipeline_updates(options, account, window)
    t["lakeflow.pipelines"], t["lakeflow.pipeline_update_timeline"], dlt_usage = lakeflow.pipeline_tables(
        options, account, window, upd
    )

    hours = compute.simulate_cluster_hours(options, account, window, plan, seg)
    t["compute.clusters"] = compute.clusters_table(account, window, history_plan, seg)
    t["compute.node_types"] = compute.node_types_table(account)
    t["compute.node_timeline"] = compute.node_timeline(account, window, hours, seg)
    t["compute.warehouses"] = compute.warehouses_table(account)

    queries = query.simulate_queries(options, account, window, plan, seg)
    t["query.history"] = query.query_history(options, account, window, queries, seg)
    queues = [
        (o.entity, o.day * US_PER_DAY + 10 * US_PER_HOUR, o.day * US_PER_DAY + 12 * US_PER_HOUR)
        for o in plan.of("warehouse_queueing")
    ]
    t["compute.warehouse_events"], sql_usage = compute.warehouse_activity(
        account, window, queries.wh, queries.start, queries.end, queues
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
        *products.product_usage(options, account, window),
    ]
    spikes = _spike_targets(account, plan)
    usage, arrival = billing.assemble_usage(
        options, account.account_id, account.workspaces.workspace_id.to_numpy(), window, parts, spikes
    )
    t["billing.list_prices"] = billing.list_prices(options, account.account_id, sku_catalogue(account), window)

    t["access.audit"] = access.audit_log(options, account, window, plan, truth)
    t["access.table_lineage"], t["access.column_lineage"] = access.lineage(options, account, window, seg, upd, queries)
    t["access.workspaces_latest"] = access.workspaces_latest(account)
    t["storage.predictive_optimization_operations_history"] = products.predictive_optimization(options, account, window)
    t["ai_gateway.usage"] = products.ai_gateway_usage(options, account, window)
    if plan.enabled:
        _record_incidents(account, window, plan, truth, t, seg, usage, arrival, spikes)
    t["billing.usage"] = billing.visible_usage(usage, arrival, window)
    outages = late_source_outages(options, window) if options.defects else []
    for key in list(t):
        t[key] = visible(key, t[key], window, outages)
    return t, truth


def incident_pools(account: Account, options: SimulationOptions) -> dict[str, np.ndarray]:
    """Candidate entities of each incident type (row indexes into the account frame it acts on)."""
    jobs, users = account.jobs, np.flatnonzero(~account.principals.is_sp.to_numpy())
    steady = (
        (jobs.compute.to_numpy() == "JOB_CLUSTER")
        & ~jobs.weekday_only.to_numpy()
        & (jobs.delete_us.to_numpy() == NEVER_US)
        & (jobs.duration_min.to_numpy() < 60)
    )
    index = np.arange(len(jobs))
    # clusters with per-minute metrics that no job runs on (a job would keep their CPU up)
    quiet = account.clusters.monitored.to_numpy() & ~np.isin(
        np.arange(len(account.clusters)), jobs.ap_cluster.to_numpy()
    )
    quiet &= account.clusters.delete_us.to_numpy() == NEVER_US
    monitored = np.flatnonzero(quiet)
    billed = np.flatnonzero(account.endpoints.kind.to_numpy() != "EXTERNAL_MODEL")
    security = users[: max(1, users.size // 4)]
    return {
        "failure_streak": index[steady & (jobs.period_h.to_numpy() <= 4)],
        "runaway_job": index[steady & (jobs.period_h.to_numpy() == 24) & (index % 3 == 0)],
        "duration_regression": index[steady & (jobs.period_h.to_numpy() >= 6) & (index % 3 == 1)],
        "stale_table": index[steady & (jobs.period_h.to_numpy() == 24) & (index % 3 == 2)],
        "idle_cluster": monitored[monitored % 2 == 0],
        "oversized_cluster": monitored[monitored % 2 == 1],
        "warehouse_queueing": np.arange(len(account.warehouses)),
        "cost_spike": billed,
        "brute_force_login": security,
        "admin_privilege_grant": security,
        "mass_download": security,
        "permission_change_burst": security,
        "secret_enumeration": security,
        "mass_securable_access": security,
        "cross_workspace_activity": security if options.workspaces >= CROSS_WORKSPACE_MIN else np.zeros(0, np.int64),
    }


def sku_catalogue(account: Account) -> list[str]:
    """Every SKU the account can be billed on (prices exist for all of them, whatever the window)."""
    regions = sorted(set(account.workspaces.region_sku))
    classic = ["PREMIUM_ALL_PURPOSE_COMPUTE", "PREMIUM_JOBS_COMPUTE", "PREMIUM_SQL_COMPUTE"]
    classic += [f"PREMIUM_DLT_{edition}_COMPUTE" for edition in ("CORE", "PRO", "ADVANCED")]
    skus = classic + [f"{sku}_(PHOTON)" for sku in classic if "SQL" not in sku]
    serverless = [
        "PREMIUM_JOBS_SERVERLESS_COMPUTE",
        "PREMIUM_SERVERLESS_SQL_COMPUTE",
        "PREMIUM_SQL_PRO_COMPUTE",
        "PREMIUM_ALL_PURPOSE_SERVERLESS_COMPUTE",
        "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE",
    ]
    skus += [f"{sku}_{region}" for sku in serverless for region in regions]
    skus += products.product_skus(regions)
    return sorted(set(skus))


def _spike_targets(account: Account, plan: IncidentPlan) -> list[tuple[int, int, str]]:
    """(workspace index, day, sku) of each cost spike: the serving SKU of the incident's endpoint."""
    ep, region = account.endpoints, account.workspaces.region_sku.to_numpy()
    return [
        (int(ep.ws.iat[o.entity]), o.day, f"PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_{region[ep.ws.iat[o.entity]]}")
        for o in plan.of("cost_spike")
    ]


def _usage_mask(run_ids: pa.Array, values: list[str]) -> np.ndarray:
    """Usage rows whose `usage_metadata.job_run_id` (`run_ids`) is one of `values`."""
    return pc.fill_null(pc.is_in(run_ids, pa.array(values, pa.string())), False).to_numpy(zero_copy_only=False)


def _record_incidents(
    account: Account,
    window: Window,
    plan: IncidentPlan,
    truth: GroundTruth,
    t: dict[str, pa.Table],
    seg: lakeflow.Segments,
    usage: pa.Table,
    arrival: np.ndarray,
    spikes: list[tuple[int, int, str]],
) -> None:
    """Ground truth of the non-security incidents, from the complete generated data (before the
    snapshot filter) or from the plan, so a record never depends on where the window ends."""
    jobs, ws_ids = account.jobs, account.workspaces.workspace_id.to_numpy()
    prices = t["billing.list_prices"]
    usage_run_ids = usage["usage_metadata"].combine_chunks().field("job_run_id")

    def job_ws(job: int) -> str:
        return ws_ids[jobs.ws.iat[job]]

    def first_attempts(job: int, day: int) -> np.ndarray:
        rows = np.flatnonzero((seg.job == job) & (seg.start // US_PER_DAY == day) & (seg.seg_no == 0))
        return rows[np.argsort(seg.start[rows])]

    for o in plan.of("failure_streak"):
        rows = first_attempts(o.entity, o.day)[: plan.streak_runs]
        if rows.size == 0:
            continue
        run_ids = [str(r) for r in seg.run_id[rows]]
        mask = _usage_mask(usage_run_ids, run_ids)
        dbus, cost, effective = billing.priced_cost(usage, prices, mask)
        truth.add(
            "failure_streak",
            job_ws(o.entity),
            "JOB",
            jobs.job_id.iat[o.entity],
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
            cost_final_at=_instant(int(arrival[mask].max())) if mask.any() else None,
        )
    for o in plan.of("runaway_job"):
        rows = first_attempts(o.entity, o.day)
        if rows.size == 0:
            continue
        r = rows[0]
        hours = (seg.end[r] - seg.start[r]) / US_PER_HOUR
        mask = _usage_mask(usage_run_ids, [str(seg.run_id[r])])
        dbus, cost, _ = billing.priced_cost(usage, prices, mask)
        usual = float(jobs.duration_min.iat[o.entity]) / 60
        truth.add(
            "runaway_job",
            job_ws(o.entity),
            "JOB",
            jobs.job_id.iat[o.entity],
            int(seg.start[r]),
            int(seg.end[r]),
            round(hours, 3),
            "hours",
            f"one run lasted {hours:.1f} h (usually {usual:.2f} h)",
            run_id=str(seg.run_id[r]),
            median_hours=round(usual, 3),
            total_dbus=dbus,
            list_cost_usd=cost,
            cost_final_at=_instant(int(arrival[mask].max())) if mask.any() else None,
        )
    for o in plan.of("duration_regression"):
        start, end = day_bounds(o.day)[0], (o.last_day + 1) * US_PER_DAY
        truth.add(
            "duration_regression",
            job_ws(o.entity),
            "JOB",
            jobs.job_id.iat[o.entity],
            start,
            end,
            plan.regression_factor,
            "ratio",
            f"runs became {plan.regression_factor:.1f}x slower for {CADENCE['duration_regression'].duration} days",
            from_date=str(np.datetime64(o.day, "D")),
            factor=plan.regression_factor,
        )
    targets = account.tables.target.to_numpy()
    for o in plan.of("stale_table"):
        before = np.flatnonzero((seg.job == o.entity) & (seg.end < o.day * US_PER_DAY) & (seg.result == "SUCCEEDED"))
        last_write = int(seg.end[before].max()) - 60 * 1_000_000 if before.size else o.day * US_PER_DAY
        resumed = (o.last_day + 1) * US_PER_DAY + 9 * US_PER_HOUR
        truth.add(
            "stale_table",
            job_ws(o.entity),
            "TABLE",
            targets[o.entity],
            last_write,
            resumed,
            round((resumed - last_write) / US_PER_DAY, 2),
            "days_without_write",
            f"{targets[o.entity]} was not written while its job was paused",
            job_id=jobs.job_id.iat[o.entity],
        )
    for ws, day, sku in spikes:
        sel = (
            pc.equal(usage["workspace_id"], ws_ids[ws]).to_numpy(zero_copy_only=False)
            & pc.equal(usage["sku_name"], sku).to_numpy(zero_copy_only=False)
            & (usage["usage_date"].cast(pa.int32()).to_numpy() == day)
        )
        dbus, cost, _ = billing.priced_cost(usage, prices, sel)
        truth.add(
            "cost_spike",
            ws_ids[ws],
            "SKU",
            sku,
            day * US_PER_DAY,
            (day + 1) * US_PER_DAY,
            float(billing.SPIKE_FACTOR),
            "ratio_to_usual",
            f"{sku} usage on one day was {billing.SPIKE_FACTOR}x its usual level",
            usage_date=str(np.datetime64(day, "D")),
            dbus=round(dbus, 6),
            list_cost_usd=cost,
        )
    timeline = t["compute.node_timeline"]
    for kind in ("idle_cluster", "oversized_cluster"):
        for o in plan.of(kind):
            cid = account.clusters.cluster_id.iat[o.entity]
            start, end = o.day * US_PER_DAY, (o.last_day + 1) * US_PER_DAY
            first_day_end = start + US_PER_DAY  # the first day is always generated: the magnitude uses it
            tt = timeline["start_time"].cast(pa.int64())
            m = pc.and_(
                pc.equal(timeline["cluster_id"], cid), pc.and_(pc.greater_equal(tt, start), pc.less(tt, first_day_end))
            )
            cpu = pc.mean(timeline.filter(m)["cpu_user_percent"]).as_py() or 0.0
            workers = plan.oversized_workers if kind == "oversized_cluster" else None
            truth.add(
                kind,
                ws_ids[account.clusters.ws.iat[o.entity]],
                "CLUSTER",
                cid,
                start,
                end,
                round(cpu, 2),
                "avg_cpu_user_percent",
                "cluster ran around the clock with almost no CPU use"
                if workers is None
                else f"cluster resized to {workers} workers while CPU stayed low",
                **({"workers": workers} if workers else {}),
            )
    history = t["query.history"]
    wh_column = history["compute"].combine_chunks().field("warehouse_id")
    for o in plan.of("warehouse_queueing"):
        wid = account.warehouses.warehouse_id.iat[o.entity]
        q_start = o.day * US_PER_DAY + 10 * US_PER_HOUR
        starts = history["start_time"].cast(pa.int64()).to_numpy()
        mine = (
            pc.fill_null(pc.equal(wh_column, wid), False).to_numpy(zero_copy_only=False)
            & (history["waiting_at_capacity_duration_ms"].to_numpy() >= 60_000)
            & (starts >= q_start)
            & (starts < q_start + 3 * US_PER_HOUR)
        )
        waits = history["waiting_at_capacity_duration_ms"].to_numpy()[mine]
        truth.add(
            "warehouse_queueing",
            ws_ids[account.warehouses.ws.iat[o.entity]],
            "WAREHOUSE",
            wid,
            q_start,
            q_start + 2 * US_PER_HOUR + 15 * 60 * 1_000_000,
            float(np.percentile(waits, 95) / 1000) if waits.size else 0.0,
            "p95_queue_seconds",
            f"{waits.size} statements queued over a minute at capacity",
            queued_statements=int(waits.size),
        )


def _instant(micros: int) -> str:
    """ISO text (UTC) of a microsecond timestamp, for ground-truth details."""
    return str(np.datetime64(micros, "us").astype("datetime64[s]"))
