"""Classic compute and SQL warehouses: clusters (SCD2), node types, node_timeline, all-purpose
usage, warehouses (SCD2), warehouse_events and warehouse usage.

node_timeline keeps the real grain (one row per instance per minute) but is emitted only for a
deterministic subset of all-purpose clusters (`monitored`, including the idle and oversized
incident clusters) to keep volume sane; other clusters have usage but no per-minute metrics.
Warehouse running time is derived from query.history (start at the first query, stop after
auto-stop idle minutes), so usage, events and queries agree.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hm_utils.simulator.billing import UsagePart
from hm_utils.simulator.common import (
    TIMESTAMP,
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    US_PER_SECOND,
    SimulationOptions,
    Window,
    build_table,
    concat_strings,
    dates,
    day_rng,
    hashed_hex,
    int_strings,
    map_array,
    repeat_scalar,
    split_into_hours,
    take_strings,
    timestamps,
    unit_hash,
    weekday_of,
)
from hm_utils.simulator.entities import NEVER_US, NODE_TYPES, WAREHOUSE_SIZES, Account
from hm_utils.simulator.incidents import IncidentPlan
from hm_utils.simulator.lakeflow import Segments, retired_rows, tag_catalog

NODE_NAMES = [t[0] for t in NODE_TYPES]
NODE_DBU = np.array([t[4] for t in NODE_TYPES])


class ClusterHours:
    """All-purpose cluster activity per (cluster, clock hour)."""

    def __init__(
        self,
        cluster: np.ndarray,
        hour: np.ndarray,
        first_us: np.ndarray,
        last_us: np.ndarray,
        load: np.ndarray,
        workers: np.ndarray,
    ) -> None:
        self.cluster, self.hour, self.first_us, self.last_us = cluster, hour, first_us, last_us
        self.load, self.workers = load, workers


def simulate_cluster_hours(
    options: SimulationOptions, account: Account, window: Window, plan: IncidentPlan, seg: Segments
) -> ClusterHours:
    """Interactive sessions of all-purpose clusters plus the hours jobs ran on them."""
    cl = account.clusters
    n = len(cl)
    starts, ends, owners, loads = [], [], [], []
    for day in window.days(lead=1):
        rng = day_rng(options, day, "ap_clusters")
        p_run = np.full(n, 0.75) if weekday_of(day) < 5 else cl.weekend_prob.to_numpy()
        running = rng.random(n) < p_run
        start = day * US_PER_DAY + ((cl.start_hour.to_numpy() + rng.normal(0, 0.3, n)) * US_PER_HOUR).astype(np.int64)
        end = start + (cl.hours.to_numpy() * rng.uniform(0.7, 1.3, n) * US_PER_HOUR).astype(np.int64)
        load = np.clip(cl.load.to_numpy() * rng.uniform(0.6, 1.4, n), 0.05, 1.0)
        running &= (cl.create_us.to_numpy() // US_PER_DAY <= day) & (day < cl.delete_us.to_numpy() // US_PER_DAY)
        for idle in plan.on("idle_cluster", day):
            running[idle.entity] = True
            start[idle.entity], end[idle.entity] = day * US_PER_DAY, (day + 1) * US_PER_DAY
            load[idle.entity] = 0.02
        for over in plan.on("oversized_cluster", day):
            running[over.entity] = True
            load[over.entity] = 0.04
        idx = np.flatnonzero(running)
        starts.append(start[idx]), ends.append(end[idx]), owners.append(idx), loads.append(load[idx])
    ap_seg = np.flatnonzero(account.jobs.compute.to_numpy()[seg.job] == "ALL_PURPOSE")
    starts.append(seg.start[ap_seg]), ends.append(seg.end[ap_seg])
    owners.append(account.jobs.ap_cluster.to_numpy()[seg.job[ap_seg]]), loads.append(np.full(ap_seg.size, 0.6))
    start, end, owner, load = (np.concatenate(x) for x in (starts, ends, owners, loads))
    piece, s0, s1 = split_into_hours(start, end)
    hour = s0 // US_PER_HOUR
    key = owner[piece].astype(np.int64) * 10_000_000 + hour
    unique, inverse = np.unique(key, return_inverse=True)
    first = np.full(unique.size, np.iinfo(np.int64).max)
    last = np.zeros(unique.size, np.int64)
    best = np.zeros(unique.size)
    np.minimum.at(first, inverse, s0)
    np.maximum.at(last, inverse, s1)
    np.maximum.at(best, inverse, load[piece])
    cluster = unique // 10_000_000
    hours = unique % 10_000_000
    workers = np.where(
        cl.autoscale.to_numpy()[cluster],
        1 + np.round(best * (cl.max_workers.to_numpy()[cluster] - 1)),
        cl.workers.to_numpy()[cluster],
    )
    for over in plan.of("oversized_cluster"):
        hit = (cluster == over.entity) & over.covers(hours // 24)
        workers = np.where(hit, plan.oversized_workers, workers)
    return ClusterHours(cluster, hours * US_PER_HOUR, first, last, best, workers.astype(np.int64))


def all_purpose_usage(account: Account, ch: ClusterHours) -> UsagePart:
    cl = account.clusters
    c = ch.cluster
    node = cl.node.to_numpy()[c]
    coverage = (ch.last_us - ch.first_us) / US_PER_HOUR
    photon = cl.photon.to_numpy()[c]
    n = c.size
    return UsagePart(
        domain="all_purpose",
        key=c * 10_000_000 + ch.hour // US_PER_HOUR,
        ws=cl.ws.to_numpy()[c],
        hour_us=ch.hour,
        micro_units=np.maximum(np.round(NODE_DBU[node] * (1 + ch.workers) * coverage * 1e6), 1).astype(np.int64),
        sku=pa.array(
            np.where(photon, "PREMIUM_ALL_PURPOSE_COMPUTE_(PHOTON)", "PREMIUM_ALL_PURPOSE_COMPUTE").astype(object),
            pa.string(),
        ),
        columns={
            "custom_tags": tag_catalog().take(pa.array(cl.tags.to_numpy()[c])),
            "usage_metadata.cluster_id": pa.array(cl.cluster_id.to_numpy()[c], pa.string()),
            "usage_metadata.node_type": take_strings(NODE_NAMES, node),
            "usage_metadata.instance_pool_id": _pool_ids(cl.pool.to_numpy()[c]),
            "billing_origin_product": repeat_scalar("ALL_PURPOSE", n),
            "product_features.is_serverless": np.zeros(n, bool),
            "product_features.is_photon": photon,
        },
    )


def node_timeline(account: Account, window: Window, ch: ClusterHours, seg: Segments) -> pa.Table:
    """Per-minute, per-instance metrics while clusters run: monitored all-purpose clusters and the job
    clusters of monitored jobs (a subset of each keeps the volume sane; docs/simulator.md)."""
    cl, jobs = account.clusters, account.jobs
    ap = np.flatnonzero(cl.monitored.to_numpy()[ch.cluster] & (ch.hour >= window.start_us))
    job_compute = jobs.compute.to_numpy()[seg.job]
    js = np.flatnonzero(
        (job_compute == "JOB_CLUSTER") & jobs.monitored.to_numpy()[seg.job] & (seg.end >= window.start_us)
    )
    job = seg.job[js]
    ap_cluster = ch.cluster[ap]
    interval = {
        "ws": np.r_[cl.ws.to_numpy()[ap_cluster], jobs.ws.to_numpy()[job]],
        "node": np.r_[cl.node.to_numpy()[ap_cluster], jobs.node.to_numpy()[job]],
        "first": np.r_[ch.first_us[ap], seg.start[js]],
        "last": np.r_[ch.last_us[ap], seg.end[js]],
        "workers": np.r_[ch.workers[ap], jobs.workers.to_numpy()[job]],
        "load": np.r_[ch.load[ap], 0.25 + 0.6 * unit_hash(job, 41)],
        # instance identity: a cluster's instances are replaced every day; a job cluster's live one run
        "owner": np.r_[
            ap_cluster.astype(np.int64) * 100_000 + ch.hour[ap] // US_PER_DAY,
            10**12 + seg.run_id[js] * 10 + seg.seg_no[js],
        ],
    }
    cluster_ids = pa.concat_arrays(
        [pa.array(cl.cluster_id.to_numpy()[ap_cluster], pa.string()), seg.cluster_id.take(pa.array(js))]
    )
    first_min = interval["first"] // US_PER_MINUTE
    minutes = np.maximum((interval["last"] + US_PER_MINUTE - 1) // US_PER_MINUTE - first_min, 1)
    instances = 1 + interval["workers"]
    counts = minutes * instances
    row_owner = np.repeat(np.arange(counts.size), counts)
    pos = np.arange(row_owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    instance = pos // minutes[row_owner]
    minute = first_min[row_owner] + pos % minutes[row_owner]
    owner_key = interval["owner"][row_owner]
    driver = instance == 0
    load = interval["load"][row_owner]
    noise = unit_hash(owner_key, minute, instance) - 0.5
    cpu_user = np.where(driver, 3 + 12 * load, 4 + 80 * load) + 6 * noise
    n = row_owner.size
    node = interval["node"][row_owner]
    mem_total = np.array([t[2] for t in NODE_TYPES])[node] * 1_048_576
    disk = (mem_total * (1.5 - 0.5 * load)).astype(np.int64)
    return build_table(
        "compute.node_timeline",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(
                account.workspaces.workspace_id.to_numpy()[interval["ws"][row_owner]], pa.string()
            ),
            "cluster_id": cluster_ids.take(pa.array(row_owner)),
            "instance_id": _instance_ids(owner_key, instance),
            "start_time": timestamps(minute * US_PER_MINUTE),
            "end_time": timestamps((minute + 1) * US_PER_MINUTE),
            "driver": driver,
            "cpu_user_percent": np.round(np.clip(cpu_user, 0.2, 99.0), 2),
            "cpu_system_percent": np.round(1.0 + 4 * load + 2 * (noise + 0.5), 2),
            "cpu_wait_percent": np.round(0.2 + 3 * load * (noise + 0.5), 2),
            "mem_used_percent": np.round(np.clip(22 + 55 * load + 8 * noise, 5, 98), 2),
            "mem_swap_percent": np.zeros(n),
            "network_sent_bytes": (load * 4e7 * (1 + noise)).astype(np.int64),
            "network_received_bytes": (load * 6e7 * (1 + noise)).astype(np.int64),
            "disk_free_bytes_per_mount_point": map_array(
                ["/", "/local_disk0"], [pa.array(np.full(n, 32_000_000_000)), pa.array(disk)], pa.int64()
            ),
            "node_type": take_strings(NODE_NAMES, node),
        },
    )


def _instance_ids(owner: np.ndarray, instance: np.ndarray) -> pa.Array:
    """Cloud instance ids, one per (owner, instance number), hashed once per distinct pair."""
    pair = owner.astype(np.int64) * 1_000 + instance
    unique, inverse = np.unique(pair, return_inverse=True)
    ids = concat_strings("i-", hashed_hex(17, unique))
    return ids.take(pa.array(inverse.astype(np.int64)))


def clusters_table(account: Account, window: Window, plan: IncidentPlan, seg: Segments) -> pa.Table:
    """compute.clusters: all-purpose (with the oversized resize), job clusters per run, pipeline clusters."""
    cl, jobs, pipes = account.clusters, account.jobs, account.pipelines
    ws_ids = account.workspaces.workspace_id.to_numpy()
    emails = account.principals.email.to_numpy()
    ap = np.arange(len(cl))
    change = cl.create_us.to_numpy().copy()
    workers = cl.workers.to_numpy().astype(object)
    autoscale = cl.autoscale.to_numpy()
    for over in plan.of("oversized_cluster"):  # resized up before the incident, back after it
        ap = np.r_[ap, over.entity, over.entity]
        change = np.r_[
            change, over.day * US_PER_DAY - 3 * US_PER_HOUR, (over.last_day + 1) * US_PER_DAY + 2 * US_PER_HOUR
        ]
        workers = np.r_[workers, plan.oversized_workers, cl.workers.iat[over.entity]]
        autoscale = np.r_[autoscale, False, cl.autoscale.iat[over.entity]]
    deleted = np.flatnonzero(cl.delete_us.to_numpy() < NEVER_US)  # permanent deletion adds a last row
    ap = np.r_[ap, deleted]
    change = np.r_[change, cl.delete_us.to_numpy()[deleted]]
    workers = np.r_[workers, cl.workers.to_numpy()[deleted].astype(object)]
    autoscale = np.r_[autoscale, cl.autoscale.to_numpy()[deleted]]
    is_delete = np.r_[np.zeros(ap.size - deleted.size, bool), np.ones(deleted.size, bool)]
    n_ap = ap.size
    pool = cl.pool.to_numpy()[ap]
    policy = cl.policy.to_numpy()[ap]
    parts = [
        build_table(
            "compute.clusters",
            n_ap,
            {
                "account_id": repeat_scalar(account.account_id, n_ap),
                "workspace_id": pa.array(ws_ids[cl.ws.to_numpy()[ap]], pa.string()),
                "cluster_id": pa.array(cl.cluster_id.to_numpy()[ap], pa.string()),
                "cluster_name": pa.array(cl.cluster_name.to_numpy()[ap], pa.string()),
                "owned_by": pa.array(emails[cl.owner.to_numpy()[ap]], pa.string()),
                "create_time": timestamps(change),
                "driver_node_type": take_strings(NODE_NAMES, cl.driver_node.to_numpy()[ap]),
                "worker_node_type": take_strings(NODE_NAMES, cl.node.to_numpy()[ap]),
                "worker_count": pa.array(np.where(autoscale, None, workers), pa.int64()),
                "min_autoscale_workers": pa.array(np.where(autoscale, 1, None), pa.int64()),
                "max_autoscale_workers": pa.array(np.where(autoscale, cl.max_workers.to_numpy()[ap], None), pa.int64()),
                "auto_termination_minutes": pa.array(cl.auto_termination.to_numpy()[ap], pa.int64()),
                "enable_elastic_disk": np.ones(n_ap, bool),
                "tags": tag_catalog().take(pa.array(cl.tags.to_numpy()[ap])),
                "cluster_source": repeat_scalar("UI", n_ap),
                "aws_attributes.zone_id": repeat_scalar("auto", n_ap),
                "aws_attributes.first_on_demand": pa.array(np.ones(n_ap, np.int32)),
                "aws_attributes.availability": repeat_scalar("SPOT_WITH_FALLBACK", n_ap),
                "dbr_version": pa.array(cl.dbr.to_numpy()[ap], pa.string()),
                "change_time": timestamps(change),
                "change_date": dates(change),
                "data_security_mode": pa.array(cl.security_mode.to_numpy()[ap], pa.string()),
                "delete_time": pa.array(np.where(is_delete, change, None), pa.int64()).cast(TIMESTAMP),
                "driver_instance_pool_id": _pool_ids(pool),
                "worker_instance_pool_id": _pool_ids(pool),
                "policy_id": pa.array(
                    np.where(policy >= 0, [POLICY_IDS[max(x, 0)] for x in policy], None), pa.string()
                ),
                "init_scripts": _init_scripts(unit_hash(ap, 43) < 0.2),
                "aws_attributes.instance_profile_arn": pa.array(
                    np.where(
                        unit_hash(ap, 44) < 0.5, "arn:aws:iam::123456789012:instance-profile/databricks-data", None
                    ),
                    pa.string(),
                ),
                "aws_attributes.spot_bid_price_percent": pa.array(np.full(n_ap, 100), pa.int32()),
                "aws_attributes.ebs_volume_type": repeat_scalar("GENERAL_PURPOSE_SSD", n_ap),
                "aws_attributes.ebs_volume_count": pa.array(np.ones(n_ap), pa.int32()),
                "aws_attributes.ebs_volume_size": pa.array(np.full(n_ap, 100), pa.int32()),
                "aws_attributes.ebs_volume_iops": pa.array(np.full(n_ap, 3000), pa.int32()),
                "aws_attributes.ebs_volume_throughput": pa.array(np.full(n_ap, 125), pa.int32()),
            },
        )
    ]
    job_seg = np.flatnonzero((jobs.compute.to_numpy()[seg.job] == "JOB_CLUSTER") & (seg.end > window.start_us))
    job = seg.job[job_seg]
    m = job_seg.size
    parts.append(
        build_table(
            "compute.clusters",
            m,
            {
                "account_id": repeat_scalar(account.account_id, m),
                "workspace_id": pa.array(ws_ids[jobs.ws.to_numpy()[job]], pa.string()),
                "cluster_id": seg.cluster_id.take(pa.array(job_seg)),
                "cluster_name": concat_strings(
                    "job-",
                    pa.array(jobs.job_id.to_numpy()[job], pa.string()),
                    "-run-",
                    int_strings(seg.run_id[job_seg]),
                ),
                "owned_by": pa.array(emails[jobs.run_as.to_numpy()[job]], pa.string()),
                "create_time": timestamps(seg.start[job_seg]),
                "driver_node_type": take_strings(NODE_NAMES, jobs.node.to_numpy()[job]),
                "worker_node_type": take_strings(NODE_NAMES, jobs.node.to_numpy()[job]),
                "worker_count": pa.array(jobs.workers.to_numpy()[job], pa.int64()),
                "auto_termination_minutes": pa.array(np.zeros(m, np.int64)),
                "enable_elastic_disk": np.ones(m, bool),
                "tags": tag_catalog().take(pa.array(jobs.tags.to_numpy()[job])),
                "cluster_source": repeat_scalar("JOB", m),
                "aws_attributes.zone_id": repeat_scalar("auto", m),
                "aws_attributes.first_on_demand": pa.array(np.ones(m, np.int32)),
                "aws_attributes.availability": repeat_scalar("SPOT_WITH_FALLBACK", m),
                "dbr_version": pa.array(jobs.dbr.to_numpy()[job], pa.string()),
                "change_time": timestamps(seg.start[job_seg]),
                "change_date": dates(seg.start[job_seg]),
                "data_security_mode": repeat_scalar("SINGLE_USER", m),
            },
        )
    )
    classic = np.flatnonzero(~pipes.serverless.to_numpy())
    k = classic.size
    parts.append(
        build_table(
            "compute.clusters",
            k,
            {
                "account_id": repeat_scalar(account.account_id, k),
                "workspace_id": pa.array(ws_ids[pipes.ws.to_numpy()[classic]], pa.string()),
                "cluster_id": pa.array(pipes.cluster_id.to_numpy()[classic], pa.string()),
                "cluster_name": concat_strings(
                    "dlt-execution-", pa.array(pipes.pipeline_id.to_numpy()[classic], pa.string())
                ),
                "owned_by": pa.array(emails[pipes.run_as.to_numpy()[classic]], pa.string()),
                "create_time": timestamps(pipes.create_us.to_numpy()[classic]),
                "driver_node_type": take_strings(NODE_NAMES, pipes.node.to_numpy()[classic]),
                "worker_node_type": take_strings(NODE_NAMES, pipes.node.to_numpy()[classic]),
                "worker_count": pa.array(pipes.workers.to_numpy()[classic], pa.int64()),
                "cluster_source": repeat_scalar("PIPELINE", k),
                "dbr_version": repeat_scalar("dlt:15.4.x-scala2.12", k),
                "change_time": timestamps(pipes.create_us.to_numpy()[classic]),
                "change_date": dates(pipes.create_us.to_numpy()[classic]),
            },
        )
    )
    return pa.concat_tables(parts)


POLICY_IDS = ["D0645B8A7E000001", "D0645B8A7E000002", "E2A1F3C4B5000003"]


def _pool_ids(pool: np.ndarray) -> pa.Array:
    """Instance pool ids of clusters started from a pool (-1 = none)."""
    names = np.array([f"0101-120000-pool{i:02d}-pool-abcdef{i:02d}" for i in range(4)], dtype=object)
    return pa.array(np.where(pool >= 0, names[np.maximum(pool, 0)], None), pa.string())


def _init_scripts(has_script: np.ndarray) -> pa.Array:
    """Cluster init scripts (a workspace file) for the clusters that have one."""
    offsets = np.r_[0, np.cumsum(has_script)].astype(np.int32)
    scripts = repeat_scalar("/Workspace/Shared/init/install_certs.sh", int(has_script.sum()))
    return pa.ListArray.from_arrays(pa.array(offsets), scripts)


def node_types_table(account: Account) -> pa.Table:
    n = len(NODE_TYPES)
    return build_table(
        "compute.node_types",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "node_type": pa.array(NODE_NAMES),
            "core_count": np.array([t[1] for t in NODE_TYPES]),
            "memory_mb": np.array([t[2] for t in NODE_TYPES], dtype=np.int64),
            "gpu_count": np.array([t[3] for t in NODE_TYPES], dtype=np.int64),
        },
    )


def warehouses_table(account: Account) -> pa.Table:
    """compute.warehouses: one row per warehouse, plus a warehouse retired before the window."""
    wh = account.warehouses
    n = len(wh)
    table = build_table(
        "compute.warehouses",
        n,
        {
            "warehouse_id": pa.array(wh.warehouse_id.to_numpy(), pa.string()),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[wh.ws.to_numpy()], pa.string()),
            "account_id": repeat_scalar(account.account_id, n),
            "warehouse_name": pa.array(wh.name.to_numpy(), pa.string()),
            "warehouse_type": pa.array(wh.type.to_numpy(), pa.string()),
            "warehouse_channel": repeat_scalar("CURRENT", n),
            "warehouse_size": pa.array(wh["size"].to_numpy(), pa.string()),
            "min_clusters": wh.min_clusters.to_numpy(),
            "max_clusters": wh.max_clusters.to_numpy(),
            "auto_stop_minutes": wh.auto_stop.to_numpy(),
            "tags": tag_catalog().take(pa.array(wh.tags.to_numpy())),
            "change_time": timestamps(wh.create_us.to_numpy()),
        },
    )
    return pa.concat_tables([table, retired_rows(table, "delete_time", account.account_id)])


def warehouse_activity(
    account: Account,
    window: Window,
    wh_idx: np.ndarray,
    q_start: np.ndarray,
    q_end: np.ndarray,
    forced_max: list[tuple[int, int, int]],
) -> tuple[pa.Table, UsagePart]:
    """warehouse_events and SQL usage from the queries' (warehouse, start, end).

    Each `forced_max` entry (warehouse, from µs, to µs) keeps that warehouse at max clusters (queueing)."""
    wh = account.warehouses
    base = window.start_us - 2 * US_PER_DAY
    span = 10**14
    order = np.lexsort((q_start, wh_idx))
    w, s, e = (
        wh_idx[order],
        q_start[order] - base,
        q_end[order] - base + wh.auto_stop.to_numpy()[wh_idx[order]].astype(np.int64) * US_PER_MINUTE,
    )
    run_max = np.maximum.accumulate(w * span + e)
    new = np.r_[True, (w[1:] * span + s[1:]) > run_max[:-1]]
    session = np.cumsum(new) - 1
    sess_wh = w[new]
    sess_start = s[new] + base
    sess_end = np.zeros(sess_wh.size, np.int64)
    np.maximum.at(sess_end, session, e)
    sess_end = sess_end + base

    hour_q = w * 10_000_000 + (s + base) // US_PER_HOUR
    uq, counts = np.unique(hour_q, return_counts=True)
    owner, h0, h1 = split_into_hours(sess_start, sess_end)
    hw = sess_wh[owner]
    hkey = hw * 10_000_000 + h0 // US_PER_HOUR
    pos = np.searchsorted(uq, hkey)
    found = (pos < uq.size) & (uq[np.minimum(pos, uq.size - 1)] == hkey)
    q_in_hour = np.where(found, counts[np.minimum(pos, uq.size - 1)], 0)
    clusters = np.clip(np.ceil(q_in_hour / 40.0), 1, wh.max_clusters.to_numpy()[hw]).astype(np.int64)
    for warehouse, since, until in forced_max:
        hit = (hw == warehouse) & (h0 < until) & (h1 > since)
        clusters = np.where(hit, wh.max_clusters.to_numpy()[hw], clusters)
    size_dbu = np.array([WAREHOUSE_SIZES[x] for x in wh["size"].to_numpy()])[hw]
    wtype = wh.type.to_numpy()[hw]
    serverless = wtype == "SERVERLESS"
    region = account.workspaces.region_sku.to_numpy()[wh.ws.to_numpy()[hw]].astype(str)
    sku = np.where(
        serverless,
        "PREMIUM_SERVERLESS_SQL_COMPUTE_" + region,
        np.where(wtype == "PRO", "PREMIUM_SQL_PRO_COMPUTE_" + region, "PREMIUM_SQL_COMPUTE"),
    )
    n = hw.size
    usage = UsagePart(
        domain="sql",
        key=hkey * 3600 + (h0 % US_PER_HOUR) // US_PER_SECOND,
        ws=wh.ws.to_numpy()[hw],
        hour_us=(h0 // US_PER_HOUR) * US_PER_HOUR,
        micro_units=np.maximum(np.round(size_dbu * clusters * (h1 - h0) / US_PER_HOUR * 1e6), 1).astype(np.int64),
        sku=pa.array(sku.astype(object), pa.string()),
        columns={
            "custom_tags": tag_catalog().take(pa.array(wh.tags.to_numpy()[hw])),
            "usage_metadata.warehouse_id": pa.array(wh.warehouse_id.to_numpy()[hw], pa.string()),
            "usage_metadata.node_type": pa.array(wh["size"].to_numpy()[hw], pa.string()),
            "identity_metadata.owned_by": pa.array(
                account.principals.email.to_numpy()[wh.owner.to_numpy()[hw]], pa.string()
            ),
            "billing_origin_product": repeat_scalar("SQL", n),
            "product_features.sql_tier": pa.array(
                np.where(wtype == "CLASSIC", "CLASSIC", "PRO").astype(object), pa.string()
            ),
            "product_features.is_serverless": serverless,
            "product_features.is_photon": np.ones(n, bool),
        },
    )
    # events: start/running per session, scaling at hour boundaries, stopping/stopped at the end
    prev_same = np.r_[False, owner[1:] == owner[:-1]]
    prev_clusters = np.r_[0, clusters[:-1]]
    scale = prev_same & (clusters != prev_clusters)
    ev_wh = np.r_[sess_wh, sess_wh, hw[scale], sess_wh, sess_wh]
    ev_time = np.r_[
        sess_start - 20 * US_PER_SECOND,
        sess_start + 15 * US_PER_SECOND,
        h0[scale],
        sess_end,
        sess_end + 25 * US_PER_SECOND,
    ]
    first_clusters = clusters[np.r_[True, owner[1:] != owner[:-1]]]
    last_clusters = clusters[np.r_[owner[1:] != owner[:-1], True]]
    ev_type = np.r_[
        np.full(sess_wh.size, "STARTING", object),
        np.full(sess_wh.size, "RUNNING", object),
        np.where(clusters[scale] > prev_clusters[scale], "SCALED_UP", "SCALED_DOWN").astype(object),
        np.full(sess_wh.size, "STOPPING", object),
        np.full(sess_wh.size, "STOPPED", object),
    ]
    ev_count = np.r_[
        np.zeros(sess_wh.size, np.int64),
        first_clusters,
        clusters[scale],
        last_clusters,
        np.zeros(sess_wh.size, np.int64),
    ]
    keep = ev_time >= window.start_us
    order = np.lexsort((ev_time[keep], ev_wh[keep]))
    ev_wh, ev_time, ev_type, ev_count = (x[keep][order] for x in (ev_wh, ev_time, ev_type, ev_count))
    m = ev_wh.size
    events = build_table(
        "compute.warehouse_events",
        m,
        {
            "account_id": repeat_scalar(account.account_id, m),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[wh.ws.to_numpy()[ev_wh]], pa.string()),
            "warehouse_id": pa.array(wh.warehouse_id.to_numpy()[ev_wh], pa.string()),
            "event_type": pa.array(ev_type, pa.string()),
            "cluster_count": ev_count.astype(np.int32),
            "event_time": timestamps(ev_time),
        },
    )
    return events, usage
