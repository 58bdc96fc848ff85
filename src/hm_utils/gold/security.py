"""Gold security facts: fct_audit_events (one row per audit event with security flags) and agg_daily_security.

Both are refreshed by date (see the models): the audit log is the largest event table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hm_utils.gold.build import Inputs
from hm_utils.gold.columns import INGESTED

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Audit actions behind the security flags, matched on action_name.
LOGIN_ACTIONS = (
    "login",
    "tokenLogin",
    "samlLogin",
    "oidcBrowserLogin",
    "jwtLogin",
    "certLogin",
    "aadBrowserLogin",
    "aadTokenLogin",
    "mfaLogin",
    "passwordVerifyAuthentication",
)

ADMIN_ACTIONS = (
    "setAdmin",
    "removeAdmin",
    "setAccountAdmin",
    "removeAccountAdmin",
    "addPrincipalToGroup",
    "removePrincipalFromGroup",
    "createGroup",
    "removeGroup",
    "updateGroup",
    "changeAccountOwner",
    "addPrincipalsToGroup",
    "removePrincipalsFromGroup",
)

PERMISSION_ACTIONS = (
    "updatePermissions",
    "grantPermission",
    "revokePermission",
    "denyPermission",
    "updatePermissionAssignment",
    "deletePermissionAssignment",
    "updateRoleAssignment",
    "changeClusterAcl",
    "changeJobAcl",
    "changeWarehouseAcls",
    "changePipelineAcls",
    "changeClusterPolicyAcl",
    "changeInstancePoolAcl",
    "changeNotebookAcl",
    "changeDirectoryAcl",
    "changeRegisteredModelAcl",
    "changeServingEndpointAcl",
    "changePermissions",
    "setPermissions",
    "transferObjectOwnership",
    "changeSecurableOwner",
    "updateSharePermissions",
    "putAcl",
    "resetJobAcl",
    "changeDatabricksSqlAcl",
    "changeDatabricksWorkspaceAcl",
    "changeWorkspaceAcl",
    "changeDbTokenAcl",
    "changeFeatureTableAcl",
    "changeIamRoleAcl",
    "changeInferenceEndpointAcl",
    "changePasswordAcl",
    "changeServicePrincipalAcls",
)

TOKEN_ACTIONS = (
    "generateDbToken",
    "revokeDbToken",
    "createToken",
    "revokeToken",
    "deleteToken",
    "createOboToken",
    "rotateToken",
    "tokenCreate",
    "tokenRevoke",
)

DOWNLOAD_ACTIONS = (
    "downloadQueryResult",
    "downloadPreviewResults",
    "downloadLargeResults",
    "workspaceExport",
    "exportNotebook",
    "filesGet",
    "downloadArtifact",
    "getModelVersionDownloadUri",
    "getModelVersionSignedDownloadUri",
    "downloadFile",
)

# request_params keys naming the Unity Catalog securable an event touched, first present wins.
SECURABLE_PARAMS = ("full_name_arg", "table_full_name", "securable_full_name", "volume_full_name", "securable")


def audit_events_frame(audit: DataFrame) -> DataFrame:
    """fct_audit_events from silver access_audit, with the security flags (see the *_ACTIONS constants)."""
    from pyspark.sql import functions as F

    action = F.col("action_name")
    status = F.col("response.status_code")
    params = F.col("request_params")
    is_login = action.isin(*LOGIN_ACTIONS)
    return audit.select(
        "event_id",
        "event_time",
        F.coalesce(F.col("event_date"), F.to_date("event_time")).alias("event_date"),
        "workspace_id",
        "service_name",
        "action_name",
        F.coalesce(F.col("user_identity.email"), F.when(is_login, params["user"])).alias("user_email"),
        "source_ip_address",
        "user_agent",
        status.alias("status_code"),
        F.col("response.error_message").alias("error_message"),
        F.coalesce(status >= 400, F.lit(False)).alias("is_failed"),
        is_login.alias("is_login"),
        (is_login & F.coalesce(status.isin(401, 403), F.lit(False))).alias("is_failed_login"),
        action.isin(*ADMIN_ACTIONS).alias("is_admin_change"),
        action.isin(*PERMISSION_ACTIONS).alias("is_permission_change"),
        action.isin(*TOKEN_ACTIONS).alias("is_token_event"),
        action.isin(*DOWNLOAD_ACTIONS).alias("is_download"),
        F.coalesce(*[params[key] for key in SECURABLE_PARAMS]).alias("securable_full_name"),
        F.coalesce(params, F.create_map().cast("map<string,string>")).alias("request_params"),
        F.col("identity_metadata.run_by").alias("run_by"),
        F.col("identity_metadata.run_as").alias("run_as"),
        "session_id",
        "audit_level",
        INGESTED,
    )


def daily_security_frame(audit_events: DataFrame) -> DataFrame:
    """agg_daily_security from fct_audit_events."""
    from pyspark.sql import functions as F

    def flagged(column: str) -> Column:
        return F.count(F.when(F.col(column), 1))

    return audit_events.groupBy("event_date", "workspace_id").agg(
        F.count(F.lit(1)).alias("events"),
        flagged("is_failed").alias("failed_events"),
        flagged("is_login").alias("logins"),
        flagged("is_failed_login").alias("failed_logins"),
        F.countDistinct(F.when(F.col("is_failed_login"), F.col("user_email"))).alias("users_with_failed_logins"),
        flagged("is_admin_change").alias("admin_changes"),
        flagged("is_permission_change").alias("permission_changes"),
        flagged("is_token_event").alias("token_events"),
        flagged("is_download").alias("downloads"),
        F.countDistinct("user_email").alias("distinct_users"),
        F.countDistinct("source_ip_address").alias("distinct_ips"),
        F.max(INGESTED).alias(INGESTED),
    )


def build_fct_audit_events(inputs: Inputs) -> DataFrame:
    return audit_events_frame(inputs.read("silver.access_audit"))


def build_agg_daily_security(inputs: Inputs) -> DataFrame:
    return daily_security_frame(inputs.read("gold.fct_audit_events"))
