"""The alerts on the report site: what fires now and what fired in the period (from get_alert_history),
with links to each alert's runbook on the Alerts page, and that page's runbook catalogue."""

from __future__ import annotations

import html

import pandas as pd

from hm_utils.alerts.definitions import load_definitions
from hm_utils.reports.blocks import Block, empty

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
PAGE = "alerts.html"


def firing_now(history: pd.DataFrame) -> pd.DataFrame:
    """Instances firing now, one row each: severity, alert, summary, firing since (critical first)."""
    columns = ["severity", "domain", "alert_id", "summary", "since"]
    if history.empty:
        return pd.DataFrame(columns=columns)
    firing = history[(history["currently"] == "firing") & (history["to_state"] == "firing")]
    latest = firing.sort_values("evaluated_at").groupby("fingerprint", as_index=False).last()
    frame = latest.rename(columns={"evaluated_at": "since"})[columns]
    return _by_severity(frame, ["since"])


def fired_in_period(history: pd.DataFrame) -> pd.DataFrame:
    """Per alert: how many times instances started firing in the period, how many distinct, the last time."""
    columns = ["severity", "domain", "alert_id", "times", "instances", "last_fired", "last_summary"]
    if history.empty:
        return pd.DataFrame(columns=columns)
    fired = history[history["to_state"] == "firing"].sort_values("evaluated_at")
    if fired.empty:
        return pd.DataFrame(columns=columns)
    frame = fired.groupby(["severity", "domain", "alert_id"], as_index=False).agg(
        times=("fingerprint", "size"),
        instances=("fingerprint", "nunique"),
        last_fired=("evaluated_at", "max"),
        last_summary=("summary", "last"),
    )
    return _by_severity(frame, ["last_fired"])


def fired_per_day(history: pd.DataFrame) -> pd.DataFrame:
    """Instances starting to fire per UTC day and severity (for a chart)."""
    columns = ["day", "severity", "fired"]
    fired = history[history["to_state"] == "firing"] if not history.empty else history
    if fired.empty:
        return pd.DataFrame(columns=columns)
    days = pd.to_datetime(fired["evaluated_at"]).dt.normalize()
    return fired.assign(day=days).groupby(["day", "severity"], as_index=False).agg(fired=("fingerprint", "size"))


def _by_severity(frame: pd.DataFrame, newest: list[str]) -> pd.DataFrame:
    order = frame["severity"].map(SEVERITY_ORDER).fillna(3)
    return (
        frame.assign(_order=order)
        .sort_values(["_order", *newest], ascending=[True, *[False] * len(newest)])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def alert_table(
    frame: pd.DataFrame, columns: dict[str, str], *, link_to: str = PAGE, top: int = 20, empty_message: str
) -> Block:
    """A table whose alert column links to the alert's runbook; each row also names the detail function."""
    if frame.empty:
        return empty(empty_message)
    details = {d.id: (d.name, d.detail) for d in load_definitions()}
    head = "".join(f'<th scope="col">{html.escape(label)}</th>' for label in [*columns.values(), "Runbook", "Detail"])
    rows = []
    for record in frame.head(top).to_dict("records"):
        name, detail = details.get(record["alert_id"], (record["alert_id"], ""))
        cells = []
        for column in columns:
            value = record[column]
            text = name if column == "alert_id" else ("" if pd.isna(value) else str(value))
            cells.append(f'<td class="text hm-severity-{html.escape(str(record.get("severity", "")))}">{html.escape(text)}</td>'
                         if column == "severity" else f'<td class="text">{html.escape(text)}</td>')  # fmt: skip
        anchor = html.escape(f"{link_to}#{record['alert_id']}")
        cells.append(f'<td class="text"><a href="{anchor}">runbook</a></td>')
        cells.append(f'<td class="text"><code>{html.escape(detail)}</code></td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = f'<p class="hm-table-more">Showing {top} of {len(frame):,} rows.</p>' if len(frame) > top else ""
    return Block(f'<table class="hm-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{more}')


def runbook_catalogue() -> Block:
    """Every alert with its anchor: what it watches, severity, schedule, runbook and the detail function."""
    sections = []
    for domain in ("cost", "security", "performance", "reliability", "quality", "mlops"):
        items = [d for d in load_definitions() if d.domain == domain]
        entries = "".join(
            f'<div class="hm-runbook" id="{html.escape(d.id)}"><h4>{html.escape(d.name)} '
            f"<small>({html.escape(d.severity)}, <code>{html.escape(d.id)}</code>)</small></h4>"
            f"<p>{html.escape(d.description)}</p><p><strong>What to do:</strong> {html.escape(d.runbook)}</p>"
            f"<p><strong>Detail:</strong> <code>{html.escape(d.detail)}</code> · evaluated "
            f"<code>{html.escape(d.schedule.quartz())}</code> (Quartz, UTC) · team {html.escape(d.route.team)}</p></div>"
            for d in items
        )
        sections.append(f"<h3>{html.escape(domain.capitalize())} ({len(items)})</h3>{entries}")
    return Block("".join(sections))
