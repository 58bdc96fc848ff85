"""The published site in a real browser: headless Chromium loads every page from a local HTTP server,
every chart is drawn (an SVG with a size), the console has no errors, nothing is fetched from anywhere
but the local server, the headline numbers equal `hm sql` on the same tables, and screenshots are kept
under tests/output/browser/.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them); skipped, with that reason,
when they are absent.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from hm_utils import headline

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    # no network beyond localhost: every host name resolves to nothing except the local server
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1000",
]

pytestmark = [
    pytest.mark.engine,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason=f"headless Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER}): "
        "apt-get install chromium chromium-driver (.ci/run does it)",
    ),
]


@pytest.fixture(scope="module")
def site(published_site):
    """The ci account's site, published once for the session (tests/conftest.py)."""
    return published_site


@pytest.fixture(scope="module")
def server(site):
    """A local HTTP server on 127.0.0.1 serving the site folder; stopped after the module."""
    handler = functools.partial(_QuietHandler, directory=site.site)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _screenshot(driver, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 800), 12_000))
    path = OUTPUT / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def _charts(driver) -> list[dict]:
    return driver.execute_script(
        """
        return Array.from(document.querySelectorAll('figure.hm-chart')).map(figure => {
          const svg = figure.querySelector('svg, canvas');
          const box = svg ? svg.getBoundingClientRect() : null;
          return {name: figure.dataset.chart, empty: figure.classList.contains('hm-chart-empty'),
                  message: (figure.querySelector('.hm-empty') || {}).textContent || '',
                  width: box ? box.width : 0, height: box ? box.height : 0,
                  marks: svg ? svg.querySelectorAll('path, rect, line, text').length : 0};
        });
        """
    )


def _load(driver, url: str) -> None:
    driver.get_log("browser")  # drop entries of the previous page
    driver.get(url)
    assert driver.execute_script("return document.readyState") == "complete"


def test_every_page_renders_its_charts_without_errors_or_network(site, server, browser):
    pages = [Path(report.notebook).stem for report in site.reports]
    assert pages[0] == "index"
    drawn = {}
    for page in pages:
        _load(browser, f"{server}/{page}.html")
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, f"{page}: console errors {errors}"
        charts = _charts(browser)
        assert charts, f"{page}: no chart on the page"
        for chart in charts:
            if chart["empty"]:
                assert chart["message"].strip(), f"{page}/{chart['name']}: empty chart without a message"
            else:
                assert chart["width"] > 100 and chart["height"] > 40 and chart["marks"] > 5, (
                    f"{page}/{chart['name']}: not drawn {chart}"
                )
        drawn[page] = [chart["name"] for chart in charts if not chart["empty"]]
        nav = browser.execute_script(
            "return Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))"
        )
        assert nav == [f"{name}.html" for name in pages], f"{page}: navigation bar {nav}"
        _screenshot(browser, page)
    # browser-internal pages (chrome://, data:, about:) are not network; anything else must be the local server
    network = [url for url in _requested_urls(browser) if urlparse(url).scheme in ("http", "https", "ws", "wss", "ftp")]
    outside = [url for url in network if not url.startswith(server + "/")]
    assert not outside, f"requests beyond the local server: {outside}"
    # the ci account has spend, SKUs and waste: the front page's main charts must be drawn, not empty
    assert {"daily_spend", "spend_by_sku", "waste"} <= set(drawn["index"]), drawn["index"]


def _hm_sql(query: str) -> str | None:
    """The single value of `query` as printed by `hm sql` (CSV), None for an empty cell."""
    hm = shutil.which("hm", path=str(Path(sys.executable).parent)) or "hm"
    completed = subprocess.run(
        [hm, "sql", "--env", "ci", query], capture_output=True, text=True, check=False, env=os.environ.copy()
    )
    assert completed.returncode == 0, completed.stderr
    rows = list(csv.DictReader(io.StringIO(completed.stdout)))
    assert len(rows) == 1, completed.stdout
    return rows[0]["value"] or None


def test_headline_numbers_on_the_front_page_match_hm_sql(config, site, server, browser):
    _load(browser, f"{server}/index.html")
    tiles = browser.execute_script(
        """
        return Array.from(document.querySelectorAll('[data-headline]')).map(tile => ({
          key: tile.dataset.headline, value: tile.dataset.value,
          text: tile.querySelector('.hm-kpi-value').textContent.trim()}));
        """
    )
    assert [tile["key"] for tile in tiles] == [h.key for h in headline.HEADLINES]
    params = site.parameters
    for tile in tiles:
        kind = headline.BY_KEY[tile["key"]].kind
        query = headline.sql(
            config, tile["key"], params["start_date"], params["end_date"], params["workspaces"], params["discount_pct"]
        )
        expected = _hm_sql(query)
        if expected is None:
            assert tile["value"] == "" and tile["text"] == "–", tile
            continue
        assert float(tile["value"]) == pytest.approx(float(expected), rel=1e-9, abs=1e-6), tile
        assert tile["text"] == headline.format_value(kind, float(expected), params["currency"]), tile
    # the terminal prints the same numbers (read back from the executed front page)
    assert [(v["key"], v["text"]) for v in site.headlines] == [(t["key"], t["text"]) for t in tiles]
    assert float(next(t for t in tiles if t["key"] == "spend")["value"]) > 0, "the ci account has spend in the period"
    _screenshot(browser, "index_headlines")
