"""The same alerts as Databricks SQL alerts (v2): payloads built from the YAML, deployed with the SDK.

A Databricks SQL alert compares one value of its query's result with a threshold; the kit's alerts judge
every result row. :func:`alert_query` keeps the kit's meaning: it wraps the alert's query so that it
returns one row, `firing_instances` (the rows meeting the condition) with `result_rows` and the labels of
the first firing rows, and no row at all when the query is empty (so `empty_result_state` applies as in
the kit). The evaluation is then `firing_instances > 0`; `repeat_interval` becomes `retrigger_seconds`,
the schedule a Quartz cron, the route's channels subscriptions (an email channel's addresses, other
channels through `alerts.databricks.destinations`). Databricks has no pending state: `for` and
`keep_firing_for` apply only to the kit's own evaluation.

:func:`alert_payloads` is the one builder: `hm alerts deploy` sends its payloads through
`WorkspaceClient().alerts_v2`, and `hm deploy` puts the same dictionaries in the bundle's
`resources.alerts` (:func:`bundle_alerts`, with the catalog, schema and warehouse as bundle variables).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hm_utils.alerts import channels as channels_module
from hm_utils.alerts.definitions import AlertDefinition, load_definitions
from hm_utils.alerts.evaluation import render_query, route_plans
from hm_utils.config import Config
from hm_utils.errors import ConfigError, HealthMonitorError
from hm_utils.io import sql_string

_SQL_OPERATORS = {
    "GREATER_THAN": ">",
    "GREATER_THAN_OR_EQUAL": ">=",
    "LESS_THAN": "<",
    "LESS_THAN_OR_EQUAL": "<=",
    "EQUAL": "=",
    "NOT_EQUAL": "<>",
}
_EMPTY_STATES = {"ok": "OK", "triggered": "TRIGGERED", "error": "ERROR"}
UPDATE_MASK = "display_name,query_text,warehouse_id,evaluation,schedule,custom_summary,custom_description"


class AlertDeployError(HealthMonitorError):
    """Databricks refused an alert, or the deployment is not configured."""


def condition_sql(definition: AlertDefinition) -> str:
    """The alert's condition on one result row, in SQL (`result.<source> >= 3`, `... > result.<column>`)."""
    source = f"result.`{definition.source}`"
    if definition.operator == "IS_NULL":
        return f"{source} is null"
    if definition.operator == "IS_NOT_NULL":
        return f"{source} is not null"
    if definition.threshold_column:
        threshold = f"result.`{definition.threshold_column}`"
    elif isinstance(definition.threshold_value, bool):
        threshold = "true" if definition.threshold_value else "false"
    elif isinstance(definition.threshold_value, str):
        threshold = sql_string(definition.threshold_value)
    else:
        threshold = repr(float(definition.threshold_value))
    return f"{source} {_SQL_OPERATORS[definition.operator]} {threshold}"


def alert_query(definition: AlertDefinition, config: Config) -> str:
    """The alert's query against the target's semantic schema, wrapped to one row (see the module docstring)."""
    condition = condition_sql(definition)
    labels = ", ".join(
        f"concat('{label}=', coalesce(cast(result.`{label}` as string), ''))" for label in definition.labels
    )
    return (
        f"with result as (\n{render_query(definition, config)}\n)\n"
        f"select count_if({condition}) as firing_instances, count(*) as result_rows,\n"
        f"  array_join(slice(collect_list(case when {condition} then concat_ws(' ', {labels}) end), 1, 10), '; ') as firing_labels\n"
        f"from result\nhaving count(*) > 0"
    )


def alert_payload(definition: AlertDefinition, config: Config, warehouse_id: str | None = None) -> dict[str, Any]:
    """The SQL Alerts v2 body of one alert (the dictionary form of `databricks.sdk.service.sql.AlertV2`)."""
    settings = config.get("alerts.databricks") or {}
    warehouse = warehouse_id or settings.get("warehouse_id")
    if not warehouse:
        raise ConfigError(
            "alerts need a SQL warehouse on Databricks",
            where=f"params/{config.env}.yml: alerts.databricks.warehouse_id",
            fix="set it, or pass --warehouse-id",
        )
    route = route_plans(config, [definition])[definition.id]
    payload: dict[str, Any] = {
        "display_name": f"{settings.get('name_prefix', '[Health Monitor]')} {definition.name}".strip(),
        "query_text": alert_query(definition, config),
        "warehouse_id": str(warehouse),
        "custom_summary": f"{definition.severity.upper()} {definition.domain}: {definition.name}",
        "custom_description": (
            f"{definition.description}\n\nRunbook: {definition.runbook}\n\nDetail: {definition.detail}\n"
            f"Alert id: {definition.id} (src/hm_utils/alerts/{definition.relative_path})"
        ),
        "evaluation": {
            "source": {"name": "firing_instances", "display": "firing instances"},
            "comparison_operator": "GREATER_THAN",
            "threshold": {"value": {"double_value": 0.0}},
            "empty_result_state": _EMPTY_STATES[definition.empty_result_state],
            "notification": {
                "notify_on_ok": True,
                "retrigger_seconds": int(route.repeat_interval.total_seconds()),
            },
        },
        "schedule": {
            "quartz_cron_schedule": definition.schedule.quartz(),
            "timezone_id": str(settings.get("timezone_id") or "UTC"),
            "pause_status": "PAUSED" if settings.get("paused") else "UNPAUSED",
        },
    }
    subscribed = subscriptions(config, route.channels)
    if subscribed:
        payload["evaluation"]["notification"]["subscriptions"] = subscribed
    if settings.get("parent_path"):
        payload["parent_path"] = str(settings["parent_path"])
    return payload


