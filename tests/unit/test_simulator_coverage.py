"""The default simulated account holds what real-world queries look for: every table, column and nested
field of the reference, the request_params keys, audit services and actions, billing origin products
and SKU families the reference lists (../reference: system_tables.yaml, community_usage.md).

The account is simulated in-process (no engine): the default's shape, over a shorter window. A failing
test names what is missing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
import yaml

from hm_utils.system_schema import SYSTEM_TABLES

REFERENCE = Path(__file__).resolve().parents[2] / "src" / "hm_utils" / "reference" / "system_tables.yaml"
# Fields the reference says are never set on an AWS account (the simulated account's cloud), and the
# simulator's own schema-drift defect column.
NOT_ON_AWS = {
    "billing.usage:usage_metadata.private_endpoint_name",  # "Azure private endpoints only (always null on AWS)"
    *(f"compute.clusters:azure_attributes.{f}" for f in ("first_on_demand", "availability", "spot_bid_max_price")),
    *(
        f"compute.clusters:gcp_attributes.{f}"
        for f in ("use_preemptible_executors", "zone_id", "first_on_demand", "availability")
    ),
    "query.history:_hm_sim_drift",
}
# Lists of community_usage.md (the survey of public detection and dashboard queries), copied here so the
# test reads the same names whether or not the shared reference folder is next to the repository.
REQUEST_PARAMS_KEYS = [
    "workspace_id",
    "volume_id",
    "volume_full_name",
    "url",
    "table_url",
    "table_id",
    "table_full_name",
    "operation",
    "name",
    "user",
    "instanceId",
    "metastore_id",
    "share",
    "tokenExpirationTime",
    "scope",
    "key",
    "workspaceExportFormat",
    "targetGroupName",
    "targetUserName",
    "reason",
    "name_arg",
    "ip_access_list",
    "fileType",
    "duration",
    "commandText",
    "approver",
    "delta_sharing_recipient_token_lifetime_in_seconds",
    "workspaceConfKeys",
    "workspaceConfValues",
    "tokenHash",
    "status",
    "settingTypeName",
    "settingValueForAudit",
    "script_id",
    "recipient_name",
    "recipient_authentication_type",
    "path",
    "notebookId",
    "mountPoint",
    "library",
]
AUDIT_ACTIONS = [
    "login",
    "tokenLogin",
    "samlLogin",
    "oidcBrowserLogin",
    "jwtLogin",
    "certLogin",
    "aadBrowserLogin",
    "aadTokenLogin",
    "setAdmin",
    "removeAdmin",
    "setAccountAdmin",
    "changeAccountOwner",
    "addPrincipalToGroup",
    "removePrincipalFromGroup",
    "updateRoleAssignment",
    "changePermissions",
    "updatePermissions",
    "grantPermission",
    "putAcl",
    "transferObjectOwnership",
    "changeSecurableOwner",
    "updateSharePermissions",
    "changeClusterAcl",
    "changeClusterPolicyAcl",
    "changeDatabricksSqlAcl",
    "changeDatabricksWorkspaceAcl",
    "changeDbTokenAcl",
    "changeFeatureTableAcl",
    "changeIamRoleAcl",
    "changeInferenceEndpointAcl",
    "changeInstancePoolAcl",
    "changeJobAcl",
    "resetJobAcl",
    "changePasswordAcl",
    "changePipelineAcls",
    "changeRegisteredModelAcl",
    "changeServicePrincipalAcls",
    "changeWarehouseAcls",
    "changeWorkspaceAcl",
    "generateDbToken",
    "IpAccessDenied",
    "accountIpAclsValidationFailed",
    "createIpAccessList",
    "updateIpAccessList",
    "deleteIpAccessList",
    "databricksAccess",
    "downloadPreviewResults",
    "downloadLargeResults",
    "downloadQueryResult",
    "filesGet",
    "workspaceExport",
    "getModelVersionDownloadUri",
    "getModelVersionSignedDownloadUri",
    "generateTemporaryTableCredential",
    "generateTemporaryPathCredential",
    "generateTemporaryVolumeCredential",
    "deltaSharingQueryTable",
    "deltaSharingQueryTableChanges",
    "createRecipient",
    "getSecret",
    "runCommand",
    "mount",
    "installLibraryOnAllClusters",
    "workspaceConfEdit",
    "setSetting",
    "updateMetastore",
    "acceptTos",
    "sendTos",
]
AUDIT_SERVICES = ["unityCatalog", "accounts", "globalInitScripts", "clusterLibraries", "accountsManager",
                  "capsule8-alerts-dataplane", "clamAVScanService-dataplane"]  # fmt: skip


@pytest.fixture(scope="module")
def account(default_account) -> dict[str, pa.Table]:
    folder, _ = default_account
    return {key: ds.dataset(folder / key.replace(".", "/"), format="parquet").to_table() for key in SYSTEM_TABLES}


def _leaves(array: pa.Array, path: str):
    if pa.types.is_struct(array.type):
        for i in range(array.type.num_fields):
            yield from _leaves(array.field(i), f"{path}.{array.type.field(i).name}")
    else:
        yield path, array


def test_every_table_column_and_nested_field_is_filled_somewhere(account):
    missing = []
    for key, table in account.items():
        if table.num_rows == 0:
            missing.append(f"{key} (no rows)")
        for column in table.schema.names:
            for path, leaf in _leaves(table[column].combine_chunks(), column):
                if leaf.null_count == len(leaf) and f"{key}:{path}" not in NOT_ON_AWS:
                    missing.append(f"{key}:{path}")
    assert not missing, f"never filled: {missing}"


def test_every_request_params_key_audit_action_and_service_appears(account):
    audit = account["access.audit"]
    keys = set(audit["request_params"].combine_chunks().keys.unique().to_pylist())
    actions = set(audit["action_name"].unique().to_pylist())
    services = set(audit["service_name"].unique().to_pylist())
    missing = [f"request_params.{k}" for k in REQUEST_PARAMS_KEYS if k not in keys]
    missing += [f"action {a}" for a in AUDIT_ACTIONS if a not in actions]
    missing += [f"service {s}" for s in AUDIT_SERVICES if s not in services]
    assert not missing, f"absent from access.audit: {missing}"


def test_every_billing_origin_product_and_sku_family_appears(account):
    enums = yaml.safe_load(REFERENCE.read_text())["system.billing.usage"]["enums"]
    products = enums["billing_origin_product"]["documented"] + enums["billing_origin_product"]["observed_live_extra"]
    products.append("GENIE")  # filtered on by public Genie usage queries (community_usage.md)
    usage = account["billing.usage"]
    seen = set(usage["billing_origin_product"].unique().to_pylist())
    families = {_family(sku) for sku in enums["sku_name_examples"]["observed_in_public_code"]}
    billed = {_family(sku) for sku in usage["sku_name"].unique().to_pylist()}
    missing = [f"product {p}" for p in products if p not in seen] + sorted(f"sku family {f}" for f in families - billed)
    assert not missing, f"absent from billing.usage: {missing}"


def _family(sku: str) -> str:
    """A SKU without its tier, region and notes: PREMIUM_JOBS_SERVERLESS_COMPUTE_US_EAST_2 -> JOBS_SERVERLESS_COMPUTE."""
    sku = re.sub(r"\s*\(.*\)$", "", sku) if not sku.endswith("_(PHOTON)") else sku
    sku = re.sub(r"^(STANDARD|PREMIUM|ENTERPRISE)_", "", sku)
    return re.sub(r"_(US|EU|EUROPE|AP|ASIA|CANADA|SA|ME|AF)_.*$|_(US_EAST|EU_WEST)(_\d)?$", "", sku)


def test_rare_events_are_rare_but_recent(account, default_account):
    """Admin changes and workspace configuration edits occur, and at least one in the last week."""
    audit = account["access.audit"]
    week = pa.scalar(default_account[1].end - timedelta(days=7), pa.timestamp("us"))
    recent = audit.filter(pc.greater_equal(audit["event_time"].cast(pa.timestamp("us")), week))
    actions = set(recent["action_name"].unique().to_pylist())
    assert {"setAdmin", "addPrincipalToGroup"} & actions
    rare = audit.filter(
        pc.is_in(audit["action_name"], pa.array(["workspaceConfEdit", "setSetting", "createIpAccessList"]))
    )
    assert 0 < rare.num_rows < audit.num_rows / 1000
