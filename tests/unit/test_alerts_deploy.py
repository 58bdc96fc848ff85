"""Databricks SQL alerts (v2) built from the YAML, without a workspace: every payload is validated with the
SDK's own request type, and the deployment creates, updates and trashes through the SDK's API."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest
from databricks.sdk.service.sql import AlertV2, ComparisonOperator

from hm_utils import config as config_module
from hm_utils.alerts import deploy
from hm_utils.alerts.definitions import get_definition, load_definitions
from hm_utils.errors import ConfigError


@pytest.fixture(scope="module")
def dev_config():
    return config_module.load(
        "dev",
        {
            "alerts.channels": {
                "oncall": {
                    "type": "email",
                    "to": ["oncall@example.com"],
                    "sender": "hm@example.com",
                    "smtp_host": "smtp.example.com",
                },
                "chat": {"type": "slack", "url": "env:HM_SLACK_WEBHOOK_URL"},
            },  # fmt: skip
            "alerts.routing.default_channels": ["oncall", "chat"],
            "alerts.databricks.destinations": {"chat": "dest-123"},
            "alerts.databricks.parent_path": "/Workspace/Shared/health_monitor/alerts",
        },
    )


def test_every_alert_builds_a_payload_the_sdk_accepts(dev_config):
    payloads = deploy.alert_payloads(dev_config, warehouse_id="wh-1")
    assert len(payloads) == 56 and len({p["display_name"] for p in payloads.values()}) == 56
    for alert_id, payload in payloads.items():
        alert = deploy.sdk_alert(payload)
        assert isinstance(alert, AlertV2) and alert.evaluation.comparison_operator == ComparisonOperator.GREATER_THAN
        assert alert.evaluation.empty_result_state is not None and alert.schedule.pause_status is not None
        assert "hm_dev.hm_semantic." in payload["query_text"], alert_id
        assert "{" not in payload["query_text"].replace("{}", ""), f"{alert_id}: every placeholder rendered"
        assert "current_date()" in payload["query_text"] or "current_timestamp()" in payload["query_text"]
        assert payload["evaluation"]["notification"]["subscriptions"] == [
            {"user_email": "oncall@example.com"}, {"destination_id": "dest-123"},
        ]  # fmt: skip
        assert json.loads(json.dumps(payload)) == payload


def test_the_payload_carries_schedule_retrigger_and_the_wrapped_condition(dev_config):
    definition = get_definition("rel_job_failure_streak")
    payload = deploy.alert_payload(definition, dev_config, "wh-1")
    assert payload["schedule"] == {
        "quartz_cron_schedule": "0 0 * * * ?",
        "timezone_id": "UTC",
        "pause_status": "UNPAUSED",
    }
    assert payload["evaluation"]["notification"]["retrigger_seconds"] == 4 * 3600  # alerts.routing.repeat_interval
    assert payload["evaluation"]["source"]["name"] == "firing_instances"
    assert payload["evaluation"]["empty_result_state"] == "OK"
    query = payload["query_text"]
    assert "count_if(result.`max_consecutive_failures` >= 4.0)" in query and query.endswith("having count(*) > 0")
    assert payload["parent_path"] == "/Workspace/Shared/health_monitor/alerts"
    assert payload["display_name"] == "[Health Monitor] Job failing repeatedly"


def test_conditions_translate_every_operator_and_threshold_kind():
    sql = {d.id: deploy.condition_sql(d) for d in load_definitions()}
    assert sql["rel_job_not_recovered"] == "result.`hours_failing` >= 36.0"
    assert sql["rel_pipeline_last_update_failed"] == "result.`last_result_state` = 'FAILED'"
    assert sql["rel_job_success_rate_low"] == "result.`success_rate` < result.`low_rate`"
    assert sql["perf_runaway_job_run"] == "result.`max_active_minutes` > result.`runaway_minutes`"
    unary = replace(
        get_definition("rel_job_not_recovered"),
        source="open_incident_since",
        operator="IS_NOT_NULL",
        threshold_value=None,
    )
    assert deploy.condition_sql(unary) == "result.`open_incident_since` is not null"


def test_a_warehouse_is_required(dev_config):
    with pytest.raises(ConfigError, match="SQL warehouse"):
        deploy.alert_payload(get_definition("rel_job_failure_streak"), dev_config)


class FakeAlertsApi:
    """Records calls the way `WorkspaceClient().alerts_v2` receives them."""

    def __init__(self, existing):
        self.existing, self.calls = existing, []

    def list_alerts(self):
        return iter(self.existing)

    def create_alert(self, alert):
        assert isinstance(alert, AlertV2)
        self.calls.append(("create", alert.display_name))

    def update_alert(self, id, alert, update_mask):  # noqa: A002 - the SDK's parameter name
        assert isinstance(alert, AlertV2) and update_mask == deploy.UPDATE_MASK
        self.calls.append(("update", id))

    def trash_alert(self, id):  # noqa: A002
        self.calls.append(("trash", id))


def test_deploy_creates_updates_and_trashes_only_the_kits_alerts(dev_config):
    existing = [
        SimpleNamespace(id="a1", display_name="[Health Monitor] Job failing repeatedly"),
        SimpleNamespace(id="a2", display_name="[Health Monitor] An alert whose file was removed"),
        SimpleNamespace(id="a3", display_name="Someone else's alert"),
    ]
    api = FakeAlertsApi(existing)
    result = deploy.deploy(dev_config, "wh-1", client=SimpleNamespace(alerts_v2=api), progress=lambda _: None)
    assert result.updated == ["[Health Monitor] Job failing repeatedly"] and len(result.created) == 55
    assert result.trashed == ["[Health Monitor] An alert whose file was removed"]
    assert ("update", "a1") in api.calls and ("trash", "a2") in api.calls
    assert not any(call[1] == "a3" for call in api.calls)


def test_without_channels_the_payloads_have_no_subscriptions_and_still_fit_the_sdk():
    config = config_module.load("prod")
    for payload in deploy.alert_payloads(config, warehouse_id="wh-1").values():
        assert "subscriptions" not in payload["evaluation"]["notification"]
        deploy.sdk_alert(payload)
        assert "hm_prod.hm_semantic." in payload["query_text"]
