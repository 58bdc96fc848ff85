"""Public security detections against the simulated audit log: routine behaviour stays below every
threshold (an account simulated without incidents raises no alert), and each injected security incident
crosses the threshold of the detection that looks for it.

The detections are written here from their public definitions (the Databricks security analysis kits and
detection packs such as databricks-solutions/cybersec-workspace-detection-app and
andyweaves/system-tables-audit-logs), per user and clock hour as those queries group, not from the
simulator's code:
- failed logins: more than 1 login refused (401/403) per user-hour;
- admin changes: any setAdmin, removeAdmin, setAccountAdmin, changeAccountOwner, or a principal added to or
  removed from the `admins` group;
- exfiltration: more than 20 downloads per user-hour;
- permission changes: more than 25 per user-hour;
- secret enumeration: 10 or more distinct secrets read per user-hour;
- securable access: more than 20 distinct tables, volumes or paths with temporary credentials per user-hour;
- cross-workspace activity: one user in 5 or more workspaces in a day;
- session moving between devices: consecutive logins of a user within 600 s from another public IP or
  another non-Databricks user agent (a low-fidelity heuristic: routine traffic must not trip it; no
  incident is injected for it).
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from hm_utils.simulator import simulate

LOGINS = ["login", "tokenLogin", "samlLogin", "oidcBrowserLogin", "jwtLogin", "certLogin", "aadBrowserLogin",
          "aadTokenLogin"]  # fmt: skip
ADMIN = ["setAdmin", "removeAdmin", "setAccountAdmin", "changeAccountOwner"]
GROUP_CHANGES = ["addPrincipalToGroup", "removePrincipalFromGroup"]
DOWNLOADS = ["downloadPreviewResults", "downloadLargeResults", "downloadQueryResult", "filesGet", "workspaceExport",
             "getModelVersionDownloadUri", "getModelVersionSignedDownloadUri"]  # fmt: skip
PERMISSION_CHANGES = [
    "changePermissions", "updatePermissions", "grantPermission", "putAcl", "transferObjectOwnership",
    "changeSecurableOwner", "updateSharePermissions", "changeClusterAcl", "changeClusterPolicyAcl",
    "changeDatabricksSqlAcl", "changeDatabricksWorkspaceAcl", "changeDbTokenAcl", "changeFeatureTableAcl",
    "changeIamRoleAcl", "changeInferenceEndpointAcl", "changeInstancePoolAcl", "changeJobAcl", "resetJobAcl",
    "changePasswordAcl", "changePipelineAcls", "changeRegisteredModelAcl", "changeServicePrincipalAcls",
    "changeWarehouseAcls", "changeWorkspaceAcl",
]  # fmt: skip
CREDENTIALS = [
    "generateTemporaryTableCredential",
    "generateTemporaryVolumeCredential",
    "generateTemporaryPathCredential",
]
HIJACK_LOGINS = ["login", "tokenLogin", "samlLogin", "jwtLogin"]
DATABRICKS_AGENTS = r"(?i)(?:databricks|Delta-Sharing|RawDBHttpClient|mlflow-python|feature-store)"
PRIVATE_IP = r"^(?:10\.|192\.168\.|172\.(?:1[6-9]|2[0-9]|3[0-1])\.)"


def _audit(folder) -> pd.DataFrame:
    table = ds.dataset(folder / "access" / "audit", format="parquet").to_table()
    params = table["request_params"].combine_chunks()

    def param(key: str) -> pd.Series:
        return pc.map_lookup(params, key, "first").to_pandas()

    return pd.DataFrame(
        {
            "time": table["event_time"].to_pandas(),
            "user": table["user_identity"].combine_chunks().field("email").to_pandas(),
            "workspace_id": table["workspace_id"].to_pandas(),
            "action": table["action_name"].to_pandas(),
            "status": table["response"].combine_chunks().field("status_code").to_pandas(),
            "ip": table["source_ip_address"].to_pandas(),
            "agent": table["user_agent"].to_pandas(),
            "group": param("targetGroupName"),
            "secret": param("scope") + "/" + param("key"),
            "securable": param("table_full_name").fillna(param("volume_full_name")).fillna(param("url")),
        }
    ).assign(hour=lambda f: f["time"].dt.floor("h"), day=lambda f: f["time"].dt.floor("D"))


def _per_user_hour(rows: pd.DataFrame, column: str | None = None) -> pd.Series:
    grouped = rows.groupby(["user", "hour"])
    return grouped.size() if column is None else grouped[column].nunique()


def alerts(audit: pd.DataFrame) -> dict[str, set[tuple[str, pd.Timestamp]]]:
    """(user, clock hour or day) each detection alerts on."""
    act = audit["action"]
    failed = audit[act.isin(LOGINS) & audit["status"].isin([401, 403])]
    admin = audit[act.isin(ADMIN) | (act.isin(GROUP_CHANGES) & (audit["group"] == "admins"))]
    workspaces = audit[audit["workspace_id"] != "0"].groupby(["user", "day"])["workspace_id"].nunique()
    found = {
        "brute_force_login": _per_user_hour(failed) > 1,
        "admin_privilege_grant": _per_user_hour(admin) > 0,
        "mass_download": _per_user_hour(audit[act.isin(DOWNLOADS)]) > 20,
        "permission_change_burst": _per_user_hour(audit[act.isin(PERMISSION_CHANGES)]) > 25,
        "secret_enumeration": _per_user_hour(audit[act == "getSecret"], "secret") >= 10,
        "mass_securable_access": _per_user_hour(audit[act.isin(CREDENTIALS)], "securable") > 20,
        "cross_workspace_activity": workspaces >= 5,
    }
    alerted = {name: set(flags[flags].index) for name, flags in found.items()}
    alerted["session_hijack"] = _moving_sessions(audit)
    return alerted


def _moving_sessions(audit: pd.DataFrame) -> set[tuple[str, pd.Timestamp]]:
    logins = audit[
        audit["action"].isin(HIJACK_LOGINS)
        & ~audit["ip"].str.contains(PRIVATE_IP)
        & ~audit["agent"].str.contains(DATABRICKS_AGENTS)
    ].sort_values(["user", "time"])
    previous = logins.groupby("user")[["time", "ip", "agent"]].shift()
    moved = (previous["ip"] != logins["ip"]) | (previous["agent"] != logins["agent"])
    close = (logins["time"] - previous["time"]) < pd.Timedelta(seconds=600)
    hits = logins[previous["time"].notna() & moved & close]
    return set(zip(hits["user"], hits["hour"], strict=True))


@pytest.fixture(scope="module")
def quiet_alerts(default_account, tmp_path_factory):
    """Alerts on the default account's shape simulated without incidents."""
    out = tmp_path_factory.mktemp("quiet")
    simulate(out, dataclasses.replace(default_account[1], incidents=False))
    return alerts(_audit(out))


