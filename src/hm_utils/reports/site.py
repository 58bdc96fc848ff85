"""Publish the health report site: execute the report notebooks with papermill, then render them.

Pages and titles come from `_quarto.yml` (one source for both renderers). Rendering uses `quarto render`
when the `quarto` command is on PATH; otherwise the same executed notebooks are rendered by nbconvert
with the `hm_report` template (code hidden, a navigation bar, no script, charts as inline SVG).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from importlib import resources as package_resources
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import yaml

from hm_utils import runner
from hm_utils.config import Config
from hm_utils.errors import ConfigError, StepFailedError

SUMMARY_FILE = "publish.json"
NBCONVERT_NOTE = (
    "quarto is not on PATH: rendering the executed report notebooks with nbconvert instead "
    "(same notebooks, code hidden, navigation bar, offline)."
)


@dataclass(frozen=True)
class Page:
    """One page of the site: `reports/<name>.ipynb` rendered to `<name>.html`."""

    name: str
    title: str

    @property
    def source(self) -> str:
        return f"reports/{self.name}.ipynb"


@dataclass(frozen=True)
class Site:
    title: str
    pages: tuple[Page, ...]


@dataclass
class ReportRun:
    page: str
    notebook: str
    seconds: float


@dataclass
class PublishResult:
    """What `publish` did: the front page, the period, the renderer, per-report timings, headlines."""

    front_page: str
    site: str
    folder: str  # the executed report notebooks and publish.json
    renderer: str
    run_id: str
    parameters: dict[str, Any]
    reports: list[ReportRun]
    render_seconds: float
    headlines: list[dict[str, Any]] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        path = folder / SUMMARY_FILE
        path.write_text(json.dumps(asdict(self), indent=2, default=str))
        return path

    def frame(self) -> pd.DataFrame:
        """Seconds per report notebook and for the render (the step notebook's summary)."""
        rows = [{"step": f"report {run.page}", "seconds": run.seconds} for run in self.reports]
        rows.append({"step": f"render ({self.renderer})", "seconds": self.render_seconds})
        return pd.DataFrame(rows)

    @classmethod
    def read(cls, folder: Path) -> PublishResult | None:
        """The summary a publish left in `folder`, or None when there is none."""
        path = folder / SUMMARY_FILE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text())
        raw["reports"] = [ReportRun(**item) for item in raw["reports"]]
        return cls(**raw)


def load_site(config: Config) -> Site:
    """The site title and pages (navbar order) from `_quarto.yml`; the first page is the front page `index`."""
    path = config.root / "_quarto.yml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        website = raw["website"]
        entries = website["navbar"]["left"]
        pages = tuple(Page(Path(entry["href"]).stem, str(entry["text"])) for entry in entries)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"cannot read the site pages: {exc!r}", where=str(path), fix="restore _quarto.yml (website.navbar.left)"
        ) from exc
    if not pages or pages[0].name != "index":
        raise ConfigError("the first navbar page must be index.ipynb (the front page)", where=str(path), fix="reorder")
    for page in pages:
        if not (config.root / page.source).is_file():
            raise ConfigError(f"report notebook {page.source} does not exist", where=str(path), fix="fix the href")
    return Site(str(website.get("title", "Health report")), pages)


def report_parameters(
    config: Config,
    run_id: str,
    start_date: str = "",
    end_date: str = "",
    workspaces: Sequence[str] = (),
    currency: str = "",
    discount_pct: float | None = None,
    latest: date | None = None,
) -> dict[str, Any]:
    """The papermill parameters of every report notebook: the resolved period (`latest`: the data's latest
    complete day, the default end) and the config's defaults."""
    from hm_utils.reports.page import resolve_period

    period = resolve_period(config, start_date, end_date, latest)
    return {
        "env": config.env,
        "overrides": runner.overrides_text(config),
        "run_id": run_id,
        "start_date": period.start.isoformat(),
        "end_date": period.end.isoformat(),
        "workspaces": [str(workspace) for workspace in workspaces],
        "currency": currency or str(config.get("reports.currency", "USD")),
        "discount_pct": default_discount(config) if discount_pct is None else float(discount_pct),
    }


def default_discount(config: Config) -> float:
    """`reports.discount_pct`, else the discount gold applies (`gold.discount_pct`), else 0."""
    for key in ("reports.discount_pct", "gold.discount_pct"):
        if config.get(key) is not None:
            return float(config.get(key))
    return 0.0


def execute_report(config: Config, page: Page, folder: Path, parameters: dict[str, Any]) -> ReportRun:
    """Execute one report notebook with papermill into `folder/<page>.ipynb` (its own kernel)."""
    logging.getLogger("papermill").setLevel(logging.WARNING)  # its INFO lines would fill the step's output
    output = folder / f"{page.name}.ipynb"
    started = time.perf_counter()
    runner.execute_notebook(config, page.source, output, parameters, what=f"report '{page.name}'", rerun="hm report")
    return ReportRun(page.name, str(output), round(time.perf_counter() - started, 2))


def execute_reports(
    config: Config,
    folder: Path,
    parameters: dict[str, Any],
    site: Site | None = None,
    progress: Callable[[str], None] = print,
) -> list[ReportRun]:
    """Execute every report notebook into `folder`: the front page first (its semantic results fill the
    cache the other reports read), then the others, `reports.parallel` at a time (separate processes)."""
    site = site or load_site(config)
    folder.mkdir(parents=True, exist_ok=True)
    first, *others = site.pages
    runs = [execute_report(config, first, folder, parameters)]
    progress(f"  report {first.name:<12} {runs[-1].seconds:6.1f} s")
    workers = max(1, int(config.get("reports.parallel", 1)))
    if workers == 1 or len(others) < 2:
        for page in others:
            runs.append(execute_report(config, page, folder, parameters))
            progress(f"  report {page.name:<12} {runs[-1].seconds:6.1f} s")
        return runs
    # spawn, not fork: the parent may hold a Spark Connect (gRPC) channel that must not be forked
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(execute_report, config, page, folder, parameters) for page in others]
        for future in futures:
            runs.append(future.result())
            progress(f"  report {runs[-1].page:<12} {runs[-1].seconds:6.1f} s")
    return runs