def subscriptions(config: Config, channel_names: Sequence[str]) -> list[dict[str, str]]:
    """Subscriptions of the route's channels: email addresses, or the destination id mapped to the channel."""
    configured = channels_module.load_channels(config)
    destinations = (config.get("alerts.databricks") or {}).get("destinations") or {}
    result: list[dict[str, str]] = []
    for name in channel_names:
        if name in destinations:
            result.append({"destination_id": str(destinations[name])})
        elif configured[name].type == "email":
            result += [{"user_email": str(address)} for address in configured[name].settings.get("to") or []]
    return result


def alert_payloads(
    config: Config, warehouse_id: str | None = None, definitions: Sequence[AlertDefinition] | None = None
) -> dict[str, dict[str, Any]]:
    """Every alert's payload by alert id (also the `resources.alerts` entries of a bundle)."""
    return {d.id: alert_payload(d, config, warehouse_id) for d in (definitions or load_definitions())}


def bundle_alerts(config: Config) -> dict[str, dict[str, Any]]:
    """The alerts as bundle resources (`resources.alerts`): the same payloads, with the catalog, semantic
    schema and warehouse left as the bundle's variables, so one resource serves every target."""
    variable_config = config.with_overrides({"catalog": "${var.catalog}", "schemas.semantic": "${var.schema_semantic}"})
    payloads = alert_payloads(variable_config, "${var.alerts_warehouse_id}")
    return {f"hm_alert_{alert_id}": payload for alert_id, payload in payloads.items()}


def sdk_alert(payload: dict[str, Any]):
    """The payload as the SDK's request type (`AlertV2`); an AlertDeployError when a field does not fit it."""
    from databricks.sdk.service.sql import AlertV2

    alert = AlertV2.from_dict(payload)
    if alert.as_dict() != payload:
        changed = sorted(key for key in payload if alert.as_dict().get(key) != payload[key])
        raise AlertDeployError(
            f"the payload of '{payload.get('display_name')}' does not fit the SDK's AlertV2 (fields {', '.join(changed)})",
            where="hm_utils.alerts.deploy.alert_payload",
            fix=f"compare with databricks.sdk.service.sql.AlertV2: {json.dumps({k: payload[k] for k in changed})[:300]}",
        )
    return alert


@dataclass
class DeployResult:
    """What a deployment did, by display name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    trashed: list[str] = field(default_factory=list)


def deploy(
    config: Config, warehouse_id: str | None = None, client=None, progress: Callable[[str], None] = print
) -> DeployResult:
    """Create or update every alert in the workspace and trash the kit's alerts whose YAML is gone.

    Alerts are matched by display name; only alerts whose name starts with `alerts.databricks.name_prefix`
    are touched."""
    if client is None:
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient(profile=config.get("spark.databricks.profile"))
    prefix = str((config.get("alerts.databricks") or {}).get("name_prefix", "[Health Monitor]"))
    wanted = {payload["display_name"]: payload for payload in alert_payloads(config, warehouse_id).values()}
    existing = {
        alert.display_name: alert
        for alert in client.alerts_v2.list_alerts()
        if (alert.display_name or "").startswith(prefix)
    }
    result = DeployResult()
    for name, payload in sorted(wanted.items()):
        try:
            if name in existing:
                client.alerts_v2.update_alert(existing[name].id, sdk_alert(payload), UPDATE_MASK)
                result.updated.append(name)
            else:
                client.alerts_v2.create_alert(sdk_alert(payload))
                result.created.append(name)
        except Exception as error:  # the SDK's errors carry Databricks' message
            raise AlertDeployError(
                f"Databricks refused alert '{name}': {error}",
                where=f"alerts_v2 in {config.env}",
                fix="check the warehouse id, the semantic schema's grants and the payload (`hm alerts deploy --dry-run`)",
            ) from error
        progress(f"  {name}")
    for name, alert in sorted(existing.items()):
        if name not in wanted:
            client.alerts_v2.trash_alert(alert.id)
            result.trashed.append(name)
    return result
