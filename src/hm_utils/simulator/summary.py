"""What a simulated account looks like (`hm simulate --summary`): its cost mix over the last days, how
job spend spreads over jobs, and how often the events and fields that public detections and dashboards
look for occur.

Reads a folder laid out as <schema>/<table>/ (a simulated account or an export) with pyarrow and
pandas. Cost = usage quantity x the list price valid at usage time (`pricing.default`), the documented
join; it is the simulator's own view, independent of the pipeline's gold tables.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

# billing_origin_product -> group of the cost mix (products not listed: "other products")
PRODUCT_GROUPS = {
    "JOBS": "jobs",
    "ALL_PURPOSE": "all-purpose clusters",
    "SQL": "SQL warehouses",
    "DLT": "pipelines",
    "MODEL_SERVING": "model serving",
    "INTERACTIVE": "serverless notebooks",
}


def read(folder: Path, key: str, columns: list[str] | None = None) -> pa.Table:
    """One table (`key` = schema.table) of a folder laid out as <schema>/<table>/."""
    return ds.dataset(Path(folder) / key.replace(".", "/"), format="parquet").to_table(columns=columns)


def priced_usage(folder: Path, days: int) -> pd.DataFrame:
    """Usage rows of the last `days` usage dates (up to the latest one) with their list cost."""
    usage = read(folder, "billing.usage")
    frame = pd.DataFrame(
        {
            "usage_date": pd.to_datetime(usage["usage_date"].to_pandas()),
            "start": usage["usage_start_time"].cast(pa.int64()).to_numpy(),
            "sku_name": usage["sku_name"].to_numpy(zero_copy_only=False),
            "product": usage["billing_origin_product"].to_numpy(zero_copy_only=False),
            "serverless": usage["product_features"].combine_chunks().field("is_serverless").to_pandas(),
            "job_id": usage["usage_metadata"].combine_chunks().field("job_id").to_pandas(),
            "quantity": pc.cast(usage["usage_quantity"], pa.float64()).to_numpy(),
        }
    )
    last = frame["usage_date"].max()
    frame = frame[frame["usage_date"] > last - pd.Timedelta(days=days)].reset_index(drop=True)
    prices = read(folder, "billing.list_prices")
    book = pd.DataFrame(
        {
            "sku_name": prices["sku_name"].to_numpy(zero_copy_only=False),
            "price_start": prices["price_start_time"].cast(pa.int64()).to_numpy(),
            "price_end": pc.fill_null(prices["price_end_time"].cast(pa.int64()), np.iinfo(np.int64).max).to_numpy(),
            "price": pc.cast(prices["pricing"].combine_chunks().field("default"), pa.float64()).to_numpy(),
        }
    )
    joined = frame[["sku_name", "start"]].reset_index().merge(book, on="sku_name")
    joined = joined[(joined["price_start"] <= joined["start"]) & (joined["start"] < joined["price_end"])]
    price = joined.set_index("index")["price"].reindex(frame.index).fillna(0.0)
    return frame.assign(list_cost=frame["quantity"] * price)


def cost_mix(folder: Path, days: int = 30) -> pd.DataFrame:
    """List cost and share of each product group over the last `days` days, largest first."""
    usage = priced_usage(folder, days)
    group = usage["product"].map(PRODUCT_GROUPS).fillna("other products")
    jobs = usage["product"] == "JOBS"
    serverless = usage["serverless"].astype("boolean").fillna(False).to_numpy(bool)
    group = group.mask(jobs, np.where(serverless, "jobs (serverless)", "jobs (classic)"))
    mix = usage.groupby(group)["list_cost"].sum().to_frame()
    mix["share"] = mix["list_cost"] / mix["list_cost"].sum()
    mix.index.name = "product"
    return mix.sort_values("list_cost", ascending=False)


def job_spread(folder: Path, days: int = 30) -> dict[str, float]:
    """How job spend spreads over jobs in the last `days` days: jobs defined and billed, total, the
    largest job, the median and 90th percentile job, and the ten largest jobs' share."""
    usage = priced_usage(folder, days)
    per_job = usage[usage["job_id"].notna()].groupby("job_id")["list_cost"].sum().sort_values(ascending=False)
    total = float(per_job.sum())
    defined = pc.count_distinct(read(folder, "lakeflow.jobs", ["job_id"])["job_id"]).as_py()
    billed = per_job.size > 0
    return {
        "jobs_defined": int(defined),
        "jobs_billed": int(per_job.size),
        "job_list_cost": round(total, 2),
        "largest_job": round(float(per_job.iloc[0]), 2) if billed else 0.0,
        "p90_job": round(float(per_job.quantile(0.9)), 2) if billed else 0.0,
        "median_job": round(float(per_job.median()), 2) if billed else 0.0,
        "top_10_share": round(float(per_job.head(10).sum()) / total, 4) if total else 0.0,
    }


