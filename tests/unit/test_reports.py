"""Report pieces without an engine: number formatting, HTML blocks, the attention ranking, the period,
the site definition and the offline nbconvert rendering of executed notebooks."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from hm_utils import charts, clock, formatting
from hm_utils.errors import ConfigError
from hm_utils.reports import attention, blocks, page, site

# ---------------------------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (1234.567, "USD", "$1,235"),
        (12.346, "USD", "$12.35"),
        (2_500_000, "USD", "$2.5M"),
        (-1234, "EUR", "-€1,234"),
        (None, "USD", "–"),
        (float("nan"), "USD", "–"),
    ],
)
def test_money(value, currency, expected):
    assert formatting.money(value, currency) == expected


def test_counts_percentages_changes_and_durations():
    assert formatting.count(12345.6) == "12,346"
    assert formatting.count(123456, compact=True) == "123.5K"
    assert formatting.percent(0.9876) == "98.8%"
    assert formatting.change(110, 100) == pytest.approx(0.10)
    assert formatting.change(5, 0) is None and formatting.change(None, 3) is None
    assert formatting.signed_percent(0.123) == "+12.3%"
    assert formatting.signed_percent(-0.04) == "−4.0%"
    assert formatting.signed_percent(0.00001) == "±0.0%"
    assert [formatting.duration(s) for s in (30, 600, 5400, 3 * 86400)] == ["30 s", "10 min", "1.5 h", "3.0 d"]
    with pytest.raises(ValueError, match="unknown format kind"):
        formatting.format_value(1, "furlongs")


# ---------------------------------------------------------------------------------------------- blocks


def test_table_formats_by_kind_escapes_text_and_says_when_rows_were_cut():
    frame = pd.DataFrame(
        {"job": ["<b>nightly</b>", "hourly", "weekly"], "cost": [1234.6, 50.0, 3.0], "rate": [0.5, 1.0, None]}
    )
    html = blocks.table(
        frame, {"job": ("Job", "text"), "cost": ("Cost", "money"), "rate": ("Success", "percent")}, top=2
    )
    assert "&lt;b&gt;nightly&lt;/b&gt;" in html and "<b>nightly" not in html
    assert '<td class="num">$1,235</td>' in html and '<td class="num">50.0%</td>' in html
    assert "weekly" not in html and "Showing 2 of 3 rows." in html


def test_table_of_nothing_says_so_and_wrong_columns_fail_loudly():
    html = blocks.table(pd.DataFrame(), {"job": ("Job", "text")}, caption="Top jobs", empty_message="No job runs.")
    assert "No job runs." in html and "<table" not in html
    with pytest.raises(KeyError, match="not in the result"):
        blocks.table(pd.DataFrame({"a": [1]}), {"b": ("B", "count")})


def test_kpi_tiles_carry_the_raw_value_for_the_browser_test():
    html = blocks.kpis(
        [blocks.Kpi("Spend", "$1,235", "+3.0% vs previous", "bad", "spend", 1234.5), blocks.Kpi("Other", "–")]
    )
    assert 'data-headline="spend" data-value="1234.5"' in html
    assert html.count('class="hm-kpi"') == 2 and html.count("data-headline") == 1  # only keyed tiles carry a value
    assert "hm-kpi-note bad" in html


# ---------------------------------------------------------------------------------------------- attention


def test_attention_ranks_by_risk_then_dollars_and_drops_findings_without_impact():
    items = [
        attention.Attention("small waste", "d", "get_idle_clusters", impact_usd=5.0),
        attention.Attention("big waste", "d", "get_failed_run_cost", impact_usd=600.0),
        attention.Attention("medium waste", "d", "get_oversized_clusters", impact_usd=20.0),
        attention.Attention("failed logins", "d", "get_failed_logins", risk="high"),
        attention.Attention("nothing", "d", "get_flaky_jobs", impact_usd=0.0),
    ]
    ranked = attention.rank(items, spend=1000.0)
    assert [item.title for item in ranked] == ["big waste", "failed logins", "medium waste", "small waste"]
    assert [item.risk for item in ranked] == ["high", "high", "medium", "low"]
    assert attention.rank(items, spend=1000.0, limit=2) == ranked[:2]


def test_attention_rejects_an_unknown_risk_and_renders_an_ordered_list():
    with pytest.raises(ValueError, match="risk must be one of"):
        attention.rank([attention.Attention("x", "d", "f", risk="severe")], spend=1)
    html = blocks.attention_list(
        attention.rank([attention.Attention("Idle <clusters>", "Idle time.", "get_idle_clusters", 300.0)], 1000.0)
    )
    assert html.startswith('<ol class="hm-attention">') and "Idle &lt;clusters&gt;" in html
    assert "$300" in html and "get_idle_clusters" in html
    assert "Nothing needs attention" in blocks.attention_list([])


# ---------------------------------------------------------------------------------------------- period


def test_period_previous_and_label():
    period = page.Period(date(2024, 3, 1), date(2024, 3, 30))
    assert period.days == 30
    assert period.previous == page.Period(date(2024, 1, 31), date(2024, 2, 29))
    assert period.label == "Mar 1 – Mar 30, 2024 (30 days)"


def test_resolve_period_defaults_and_errors(config):
    yesterday = clock.today(config) - timedelta(days=1)
    days = int(config.get("reports.period_days"))
    default = page.resolve_period(config)
    assert default.end == yesterday and default.days == days
    assert page.resolve_period(config, "2024-01-01", "2024-01-31").days == 31
    assert page.resolve_period(config, end_date="2024-01-31").start == date(2024, 1, 31) - timedelta(days=days - 1)
    # a simulated account ending at some instant: its last complete day is the day before
    pinned = config.with_overrides({"simulation.end": "2023-05-06 06:00"})
    assert page.resolve_period(pinned).end == date(2023, 5, 5)
    with pytest.raises(ConfigError, match="after end_date"):
        page.resolve_period(config, "2024-02-01", "2024-01-01")
    with pytest.raises(ConfigError, match="is not a date"):
        page.resolve_period(config, "yesterday")


def test_report_parameters_are_complete_and_typed(config):
    params = site.report_parameters(config, "run-1", "2024-01-01", "2024-01-10", ["123"])
    assert params["start_date"] == "2024-01-01" and params["end_date"] == "2024-01-10"
    assert params["workspaces"] == ["123"] and params["run_id"] == "run-1" and params["env"] == "ci"
    assert params["currency"] == "USD" and isinstance(params["discount_pct"], float)
    assert site.report_parameters(config.with_overrides({"reports.discount_pct": 12}), "r")["discount_pct"] == 12.0


# ---------------------------------------------------------------------------------------------- site


def test_site_pages_come_from_quarto_yml_with_index_first(config):
    loaded = site.load_site(config)
    assert loaded.pages[0].name == "index"
    assert {page.name for page in loaded.pages} >= {"index", "cost", "reliability", "compute", "security"}
    for entry in loaded.pages:
        notebook = nbformat.read(config.root / entry.source, as_version=4)
        tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{entry.source} needs exactly one cell tagged parameters"
        for name in ("env", "overrides", "run_id", "start_date", "end_date", "workspaces", "currency", "discount_pct"):
            assert re.search(rf"^{name} = ", tagged[0].source, re.MULTILINE), f"{entry.source}: parameter {name}"
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
            "commit without outputs"
        )


def _executed(folder: Path, pages: list[str]) -> None:
    figure = charts.bar(
        pd.DataFrame({"w": ["a", "b"], "v": [3.0, 5.0]}),
        "w",
        "v",
        name="by_ws",
        title="By workspace",
        category_title="Workspace",
        value_title="Spend",
    )
    folder.mkdir(parents=True, exist_ok=True)
    for name in pages:
        params = new_code_cell('env = "ci"')
        params.metadata["tags"] = ["parameters"]
        params.outputs = [new_output("stream", name="stdout", text="parameter echo")]
        chart = new_code_cell("figure")
        chart.outputs = [
            new_output("stream", name="stderr", text="INFO hm_utils.spark: connected"),
            new_output("display_data", data={"text/html": figure.to_html(), "text/plain": "<Figure>"}),
        ]
        notebook = new_notebook(cells=[new_markdown_cell(f"# Page {name}\n\nCosts went from $5 to $7."), params, chart])
        nbformat.write(notebook, folder / f"{name}.ipynb")


def test_nbconvert_rendering_is_offline_code_free_and_navigable(tmp_path):
    pages = site.Site("Health", (site.Page("index", "Executive summary"), site.Page("cost", "Cost")))
    _executed(tmp_path / "executed", ["index", "cost"])
    front = site.render_with_nbconvert(pages, tmp_path / "executed", tmp_path / "site", "Generated now")
    assert front == tmp_path / "site" / "index.html"
    for name in ("index", "cost"):
        html = (tmp_path / "site" / f"{name}.html").read_text()
        assert "<script" not in html, "no script at all: charts are inline SVG"
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "nothing fetched from the network"
        assert 'data-chart="by_ws"' in html and "<svg" in html
        assert "INFO hm_utils" not in html and "parameter echo" not in html and 'env = "ci"' not in html
        links = re.findall(r"<a [^>]*>", re.search(r"<nav.*?</nav>", html, re.DOTALL).group(0))
        assert [re.search(r'href="([^"]+)"', link).group(1) for link in links] == ["index.html", "cost.html"]
        assert [link for link in links if 'aria-current="page"' in link] == [
            next(link for link in links if f'"{name}.html"' in link)
        ]
        assert "Generated now" in html


def test_render_site_says_once_that_it_falls_back_to_nbconvert(config, tmp_path, monkeypatch):
    monkeypatch.setattr(site.shutil, "which", lambda name: None)
    pages = site.load_site(config)
    _executed(tmp_path / "executed", [p.name for p in pages.pages])
    said: list[str] = []
    front, used = site.render_site(config, tmp_path / "executed", pages, tmp_path / "site", progress=said.append)
    assert used == "nbconvert" and front.is_file()
    assert said == [site.NBCONVERT_NOTE]
    with pytest.raises(ConfigError, match="quarto is not on PATH"):
        site.render_site(config, tmp_path / "executed", pages, tmp_path / "site", renderer="quarto")


def test_publish_summary_round_trips(tmp_path):
    result = site.PublishResult(
        "f/index.html",
        "f",
        str(tmp_path),
        "nbconvert",
        "r1",
        {"start_date": "2024-01-01"},
        [site.ReportRun("index", "x.ipynb", 1.5)],
        0.4,
        [{"key": "spend", "value": 1.0}],
    )
    result.write(tmp_path)
    assert site.PublishResult.read(tmp_path) == result
    assert list(result.frame()["step"]) == ["report index", "render (nbconvert)"]
    assert site.PublishResult.read(tmp_path / "nowhere") is None


# ---------------------------------------------------------------------------------------------- semantic calls


class _FakeSemantic:
    """Stands in for hm_utils.semantic: records calls, returns one row per call (decimals, plan metrics)."""

    def __init__(self, params=("start_date", "end_date", "workspace")):
        self.calls: list[dict] = []
        self.params = list(params)

    def function_spec(self, config, name):
        return type("Spec", (), {"param_names": self.params})()

    dimensions = ("usage_date", "workspace_name")

    def metric_view_spec(self, config, view):
        return {"dimensions": [{"name": name} for name in self.dimensions]}

    @property
    def assets(self):
        return type(
            "Assets",
            (),
            {"metric_view_fields": staticmethod(lambda spec: ([d["name"] for d in spec["dimensions"]], []))},
        )

    def metric(self, view, measures, dimensions, filters, spark=None, config=None):
        self.calls.append({"view": view, "filters": filters})
        return pd.DataFrame({"usage_date": [date(2024, 3, 11)], "total": [1.0]})

    def call(self, name, spark=None, config=None, **arguments):
        from decimal import Decimal

        self.calls.append({"name": name, **arguments})
        frame = pd.DataFrame({"workspace_id": [arguments.get("workspace", "w1")], "list_cost": [Decimal("1.25")]})
        frame.attrs["metrics"] = object()  # what Spark Connect leaves there: not serializable
        return frame


@pytest.fixture
def fake_semantic(monkeypatch):
    fake = _FakeSemantic()
    monkeypatch.setattr(page, "semantic", fake)
    return fake


def _report(config, **kwargs):
    return page.Report(config, spark=None, period=page.Period(date(2024, 3, 11), date(2024, 3, 20)), **kwargs)


def test_call_passes_the_period_or_the_previous_one_and_makes_decimals_floats(config, fake_semantic):
    rep = _report(config)
    frame = rep.call("get_x", top_n=5)
    assert frame["list_cost"].dtype == float and frame["list_cost"].iloc[0] == 1.25
    rep.call("get_x", previous=True)
    assert fake_semantic.calls == [
        {"name": "get_x", "start_date": date(2024, 3, 11), "end_date": date(2024, 3, 20), "top_n": 5},
        {"name": "get_x", "start_date": date(2024, 3, 1), "end_date": date(2024, 3, 10)},
    ]


def test_call_once_per_workspace_or_filter_when_the_function_has_no_workspace(config, fake_semantic):
    frame = _report(config, workspaces=["w1", "w2"]).call("get_x")
    assert [call["workspace"] for call in fake_semantic.calls] == ["w1", "w2"] and len(frame) == 2
    fake_semantic.params = ["start_date", "end_date"]
    fake_semantic.calls.clear()
    frame = _report(config, workspaces=["w2"]).call("get_y")
    assert "workspace" not in fake_semantic.calls[0] and frame.empty  # the fake's row is w1: filtered out


def test_results_are_shared_through_the_cache(config, fake_semantic, tmp_path):
    first = _report(config, cache=tmp_path).call("get_x")
    second = _report(config, cache=tmp_path).call("get_x")
    other = _report(config, cache=tmp_path).call("get_x", top_n=3)
    assert len(fake_semantic.calls) == 2, "the second identical call came from the cache"
    pd.testing.assert_frame_equal(first, second)
    assert len(other) == 1 and len(list(tmp_path.glob("*.parquet"))) == 2


def test_priced_applies_the_discount_to_money_columns_only(config):
    rep = _report(config, discount_pct=20)
    frame = rep.priced(pd.DataFrame({"list_cost": [100.0], "runs": [3]}), "list_cost")
    assert frame["list_cost"].iloc[0] == 80.0 and frame["runs"].iloc[0] == 3
    assert "less a 20% discount" in rep.header() and "Mar 11 – Mar 20, 2024" in rep.header()


def test_metric_views_are_read_for_the_period_and_scope(config, fake_semantic, tmp_path):
    _report(config, workspaces=["prod"], cache=tmp_path).metric("mv_x", ["total"], ["usage_date"], "usage_date")
    _report(config, workspaces=["prod"], cache=tmp_path).metric("mv_x", ["total"], ["usage_date"], "usage_date")
    assert len(fake_semantic.calls) == 1, "cached"
    assert fake_semantic.calls[0]["filters"] == {
        "usage_date": ("between", date(2024, 3, 11), date(2024, 3, 20)),
        "workspace_name": ["prod"],
    }
    fake_semantic.dimensions = ("query_date",)
    _report(config, workspaces=["prod"]).metric("mv_y", ["total"], ["query_date"], "query_date")
    assert list(fake_semantic.calls[1]["filters"]) == ["query_date"], "no workspace dimension: account-wide"


def test_headlines_are_read_back_from_the_executed_front_page(tmp_path):
    values = [{"key": "spend", "label": "Spend", "text": "$1"}]
    tiles = blocks.Headlines(blocks.kpis([blocks.Kpi("Spend", "$1", key="spend", value=1.0)]), values)
    bundle = tiles._repr_mimebundle_()
    assert "data-headline" in bundle["text/html"] and repr(tiles) == "Spend: $1"
    cell = new_code_cell("rep.headlines(...)")
    cell.outputs = [new_output("execute_result", data=bundle, execution_count=1)]
    nbformat.write(new_notebook(cells=[cell]), tmp_path / "index.ipynb")
    assert site.read_headlines(tmp_path / "index.ipynb") == values
    nbformat.write(new_notebook(cells=[new_code_cell("1")]), tmp_path / "other.ipynb")
    assert site.read_headlines(tmp_path / "other.ipynb") == []


def test_call_many_returns_each_result_under_its_name(config, fake_semantic):
    rep = _report(config.with_overrides({"reports.query_threads": 3}))
    frames = rep.call_many(
        {"now": ("get_x", {}), "before": ("get_x", {"previous": True}), "top": ("get_y", {"top_n": 2})}
    )
    assert set(frames) == {"now", "before", "top"} and all(len(frame) == 1 for frame in frames.values())
    calls = sorted((call["name"], call["start_date"], call.get("top_n")) for call in fake_semantic.calls)
    assert calls == [
        ("get_x", date(2024, 3, 1), None),
        ("get_x", date(2024, 3, 11), None),
        ("get_y", date(2024, 3, 11), 2),
    ]


def test_quarto_path_stages_the_project_and_renders_the_executed_notebooks(config, tmp_path, monkeypatch):
    pages = site.load_site(config)
    _executed(tmp_path / "executed", [p.name for p in pages.pages])
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        (Path(command[-1]) / "index.html").parent.mkdir(parents=True, exist_ok=True)
        (Path(command[-1]) / "index.html").write_text("<html></html>")
        return type("Completed", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(site.shutil, "which", lambda name: "/opt/quarto/bin/quarto")
    monkeypatch.setattr(site.subprocess, "run", fake_run)
    said: list[str] = []
    front, used = site.render_site(config, tmp_path / "executed", pages, tmp_path / "site", progress=said.append)
    stage = tmp_path / "executed" / "_quarto_stage"
    assert used == "quarto" and said == [] and front == tmp_path / "site" / "index.html"
    assert commands == [["/opt/quarto/bin/quarto", "render", str(stage), "--output-dir", str(tmp_path / "site")]]
    assert (stage / "_quarto.yml").read_text() == (config.root / "_quarto.yml").read_text()
    assert (stage / "report.css").is_file()
    staged = nbformat.read(stage / "index.ipynb", as_version=4)
    outputs = [out for cell in staged.cells if cell.cell_type == "code" for out in cell.outputs]
    assert outputs and not any(out.get("name") == "stderr" for out in outputs), "the same publishable notebooks"
