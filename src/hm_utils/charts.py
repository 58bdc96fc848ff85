"""Altair charts for the health reports: a title, axis labels with units, formatted values, and an
empty-period note instead of an empty plot.

Offline by construction: every chart is rendered to a static SVG with vl-convert (Vega-Lite bundled in
a Python wheel, no browser, no network) and embedded inline in the page. The published HTML therefore
contains no chart JavaScript at all, fetched or embedded; the reports lose hover tooltips, which a
forwarded report does not need.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import vl_convert

from hm_utils import formatting

WIDTH = 640
HEIGHT = 240
# How each value unit reads on an axis: (d3 format, axis-title suffix). Money takes the currency.
UNITS: dict[str, tuple[str, str]] = {
    "money": ("$,.0f", "{currency}"),
    "count": (",d", "count"),
    "percent": (".0%", "%"),
    "hours": (",.1f", "hours"),
    "seconds": (",.0f", "seconds"),
    "minutes": (",.0f", "minutes"),
    "decimal": (",.2f", ""),
}


@dataclass
class Figure:
    """A chart ready for a report: SVG inline in a <figure>, or a note when there is nothing to plot."""

    name: str
    title: str
    chart: alt.TopLevelMixin | None
    empty_message: str = ""
    currency: str = "USD"

    def spec(self) -> dict[str, Any]:
        """The Vega-Lite specification (data inline)."""
        if self.chart is None:
            raise ValueError(f"chart '{self.name}' has no data")
        return self.chart.to_dict()

    def svg(self) -> str:
        """The chart rendered to SVG by vl-convert, with the currency symbol of the report."""
        symbol = formatting.currency_symbol(self.currency)
        locale = {"decimal": ".", "thousands": ",", "grouping": [3], "currency": [symbol, ""]}
        svg = vl_convert.vegalite_to_svg(self.spec(), format_locale=locale)
        label = html.escape(self.title, quote=True)
        return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)

    def to_html(self) -> str:
        name = html.escape(self.name, quote=True)
        if self.chart is None:
            return (
                f'<figure class="hm-chart hm-chart-empty" data-chart="{name}">'
                f"<figcaption>{html.escape(self.title)}</figcaption>"
                f'<p class="hm-empty">{html.escape(self.empty_message)}</p></figure>'
            )
        return f'<figure class="hm-chart" data-chart="{name}">{self.svg()}</figure>'

    def _repr_html_(self) -> str:
        return self.to_html()


def _axis_format(unit: str, largest: float) -> str:
    """The d3 format of a value axis: money gets cents below 100 and SI suffixes (k, M) from a million."""
    if unit == "money":
        return "$.3~s" if largest >= 1_000_000 else "$,.0f" if largest >= 100 else "$,.2f"
    return UNITS[unit][0]


def _axis_title(label: str, unit: str, currency: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unknown unit '{unit}'; use one of {sorted(UNITS)}")
    suffix = UNITS[unit][1].format(currency=currency)
    return f"{label} ({suffix})" if suffix else label


def _finish(chart: alt.TopLevelMixin, title: str, subtitle: str | None) -> alt.TopLevelMixin:
    heading = alt.TitleParams(
        title, subtitle=subtitle or alt.Undefined, anchor="start", fontSize=14, subtitleFontSize=11
    )
    return (
        chart.properties(title=heading)
        .configure_view(stroke=None)
        .configure_axis(
            labelFontSize=11, titleFontSize=12, titleColor="#333", labelColor="#444", grid=True, gridColor="#eee"
        )
        .configure_legend(labelFontSize=11, titleFontSize=11)
        .configure(font="Helvetica, Arial, sans-serif")
    )


def _distinct(labels: pd.Series) -> pd.Series:
    """Labels made unique ("x", "x #2", ...): two clusters with one name stay two bars, not one summed bar."""
    seen = labels.groupby(labels).cumcount() + 1
    return labels.where(seen == 1, labels + " #" + seen.astype(str))


def _empty(frame: pd.DataFrame | None, *columns: str) -> bool:
    """Nothing to plot: no rows, or only missing or zero values (a chart of zeros says nothing)."""
    return (
        frame is None or frame.empty or any((pd.to_numeric(frame[column]).fillna(0) == 0).all() for column in columns)
    )


def bar(
    frame: pd.DataFrame | None,
    category: str,
    value: str,
    *,
    name: str,
    title: str,
    category_title: str,
    value_title: str,
    unit: str = "money",
    currency: str = "USD",
    top: int = 10,
    color: str | None = None,
    subtitle: str | None = None,
    empty_message: str = "No data in this period.",
) -> Figure:
    """Horizontal bars, largest first, the `top` largest categories (the subtitle says when more exist)."""
    if _empty(frame, value):
        return Figure(name, title, None, empty_message, currency)
    data = frame.dropna(subset=[value]).sort_values(value, ascending=False)
    if len(data) > top and subtitle is None:
        subtitle = f"Top {top} of {len(data):,}"
    data = data.head(top).assign(**{category: lambda f: _distinct(f[category].astype(str))})
    encoding = {
        # the category title sits above the labels: long labels (SKU names) never run into it
        "y": alt.Y(
            f"{category}:N",
            sort="-x",
            title=category_title,
            axis=alt.Axis(
                labelLimit=260, titleAngle=0, titleAlign="right", titleBaseline="bottom", titleX=-6, titleY=-6
            ),
        ),
        "x": alt.X(
            f"{value}:Q",
            title=_axis_title(value_title, unit, currency),
            axis=alt.Axis(format=_axis_format(unit, float(data[value].abs().max()))),
        ),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None)
    height = max(60, 22 * len(data))
    chart = alt.Chart(data).mark_bar(color="#3b6ea5" if not color else alt.Undefined).encode(**encoding)
    return Figure(
        name, title, _finish(chart.properties(width=WIDTH - 200, height=height), title, subtitle), currency=currency
    )


def timeseries(
    frame: pd.DataFrame | None,
    date: str,
    value: str,
    *,
    name: str,
    title: str,
    value_title: str,
    unit: str = "money",
    currency: str = "USD",
    color: str | None = None,
    kind: str = "bar",
    subtitle: str | None = None,
    empty_message: str = "No data in this period.",
) -> Figure:
    """Values per day: stacked bars by `color` (kind="bar") or one line per `color` (kind="line")."""
    if _empty(frame, value):
        return Figure(name, title, None, empty_message, currency)
    data = frame.dropna(subset=[value]).assign(**{date: lambda f: pd.to_datetime(f[date])})
    encoding = {
        # bars: one band per day (ordinal), so the axis ends on the last day; lines: a continuous time axis
        "x": alt.X(
            f"yearmonthdate({date}):{'O' if kind == 'bar' else 'T'}",
            title="Date (UTC)",
            axis=alt.Axis(format="%b %d", formatType="time", labelAngle=0, labelOverlap="parity"),
        ),
        "y": alt.Y(
            f"sum({value}):Q",
            title=_axis_title(value_title, unit, currency),
            axis=alt.Axis(format=_axis_format(unit, float(data.groupby(date)[value].sum().abs().max()))),
        ),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=None, sort="-y")
    mark = alt.Chart(data).mark_bar() if kind == "bar" else alt.Chart(data).mark_line(point=len(data) < 40)
    chart = mark.encode(**encoding).properties(width=WIDTH, height=HEIGHT)
    return Figure(name, title, _finish(chart, title, subtitle), currency=currency)


def forecast(
    frame: pd.DataFrame | None,
    date: str,
    value: str,
    lower: str,
    upper: str,
    *,
    actual: pd.DataFrame | None = None,
    actual_date: str = "",
    actual_value: str = "",
    name: str,
    title: str,
    value_title: str,
    unit: str = "money",
    currency: str = "USD",
    subtitle: str | None = None,
    empty_message: str = "No forecast.",
) -> Figure:
    """A forecast line with its interval as a shaded band, after the actual values it continues (when given)."""
    if _empty(frame, value):
        return Figure(name, title, None, empty_message, currency)
    ahead = frame.dropna(subset=[value]).assign(
        day=lambda f: pd.to_datetime(f[date]), series="Forecast", low=lambda f: f[lower], high=lambda f: f[upper]
    )[["day", value, "low", "high", "series"]]
    lines = ahead
    if actual is not None and not actual.empty:
        before = actual.assign(day=lambda f: pd.to_datetime(f[actual_date]), series="Actual")
        lines = pd.concat([before.rename(columns={actual_value: value})[["day", value, "series"]], ahead])
    largest = float(pd.concat([pd.to_numeric(lines[value]), pd.to_numeric(ahead["high"])]).abs().max())
    x = alt.X("day:T", title="Date (UTC)", axis=alt.Axis(format="%b %d", labelAngle=0, labelOverlap="parity"))
    y_title = _axis_title(value_title, unit, currency)
    band = (
        alt.Chart(ahead)
        .mark_area(opacity=0.25, color="#3b6ea5")
        .encode(x=x, y=alt.Y("low:Q", title=y_title, axis=alt.Axis(format=_axis_format(unit, largest))), y2="high:Q")
    )
    line = (
        alt.Chart(lines)
        .mark_line(point=len(lines) < 40)
        .encode(
            x=x,
            y=alt.Y(f"{value}:Q", title=y_title),
            color=alt.Color("series:N", title=None, scale=alt.Scale(range=["#555555", "#3b6ea5"])),
        )
    )
    chart = alt.layer(band, line).properties(width=WIDTH, height=HEIGHT)
    return Figure(name, title, _finish(chart, title, subtitle), currency=currency)


def compare_periods(
    current: float | None,
    previous: float | None,
    *,
    name: str,
    title: str,
    value_title: str,
    labels: tuple[str, str] = ("Previous period", "This period"),
    unit: str = "money",
    currency: str = "USD",
    empty_message: str = "No data in either period.",
) -> Figure:
    """Two bars: the previous period and this one."""
    values = pd.DataFrame({"period": list(labels), "value": [previous, current]})
    if values["value"].isna().all() or not values["value"].fillna(0).any():
        return Figure(name, title, None, empty_message, currency)
    chart = (
        alt.Chart(values)
        .mark_bar(color="#3b6ea5")
        .encode(
            y=alt.Y("period:N", sort=list(labels), title=None),
            x=alt.X(
                "value:Q",
                title=_axis_title(value_title, unit, currency),
                axis=alt.Axis(format=_axis_format(unit, float(values["value"].abs().max()))),
            ),
        )
        .properties(width=WIDTH - 200, height=70)
    )
    return Figure(name, title, _finish(chart, title, None), currency=currency)


def heatmap(
    frame: pd.DataFrame | None,
    row: str,
    column: str,
    value: str,
    *,
    name: str,
    title: str,
    row_title: str,
    column_title: str,
    value_title: str,
    unit: str = "decimal",
    subtitle: str | None = None,
    empty_message: str = "No data in this period.",
) -> Figure:
    """One cell per (`row`, `column`) coloured by `value` (darker = larger), e.g. drift over tables x columns."""
    if _empty(frame, value):
        return Figure(name, title, None, empty_message)
    data = frame.dropna(subset=[value])
    chart = (
        alt.Chart(data)
        .mark_rect()
        .encode(
            y=alt.Y(f"{row}:N", title=row_title, axis=alt.Axis(labelLimit=260)),
            x=alt.X(f"{column}:N", title=column_title, axis=alt.Axis(labelAngle=-40, labelLimit=160)),
            color=alt.Color(
                f"{value}:Q",
                title=_axis_title(value_title, unit, "USD"),
                scale=alt.Scale(scheme="orangered"),
                legend=alt.Legend(format=UNITS[unit][0]),
            ),
        )
        .properties(width=max(200, 22 * data[column].nunique()), height=max(60, 22 * data[row].nunique()))
    )
    return Figure(name, title, _finish(chart, title, subtitle))
