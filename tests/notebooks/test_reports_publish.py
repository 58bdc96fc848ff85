"""Publishing the report site through papermill on the ci account: a period without data renders every
page and says so; the Quarto path renders the same executed notebooks when `quarto` is installed. (The front page
on a period with data is compared with its golden copy in tests/golden.)"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from hm_utils.reports import publish, render_site
from hm_utils.reports.site import NBCONVERT_NOTE

pytestmark = [pytest.mark.engine, pytest.mark.slow]

EMPTY = ("2000-01-01", "2000-01-10")  # long before any simulated data


@pytest.fixture(scope="module")
def empty_site(account, config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty")
    local = config.with_overrides({"paths.site": str(folder / "site"), "paths.runs": str(folder / "runs")})
    said: list[str] = []
    result = publish(local, "empty-period", *EMPTY, renderer="nbconvert", progress=said.append)
    return result, said


def test_every_report_renders_an_empty_period_and_says_so(empty_site):
    result, said = empty_site
    assert [run.page for run in result.reports] == [
        "index",
        "cost",
        "reliability",
        "compute",
        "security",
        "quality",
        "models",
        "alerts",
    ]
    assert NBCONVERT_NOTE not in said, "an explicit renderer is not a fallback: nothing to say"
    for run in result.reports:
        html = (Path(result.site) / f"{run.page}.html").read_text()
        assert "No " in html and "between 2000-01-01 and 2000-01-10" in html, f"{run.page}: no 'no data' message"
        assert "Traceback" not in html and "Error" not in html, f"{run.page}: an error reached the page"
        charts = re.findall(r'<figure class="hm-chart[^"]*"', html)
        assert charts and all("hm-chart-empty" in chart for chart in charts), f"{run.page}: a chart without data"
    front = (Path(result.site) / "index.html").read_text()
    assert "No usage or job runs between 2000-01-01 and 2000-01-10." in front  # the banner
    assert {value["key"]: value["text"] for value in result.headlines} == {
        "spend": "–",
        "spend_change": "–",
        "savings": "$0.00",
        "job_success_rate": "–",
        "security_events": "0",
    }


@pytest.mark.skipif(
    shutil.which("quarto") is None, reason="the quarto command is not on PATH (it cannot be installed here)"
)
def test_quarto_renders_the_executed_reports(empty_site, config, tmp_path):
    result, _ = empty_site
    front, used = render_site(config, Path(result.folder), out=tmp_path / "quarto", renderer="quarto")
    assert used == "quarto" and front.is_file()
    html = front.read_text()
    assert "<svg" in html or "hm-chart-empty" in html
    assert not re.search(r"""<script[^>]+src=["']https?://""", html), "Quarto pulled a script from the network"