def publishable(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy fit for readers: no stderr (logs, warnings), no outputs from the parameter cells."""
    clean = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in clean.cells:
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        if tags & {"parameters", "injected-parameters"}:
            cell.outputs = []
            continue
        cell.outputs = [out for out in cell.outputs if not (out.output_type == "stream" and out.name == "stderr")]
    return clean


def _template_dir() -> Path:
    return Path(str(package_resources.files("hm_utils") / "templates"))


def site_css() -> str:
    return (_template_dir() / "site" / "report.css").read_text()


def render_with_nbconvert(site: Site, executed: Path, out: Path, footer: str) -> Path:
    """Each executed notebook → `<out>/<page>.html` with the hm_report template; returns the front page."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="hm_report",
        extra_template_basedirs=[str(_template_dir() / "nbconvert")],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nav = [(f"{page.name}.html", page.title) for page in site.pages]
    css = site_css()
    out.mkdir(parents=True, exist_ok=True)
    for page in site.pages:
        notebook = publishable(nbformat.read(executed / f"{page.name}.ipynb", as_version=4))
        hm = {"site_title": site.title, "page_title": page.title, "pages": nav, "current": f"{page.name}.html"}
        body, _ = exporter.from_notebook_node(notebook, resources={"hm": {**hm, "css": css, "footer": footer}})
        (out / f"{page.name}.html").write_text(body, encoding="utf-8")
    return out / "index.html"


def render_with_quarto(config: Config, site: Site, executed: Path, out: Path, quarto: str) -> Path:
    """Stage `_quarto.yml`, report.css and the executed notebooks, then `quarto render` into `out`."""
    stage = executed / "_quarto_stage"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    shutil.copy(config.root / "_quarto.yml", stage / "_quarto.yml")
    (stage / "report.css").write_text(site_css())
    for page in site.pages:
        notebook = publishable(nbformat.read(executed / f"{page.name}.ipynb", as_version=4))
        nbformat.write(notebook, stage / f"{page.name}.ipynb")
    completed = subprocess.run(
        [quarto, "render", str(stage), "--output-dir", str(out)], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise StepFailedError(
            f"quarto render failed: {completed.stderr.strip()[-2000:]}",
            where=str(stage),
            fix="run the same `quarto render` by hand to see the full log",
        )
    return out / "index.html"


def render_site(
    config: Config,
    executed: Path,
    site: Site | None = None,
    out: Path | None = None,
    renderer: str = "auto",
    footer: str = "",
    progress: Callable[[str], None] = print,
) -> tuple[Path, str]:
    """Render the executed notebooks in `executed` to the site folder; returns (front page, renderer used).

    `renderer`: "auto" (quarto when on PATH, else nbconvert, said once), "quarto" or "nbconvert".
    """
    site = site or load_site(config)
    out = out or config.path("site")
    quarto = shutil.which("quarto")
    if renderer == "quarto" or (renderer == "auto" and quarto):
        if not quarto:
            raise ConfigError("quarto is not on PATH", where="renderer=quarto", fix="install Quarto or use nbconvert")
        return render_with_quarto(config, site, executed, out, quarto), "quarto"
    if renderer == "auto":
        progress(NBCONVERT_NOTE)
    return render_with_nbconvert(site, executed, out, footer), "nbconvert"


def read_headlines(notebook_path: Path) -> list[dict[str, Any]]:
    """The headline values an executed report displayed (blocks.HEADLINES_MIME output); [] when none."""
    from hm_utils.reports.blocks import HEADLINES_MIME

    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if HEADLINES_MIME in output.get("data", {}):
                return list(output["data"][HEADLINES_MIME]["headlines"])
    return []


def publish(
    config: Config,
    run_id: str,
    start_date: str = "",
    end_date: str = "",
    workspaces: Sequence[str] = (),
    folder: Path | None = None,
    renderer: str = "auto",
    progress: Callable[[str], None] = print,
) -> PublishResult:
    """Execute the reports for the period into `<runs>/<run_id>/reports/`, render the site, and write
    `publish.json` (front page, parameters, timings, the headline values the front page showed)."""
    from hm_utils.reports.page import latest_complete_day
    from hm_utils.spark import get_spark

    folder = folder or config.path("runs") / run_id / "reports"
    site = load_site(config)
    latest = None if end_date else latest_complete_day(get_spark(config), config)
    parameters = report_parameters(config, run_id, start_date, end_date, workspaces, latest=latest)
    progress(f"reports for {parameters['start_date']} – {parameters['end_date']} → {folder}")
    runs = execute_reports(config, folder, parameters, site, progress)
    started = time.perf_counter()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    footer = f"Generated {stamp} · run {run_id} · {parameters['start_date']} – {parameters['end_date']}"
    front, used = render_site(config, folder, site, footer=footer, renderer=renderer, progress=progress)
    render_seconds = round(time.perf_counter() - started, 2)
    values = read_headlines(folder / f"{site.pages[0].name}.ipynb")
    result = PublishResult(
        str(front), str(front.parent), str(folder), used, run_id, parameters, runs, render_seconds, values
    )
    result.write(folder)
    return result
