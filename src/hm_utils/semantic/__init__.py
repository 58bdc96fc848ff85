"""Semantic layer: SQL table functions, metric views and Genie space definitions over the gold tables.

Everything that reads gold for people (dashboards, reports, alerts, agents, Genie) goes through here:
- :func:`call` / :func:`call_sql`: a table function from `sql/functions/<name>.sql`, parameters bound;
- :func:`metric` / :func:`metric_sql`: measures of a metric view from `sql/metric_views/<name>.yml`;
- :func:`deploy` / :func:`deploy_step`: create or update them in `schemas.semantic` (idempotent);
- :func:`latency_benchmark`: p50/p95 latency of every function with its default arguments;
- :func:`catalog`: every function and metric view by domain, with what it is best for.
Genie spaces (`genie/<domain>.yml`) are in :mod:`hm_utils.semantic.genie`.
"""

from hm_utils.semantic.assets import function_names, function_spec, metric_view_names, metric_view_spec
from hm_utils.semantic.bench import latency_benchmark
from hm_utils.semantic.catalog import catalog
from hm_utils.semantic.deployment import DeployReport, SemanticDeployError, deploy, deploy_step
from hm_utils.semantic.query import call, call_sql, metric, metric_sql

__all__ = [
    "DeployReport",
    "SemanticDeployError",
    "call",
    "call_sql",
    "catalog",
    "deploy",
    "deploy_step",
    "function_names",
    "function_spec",
    "latency_benchmark",
    "metric",
    "metric_sql",
    "metric_view_names",
    "metric_view_spec",
]
