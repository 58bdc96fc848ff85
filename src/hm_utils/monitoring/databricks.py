"""Databricks data-profiling monitors built from the same declarations: on Databricks with
`monitoring.engine: databricks`, the service computes `<table>_profile_metrics` / `_drift_metrics`
instead of the kit. Requests use the databricks-sdk's own types (`quality_monitors.create`)."""

from __future__ import annotations

import json
from typing import Any

from databricks.sdk.service.catalog import MonitorMetric, MonitorMetricType, MonitorTimeSeries

from hm_utils import tables
from hm_utils.config import Config
from hm_utils.monitoring.declarations import Monitor, load_monitors

_TYPES = {
    "aggregate": MonitorMetricType.CUSTOM_METRIC_TYPE_AGGREGATE,
    "derived": MonitorMetricType.CUSTOM_METRIC_TYPE_DERIVED,
    "drift": MonitorMetricType.CUSTOM_METRIC_TYPE_DRIFT,
}
# Spark type names of a StructField's JSON (what `T.StructField("output", T.LongType()).json()` gives)
_SPARK_JSON_TYPES = {"bigint": "long", "double": "double", "string": "string", "boolean": "boolean"}


def output_data_type(sql_type: str) -> str:
    return json.dumps({"name": "output", "type": _SPARK_JSON_TYPES[sql_type], "nullable": True, "metadata": {}})


def create_request(config: Config, monitor: Monitor) -> dict[str, Any]:
    """Keyword arguments of `WorkspaceClient().quality_monitors.create(...)` for one monitor."""
    return {
        "table_name": tables.full_name(config, monitor.table),
        "output_schema_name": f"{config.catalog}.{tables.schema_name(config, 'monitoring')}",
        "assets_dir": f"{config.get('monitoring.assets_dir') or '/Shared/health_monitor/monitors'}/{monitor.name}",
        "time_series": MonitorTimeSeries(
            timestamp_col=monitor.timestamp_col, granularities=list(monitor.granularities)
        ),
        "slicing_exprs": list(monitor.slicing_exprs),
        "custom_metrics": [
            MonitorMetric(
                type=_TYPES[metric.type],
                name=metric.name,
                input_columns=list(metric.input_columns),
                definition=metric.definition,
                output_data_type=output_data_type(metric.output_data_type),
            )
            for metric in monitor.custom_metrics
        ],
        "skip_builtin_dashboard": True,
    }


def create_monitors(workspace_client, config: Config) -> list[str]:
    """Create every declared monitor in the workspace (the requests above); returns the tables monitored."""
    created = []
    for monitor in load_monitors():
        request = create_request(config, monitor)
        workspace_client.quality_monitors.create(**request)
        created.append(request["table_name"])
    return created