Counter = Callable[[pa.Table], int]


def _true(mask: pa.Array | pa.ChunkedArray) -> int:
    return int(pc.sum(pc.fill_null(mask, False)).as_py() or 0)


def _param(table: pa.Table, key: str) -> pa.Array:
    return pc.map_lookup(table["request_params"].combine_chunks(), key, "first")


def _actions(*names: str) -> Counter:
    return lambda t: _true(pc.is_in(t["action_name"], pa.array(names)))


def _service(name: str) -> Counter:
    return lambda t: _true(pc.equal(t["service_name"], name))


def _refused(service: str) -> Counter:
    def count(t: pa.Table) -> int:
        status = t["response"].combine_chunks().field("status_code")
        return _true(pc.and_(pc.equal(t["service_name"], service), pc.is_in(status, pa.array([401, 403], pa.int32()))))

    return count


def _negative_token_lifetimes(t: pa.Table) -> int:
    expiry = pc.cast(_param(t, "tokenExpirationTime"), pa.int64())
    return _true(pc.less(expiry, pc.divide(t["event_time"].cast(pa.int64()), 1000)))


def _repaired_twice(t: pa.Table) -> int:
    terminal = t.filter(pc.is_valid(t["result_state"]))
    attempts = terminal.group_by("run_id").aggregate([("run_id", "count")])
    return _true(pc.greater_equal(attempts["run_id_count"], 3))


def _old_runtime(t: pa.Table) -> int:
    return _true(pc.match_substring_regex(t["dbr_version"], r"^1[0-3]\."))


def _job_cluster_minutes(folder: Path) -> Counter:
    def count(t: pa.Table) -> int:
        clusters = read(folder, "compute.clusters", ["cluster_id", "cluster_source"])
        jobs = pc.filter(clusters["cluster_id"], pc.equal(clusters["cluster_source"], "JOB"))
        return _true(pc.is_in(t["cluster_id"], pc.unique(jobs)))

    return count


