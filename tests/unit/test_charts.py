"""Chart helpers: every chart has a title, axis titles with units and formatted axes; it renders to SVG
offline; an empty frame gives a stated no-data figure instead of an empty plot."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from hm_utils import charts


def _daily() -> pd.DataFrame:
    days = [date(2024, 3, 1) + timedelta(days=i) for i in range(10)]
    return pd.DataFrame(
        {"usage_date": days * 2, "sku": ["JOBS"] * 10 + ["SQL"] * 10, "cost": [float(i) * 40 for i in range(20)]}
    )


def _axes(spec: dict) -> dict[str, dict]:
    return {channel: spec["encoding"][channel] for channel in ("x", "y")}


def test_timeseries_has_title_axis_units_and_currency_format():
    figure = charts.timeseries(
        _daily(), "usage_date", "cost", name="daily", title="Daily spend", value_title="Spend", color="sku"
    )
    spec = figure.spec()
    assert spec["title"]["text"] == "Daily spend"
    axes = _axes(spec)
    assert axes["x"]["title"] == "Date (UTC)"
    assert axes["y"]["title"] == "Spend (USD)"
    assert axes["y"]["axis"]["format"].startswith("$")
    assert axes["x"]["type"] == "ordinal" and axes["x"]["timeUnit"] == "yearmonthdate"  # one band per day
    line = charts.timeseries(_daily(), "usage_date", "cost", name="d", title="t", value_title="Spend", kind="line")
    assert line.spec()["encoding"]["x"]["type"] == "temporal"  # datetime.date objects converted, not strings


@pytest.mark.parametrize(("largest", "expected"), [(42.0, "$,.2f"), (4_200.0, "$,.0f"), (4_200_000.0, "$.3~s")])
def test_money_axis_format_follows_the_size_of_the_values(largest, expected):
    frame = pd.DataFrame({"workspace": ["a", "b"], "cost": [largest / 2, largest]})
    spec = charts.bar(
        frame, "workspace", "cost", name="ws", title="By workspace", category_title="Workspace", value_title="Spend"
    ).spec()
    assert spec["encoding"]["x"]["axis"]["format"] == expected


def test_bar_keeps_the_top_rows_largest_first_and_says_how_many_there_were():
    frame = pd.DataFrame({"job": [f"job {i}" for i in range(15)], "cost": [float(i) for i in range(15)]})
    figure = charts.bar(
        frame, "job", "cost", name="jobs", title="Top jobs", category_title="Job", value_title="Cost", top=5
    )
    spec = figure.spec()
    values = spec["datasets"][spec["data"]["name"]]
    assert [row["job"] for row in values] == ["job 14", "job 13", "job 12", "job 11", "job 10"]
    assert spec["title"]["subtitle"] == "Top 5 of 15"
    assert spec["encoding"]["y"]["title"] == "Job"


def test_units_other_than_money_label_the_axis():
    frame = pd.DataFrame({"job": ["a", "b"], "rate": [0.5, 0.9]})
    spec = charts.bar(
        frame,
        "job",
        "rate",
        name="r",
        title="Success",
        category_title="Job",
        value_title="Success rate",
        unit="percent",
    ).spec()
    assert spec["encoding"]["x"]["title"] == "Success rate (%)"
    assert spec["encoding"]["x"]["axis"]["format"] == ".0%"
    with pytest.raises(ValueError, match="unknown unit"):
        charts.bar(frame, "job", "rate", name="r", title="t", category_title="c", value_title="v", unit="furlongs")


def test_svg_is_rendered_offline_with_the_report_currency_and_an_accessible_label():
    figure = charts.timeseries(
        _daily(), "usage_date", "cost", name="daily", title="Daily spend", value_title="Spend", currency="EUR"
    )
    html = figure.to_html()
    assert html.startswith('<figure class="hm-chart" data-chart="daily">')
    assert '<svg role="img" aria-label="Daily spend"' in html
    assert "€" in html and "$" not in html.replace("$schema", "")
    assert "<script" not in html


@pytest.mark.parametrize(
    "frame",
    [
        None,
        pd.DataFrame(columns=["usage_date", "cost"]),
        pd.DataFrame({"usage_date": [date(2024, 1, 1)], "cost": [None]}),
        pd.DataFrame({"usage_date": [date(2024, 1, 1), date(2024, 1, 2)], "cost": [0.0, None]}),
    ],
)
def test_empty_data_gives_a_no_data_figure_not_an_error(frame):
    figure = charts.timeseries(
        frame, "usage_date", "cost", name="daily", title="Daily spend", value_title="Spend", empty_message="No spend."
    )
    html = figure.to_html()
    assert figure.chart is None
    assert "hm-chart-empty" in html and "No spend." in html and "<svg" not in html


def test_compare_periods_handles_a_missing_previous_period():
    figure = charts.compare_periods(120.0, None, name="cmp", title="Spend", value_title="Spend")
    values = figure.spec()["datasets"][figure.spec()["data"]["name"]]
    assert [row["period"] for row in values] == ["Previous period", "This period"]
    assert charts.compare_periods(None, None, name="cmp", title="Spend", value_title="Spend").chart is None


def test_forecast_shows_the_interval_as_a_band_after_the_actual_values():
    ahead = pd.DataFrame(
        {
            "day": pd.date_range("2024-03-11", periods=3),
            "value": [10.0, 12.0, 11.0],
            "lo": [8.0, 9.0, 7.0],
            "hi": [12.0, 15.0, 16.0],
        }
    )
    actual = _daily().rename(columns={"cost": "spend"})
    figure = charts.forecast(
        ahead, "day", "value", "lo", "hi", actual=actual, actual_date="usage_date", actual_value="spend",
        name="forecast", title="Spend forecast", value_title="Spend",
    )  # fmt: skip
    band, line = figure.spec()["layer"]
    assert band["mark"]["type"] == "area" and band["encoding"]["y2"]["field"] == "high"
    assert band["encoding"]["y"]["title"] == "Spend (USD)" and band["encoding"]["y"]["axis"]["format"].startswith("$")
    datasets = figure.spec()["datasets"]
    rows = {len(values) for values in datasets.values()}
    assert rows == {3, 3 + len(actual)}, "the band covers the forecast days only; the line both series"
    assert "Actual" in figure.svg() and "Forecast" in figure.svg()
    assert (
        charts.forecast(ahead.iloc[0:0], "day", "value", "lo", "hi", name="f", title="t", value_title="v").chart is None
    )
