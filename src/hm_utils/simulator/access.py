"""access.audit, access.table_lineage, access.column_lineage and access.workspaces_latest.

Audit rows come from a weighted catalogue of actions, each with the request_params keys real
detection queries read; failed logins, permission/admin changes, tokens, downloads, secrets,
IP denials and Unity Catalog access are all present at realistic (low) rates. The security
incidents add bursts on top. Lineage comes from job runs, pipeline updates and SQL statements.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_SECOND,
    SimulationOptions,
    Window,
    activity_factor,
    build_table,
    concat_strings,
    dates,
    day_rng,
    hashed_hex,
    hashed_uuids,
    int_strings,
    map_array,
    repeat_scalar,
    take_strings,
    timestamps,
    unit_hash,
)
from hm_utils.simulator.entities import Account
from hm_utils.simulator.incidents import GroundTruth, IncidentPlan, hour_us
from hm_utils.simulator.lakeflow import Segments, Updates
from hm_utils.simulator.query import Queries

AUDIT_ROWS_PER_DAY_AT_SCALE_1 = 1_000_000
LOGIN_ACTIONS = ["login", "tokenLogin", "samlLogin", "oidcBrowserLogin", "jwtLogin"]
DOWNLOAD_ACTIONS = [
    ("databrickssql", "downloadQueryResult"),
    ("notebook", "downloadPreviewResults"),
    ("workspace", "workspaceExport"),
    ("filesystem", "filesGet"),
]
# service, action, weight, request_params keys, account level
ACTIONS: list[tuple[str, str, float, list[str], bool]] = [
    ("unityCatalog", "getTable", 0.22, ["full_name_arg", "table_full_name", "workspace_id", "metastore_id"], False),
    (
        "unityCatalog",
        "generateTemporaryTableCredential",
        0.12,
        ["table_full_name", "table_id", "operation", "workspace_id", "metastore_id"],
        False,
    ),
    (
        "unityCatalog",
        "generateTemporaryVolumeCredential",
        0.01,
        ["volume_full_name", "volume_id", "operation", "workspace_id", "metastore_id"],
        False,
    ),
    (
        "unityCatalog",
        "generateTemporaryPathCredential",
        0.005,
        ["url", "operation", "workspace_id", "metastore_id"],
        False,
    ),
    ("accounts", "tokenLogin", 0.12, ["user", "tokenId"], False),
    ("accounts", "login", 0.02, ["user"], False),
    ("accounts", "samlLogin", 0.01, ["user"], False),
    ("accounts", "oidcBrowserLogin", 0.01, ["user"], False),
    ("accounts", "login", 0.003, ["user"], True),
    ("notebook", "runCommand", 0.2, ["notebookId", "commandText", "executionTime", "status"], False),
    ("clusters", "get", 0.06, ["cluster_id"], False),
    ("jobs", "runStart", 0.05, ["jobId", "runId"], False),
    ("secrets", "getSecret", 0.05, ["scope", "key"], False),
    ("sqlPermissions", "getTable", 0.03, ["securable"], False),
    ("workspace", "getWorkspaceObject", 0.06, ["path"], False),
    ("databrickssql", "downloadQueryResult", 0.002, ["queryResultId", "fileType"], False),
    ("notebook", "downloadPreviewResults", 0.001, ["notebookId"], False),
    ("workspace", "workspaceExport", 0.001, ["notebookFullPath", "workspaceExportFormat"], False),
    ("filesystem", "filesGet", 0.002, ["path"], False),
    ("clusters", "changeClusterAcl", 0.0008, ["shardName", "aclPermissionSet", "targetUserId", "resourceId"], False),
    ("jobs", "changeJobAcl", 0.0008, ["shardName", "aclPermissionSet", "targetUserId", "resourceId"], False),
    (
        "unityCatalog",
        "updatePermissions",
        0.001,
        ["securable_type", "securable_full_name", "changes", "workspace_id", "metastore_id"],
        False,
    ),
    ("sqlPermissions", "grantPermission", 0.0005, ["permission"], False),
    ("accounts", "addPrincipalToGroup", 0.0004, ["targetGroupName", "targetUserName"], True),
    ("accounts", "removePrincipalFromGroup", 0.0002, ["targetGroupName", "targetUserName"], True),
    ("accounts", "generateDbToken", 0.002, ["tokenExpirationTime", "comment", "tokenHash"], False),
    ("accounts", "IpAccessDenied", 0.0003, ["path", "userAgent"], False),
    ("workspace", "workspaceConfEdit", 0.0001, ["workspaceConfKeys", "workspaceConfValues"], False),
    (
        "unityCatalog",
        "deltaSharingQueryTable",
        0.0005,
        ["share", "name", "recipient_name", "workspace_id", "metastore_id"],
        False,
    ),
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (Macintosh) Safari/605.1.15",
    "databricks-sdk-py/0.38.0",
    "Databricks-Runtime/15.4.x-scala2.12",
    "curl/8.5.0",
    "terraform-provider-databricks/1.60",
]
GROUPS = ["data-engineers", "analysts", "ml-team", "finance-readers"]


class _Rows:
    """Actor and context of a batch of audit rows, used by the request_params builders."""

    def __init__(self, account: Account, actor: np.ndarray, key: np.ndarray, seed: int) -> None:
        p = account.principals
        self.n = actor.size
        self.email = pa.array(p.email.to_numpy()[actor], pa.string())
        self.ws_id = pa.array(account.workspaces.workspace_id.to_numpy()[p.ws.to_numpy()[actor]], pa.string())
        self.metastore = take_strings(
            account.metastore_ids, account.workspaces.metastore.to_numpy()[p.ws.to_numpy()[actor]]
        )
        tables = np.r_[account.tables.target.to_numpy(), account.tables.source_a.to_numpy()]
        self.u = unit_hash(seed, key, 99)
        self.table = pa.array(tables[(self.u * tables.size).astype(int)], pa.string())
        self.key = key
        self.account = account


def _param(name: str) -> Callable[[_Rows], pa.Array]:
    def pick(options: list[str]) -> Callable[[_Rows], pa.Array]:
        return lambda r: take_strings(options, (unit_hash(r.key, len(name)) * len(options)).astype(int))

    builders: dict[str, Callable[[_Rows], pa.Array]] = {
        "user": lambda r: r.email,
        "workspace_id": lambda r: r.ws_id,
        "metastore_id": lambda r: r.metastore,
        "table_full_name": lambda r: r.table,
        "full_name_arg": lambda r: r.table,
        "securable_full_name": lambda r: r.table,
        "table_id": lambda r: hashed_uuids(r.key, 5),
        "volume_id": lambda r: hashed_uuids(r.key, 6),
        "volume_full_name": lambda r: concat_strings(pc.utf8_slice_codeunits(r.table, 0, 9), ".landing_files"),
        "operation": lambda r: take_strings(["READ", "READ", "READ", "READ_WRITE", "WRITE"], (r.u * 5).astype(int)),
        "url": lambda r: concat_strings("s3://company-landing/raw/", hashed_hex(6, r.key)),
        "tokenId": lambda r: hashed_hex(32, r.key, 7),
        "notebookId": lambda r: int_strings(10**15 + (r.u * 10**6).astype(np.int64)),
        "commandText": pick(
            ["display(spark.table('main.silver.orders'))", "df.count()", "%sql SELECT 1", "spark.read.table(t)"]
        ),
        "executionTime": lambda r: pc.cast(pa.array(np.round(r.u * 30, 3)), pa.string()),
        "status": pick(["finished", "finished", "finished", "error"]),
        "cluster_id": lambda r: take_strings(
            list(r.account.clusters.cluster_id), (r.u * len(r.account.clusters)).astype(int)
        ),
        "jobId": lambda r: take_strings(list(r.account.jobs.job_id), (r.u * len(r.account.jobs)).astype(int)),
        "runId": lambda r: int_strings(100_000_000_000_000 + (r.u * 10**9).astype(np.int64)),
        "scope": pick(["prod-kv", "etl-secrets", "ml-keys"]),
        "key": pick(["db-password", "api-token", "s3-key", "snowflake-pw"]),
        "securable": lambda r: r.table,
        "path": lambda r: concat_strings("/Workspace/Users/", r.email, "/report_", hashed_hex(4, r.key)),
        "notebookFullPath": lambda r: concat_strings("/Users/", r.email, "/analysis_", hashed_hex(4, r.key)),
        "queryResultId": lambda r: hashed_uuids(r.key, 8),
        "fileType": pick(["csv", "xlsx", "json"]),
        "workspaceExportFormat": pick(["SOURCE", "HTML", "JUPYTER", "DBC"]),
        "shardName": lambda r: r.ws_id,
        "aclPermissionSet": pick(["CAN_MANAGE", "CAN_RESTART", "CAN_ATTACH_TO", "CAN_VIEW"]),
        "targetUserId": lambda r: int_strings(10**14 + (r.u * 10**12).astype(np.int64)),
        "resourceId": lambda r: hashed_hex(16, r.key, 9),
        "securable_type": pick(["TABLE", "SCHEMA", "CATALOG"]),
        "changes": pick(
            ['[{"principal":"analysts","add":["SELECT"]}]', '[{"principal":"data-engineers","add":["MODIFY"]}]']
        ),
        "permission": pick(["SELECT", "MODIFY", "READ_METADATA"]),
        "targetGroupName": pick(GROUPS),
        "targetUserName": lambda r: r.email,
        "tokenExpirationTime": lambda r: int_strings(
            1_700_000_000_000 + (r.key % 10**6) * 86_400_000 // 1000 + (r.u * 7.776e9).astype(np.int64)
        ),
        "comment": pick(["ci token", "airflow", "local dev"]),
        "tokenHash": lambda r: hashed_hex(32, r.key, 10),
        "userAgent": lambda r: take_strings(USER_AGENTS, (r.u * len(USER_AGENTS)).astype(int)),
        "workspaceConfKeys": pick(["enableTokensConfig", "enableResultsDownloading", "enableExportNotebook"]),
        "workspaceConfValues": pick(["true", "false"]),
        "share": pick(["partner_share", "finance_share"]),
        "name": lambda r: r.table,
        "recipient_name": pick(["acme_partner", "auditor_recipient"]),
    }
    return builders[name]


def _audit_chunk(
    account: Account,
    seed: int,
    action: tuple[str, str, float, list[str], bool],
    actor: np.ndarray,
    times: np.ndarray,
    key: np.ndarray,
    status: np.ndarray,
    ip: pa.Array | None = None,
    params: dict[str, pa.Array] | None = None,
) -> pa.Table:
    service, name, _, keys, account_level = action
    rows = _Rows(account, actor, key, seed)
    n = rows.n
    values = [params[k] if params and k in params else _param(k)(rows) for k in keys]
    p = account.principals
    is_login = name in LOGIN_ACTIONS
    failed = status >= 400
    error = np.where(failed, np.where(status == 401, "Invalid credentials", "Access denied"), None)
    return build_table(
        "access.audit",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": repeat_scalar("0", n) if account_level else rows.ws_id,
            "version": repeat_scalar("2.0", n),
            "event_time": timestamps(times),
            "event_date": dates(times),
            "source_ip_address": ip if ip is not None else pa.array(p.ip.to_numpy()[actor], pa.string()),
            "user_agent": take_strings(
                USER_AGENTS, np.where(p.is_sp.to_numpy()[actor], 2, (unit_hash(key, 3) * 2).astype(int))
            ),
            "session_id": hashed_hex(32, actor, times // US_PER_HOUR),
            "user_identity.email": rows.email,
            "service_name": repeat_scalar(service, n),
            "action_name": repeat_scalar(name, n),
            "request_id": hashed_uuids(seed, key, 21),
            "request_params": map_array(keys, values),
            "response.status_code": status.astype(np.int32),
            "response.error_message": pa.array(error, pa.string()),
            "response.result": pa.array(np.where(is_login & ~failed, None, None), pa.string()),
            "audit_level": repeat_scalar("ACCOUNT_LEVEL" if account_level else "WORKSPACE_LEVEL", n),
            "event_id": hashed_uuids(seed, key, 22),
            "identity_metadata.run_by": rows.email,
            "identity_metadata.run_as": rows.email,
        },
    )


def audit_log(
    options: SimulationOptions, account: Account, window: Window, plan: IncidentPlan, truth: GroundTruth
) -> pa.Table:
    """Routine audit traffic per day plus the security incidents."""
    weights = np.array([a[2] for a in ACTIONS])
    weights = weights / weights.sum()
    hour_profile = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 12, 13, 14, 13, 11, 8, 5, 3, 2, 2, 1, 1], float)
    hour_profile /= hour_profile.sum()
    n_principals = len(account.principals)
    drawn: list[list[tuple[np.ndarray, ...]]] = [[] for _ in ACTIONS]
    for day in window.days():
        rng = day_rng(options, day, "audit")
        total = rng.poisson(AUDIT_ROWS_PER_DAY_AT_SCALE_1 * options.scale * activity_factor(day))
        counts = rng.multinomial(total, weights)
        for a, (action, count) in enumerate(zip(ACTIONS, counts, strict=False)):
            if count == 0:
                continue
            times = (
                day * US_PER_DAY
                + rng.choice(24, size=count, p=hour_profile) * US_PER_HOUR
                + rng.integers(0, US_PER_HOUR, count)
            )
            actor = rng.integers(0, n_principals, count)
            status = np.full(count, 200)
            if action[1] in LOGIN_ACTIONS:
                status = np.where(rng.random(count) < 0.01, 401, 200)
            elif action[1] == "IpAccessDenied":
                status = np.full(count, 403)
            elif action[1] == "getTable":
                status = np.where(rng.random(count) < 0.005, 404, 200)
            drawn[a].append((actor, times, day * 10**9 + a * 10**7 + np.arange(count), status))
    chunks = []
    for action, pieces in zip(ACTIONS, drawn, strict=False):
        if pieces:
            actor, times, key, status = (np.concatenate([p[i] for p in pieces]) for i in range(4))
            chunks.append(_audit_chunk(account, options.seed, action, actor, times, key, status))
    if plan.enabled:
        chunks.extend(_security_incidents(options, account, plan, truth))
    return pa.concat_tables(chunks)


def _security_incidents(
    options: SimulationOptions, account: Account, plan: IncidentPlan, truth: GroundTruth
) -> list[pa.Table]:
    p = account.principals
    users = np.flatnonzero(~p.is_sp.to_numpy())
    ws_ids = account.workspaces.workspace_id.to_numpy()
    victim, admin, grantee, downloader = users[0], users[1], users[2 % users.size], users[3 % users.size]
    out = []
    # brute force: failed logins for one user from one foreign IP within one hour
    n_bf = 40
    t0 = hour_us(plan.brute_force_day, 3.0)
    times = t0 + np.sort(np.random.default_rng([options.seed, 501]).integers(0, 50 * 60 * US_PER_SECOND, n_bf))
    attacker_ip = "185.220.101.47"
    out.append(
        _audit_chunk(
            account,
            options.seed,
            ("accounts", "login", 0, ["user"], False),
            np.full(n_bf, victim),
            times,
            9 * 10**17 + np.arange(n_bf),
            np.where(np.arange(n_bf) % 5 == 4, 403, 401),
            ip=repeat_scalar(attacker_ip, n_bf),
        )
    )
    truth.add(
        "brute_force_login",
        ws_ids[p.ws.iat[victim]],
        "USER",
        p.email.iat[victim],
        int(times[0]),
        int(times[-1]),
        n_bf,
        "failed_logins",
        f"{n_bf} failed logins for one user from {attacker_ip} within an hour",
        source_ip=attacker_ip,
        user=p.email.iat[victim],
        count=n_bf,
        event_ids=None,
    )
    # admin privilege grant: user added to the admins group and made workspace admin
    t_admin = hour_us(plan.admin_grant_day, 22.5)
    grant = _audit_chunk(
        account,
        options.seed,
        ("accounts", "addPrincipalToGroup", 0, ["targetGroupName", "targetUserName"], True),
        np.array([admin]),
        np.array([t_admin]),
        np.array([9 * 10**17 + 100]),
        np.array([200]),
        params={"targetGroupName": pa.array(["admins"]), "targetUserName": pa.array([p.email.iat[grantee]])},
    )
    set_admin = _audit_chunk(
        account,
        options.seed,
        ("accounts", "setAdmin", 0, ["targetUserName", "workspace_id"], False),
        np.array([admin]),
        np.array([t_admin + 30 * US_PER_SECOND]),
        np.array([9 * 10**17 + 101]),
        np.array([200]),
        params={"targetUserName": pa.array([p.email.iat[grantee]])},
    )
    out += [grant, set_admin]
    truth.add(
        "admin_privilege_grant",
        "0",
        "USER",
        p.email.iat[grantee],
        t_admin,
        t_admin + 30 * US_PER_SECOND,
        1,
        "grants",
        "user added to the admins group and made workspace admin outside working hours",
        granted_by=p.email.iat[admin],
        target_group="admins",
        actions=["addPrincipalToGroup", "setAdmin"],
    )
    # mass download: many downloads by one user within one hour
    n_dl = 150
    t_dl = hour_us(plan.mass_download_day, 19.0)
    rng = np.random.default_rng([options.seed, 502])
    times = t_dl + np.sort(rng.integers(0, 55 * 60 * US_PER_SECOND, n_dl))
    kind = np.arange(n_dl) % len(DOWNLOAD_ACTIONS)
    for k, (service, name) in enumerate(DOWNLOAD_ACTIONS):
        rows = np.flatnonzero(kind == k)
        spec = next(a for a in ACTIONS if a[1] == name)
        out.append(
            _audit_chunk(
                account,
                options.seed,
                (service, name, 0, spec[3], False),
                np.full(rows.size, downloader),
                times[rows],
                9 * 10**17 + 1000 + rows,
                np.full(rows.size, 200),
            )
        )
    truth.add(
        "mass_download",
        ws_ids[p.ws.iat[downloader]],
        "USER",
        p.email.iat[downloader],
        int(times[0]),
        int(times[-1]),
        n_dl,
        "downloads",
        f"{n_dl} downloads by one user within an hour",
        user=p.email.iat[downloader],
        actions=[a for _, a in DOWNLOAD_ACTIONS],
    )
    return out


def lineage(
    options: SimulationOptions, account: Account, window: Window, seg: Segments, upd: Updates, q: Queries
) -> tuple[pa.Table, pa.Table]:
    """table_lineage and column_lineage from job runs, pipeline updates and statements."""
    jobs, pipes, tables = account.jobs, account.pipelines, account.tables
    job_tables = tables[tables.entity_type == "JOB"].reset_index(drop=True)
    pipe_tables = tables[tables.entity_type == "PIPELINE"].reset_index(drop=True)
    ok = np.flatnonzero((seg.result == "SUCCEEDED") & (seg.end >= window.start_us) & (seg.end < window.end_us))
    done = np.flatnonzero((upd.result == "COMPLETED") & (upd.end >= window.start_us) & (upd.end < window.end_us))
    q_ok = np.flatnonzero((q.start >= window.start_us) & (q.end < window.end_us) & (q.key % 5 == 0))
    parts = []
    # job runs: read two sources, write the target
    for role, column in (("read", "source_a"), ("read", "source_b"), ("write", "target")):
        job = seg.job[ok]
        name = job_tables[column].to_numpy()[job]
        parts.append(
            dict(
                entity_type="JOB",
                entity_id=jobs.job_id.to_numpy()[job],
                run=seg.run_id[ok].astype(str),
                ws=jobs.ws.to_numpy()[job],
                time=seg.end[ok] - 60 * US_PER_SECOND,
                role=role,
                table=name,
                key=seg.run_id[ok] * 10 + len(parts),
                statement=None,
                creator=account.principals.email.to_numpy()[jobs.run_as.to_numpy()[job]],
            )
        )
    pipe = upd.pipeline[done]
    parts.append(
        dict(
            entity_type="PIPELINE",
            entity_id=pipes.pipeline_id.to_numpy()[pipe],
            run=None,
            ws=pipes.ws.to_numpy()[pipe],
            time=upd.end[done],
            role="write",
            table=pipe_tables.target.to_numpy()[pipe],
            key=upd.update_key[done] * 10**5 + pipe,
            statement=None,
            creator=account.principals.email.to_numpy()[pipes.run_as.to_numpy()[pipe]],
        )
    )
    q_table = tables.target.to_numpy()[(unit_hash(options.seed, q.key[q_ok], 7) * len(tables)).astype(int)]
    parts.append(
        dict(
            entity_type=None,
            entity_id=None,
            run=None,
            ws=account.warehouses.ws.to_numpy()[q.wh[q_ok]],
            time=q.end[q_ok],
            role="read",
            table=q_table,
            key=q.key[q_ok] * 10 + 7,
            statement=hashed_uuids(options.seed, 31, q.key[q_ok]),
            creator=account.principals.email.to_numpy()[
                (unit_hash(options.seed, q.key[q_ok], 0) * len(account.principals)).astype(int)
                % len(account.principals)
            ],
        )
    )
    tables_out = []
    for part_number, part in enumerate(parts):  # keys repeat across parts: the part keeps record ids unique
        n = len(part["time"])
        if n == 0:
            continue
        name = pa.array(part["table"], pa.string())
        split = pc.split_pattern(name, ".")
        prefix = "source" if part["role"] == "read" else "target"
        columns = {
            "account_id": repeat_scalar(account.account_id, n),
            "metastore_id": take_strings(account.metastore_ids, account.workspaces.metastore.to_numpy()[part["ws"]]),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[part["ws"]], pa.string()),
            "entity_type": repeat_scalar(part["entity_type"], n),
            "entity_id": pa.nulls(n, pa.string())
            if part["entity_id"] is None
            else pa.array(part["entity_id"], pa.string()),
            "entity_run_id": pa.nulls(n, pa.string()) if part["run"] is None else pa.array(part["run"], pa.string()),
            f"{prefix}_table_full_name": name,
            f"{prefix}_table_catalog": pc.list_element(split, 0),
            f"{prefix}_table_schema": pc.list_element(split, 1),
            f"{prefix}_table_name": pc.list_element(split, 2),
            f"{prefix}_type": repeat_scalar("TABLE", n),
            "created_by": pa.array(part["creator"], pa.string()),
            "event_time": timestamps(part["time"]),
            "event_date": dates(part["time"]),
            "record_id": hashed_uuids(options.seed, 61, part_number, part["key"]),
            "event_id": hashed_uuids(options.seed, 62, part["key"] // 10),
            "statement_id": pa.nulls(n, pa.string()) if part["statement"] is None else part["statement"],
            "direct_access": np.ones(n, bool),
        }
        if part["entity_type"] == "JOB":
            columns["entity_metadata.job_info.job_id"] = pa.array(part["entity_id"], pa.string())
            columns["entity_metadata.job_info.job_run_id"] = pa.array(part["run"], pa.string())
        elif part["entity_type"] == "PIPELINE":
            columns["entity_metadata.dlt_pipeline_info.dlt_pipeline_id"] = pa.array(part["entity_id"], pa.string())
        tables_out.append((part["role"], build_table("access.table_lineage", n, columns), columns, part["key"]))
    table_lineage = pa.concat_tables([t for _, t, _, _ in tables_out])
    # column lineage for job writes: three columns per written table
    column_parts = []
    for role, _, columns, key in tables_out:
        if role != "write" or columns["entity_type"][0].as_py() != "JOB":
            continue
        n = len(columns["event_time"])
        for c, col in enumerate(["id", "amount", "updated_at"]):
            extra = dict(columns)
            extra["record_id"] = hashed_uuids(options.seed, 63 + c, key)
            extra["source_column_name"] = repeat_scalar(col, n)
            extra["target_column_name"] = repeat_scalar(col, n)
            column_parts.append(build_table("access.column_lineage", n, extra))
    column_lineage = pa.concat_tables(column_parts) if column_parts else build_table("access.column_lineage", 0, {})
    return table_lineage, column_lineage


def workspaces_latest(account: Account) -> pa.Table:
    ws = account.workspaces
    n = len(ws)
    return build_table(
        "access.workspaces_latest",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(ws.workspace_id.to_numpy(), pa.string()),
            "workspace_name": pa.array(ws.workspace_name.to_numpy(), pa.string()),
            "workspace_url": pa.array(ws.workspace_url.to_numpy(), pa.string()),
            "create_time": timestamps(ws.create_time_us.to_numpy()),
            "status": repeat_scalar("RUNNING", n),
        },
    )