def features(folder: Path) -> list[tuple[str, str, list[str], Counter]]:
    """(what, table, columns read, row counter) of every event or field the simulator produces for the
    public queries that used to find nothing (docs/simulator.md)."""
    audit = "access.audit"
    listed = [
        ("billing: GENIE usage rows", "billing.usage", ["billing_origin_product"],
         lambda t: _true(pc.equal(t["billing_origin_product"], "GENIE"))),
        ("billing: rows with usage_metadata.genie", "billing.usage", ["usage_metadata"],
         lambda t: _true(pc.is_valid(t["usage_metadata"].combine_chunks().field("genie")))),
        ("billing: RETRACTION + RESTATEMENT rows", "billing.usage", ["record_type"],
         lambda t: _true(pc.not_equal(t["record_type"], "ORIGINAL"))),
        ("compute: node_timeline rows of job clusters", "compute.node_timeline", ["cluster_id"],
         _job_cluster_minutes(folder)),
        ("compute: cluster rows with delete_time", "compute.clusters", ["delete_time"],
         lambda t: _true(pc.is_valid(t["delete_time"]))),
        ("compute: cluster rows on DBR 10.x-13.x", "compute.clusters", ["dbr_version"], _old_runtime),
        ("compute: cluster rows tagged Budget", "compute.clusters", ["tags"],
         lambda t: _true(pc.is_valid(pc.map_lookup(t["tags"].combine_chunks(), "Budget", "first")))),
        ("lakeflow: runs repaired 2-3 times", "lakeflow.job_run_timeline", ["run_id", "result_state"],
         _repaired_twice),
        ("lakeflow: run rows with source/root_task_run_id", "lakeflow.job_run_timeline", ["root_task_run_id"],
         lambda t: _true(pc.is_valid(t["root_task_run_id"]))),
        ("audit: unityCatalog refused (401/403)", audit, ["service_name", "response"], _refused("unityCatalog")),
        ("audit: request_params.is_ip_access_denied", audit, ["request_params"],
         lambda t: _true(pc.is_valid(_param(t, "is_ip_access_denied")))),
        ("audit: distinct runCommand commandText", audit, ["request_params"],
         lambda t: int(pc.count_distinct(_param(t, "commandText")).as_py())),
        ("audit: tokens expiring before they are made", audit, ["request_params", "event_time"],
         _negative_token_lifetimes),
    ]  # fmt: skip
    for service in ("globalInitScripts", "capsule8-alerts-dataplane", "clamAVScanService-dataplane"):
        listed.append((f"audit: service {service}", audit, ["service_name"], _service(service)))
    for action in NEW_AUDIT_ACTIONS:
        listed.append((f"audit: {action}", audit, ["action_name"], _actions(action)))
    return listed


NEW_AUDIT_ACTIONS = [
    "setAccountAdmin", "changeAccountOwner", "removeAdmin", "setAdmin", "createIpAccessList", "updateIpAccessList",
    "deleteIpAccessList", "databricksAccess", "acceptTos", "sendTos", "setSetting", "installLibraryOnAllClusters",
    "mount", "createRecipient", "updateMetastore", "deleteTable", "moveWorkspaceNodeToTrash", "deleteWorkspaceObject",
    "permanentDelete", "delete",
]  # fmt: skip


def feature_frequency(folder: Path) -> pd.DataFrame:
    """Rows showing each feature (distinct values for commandText), and rows per day over the days the
    table covers."""
    rows = []
    for what, key, columns, count in features(folder):
        rows.append({"feature": what, "rows": count(read(folder, key, columns))})
    frame = pd.DataFrame(rows).set_index("feature")
    days = _days_covered(folder)
    frame["per_day"] = (frame["rows"] / days).round(2)
    return frame


def _days_covered(folder: Path) -> int:
    usage = read(folder, "billing.usage", ["usage_date"])["usage_date"]
    first, last = pc.min_max(usage).values()
    return (last.as_py() - first.as_py()).days + 1


def format_summary(folder: Path, days: int = 30) -> str:
    """The cost mix, the job spread and the feature frequencies as plain text tables."""
    mix = cost_mix(folder, days)
    total = float(mix["list_cost"].sum())
    lines = [f"cost mix of the last {days} days (list price): {total:,.0f} in total"]
    lines += [f"  {row.Index:<24} {row.list_cost:>12,.0f}  {row.share:>6.1%}" for row in mix.itertuples()]
    spread = job_spread(folder, days)
    lines.append(
        f"jobs: {spread['jobs_defined']} defined, {spread['jobs_billed']} billed, {spread['job_list_cost']:,.0f} in total;"
        f" largest {spread['largest_job']:,.0f}, 90th percentile {spread['p90_job']:,.0f},"
        f" median {spread['median_job']:,.0f}; the ten largest {spread['top_10_share']:.0%}"
    )
    lines.append(f"events and fields public queries look for ({_days_covered(folder)} days):")
    frequency = feature_frequency(folder)
    lines += [f"  {row.Index:<52} {row.rows:>10,} {row.per_day:>10,.2f}/day" for row in frequency.itertuples()]
    return "\n".join(lines)