def test_routine_behaviour_stays_below_every_detection(quiet_alerts):
    raised = {name: sorted(hits)[:3] for name, hits in quiet_alerts.items() if hits}
    assert not raised, f"routine traffic raises alerts: {raised}"


SECURITY_INCIDENTS = [
    "brute_force_login",
    "admin_privilege_grant",
    "mass_download",
    "permission_change_burst",
    "secret_enumeration",
    "mass_securable_access",
    "cross_workspace_activity",
]


@pytest.fixture(scope="module")
def incident_alerts(default_account):
    """Alerts on the default account's shape with incidents, and its ground truth."""
    folder, _ = default_account
    truth = ds.dataset(folder / "_ground_truth" / "incidents", format="parquet").to_table().to_pandas()
    return alerts(_audit(folder)), truth


@pytest.mark.parametrize("kind", SECURITY_INCIDENTS)
def test_every_injected_security_incident_crosses_its_detection(incident_alerts, kind):
    found, truth = incident_alerts
    raised = found[kind]
    incidents = truth[truth["incident_type"] == kind]
    assert len(incidents) >= 4, "a weekly incident type recurs in five weeks"
    for incident in incidents.itertuples():
        details = json.loads(incident.details)
        actor = details.get("granted_by", details.get("user"))
        start = pd.Timestamp(incident.start_time)
        bucket = start.floor("D") if kind == "cross_workspace_activity" else start.floor("h")
        assert (actor, bucket) in raised, f"{incident.incident_id} ({actor}) is not detected"
    actors = {json.loads(d).get("granted_by", json.loads(d).get("user")) for d in incidents["details"]}
    assert {user for user, _ in raised} <= actors, "only the incidents' actors are alerted on"
