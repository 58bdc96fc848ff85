"""The simulated account: workspaces, principals, node types, clusters, jobs, pipelines,
warehouses, serving endpoints, notebooks and tables, all drawn from the seed.

Entities depend only on (seed, workspaces, scale), never on the window, so moving the window
keeps them stable. Counts grow with `scale`, with floors so every kind exists at tiny scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hm_utils.simulator.common import SimulationOptions, fixed_rng, stable_int

REGIONS = [
    ("us-east-1", "US_EAST_N_VIRGINIA"),
    ("us-west-2", "US_WEST_OREGON"),
    ("eu-central-1", "EUROPE_FRANKFURT"),
]
# node type, cores, memory MB, gpus, DBU per hour
NODE_TYPES = [
    ("m5d.large", 2.0, 8192, 0, 0.34),
    ("m5d.xlarge", 4.0, 16384, 0, 0.69),
    ("m5d.2xlarge", 8.0, 32768, 0, 1.37),
    ("m5d.4xlarge", 16.0, 65536, 0, 2.74),
    ("r5d.xlarge", 4.0, 32768, 0, 0.9),
    ("r5d.2xlarge", 8.0, 65536, 0, 1.8),
    ("i3.xlarge", 4.0, 31232, 0, 1.0),
    ("i3.2xlarge", 8.0, 62464, 0, 2.0),
    ("c5d.2xlarge", 8.0, 16384, 0, 1.2),
    ("g5.xlarge", 4.0, 16384, 1, 1.4),
]
# Databricks Runtime versions of classic compute: mostly current LTS releases plus a tail of old ones
# that upgrade dashboards look for (the split is an assumption; docs/simulator.md).
DBR_VERSIONS = [
    "17.3.x-scala2.13",
    "16.4.x-scala2.12",
    "15.4.x-scala2.12",
    "14.3.x-scala2.12",
    "13.3.x-scala2.12",
    "12.2.x-scala2.12",
    "11.3.x-scala2.12",
    "10.4.x-scala2.12",
]
DBR_WEIGHTS = [0.25, 0.3, 0.2, 0.1, 0.06, 0.04, 0.03, 0.02]
NEVER_US = 2**62  # delete time of an entity that is never deleted
# Jobs with 16-64 workers on big nodes for 1.5-5 hours a day: the few expensive jobs of the cost mix.
LARGE_JOB_SHARE = 0.1
LARGE_JOB_NODES = [3, 5, 7]  # m5d.4xlarge, r5d.2xlarge, i3.2xlarge
# Streaming pipelines that run around the clock (the rest are triggered every 1, 6 or 24 hours).
CONTINUOUS_PIPELINE_SHARE = 0.15
# One daily job in this many has per-minute node_timeline rows (its job clusters); the others only usage.
NODE_TIMELINE_JOB_EVERY = 20
WAREHOUSE_SIZES = {"2X_SMALL": 4, "X_SMALL": 6, "SMALL": 12, "MEDIUM": 24, "LARGE": 40}
TAG_SETS: list[dict[str, str] | None] = [
    None,
    {"team": "data-eng", "cost_center": "cc-1001", "env": "prod"},
    {"team": "data-eng", "cost_center": "cc-1001", "env": "dev"},
    {"team": "analytics", "cost_center": "cc-2040", "env": "prod"},
    {"team": "analytics", "cost_center": "cc-2040"},
    {"team": "ml", "cost_center": "cc-3300", "env": "prod", "project": "churn"},
    {"team": "ml", "cost_center": "cc-3300", "env": "dev"},
    {"team": "finance", "cost_center": "cc-4100", "env": "prod"},
    {"team": "marketing", "env": "prod"},
    {"team": "platform", "cost_center": "cc-9000", "env": "prod", "owner": "platform-ops"},
    {"team": "data-eng", "cost_center": "cc-1001", "env": "prod", "Budget": "dataeng-2026"},
    {"team": "analytics", "Budget": "bi-2026", "Project": "dashboards"},
    {"team": "ml", "cost_center": "cc-3300", "Budget": "ml-2026", "Owner": "ml-platform"},
]
FIRST_NAMES = [
    "ana",
    "ben",
    "chloe",
    "david",
    "emma",
    "felix",
    "grace",
    "hugo",
    "iris",
    "jack",
    "kim",
    "liam",
    "maya",
    "noah",
    "olga",
    "paul",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "umar",
    "vera",
    "will",
    "xena",
    "yusuf",
    "zoe",
]
LAST_NAMES = [
    "smith",
    "garcia",
    "chen",
    "mueller",
    "rossi",
    "novak",
    "silva",
    "kowalski",
    "dubois",
    "tanaka",
    "okafor",
    "larsen",
    "costa",
    "meyer",
    "petrov",
]
JOB_WORDS = [
    "sales",
    "orders",
    "customers",
    "inventory",
    "events",
    "clicks",
    "payments",
    "invoices",
    "sessions",
    "shipments",
    "products",
    "leads",
    "churn",
    "forecast",
    "ledger",
]
JOB_VERBS = ["ingest", "refresh", "aggregate", "export", "score", "load", "sync", "build"]
TASK_KEYS = ["extract", "transform", "validate", "publish"]


@dataclass(frozen=True)
class Account:
    """All entities of one simulated account (pandas frames, one row per entity)."""

    account_id: str
    metastore_ids: list[str]
    workspaces: pd.DataFrame
    principals: pd.DataFrame
    clusters: pd.DataFrame
    jobs: pd.DataFrame
    pipelines: pd.DataFrame
    warehouses: pd.DataFrame
    endpoints: pd.DataFrame
    notebooks: pd.DataFrame
    tables: pd.DataFrame


def _count(scale: float, per_unit: float, floor: int) -> int:
    return max(floor, int(round(per_unit * scale)))


def _numeric_ids(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """n distinct integers in [low, high)."""
    ids = np.unique(rng.integers(low, high, size=n * 2 + 8))
    return rng.permutation(ids)[:n]


def _workspace_index(rng: np.random.Generator, n: int, workspaces: int) -> np.ndarray:
    weights = 1.0 / np.sqrt(np.arange(1, workspaces + 1))
    return rng.choice(workspaces, size=n, p=weights / weights.sum())


def _hex(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    digits = rng.integers(0, 16, size=(n, width))
    return np.array(["".join("0123456789abcdef"[d] for d in row) for row in digits], dtype=object)


def _uuid(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = _hex(rng, n, 32)
    return np.array([f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}" for h in raw], dtype=object)


def build_account(options: SimulationOptions) -> Account:
    """Draw every entity of the account from the seed."""
    rng = fixed_rng(options, "entities")
    s, w = options.scale, options.workspaces
    account_id = str(_uuid(rng, 1)[0])
    company = ["acme", "globex", "initech", "umbrella", "hooli"][options.seed % 5]

    ws_ids = _numeric_ids(rng, w, 10**15, 9 * 10**15)
    env_names = ["prod", "dev", "analytics", "ml", "staging", "emea", "apac", "sandbox"]
    workspaces = pd.DataFrame(
        {
            "workspace_id": ws_ids.astype(str),
            "workspace_name": [f"{company}-{env_names[i % 8]}{'' if i < 8 else i // 8}" for i in range(w)],
            "region": [REGIONS[i % len(REGIONS)][0] for i in range(w)],
            "region_sku": [REGIONS[i % len(REGIONS)][1] for i in range(w)],
            "create_time_us": (19000 + rng.integers(0, 600, size=w)) * 86_400_000_000,
            "metastore": [i % len(REGIONS) for i in range(w)],
        }
    )
    workspaces["workspace_url"] = [f"https://dbc-{h[:8]}-{h[8:12]}.cloud.databricks.com" for h in _hex(rng, w, 12)]
    metastore_ids = list(_uuid(rng, len(REGIONS)))

    n_users = _count(s, 12_000, 8 * w)
    n_sps = _count(s, 1_500, 2 * w)
    names = sorted({f"{first}.{last}" for first in FIRST_NAMES for last in LAST_NAMES})
    picked = rng.choice(len(names), size=min(n_users, len(names)), replace=False)
    user_names = [names[i] for i in picked] + [f"user{i:05d}" for i in range(n_users - len(picked))]
    sp_uuids = _uuid(rng, n_sps)
    principals = pd.DataFrame(
        {
            "email": [f"{u}@{company}.com" for u in user_names] + list(sp_uuids),
            "user_id": _numeric_ids(rng, n_users + n_sps, 10**14, 9 * 10**14).astype(str),
            "is_sp": np.r_[np.zeros(n_users, bool), np.ones(n_sps, bool)],
            "ws": np.r_[_workspace_index(rng, n_users, w), np.arange(n_sps) % w],
            "ip": [f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(1, 255, size=(n_users + n_sps, 4))],
        }
    )
    principals["display"] = [u.replace(".", " ").title() for u in user_names] + [
        f"sp-{company}-etl-{i}" for i in range(n_sps)
    ]

    clusters = _all_purpose_clusters(rng, s, w, principals)
    jobs = _jobs(rng, s, w, principals, clusters)
    pipelines = _pipelines(rng, s, w, principals)
    warehouses = _warehouses(rng, s, w, principals)
    endpoints = _endpoints(rng, s, w, principals)
    notebooks = _notebooks(rng, principals)
    tables = _tables(jobs, pipelines, w)
    return Account(
        account_id,
        metastore_ids,
        workspaces,
        principals,
        clusters,
        jobs,
        pipelines,
        warehouses,
        endpoints,
        notebooks,
        tables,
    )


def _users_of(principals: pd.DataFrame, ws: np.ndarray, rng: np.random.Generator, sp: bool) -> np.ndarray:
    """For each workspace index in `ws`, a random principal index (users or SPs) of that workspace."""
    out = np.empty(ws.size, dtype=np.int64)
    for k in np.unique(ws):
        pool = np.flatnonzero((principals.ws.to_numpy() == k) & (principals.is_sp.to_numpy() == sp))
        if pool.size == 0:
            pool = np.flatnonzero(principals.is_sp.to_numpy() == sp)
        rows = np.flatnonzero(ws == k)
        out[rows] = rng.choice(pool, size=rows.size)
    return out


def _cluster_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    stamp = rng.integers(0, 10**6, size=n)
    month_day = rng.integers(101, 1229, size=n)
    return np.array(
        [f"{md:04d}-{st:06d}-{h}" for md, st, h in zip(month_day, stamp, _hex(rng, n, 8), strict=False)], dtype=object
    )


def _all_purpose_clusters(rng, s, w, principals) -> pd.DataFrame:
    n = _count(s, 12_000, 3 * w)
    ws = _workspace_index(rng, n, w)
    owner = _users_of(principals, ws, rng, sp=False)
    node = rng.choice([1, 2, 3, 4, 5, 6, 7, 8], size=n)
    autoscale = rng.random(n) < 0.6
    workers = rng.integers(1, 6, size=n)
    first = principals.email.to_numpy()[owner]
    return pd.DataFrame(
        {
            "cluster_id": _cluster_ids(rng, n),
            "ws": ws,
            "owner": owner,
            "cluster_name": [
                f"{e.split('@')[0].split('.')[0]}'s cluster" if i % 3 else f"shared-{JOB_WORDS[i % 15]}"
                for i, e in enumerate(first)
            ],
            "node": node,
            "driver_node": node,
            "workers": workers,
            "autoscale": autoscale,
            "max_workers": workers + rng.integers(1, 6, size=n),
            "photon": rng.random(n) < 0.35,
            "dbr": rng.choice(DBR_VERSIONS, n, p=DBR_WEIGHTS),
            "pool": np.where(rng.random(n) < 0.15, rng.integers(0, 4, n), -1),
            "policy": np.where(rng.random(n) < 0.5, rng.integers(0, 3, n), -1),
            # a few clusters are deleted for good; the monitored ones (incident candidates) stay
            "delete_us": np.where(rng.random(n) < 0.08, (20400 + rng.integers(0, 300, n)) * 86_400_000_000, NEVER_US),
            "tags": rng.choice(len(TAG_SETS), size=n, p=_tag_probabilities()),
            "auto_termination": rng.choice([30, 60, 120], size=n),
            "security_mode": rng.choice(["USER_ISOLATION", "SINGLE_USER"], size=n),
            "start_hour": rng.uniform(6.5, 10.5, size=n),
            "hours": rng.uniform(2.0, 6.0, size=n),
            "weekend_prob": rng.choice([0.05, 0.15, 0.6], size=n, p=[0.6, 0.3, 0.1]),
            "load": rng.beta(2.0, 3.0, size=n),
            # per-minute node_timeline rows: a few clusters (4 at the default scale), candidates of the idle
            # and oversized incidents
            "monitored": np.arange(n) < max(4, int(40 * min(1.0, s * 50))) if n else np.zeros(0, bool),
            "create_us": (19500 + rng.integers(0, 300, size=n)) * 86_400_000_000,
        }
    )


def _tag_probabilities() -> np.ndarray:
    p = np.full(len(TAG_SETS), 1.0)
    p[0] = 3.0  # untagged is the most common single choice
    return p / p.sum()


def _jobs(rng, s, w, principals, clusters) -> pd.DataFrame:
    """Scheduled jobs: hundreds in a mid-size account, mostly daily and small, with a long tail and a
    few large, long ones (the cost mix and its sources are in docs/simulator.md)."""
    n = _count(s, 100_000, max(16, 5 * w))
    ws = _workspace_index(rng, n, w)
    run_as_sp = rng.random(n) < 0.55
    run_as = np.where(run_as_sp, _users_of(principals, ws, rng, sp=True), _users_of(principals, ws, rng, sp=False))
    creator = _users_of(principals, ws, rng, sp=False)
    compute = rng.choice(["JOB_CLUSTER", "SERVERLESS", "ALL_PURPOSE"], size=n, p=[0.62, 0.28, 0.1])
    # the first jobs have known shapes: every compute kind exists and incidents have candidates
    compute[:6] = ["JOB_CLUSTER", "JOB_CLUSTER", "SERVERLESS", "ALL_PURPOSE", "JOB_CLUSTER", "JOB_CLUSTER"]
    ap_cluster = np.full(n, -1)
    for i in np.flatnonzero(compute == "ALL_PURPOSE"):
        # on a cluster of the job's workspace, one without node metrics where there is one (a job keeps a
        # cluster busy: the monitored ones stay candidates of the idle and oversized incidents)
        pool = np.flatnonzero(clusters.ws.to_numpy() == ws[i])
        unmonitored = pool[~clusters.monitored.to_numpy()[pool]]
        pool = unmonitored if unmonitored.size else pool
        if pool.size == 0:
            compute[i] = "JOB_CLUSTER"
        else:
            ap_cluster[i] = rng.choice(pool)
    period = rng.choice([24, 12, 6, 4, 1], size=n, p=[0.8, 0.08, 0.06, 0.04, 0.02])
    period[:6] = [24, 4, 24, 6, 24, 12]
    fail_prob = rng.choice([0.01, 0.03, 0.08], size=n, p=[0.6, 0.3, 0.1])
    fail_prob[:6] = 0.01
    weekday_only = rng.random(n) < 0.15
    weekday_only[:6] = False
    tags = rng.choice(len(TAG_SETS), size=n, p=_tag_probabilities())
    words = rng.choice(JOB_WORDS, size=n)
    verbs = rng.choice(JOB_VERBS, size=n)
    # size: a long tail of small jobs and a few large daily ones on big nodes (docs/simulator.md)
    large = rng.random(n) < LARGE_JOB_SHARE
    large[:6] = False
    workers = np.where(
        large,
        np.round(16 * 2 ** rng.uniform(0, 2, n)),
        np.clip(np.round(np.exp(rng.normal(np.log(5), 0.7, n))), 1, 24),
    )
    period = np.where(large, 24, period)
    # a run ends well before the next one starts (at most half the period)
    duration = np.where(large, rng.uniform(90, 300, n), np.exp(rng.normal(np.log(20.0), 0.8, size=n)).clip(2, 150))
    duration = np.minimum(duration, 30 * period)
    node = np.where(large, rng.choice(LARGE_JOB_NODES, n), rng.choice([1, 2, 3, 5, 7, 8], size=n))
    trigger = rng.choice(
        ["CRON", "FILE_ARRIVAL", "PERIODIC", "TABLE_UPDATE", "CONTINUOUS"], size=n, p=[0.78, 0.08, 0.08, 0.04, 0.02]
    )
    trigger[:6] = "CRON"
    return pd.DataFrame(
        {
            "job_id": _numeric_ids(rng, n, 10**13, 10**15).astype(str),
            "ws": ws,
            "name": [
                f"{v}_{x}_{'hourly' if p == 1 else 'daily' if p == 24 else f'every_{p}h'}_{i}"
                for i, (v, x, p) in enumerate(zip(verbs, words, period, strict=False))
            ],
            "creator": creator,
            "run_as": run_as,
            "tags": tags,
            # tags live on the job but are missing from its billing rows (a pipeline back-fills them)
            "tags_missing_in_billing": (tags > 0) & (rng.random(n) < 0.25),
            "compute": compute,
            "ap_cluster": ap_cluster,
            "node": node,
            "workers": workers.astype(np.int64),
            "photon": rng.random(n) < 0.4,
            "period_h": period,
            "offset_min": rng.integers(0, 60 * np.minimum(period, 24)),
            "duration_min": duration,
            "fail_prob": fail_prob,
            "weekday_only": weekday_only,
            "trigger": trigger,
            "tasks": rng.integers(1, 5, size=n),
            "params": rng.integers(0, 4, size=n),
            "description": [f"{v.capitalize()} {x} data" for v, x in zip(verbs, words, strict=False)],
            "create_us": (19400 + rng.integers(0, 500, size=n)) * 86_400_000_000,
            "change_prob": np.full(n, 0.004),
            "dbr": rng.choice(DBR_VERSIONS, n, p=DBR_WEIGHTS),
            # about 4 % of jobs are deleted on some day (and stop running); incident candidates never are
            "delete_us": np.where(
                (rng.random(n) < 0.04) & (np.arange(n) >= 6),
                (20300 + rng.integers(0, 500, n)) * 86_400_000_000,
                NEVER_US,
            ),
            # per-minute node metrics for some daily jobs (volume; docs/simulator.md)
            "monitored": (np.arange(n) % NODE_TIMELINE_JOB_EVERY == 0) & ~large & (period == 24),
            # runs of about 5 % of jobs are triggered by a run-job task of an orchestrating job
            "triggered_by_task": (rng.random(n) < 0.05) & (np.arange(n) >= 6),
            "bundle": rng.random(n) < 0.3,
            "health_rule": rng.random(n) < 0.2,
        }
    )


def _pipelines(rng, s, w, principals) -> pd.DataFrame:
    n = _count(s, 5_000, 2 * w)
    ws = _workspace_index(rng, n, w)
    ws[: min(w, n)] = np.arange(min(w, n))
    serverless = rng.random(n) < 0.4
    serverless[:2] = [False, True]
    continuous = (rng.random(n) < CONTINUOUS_PIPELINE_SHARE) & (np.arange(n) >= 2)
    period = np.where(continuous, 24, rng.choice([24, 6, 1], size=n, p=[0.5, 0.3, 0.2]))
    words = rng.choice(JOB_WORDS, size=n)
    tags = rng.choice(len(TAG_SETS), size=n, p=_tag_probabilities())
    return pd.DataFrame(
        {
            "pipeline_id": _uuid(rng, n),
            "ws": ws,
            "name": [f"dlt_{x}_{i}" for i, x in enumerate(words)],
            "creator": _users_of(principals, ws, rng, sp=False),
            "run_as": _users_of(principals, ws, rng, sp=True),
            "tags": tags,
            "tags_missing_in_billing": (tags > 0) & (rng.random(n) < 0.3),
            "serverless": serverless,
            "edition": rng.choice(["CORE", "PRO", "ADVANCED"], size=n),
            "photon": rng.random(n) < 0.5,
            "node": rng.choice([1, 2, 3, 5], size=n),
            "workers": np.where(continuous, rng.integers(1, 4, size=n), rng.integers(2, 9, size=n)),
            "period_h": period,
            "offset_min": rng.integers(0, 60, size=n),
            # a continuous pipeline runs all day (one update a day, restarted at its offset minute); a
            # triggered one for at most 40 % of its period
            "duration_min": np.where(
                continuous, 24 * 60 - 10, np.exp(rng.normal(np.log(30.0), 0.6, size=n)).clip(5, 24 * period)
            ),
            "continuous": continuous,
            "cluster_id": _cluster_ids(rng, n),
            "create_us": (19450 + rng.integers(0, 400, size=n)) * 86_400_000_000,
        }
    )


def _warehouses(rng, s, w, principals) -> pd.DataFrame:
    n = _count(s, 2_000, 2 * w)
    ws = _workspace_index(rng, n, w)
    ws[: min(w, n)] = np.arange(min(w, n))
    wtype = rng.choice(["PRO", "SERVERLESS", "CLASSIC"], size=n, p=[0.4, 0.5, 0.1])
    size = rng.choice(list(WAREHOUSE_SIZES), size=n, p=[0.35, 0.35, 0.2, 0.08, 0.02])
    max_clusters = rng.choice([1, 2, 4, 8], size=n)
    words = rng.choice(["bi", "adhoc", "reporting", "dbt", "finance", "genie"], size=n)
    return pd.DataFrame(
        {
            "warehouse_id": _hex(rng, n, 16),
            "ws": ws,
            "name": [f"{x}-warehouse-{i}" for i, x in enumerate(words)],
            "type": wtype,
            "size": size,
            "min_clusters": np.ones(n, dtype=np.int32),
            "max_clusters": max_clusters.astype(np.int32),
            # serverless warehouses stop after minutes idle (their default is 10), pro and classic later
            "auto_stop": np.where(
                wtype == "SERVERLESS", rng.choice([5, 10, 15], size=n), rng.choice([30, 45, 60, 120], size=n)
            ).astype(np.int32),
            "tags": rng.choice(len(TAG_SETS), size=n, p=_tag_probabilities()),
            "owner": _users_of(principals, ws, rng, sp=False),
            "queries_per_day": rng.gamma(1.5, 1.0, size=n),
            "start_hour": rng.uniform(6.0, 10.0, size=n),
            "hours": rng.uniform(6.0, 13.0, size=n),
            "create_us": (19400 + rng.integers(0, 500, size=n)) * 86_400_000_000,
        }
    )


def _endpoints(rng, s, w, principals) -> pd.DataFrame:
    n = _count(s, 3_000, w)
    ws = _workspace_index(rng, n, w)
    ws[: min(w, n)] = np.arange(min(w, n))
    kind = rng.choice(
        ["CUSTOM_MODEL", "FOUNDATION_MODEL", "EXTERNAL_MODEL", "FEATURE_SPEC"], size=n, p=[0.45, 0.3, 0.15, 0.1]
    )
    kind[: min(n, 4)] = ["CUSTOM_MODEL", "FOUNDATION_MODEL", "EXTERNAL_MODEL", "FEATURE_SPEC"][: min(n, 4)]
    words = rng.choice(JOB_WORDS, size=n)
    return pd.DataFrame(
        {
            "endpoint_id": _hex(rng, n, 32),
            "served_entity_id": _hex(rng, n, 32),
            "ws": ws,
            "name": [f"{x}-{k.split('_')[0].lower()}-{i}" for i, (x, k) in enumerate(zip(words, kind, strict=False))],
            "kind": kind,
            "creator": _users_of(principals, ws, rng, sp=False),
            "dbu_per_hour": rng.choice([1.0, 2.0, 4.0, 8.0], size=n),
            "requests_per_hour": rng.gamma(2.0, 0.6, size=n),
            "create_us": (19600 + rng.integers(0, 300, size=n)) * 86_400_000_000,
        }
    )


def _notebooks(rng, principals) -> pd.DataFrame:
    users = np.flatnonzero(~principals.is_sp.to_numpy())
    per_user = 2
    owner = np.repeat(users, per_user)
    emails = principals.email.to_numpy()[owner]
    words = rng.choice(JOB_WORDS, size=owner.size)
    return pd.DataFrame(
        {
            "notebook_id": _numeric_ids(rng, owner.size, 10**15, 9 * 10**15).astype(str),
            "owner": owner,
            "ws": principals.ws.to_numpy()[owner],
            "path": [f"/Users/{e}/explore_{x}" for e, x in zip(emails, words, strict=False)],
        }
    )


def _tables(jobs: pd.DataFrame, pipelines: pd.DataFrame, w: int) -> pd.DataFrame:
    """Source and target tables: every job and pipeline writes one table and reads two."""
    rows = []
    for kind, frame, key in (("JOB", jobs, "job_id"), ("PIPELINE", pipelines, "pipeline_id")):
        for i, (entity, ws, name) in enumerate(zip(frame[key], frame.ws, frame.name, strict=False)):
            layer = "silver" if kind == "JOB" else "gold"
            catalog = ["main", "prod", "analytics"][ws % 3]
            rows.append(
                (
                    kind,
                    entity,
                    ws,
                    f"{catalog}.{layer}.{name.split('_')[1]}_{i}_{kind.lower()}",
                    f"{catalog}.bronze.raw_{name.split('_')[1]}",
                    f"{catalog}.bronze.ref_{JOB_WORDS[stable_int(entity) % len(JOB_WORDS)]}",
                )
            )
    return pd.DataFrame(rows, columns=["entity_type", "entity_id", "ws", "target", "source_a", "source_b"])
