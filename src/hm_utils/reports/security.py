"""The security page (reports/security.ipynb): its semantic calls, KPIs and table columns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hm_utils import formatting
from hm_utils.reports.blocks import Kpi
from hm_utils.reports.page import ALL_ROWS, Report

DAILY_SIGNALS = {
    "failed_logins": "Failed logins",
    "admin_changes": "Admin changes",
    "permission_changes": "Permission changes",
    "downloads": "Downloads",
}
LOGIN_COLUMNS = {
    "window_start": ("Window", "datetime"), "user_email": ("User", "text"), "source_ip_address": ("IP", "text"),
    "failed_logins": ("Failures", "count"), "successful_logins": ("Then succeeded", "count"),
    "workspace_name": ("Workspace", "text"),
}  # fmt: skip
CHANGE_COLUMNS = {
    "event_time": ("When", "datetime"), "changed_by": ("By", "text"), "action_name": ("Action", "text"),
    "change_type": ("Type", "text"), "target": ("Target", "text"), "is_off_hours": ("Off hours", "flag"),
    "workspace_name": ("Workspace", "text"),
}  # fmt: skip
TOKEN_COLUMNS = {
    "user_email": ("Identity", "text"), "tokens_created": ("Created", "count"), "tokens_revoked": ("Revoked", "count"),
    "token_logins": ("Token logins", "count"), "failed_token_logins": ("Failed", "count"),
    "distinct_ips": ("IPs", "count"),
}  # fmt: skip
DOWNLOAD_COLUMNS = {
    "window_start": ("Window", "datetime"), "user_email": ("User", "text"), "downloads": ("Downloads", "count"),
    "distinct_ips": ("IPs", "count"), "workspace_name": ("Workspace", "text"),
}  # fmt: skip
SENSITIVE_COLUMNS = {
    "table_full_name": ("Table", "text"), "user_email": ("User", "text"), "accesses": ("Accesses", "count"),
    "failed_accesses": ("Denied", "count"), "off_hours_accesses": ("Off hours", "count"),
    "last_access": ("Last", "datetime"),
}  # fmt: skip
IDENTITY_COLUMNS = {
    "identity": ("Identity", "text"), "identity_type": ("Type", "text"), "audit_events": ("Events", "count"),
    "failed_events": ("Failed", "count"), "admin_changes": ("Admin changes", "count"),
    "downloads": ("Downloads", "count"), "queries": ("Queries", "count"), "list_cost": ("Spend", "money"),
}  # fmt: skip


@dataclass
class SecurityData:
    """One frame per semantic call of the page, money at the report's price."""

    logins: pd.DataFrame
    changes: pd.DataFrame
    downloads: pd.DataFrame
    sensitive: pd.DataFrame
    tokens: pd.DataFrame
    ips: pd.DataFrame
    off_hours: pd.DataFrame
    identities: pd.DataFrame
    daily: pd.DataFrame


def gather(rep: Report) -> SecurityData:
    """Every semantic call of the page, a few at a time (Report.call_many); the daily signals in long form."""
    r = rep.call_many(
        {
            "logins": ("get_failed_logins", {}),
            "changes": ("get_permission_changes", {}),
            "downloads": ("get_download_activity", {}),
            "sensitive": ("get_sensitive_table_access", {"top_n": ALL_ROWS}),
            "tokens": ("get_token_activity", {}),
            "ips": ("get_access_by_ip", {"top_n": 10}),
            "off_hours": ("get_off_hours_access", {"top_n": 10}),
            "identities": ("get_identity_activity", {"top_n": 10}),
        }
    )
    daily = rep.metric("mv_security_daily", list(DAILY_SIGNALS), ["event_date"], date_dimension="event_date")
    if not daily.empty:
        daily = daily.rename(columns=DAILY_SIGNALS).melt(id_vars="event_date", var_name="signal", value_name="events")
    return SecurityData(
        logins=r["logins"],
        changes=r["changes"],
        downloads=r["downloads"],
        sensitive=r["sensitive"],
        tokens=r["tokens"],
        ips=r["ips"],
        off_hours=r["off_hours"],
        identities=rep.priced(r["identities"], "list_cost"),
        daily=daily,
    )


def kpis(data: SecurityData) -> list[Kpi]:
    """Failed-login bursts, permission changes, tokens, download bursts and readers of sensitive tables."""
    logins, changes, tokens, sensitive = data.logins, data.changes, data.tokens, data.sensitive
    admin = changes[changes["is_admins_group"].eq(True)] if not changes.empty else changes
    return [
        Kpi("Failed-login bursts", formatting.count(len(logins)), f"{logins['user_email'].nunique() if not logins.empty else 0} distinct users", "bad" if len(logins) else "good"),
        Kpi("Permission changes", formatting.count(len(changes)), f"{len(admin)} on the admins group", "bad" if len(admin) else ""),
        Kpi("Tokens created", formatting.count(tokens["tokens_created"].sum() if not tokens.empty else 0), f"{len(tokens)} identities used tokens"),
        Kpi("Download bursts", formatting.count(len(data.downloads)), "possible data exfiltration", "bad" if len(data.downloads) else "good"),
        Kpi("Sensitive-table readers", formatting.count(sensitive["user_email"].nunique() if not sensitive.empty else 0), f"{formatting.count(sensitive['accesses'].sum() if not sensitive.empty else 0)} accesses"),
    ]  # fmt: skip
