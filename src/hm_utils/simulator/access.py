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
from hm_utils.simulator.incidents import CROSS_WORKSPACE_MIN, INCIDENT_TYPES, GroundTruth, IncidentPlan, hour_us
from hm_utils.simulator.lakeflow import Segments, Updates
from hm_utils.simulator.query import Queries

AUDIT_ROWS_PER_DAY_AT_SCALE_1 = 1_000_000
LOGIN_ACTIONS = [
    "login", "tokenLogin", "samlLogin", "oidcBrowserLogin", "jwtLogin", "certLogin", "aadBrowserLogin", "aadTokenLogin",
]  # fmt: skip
DOWNLOAD_ACTIONS = [
    ("databrickssql", "downloadQueryResult"),
    ("notebook", "downloadPreviewResults"),
    ("notebook", "downloadLargeResults"),
    ("workspace", "workspaceExport"),
    ("filesystem", "filesGet"),
    ("mlflowModelRegistry", "getModelVersionDownloadUri"),
    ("mlflowModelRegistry", "getModelVersionSignedDownloadUri"),
]
ACL = ["shardName", "aclPermissionSet", "targetUserId", "resourceId"]
UC = ["workspace_id", "metastore_id"]
RARE = 0.00008  # weight of the rarest routine actions: a few a month in the default account
# service, action, weight, request_params keys, account level
ACTIONS: list[tuple[str, str, float, list[str], bool]] = [
    ("unityCatalog", "getTable", 0.22, ["full_name_arg", "table_full_name", *UC], False),
    (
        "unityCatalog",
        "generateTemporaryTableCredential",
        0.12,
        ["table_full_name", "table_id", "table_url", "operation", *UC],
        False,
    ),
    (
        "unityCatalog",
        "generateTemporaryVolumeCredential",
        0.01,
        ["volume_full_name", "volume_id", "operation", *UC],
        False,
    ),
    ("unityCatalog", "generateTemporaryPathCredential", 0.005, ["url", "operation", *UC], False),
    ("accounts", "tokenLogin", 0.12, ["user", "tokenId"], False),
    ("accounts", "login", 0.02, ["user"], False),
    ("accounts", "samlLogin", 0.01, ["user"], False),
    ("accounts", "oidcBrowserLogin", 0.01, ["user"], False),
    ("accounts", "jwtLogin", 0.004, ["user"], False),
    ("accounts", "certLogin", 0.001, ["user"], False),
    ("accounts", "aadBrowserLogin", 0.001, ["user"], False),
    ("accounts", "aadTokenLogin", 0.001, ["user"], False),
    ("accounts", "login", 0.003, ["user"], True),
    ("notebook", "runCommand", 0.2, ["notebookId", "commandText", "executionTime", "status", "commandId"], False),
    ("clusters", "get", 0.06, ["cluster_id"], False),
    ("jobs", "runStart", 0.05, ["jobId", "runId"], False),
    ("secrets", "getSecret", 0.05, ["scope", "key"], False),
    ("sqlPermissions", "getTable", 0.03, ["securable"], False),
    ("workspace", "getWorkspaceObject", 0.06, ["path"], False),
    ("databrickssql", "downloadQueryResult", 0.002, ["queryResultId", "fileType"], False),
    ("notebook", "downloadPreviewResults", 0.001, ["notebookId"], False),
    ("notebook", "downloadLargeResults", 0.0005, ["notebookId", "fileType"], False),
    ("workspace", "workspaceExport", 0.001, ["notebookFullPath", "workspaceExportFormat", "path"], False),
    ("filesystem", "filesGet", 0.002, ["path"], False),
    ("mlflowModelRegistry", "getModelVersionDownloadUri", 0.0004, ["name", "version"], False),
    ("mlflowModelRegistry", "getModelVersionSignedDownloadUri", 0.0002, ["name", "version", "path"], False),
    ("clusters", "changeClusterAcl", 0.0008, ACL, False),
    ("jobs", "changeJobAcl", 0.0008, ACL, False),
    ("jobs", "resetJobAcl", 0.0002, ACL, False),
    ("clusterPolicies", "changeClusterPolicyAcl", 0.0001, ACL, False),
    ("databrickssql", "changeDatabricksSqlAcl", 0.0002, ACL, False),
    ("workspace", "changeDatabricksWorkspaceAcl", 0.0002, ACL, False),
    ("workspace", "changeWorkspaceAcl", 0.0002, ACL, False),
    ("authorizationPermissions", "changeDbTokenAcl", 0.0001, ACL, False),
    ("featureStore", "changeFeatureTableAcl", 0.0001, ACL, False),
    ("iamRole", "changeIamRoleAcl", 0.00005, ACL, False),
    ("serving", "changeInferenceEndpointAcl", 0.0001, ACL, False),
    ("instancePools", "changeInstancePoolAcl", 0.0001, ACL, False),
    ("accounts", "changePasswordAcl", 0.00005, ACL, False),
    ("deltaPipelines", "changePipelineAcls", 0.0002, ACL, False),
    ("mlflowModelRegistry", "changeRegisteredModelAcl", 0.0001, ACL, False),
    ("servicePrincipals", "changeServicePrincipalAcls", 0.0001, ACL, False),
    ("databrickssql", "changeWarehouseAcls", 0.0002, ACL, False),
    ("permissions", "changePermissions", 0.0004, ["object_type", "object_id", "access_control_list"], False),
    ("permissions", "updatePermissions", 0.0002, ["object_type", "object_id", "access_control_list"], False),
    ("databrickssql", "transferObjectOwnership", 0.00005, ["objectType", "objectId", "newOwner"], False),
    ("unityCatalog", "updatePermissions", 0.001, ["securable_type", "securable_full_name", "changes", *UC], False),
    ("unityCatalog", "changeSecurableOwner", 0.00005, ["securable_type", "securable_full_name", "owner", *UC], False),
    ("unityCatalog", "updateSharePermissions", 0.00005, ["share", "changes", *UC], False),
    ("sqlPermissions", "grantPermission", 0.0005, ["permission"], False),
    ("workspace", "putAcl", 0.00005, ACL, False),
    ("accounts", "updateRoleAssignment", 0.00005, ["targetUserName", "role"], True),
    ("accounts", "addPrincipalToGroup", 0.0004, ["targetGroupName", "targetUserName"], True),
    ("accounts", "removePrincipalFromGroup", 0.0002, ["targetGroupName", "targetUserName"], True),
    ("accounts", "generateDbToken", 0.002, ["tokenExpirationTime", "comment", "tokenHash"], False),
    ("accounts", "IpAccessDenied", 0.0003, ["path", "userAgent"], False),
    ("accounts", "accountIpAclsValidationFailed", 0.00005, ["path", "user"], True),
    ("accounts", "createIpAccessList", RARE, ["ip_access_list", "name"], True),
    ("accounts", "updateIpAccessList", RARE, ["ip_access_list", "name"], True),
    ("accounts", "deleteIpAccessList", RARE, ["ip_access_list"], True),
    ("accounts", "setSetting", RARE, ["settingTypeName", "settingValueForAudit"], True),
    ("accounts", "acceptTos", RARE, ["workspace_id"], True),
    ("accounts", "sendTos", RARE, ["workspace_id"], True),
    ("databricksSupport", "databricksAccess", RARE, ["duration", "approver", "reason", "user"], False),
    ("workspace", "workspaceConfEdit", 0.0001, ["workspaceConfKeys", "workspaceConfValues"], False),
    ("globalInitScripts", "create", RARE, ["name", "script_id"], False),
    ("globalInitScripts", "update", RARE, ["name", "script_id"], False),
    ("globalInitScripts", "delete", RARE, ["script_id"], False),
    ("clusterLibraries", "installLibraryOnAllClusters", RARE, ["library"], False),
    ("dbfs", "mount", RARE, ["mountPoint", "owner"], False),
    ("unityCatalog", "createRecipient", RARE, ["name", "recipient_name", "recipient_authentication_type", *UC], False),
    (
        "unityCatalog",
        "updateMetastore",
        RARE,
        ["metastore_id", "delta_sharing_recipient_token_lifetime_in_seconds", "workspace_id"],
        False,
    ),
    ("unityCatalog", "deleteTable", 0.0005, ["name_arg", "full_name_arg", "table_full_name", *UC], False),
    ("workspace", "moveWorkspaceNodeToTrash", 0.0005, ["path"], False),
    ("workspace", "deleteWorkspaceObject", 0.0002, ["path"], False),
    ("clusters", "permanentDelete", 0.0002, ["cluster_id"], False),
    ("jobs", "delete", 0.0002, ["jobId"], False),
    (
        "unityCatalog",
        "deltaSharingQueryTable",
        0.0005,
        ["share", "name", "recipient_name", "is_ip_access_denied", *UC],
        False,
    ),
    (
        "unityCatalog",
        "deltaSharingQueryTableChanges",
        0.0002,
        ["share", "name", "recipient_name", "is_ip_access_denied", *UC],
        False,
    ),
    ("capsule8-alerts-dataplane", "Heartbeat", 0.001, ["instanceId"], False),
    ("capsule8-alerts-dataplane", "Alert", RARE * 5, ["instanceId", "name"], False),
    ("clamAVScanService-dataplane", "clamAVScanAction", 0.001, ["instanceId", "status"], False),
    ("accountsManager", "changeAccountOwner", 0.0, ["targetUserName"], True),
    ("accounts", "setAdmin", 0.0, ["targetUserName", "workspace_id"], False),
    ("accounts", "removeAdmin", 0.0, ["targetUserName", "workspace_id"], False),
    ("accounts", "setAccountAdmin", 0.0, ["targetUserName"], True),
]
# Services whose routine requests are sometimes refused (401/403), as detections of credential abuse expect.
REFUSED_SERVICES = {"unityCatalog": 0.004}
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

    def __init__(self, account: Account, actor: np.ndarray, key: np.ndarray, seed: int, times: np.ndarray) -> None:
        p = account.principals
        self.times = times
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
        "name_arg": lambda r: pc.utf8_slice_codeunits(r.table, 0, 40),
        "securable_full_name": lambda r: r.table,
        "table_id": lambda r: hashed_uuids(r.key, 5),
        "volume_id": lambda r: hashed_uuids(r.key, 6),
        "volume_full_name": lambda r: concat_strings(pc.utf8_slice_codeunits(r.table, 0, 9), ".landing_files"),
        "operation": lambda r: take_strings(["READ", "READ", "READ", "READ_WRITE", "WRITE"], (r.u * 5).astype(int)),
        "url": lambda r: concat_strings("s3://company-landing/raw/", hashed_hex(6, r.key)),
        "tokenId": lambda r: hashed_hex(32, r.key, 7),
        "notebookId": lambda r: int_strings(10**15 + (r.u * 10**6).astype(np.int64)),
        "commandText": _command_text,
        "commandId": lambda r: hashed_hex(32, r.key, 12),
        "table_url": lambda r: concat_strings("s3://company-lake/tables/", hashed_uuids(r.key, 5)),
        "version": lambda r: int_strings(1 + (r.u * 12).astype(np.int64)),
        "object_type": pick(["cluster", "job", "notebook", "warehouse", "pipeline"]),
        "object_id": lambda r: hashed_hex(16, r.key, 13),
        "access_control_list": pick(
            [
                '[{"group_name":"analysts","permission_level":"CAN_VIEW"}]',
                '[{"user_name":"ops","permission_level":"CAN_MANAGE"}]',
            ]
        ),
        "objectType": pick(["query", "dashboard", "alert"]),
        "objectId": lambda r: hashed_uuids(r.key, 14),
        "newOwner": lambda r: r.email,
        "owner": lambda r: r.email,
        "role": pick(["account_admin", "marketplace.admin", "workspace_user"]),
        "ip_access_list": pick(['["203.0.113.0/24"]', '["198.51.100.10/32","203.0.113.0/24"]']),
        "settingTypeName": pick(["restrict_workspace_admins", "enable_ip_access_lists", "default_namespace"]),
        "settingValueForAudit": pick(['{"status":"ALLOW_ALL"}', '{"enabled":true}']),
        "duration": pick(["4", "8", "24"]),
        "approver": pick(["security@company.com", "it-admin@company.com"]),
        "reason": pick(["Support ticket 00451233", "Escalation ES-88231"]),
        "script_id": lambda r: hashed_hex(16, r.key, 15),
        "library": pick(['{"pypi":{"package":"requests==2.32.3"}}', '{"jar":"dbfs:/FileStore/jars/ojdbc8.jar"}']),
        "mountPoint": pick(["/mnt/raw", "/mnt/landing", "/mnt/legacy"]),
        "recipient_authentication_type": pick(["TOKEN", "DATABRICKS"]),
        "delta_sharing_recipient_token_lifetime_in_seconds": pick(["0", "7776000", "31536000"]),
        "is_ip_access_denied": lambda r: take_strings(["false", "true"], (r.u < 0.05).astype(int)),
        "instanceId": lambda r: concat_strings("i-", hashed_hex(17, r.key, 16)),
        "executionTime": lambda r: pc.cast(pa.array(np.round(r.u * 30, 3)), pa.string()),
        "status": pick(["finished", "finished", "finished", "error"]),
        "cluster_id": lambda r: take_strings(
            list(r.account.clusters.cluster_id), (r.u * len(r.account.clusters)).astype(int)
        ),
        "jobId": lambda r: take_strings(list(r.account.jobs.job_id), (r.u * len(r.account.jobs)).astype(int)),
        "runId": lambda r: int_strings(100_000_000_000_000 + (r.u * 10**9).astype(np.int64)),
        "scope": pick(["prod-kv", "etl-secrets", "ml-keys"]),
        "key": pick(["db-password", "api-token", "s3-key"]),  # 9 secrets: below the 10-per-hour detection
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
        # epoch milliseconds 30, 90 or 365 days after the event (a token that expires after it was made)
        "tokenExpirationTime": lambda r: int_strings(
            r.times // 1000 + np.array([30, 90, 365])[(r.u * 3).astype(int)] * 86_400_000
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


COMMAND_VERBS = ["display(spark.table('{t}'))", "spark.table('{t}').count()", "%sql SELECT * FROM {t} LIMIT 100",
    "df = spark.read.table('{t}')", "%sql DESCRIBE HISTORY {t}", "spark.table('{t}').write.mode('overwrite').saveAsTable('{t}_copy')",
    "%pip install -q great-expectations", "dbutils.fs.ls('/Volumes/main/raw')", "%sql OPTIMIZE {t}", "print(df.schema)"]  # fmt: skip


def _command_text(rows: _Rows) -> pa.Array:
    """Notebook commands: a few verbs over the account's tables, so commandText varies like real ones."""
    verb = (unit_hash(rows.key, 17) * len(COMMAND_VERBS)).astype(int)
    texts = np.array(COMMAND_VERBS, dtype=object)[verb]
    tables = rows.table.to_numpy(zero_copy_only=False)
    return pa.array([text.replace("{t}", str(table)) for text, table in zip(texts, tables, strict=True)], pa.string())


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
    rows = _Rows(account, actor, key, seed, times)
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
            # a user's browser, a service principal's SDK: the same device every time, so routine logins
            # never look like a session moving between devices
            "user_agent": take_strings(USER_AGENTS, np.where(p.is_sp.to_numpy()[actor], 2, actor % 2)),
            "session_id": hashed_hex(32, actor, times // US_PER_HOUR),
            "user_identity.email": rows.email,
            "user_identity.subject_name": pa.array(
                np.where(p.is_sp.to_numpy()[actor], p.display.to_numpy()[actor], None), pa.string()
            ),
            "service_name": repeat_scalar(service, n),
            "action_name": repeat_scalar(name, n),
            "request_id": hashed_uuids(seed, key, 21),
            "request_params": map_array(keys, values),
            "response.status_code": status.astype(np.int32),
            "response.error_message": pa.array(error, pa.string()),
            "response.result": pa.array(
                np.where(failed | is_login, None, '{"secret_fetched":true}' if name == "getSecret" else "{}"),
                pa.string(),
            ),
            "audit_level": repeat_scalar("ACCOUNT_LEVEL" if account_level else "WORKSPACE_LEVEL", n),
            "event_id": hashed_uuids(seed, key, 22),
            "identity_metadata.run_by": rows.email,
            "identity_metadata.run_as": rows.email,
            "identity_metadata.run_by_display_name": pa.array(p.display.to_numpy()[actor], pa.string()),
            "identity_metadata.run_as_display_name": pa.array(p.display.to_numpy()[actor], pa.string()),
            "identity_metadata.acting_resource": repeat_scalar("notebook" if name == "runCommand" else None, n),
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
            elif action[1] in ("IpAccessDenied", "accountIpAclsValidationFailed"):
                status = np.full(count, 403)
            elif action[1] == "getTable":
                status = np.where(rng.random(count) < 0.005, 404, 200)
            elif action[0] in REFUSED_SERVICES:
                refused = rng.random(count) < REFUSED_SERVICES[action[0]]
                status = np.where(refused, np.where(rng.random(count) < 0.5, 401, 403), 200)
            drawn[a].append((actor, times, day * 10**9 + a * 10**7 + np.arange(count), status))
    chunks = []
    for action, pieces in zip(ACTIONS, drawn, strict=False):
        if pieces:
            actor, times, key, status = (np.concatenate([p[i] for p in pieces]) for i in range(4))
            if action[1] in LOGIN_ACTIONS:
                status = _at_most_one_failure_per_hour(actor, times, status)
            chunks.append(_audit_chunk(account, options.seed, action, actor, times, key, status))
    if plan.enabled:
        chunks.extend(_security_incidents(options, account, plan, truth))
    return pa.concat_tables(chunks)


def _at_most_one_failure_per_hour(actor: np.ndarray, times: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Routine failed logins stay below the failed-login detection (more than one per user and hour):
    a user's second routine failure within the same clock hour becomes a success."""
    failed = np.flatnonzero(status >= 400)
    bucket = actor[failed].astype(np.int64) * 10**7 + times[failed] // US_PER_HOUR
    order = np.argsort(bucket, kind="stable")
    repeat = np.r_[False, bucket[order][1:] == bucket[order][:-1]] if failed.size else np.zeros(0, bool)
    status = status.copy()
    status[failed[order][repeat]] = 200
    return status


def _security_incidents(
    options: SimulationOptions, account: Account, plan: IncidentPlan, truth: GroundTruth
) -> list[pa.Table]:
    """Audit bursts of the security incidents, each above the threshold public detections use
    (peers §5.7 and the detection packs): >1 failed login per user-hour, any admin change, >20
    downloads, >25 permission changes, >=10 distinct secrets or >20 distinct securables per user-hour,
    one user in >=5 workspaces in a day."""
    p = account.principals
    users = np.flatnonzero(~p.is_sp.to_numpy())
    ws_ids = account.workspaces.workspace_id.to_numpy()
    emails = p.email.to_numpy()
    out: list[pa.Table] = []

    def key_base(kind: str, cycle: int) -> int:
        return 9 * 10**17 + INCIDENT_TYPES.index(kind) * 10**14 + (cycle % 10**7) * 10**4

    def chunk(service, action, keys, actor, times, base, status=None, ip=None, params=None, account_level=False):
        n = times.size
        return _audit_chunk(
            account, options.seed, (service, action, 0, keys, account_level), np.full(n, actor), times,
            base + np.arange(n), np.full(n, 200) if status is None else status, ip=ip, params=params,
        )  # fmt: skip

    def spread(day: int, hour: float, n: int, minutes: int, salt: int) -> np.ndarray:
        rng = np.random.default_rng([options.seed, salt, day])
        return hour_us(day, hour) + np.sort(rng.integers(0, minutes * 60 * US_PER_SECOND, n))

    for o in plan.of("brute_force_login"):
        victim, n = o.entity, 40
        times = spread(o.day, 3.0, n, 50, 501)
        attacker_ip = f"185.220.101.{40 + o.cycle % 50}"
        status = np.where(np.arange(n) % 5 == 4, 403, 401)
        out.append(
            chunk(
                "accounts",
                "login",
                ["user"],
                victim,
                times,
                key_base(o.kind, o.cycle),
                status,
                repeat_scalar(attacker_ip, n),
            )
        )
        truth.add(
            o.kind, ws_ids[p.ws.iat[victim]], "USER", emails[victim], int(times[0]), int(times[-1]), n, "failed_logins",
            f"{n} failed logins for one user from {attacker_ip} within an hour",
            source_ip=attacker_ip, user=emails[victim], count=n, event_ids=None,
        )  # fmt: skip
    for o in plan.of("admin_privilege_grant"):
        admin = o.entity
        grantee = users[(np.searchsorted(users, admin) + 1 + o.cycle % 3) % users.size]
        t0 = hour_us(o.day, 22.5)
        target = {"targetUserName": pa.array([emails[grantee]])}
        variant = o.cycle % 4
        steps = [
            [("accounts", "addPrincipalToGroup", ["targetGroupName", "targetUserName"], True), ("accounts", "setAdmin", ["targetUserName", "workspace_id"], False)],
            [("accounts", "setAccountAdmin", ["targetUserName"], True), ("accounts", "addPrincipalToGroup", ["targetGroupName", "targetUserName"], True)],
            [("accounts", "setAdmin", ["targetUserName", "workspace_id"], False), ("accounts", "removeAdmin", ["targetUserName", "workspace_id"], False)],
            [("accountsManager", "changeAccountOwner", ["targetUserName"], True)],
        ][variant]  # fmt: skip
        times = []
        for i, (service, action, keys, account_level) in enumerate(steps):
            moment = np.array([t0 + i * (40 * 60 if action == "removeAdmin" else 30) * US_PER_SECOND])
            params = dict(target, targetGroupName=pa.array(["admins"])) if "targetGroupName" in keys else target
            out.append(
                chunk(
                    service,
                    action,
                    keys,
                    admin,
                    moment,
                    key_base(o.kind, o.cycle) + i,
                    params=params,
                    account_level=account_level,
                )
            )
            times.append(int(moment[0]))
        truth.add(
            o.kind, "0", "USER", emails[grantee], times[0], times[-1], len(steps), "grants",
            "user given admin rights outside working hours", granted_by=emails[admin], target_group="admins",
            actions=[step[1] for step in steps],
        )  # fmt: skip
    for o in plan.of("mass_download"):
        downloader, n = o.entity, 150
        times = spread(o.day, 19.0, n, 55, 502)
        kind = np.arange(n) % len(DOWNLOAD_ACTIONS)
        for k, (service, name) in enumerate(DOWNLOAD_ACTIONS):
            rows = np.flatnonzero(kind == k)
            spec = next(a for a in ACTIONS if a[1] == name)
            out.append(chunk(service, name, spec[3], downloader, times[rows], key_base(o.kind, o.cycle) + rows * 10))
        truth.add(
            o.kind, ws_ids[p.ws.iat[downloader]], "USER", emails[downloader], int(times[0]), int(times[-1]), n,
            "downloads", f"{n} downloads by one user within an hour", user=emails[downloader],
            actions=sorted({a for _, a in DOWNLOAD_ACTIONS}),
        )  # fmt: skip
    acl_actions = [a for a in ACTIONS if a[3] is ACL]
    for o in plan.of("permission_change_burst"):
        actor, n = o.entity, 40
        times = spread(o.day, 14.0, n, 45, 503)
        for k, (service, name, _, keys, _) in enumerate(acl_actions):
            rows = np.flatnonzero(np.arange(n) % len(acl_actions) == k)
            if rows.size:
                out.append(chunk(service, name, keys, actor, times[rows], key_base(o.kind, o.cycle) + rows * 10))
        truth.add(
            o.kind, ws_ids[p.ws.iat[actor]], "USER", emails[actor], int(times[0]), int(times[-1]), n,
            "permission_changes", f"{n} permission changes by one user within an hour", user=emails[actor],
        )  # fmt: skip
    for o in plan.of("secret_enumeration"):
        actor, n = o.entity, 25
        times = spread(o.day, 23.0, n, 30, 504)
        params = {
            "scope": pa.array([f"prod-kv-{i // 5}" for i in range(n)]),
            "key": pa.array([f"credential-{i % 5}" for i in range(n)]),
        }
        out.append(
            chunk("secrets", "getSecret", ["scope", "key"], actor, times, key_base(o.kind, o.cycle), params=params)
        )
        truth.add(
            o.kind, ws_ids[p.ws.iat[actor]], "USER", emails[actor], int(times[0]), int(times[-1]), n,
            "distinct_secrets", f"{n} distinct secrets read by one user within an hour", user=emails[actor],
        )  # fmt: skip
    tables = np.unique(np.r_[account.tables.target.to_numpy(), account.tables.source_a.to_numpy()])
    for o in plan.of("mass_securable_access"):
        actor = o.entity
        n = min(60, tables.size)
        times = spread(o.day, 2.0, n, 40, 505)
        start = (o.cycle * 7) % tables.size
        names = np.roll(tables, -start)[:n]
        spec = next(a for a in ACTIONS if a[1] == "generateTemporaryTableCredential")
        params = {"table_full_name": pa.array(names, pa.string()), "operation": repeat_scalar("READ", n)}
        out.append(chunk(spec[0], spec[1], spec[3], actor, times, key_base(o.kind, o.cycle), params=params))
        truth.add(
            o.kind, ws_ids[p.ws.iat[actor]], "USER", emails[actor], int(times[0]), int(times[-1]), n,
            "distinct_securables", f"temporary credentials for {n} distinct tables within an hour", user=emails[actor],
        )  # fmt: skip
    for o in plan.of("cross_workspace_activity"):
        actor = o.entity
        spots = np.arange(len(ws_ids))[: max(CROSS_WORKSPACE_MIN + 1, 0)]
        times = hour_us(o.day, 10.0) + np.arange(spots.size) * 47 * 60 * US_PER_SECOND
        rows = []
        for i, ws in enumerate(spots):
            params = {"user": pa.array([emails[actor]])}
            table = chunk(
                "accounts",
                "tokenLogin",
                ["user"],
                actor,
                times[i : i + 1],
                key_base(o.kind, o.cycle) + i,
                params=params,
            )
            rows.append(
                table.set_column(table.schema.get_field_index("workspace_id"), "workspace_id", pa.array([ws_ids[ws]]))
            )
        out += rows
        truth.add(
            o.kind, ws_ids[p.ws.iat[actor]], "USER", emails[actor], int(times[0]), int(times[-1]), spots.size,
            "workspaces", f"one user active in {spots.size} workspaces within a day", user=emails[actor],
            workspaces=[str(ws_ids[w]) for w in spots],
        )  # fmt: skip
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
            f"{prefix}_path": concat_strings("s3://company-lake/", pc.replace_substring(name, ".", "/")),
        }
        if part["entity_type"] == "JOB":
            columns["entity_metadata.job_info.job_id"] = pa.array(part["entity_id"], pa.string())
            columns["entity_metadata.job_info.job_run_id"] = pa.array(part["run"], pa.string())
        elif part["entity_type"] == "PIPELINE":
            columns["entity_metadata.dlt_pipeline_info.dlt_pipeline_id"] = pa.array(part["entity_id"], pa.string())
            columns["entity_metadata.dlt_pipeline_info.dlt_update_id"] = hashed_uuids(options.seed, 64, part["key"])
        else:  # statements: from a dashboard, legacy dashboard, notebook, saved query, Genie space or alert
            source = (unit_hash(options.seed, part["key"], 65) * 6).astype(int)
            ids = hashed_hex(32, part["key"], 66).to_numpy(zero_copy_only=False)
            for i, field_name in enumerate(
                ["dashboard_id", "legacy_dashboard_id", "notebook_id", "sql_query_id", "genie_space_id", "alert_id"]
            ):
                columns[f"entity_metadata.{field_name}"] = pa.array(np.where(source == i, ids, None), pa.string())
        tables_out.append((part["role"], build_table("access.table_lineage", n, columns), columns, part["key"]))
    table_lineage = pa.concat_tables([t for _, t, _, _ in tables_out])
    # column lineage for job writes: the key column of each written table (volume)
    column_parts = []
    for part_number, (role, _, columns, key) in enumerate(tables_out):
        if role != "write" and columns["statement_id"].null_count == n_rows(columns):
            continue
        n = len(columns["event_time"])
        if "target_table_full_name" not in columns:  # a statement's read: the table it read is the source
            columns = dict(columns, target_table_full_name=columns["source_table_full_name"])
        source_name = pa.array(
            job_tables.source_a.to_numpy()[(unit_hash(key, 67) * len(job_tables)).astype(int)], pa.string()
        )
        split = pc.split_pattern(source_name, ".")
        for c, col in enumerate(["id"]):
            extra = dict(columns)
            extra.update(
                {
                    "source_table_full_name": source_name,
                    "source_table_catalog": pc.list_element(split, 0),
                    "source_table_schema": pc.list_element(split, 1),
                    "source_table_name": pc.list_element(split, 2),
                    "source_type": repeat_scalar("TABLE", n),
                    "source_path": concat_strings("s3://company-lake/", pc.replace_substring(source_name, ".", "/")),
                    "statement_id": hashed_uuids(options.seed, 68, key),
                    # a tenth of the written tables are also maintained by a pipeline
                    "entity_metadata.dlt_pipeline_info.dlt_pipeline_id": pa.array(
                        np.where(unit_hash(key, 69) < 0.1, pipes.pipeline_id.to_numpy()[key % len(pipes)], None),
                        pa.string(),
                    ),
                }
            )
            extra["record_id"] = hashed_uuids(options.seed, 63 + c, part_number, key)
            extra["source_column_name"] = repeat_scalar(col, n)
            extra["target_column_name"] = repeat_scalar(col, n)
            column_parts.append(build_table("access.column_lineage", n, extra))
    column_lineage = pa.concat_tables(column_parts) if column_parts else build_table("access.column_lineage", 0, {})
    return table_lineage, column_lineage


def n_rows(columns: dict[str, object]) -> int:
    """Rows of a lineage part (its event times)."""
    return len(columns["event_time"])


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
