"""Gold security facts on tiny hand-made frames: the flags of audit events and their daily summary."""

from __future__ import annotations

import pytest

from hm_utils.gold import security

from .gold_frames import WS, system_frame, ts

pytestmark = pytest.mark.engine


def test_audit_flags(spark):
    def event(event_id, service, action, status=200, params=None, email="a@x.com"):
        return {
            "event_id": event_id,
            "event_time": ts(3),
            "event_date": ts(3).date(),
            "workspace_id": WS,
            "service_name": service,
            "action_name": action,
            "request_params": params or {},
            "user_identity": {"email": email, "subject_name": None},
            "response": {"status_code": status, "error_message": None, "result": None},
            "source_ip_address": "10.0.0.1",
            "_hm_ingested_at": ts(4),
        }

    rows = [
        event("e1", "accounts", "login", 401, {"user": "v@x.com"}, email=None),
        event("e2", "accounts", "tokenLogin", 200),
        event("e3", "accounts", "setAdmin"),
        event("e4", "unityCatalog", "updatePermissions", params={"securable_full_name": "main.s.t"}),
        event("e5", "accounts", "generateDbToken"),
        event("e6", "databrickssql", "downloadQueryResult"),
        event("e7", "unityCatalog", "getTable", params={"full_name_arg": "main.s.u"}),
    ]
    audit = system_frame(spark, "access.audit", rows)
    audit = audit.withColumn("_hm_ingested_at", audit.event_time)
    flags = ["is_failed_login", "is_admin_change", "is_permission_change", "is_token_event", "is_download"]
    got = {r.event_id: r for r in security.audit_events_frame(audit).collect()}
    assert {e: [f for f in flags if getattr(r, f)] for e, r in got.items()} == {
        "e1": ["is_failed_login"],
        "e2": [],
        "e3": ["is_admin_change"],
        "e4": ["is_permission_change"],
        "e5": ["is_token_event"],
        "e6": ["is_download"],
        "e7": [],
    }
    assert got["e1"].user_email == "v@x.com" and got["e2"].user_email == "a@x.com"
    assert (got["e4"].securable_full_name, got["e7"].securable_full_name) == ("main.s.t", "main.s.u")
    [day] = security.daily_security_frame(security.audit_events_frame(audit)).collect()
    assert (
        day.events,
        day.failed_logins,
        day.admin_changes,
        day.permission_changes,
        day.token_events,
        day.downloads,
        day.logins,
        day.distinct_ips,
    ) == (7, 1, 1, 1, 1, 1, 2, 1)
