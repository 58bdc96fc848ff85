"""The five headline numbers of a report period, as plain SQL over the semantic functions.

The executive report computes them from the semantic results it already has (hm_utils.reports.executive)
and shows them as tiles; `hm run` / `hm report` print the same values. The SQL here is the reference
definition: the browser test runs it through `hm sql` and checks the page against it. Each query's text
is complete (dates and discount written in as literals), so it can be pasted into `hm sql` or a
Databricks SQL editor.

Placeholders in the templates: `{cur:<function>}` / `{prev:<function>}` (optionally with extra named
arguments, `{cur:<function>(top_n => 10000)}`) call a semantic function over the period / the previous
period of the same length (one call per workspace, unioned, when the report is
scoped to several workspaces); `{discount}` is the multiplier from list price to the report's price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from hm_utils import formatting
from hm_utils.config import Config
from hm_utils.io import sql_string


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    kind: str  # money | change | percent | count
    template: str
    detail: str  # the function(s) that give the detail


HEADLINES: tuple[Headline, ...] = (
    Headline(
        "spend",
        "Spend",
        "money",
        "select sum(list_cost) * {discount} as value from {cur:get_daily_cost_summary}",
        "get_daily_cost_summary",
    ),
    Headline(
        "spend_change",
        "Spend vs previous period",
        "change",
        "select try_divide(cur.cost, prev.cost) - 1 as value"
        " from (select sum(list_cost) as cost from {cur:get_daily_cost_summary}) as cur"
        " cross join (select sum(list_cost) as cost from {prev:get_daily_cost_summary}) as prev",
        "get_daily_cost_summary, get_cost_week_over_week",
    ),
    Headline(
        "savings",
        "Potential savings",
        "money",
        # idle and oversized savings count once per cluster: the larger of the two
        "select (coalesce((select sum(failed_list_cost) from {cur:get_failed_run_cost(top_n => 10000)}), 0)"
        " + coalesce((select sum(greatest(coalesce(idle.saving, 0), coalesce(oversized.saving, 0)))"
        " from (select cluster_id, idle_list_cost as saving from {cur:get_idle_clusters}) as idle"
        " full outer join (select cluster_id, estimated_saving as saving from {cur:get_oversized_clusters}) as oversized"
        " on idle.cluster_id = oversized.cluster_id), 0)"
        " + coalesce((select sum(estimated_saving) from {cur:get_all_purpose_job_clusters(top_n => 10000)}), 0))"
        " * {discount} as value",
        "get_failed_run_cost, get_idle_clusters, get_oversized_clusters, get_all_purpose_job_clusters",
    ),
    Headline(
        "job_success_rate",
        "Job run success rate",
        "percent",
        "select try_divide(sum(successes), sum(completed_runs)) as value from {cur:get_job_success_rate}",
        "get_job_success_rate",
    ),
    Headline(
        "security_events",
        "Security events to review",
        "count",
        "select (select count(*) from {cur:get_failed_logins})"
        " + (select count(*) from {cur:get_permission_changes(admin_only => true)})"
        " + (select count(*) from {cur:get_download_activity})"
        " + (select count_if(off_hours_accesses > 0) + count_if(failed_accesses > 0)"
        " from {cur:get_sensitive_table_access(top_n => 10000)}) as value",
        "get_failed_logins, get_permission_changes, get_download_activity, get_sensitive_table_access",
    ),
)
BY_KEY = {headline.key: headline for headline in HEADLINES}

_CALL = re.compile(r"\{(cur|prev):([a-z_]+)(?:\(([^)]*)\))?\}")


@dataclass
class HeadlineValue:
    key: str
    label: str
    kind: str
    value: float | None
    text: str
    sql: str
    detail: str


def _function_call(
    config: Config, name: str, start: date, end: date, workspaces: Sequence[str], extra: str | None
) -> str:
    from hm_utils.semantic import assets

    full = assets.qualified(config, name)
    dates = f"start_date => date'{start.isoformat()}', end_date => date'{end.isoformat()}'" + (
        f", {extra}" if extra else ""
    )
    if not workspaces:
        return f"{full}({dates})"
    calls = [f"select * from {full}({dates}, workspace => {sql_string(str(w))})" for w in workspaces]
    return "(" + " union all ".join(calls) + ")"


def sql(
    config: Config,
    key: str,
    start_date: str | date,
    end_date: str | date,
    workspaces: Sequence[str] = (),
    discount_pct: float = 0.0,
) -> str:
    """The complete query of headline `key` for the period (one row, one column `value`)."""
    headline = BY_KEY[key]
    start, end = date.fromisoformat(str(start_date)), date.fromisoformat(str(end_date))
    previous_end = start - timedelta(days=1)
    previous_start = previous_end - (end - start)

    def call(match: re.Match[str]) -> str:
        which, name, extra = match.groups()
        period = (start, end) if which == "cur" else (previous_start, previous_end)
        return _function_call(config, name, *period, workspaces, extra)

    text = _CALL.sub(call, headline.template)
    return text.replace("{discount}", repr(round(1 - float(discount_pct) / 100, 10)))


def format_value(kind: str, value: Any, currency: str = "USD") -> str:
    """How the headline reads on the page and in the terminal."""
    if kind == "money":
        return formatting.money(value, currency)
    if kind == "change":
        return formatting.signed_percent(value)
    if kind == "percent":
        return formatting.percent(value)
    return formatting.count(value)


def values(
    config: Config,
    raw: Mapping[str, float | None],
    start_date: str | date,
    end_date: str | date,
    workspaces: Sequence[str] = (),
    discount_pct: float = 0.0,
    currency: str = "USD",
) -> list[HeadlineValue]:
    """The five headlines from their values (computed by the caller from the same semantic functions),
    formatted, each with the query that recomputes it."""
    result = []
    for headline in HEADLINES:
        value = raw.get(headline.key)
        value = None if value is None or pd.isna(value) else float(value)
        query = sql(config, headline.key, start_date, end_date, workspaces, discount_pct)
        text = format_value(headline.kind, value, currency)
        result.append(HeadlineValue(headline.key, headline.label, headline.kind, value, text, query, headline.detail))
    return result


def format_lines(values: Sequence[dict[str, Any]]) -> list[str]:
    """`Spend ........ $12,345` lines for the terminal."""
    return [f"{item['label']:<28} {item['text']}" for item in values]


def frame(values: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The headline values as a small table (label, value, the functions with the detail)."""
    return pd.DataFrame([{"headline": v["label"], "value": v["text"], "detail": v["detail"]} for v in values])
