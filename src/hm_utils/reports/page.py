"""What a report notebook works with: the period, the scope, semantic-layer calls, money at the report's
discount, and the page header.

Report notebooks call :func:`open_report` first (instead of `hm_utils.notebook.start`) and read data only
through :meth:`Report.call` / :meth:`Report.metric`, i.e. through the semantic layer. Unless set, the period ends
at the latest complete day of the billing data (`get_data_freshness`), so an export whose data stops weeks ago
still gets a report about its last days; the header then says how old the data is, with a banner when it is older
than `reports.stale_after_days`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hm_utils import clock, formatting, headline, privacy, semantic
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.reports import blocks

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_PERIOD_DAYS = 30
DEFAULT_STALE_AFTER_DAYS = 2
FRESHNESS_DATASET = "billing usage"  # the data the spend headlines and the period are about
CACHE_FOLDER = "_results"  # under <runs>/<run_id>/reports/
HISTORY_WEEKS = 12
ALL_ROWS = 10_000  # top_n when a report needs every row (sums, counts), not a top list


@dataclass(frozen=True)
class Period:
    """Inclusive date range [start, end] (UTC days)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        """The same number of days right before this period."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def label(self) -> str:
        same_year = self.start.year == self.end.year
        first = self.start.strftime("%b %-d" if same_year else "%b %-d, %Y")
        return f"{first} – {_day(self.end)} ({self.days} days)"


def _day(day: date) -> str:
    return day.strftime("%b %-d, %Y")


def _parse_date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError as exc:
        raise ConfigError(
            f"{name} '{text}' is not a date", where=f"report parameter {name}", fix="use YYYY-MM-DD"
        ) from exc


def latest_complete_day(spark: SparkSession, config: Config) -> date | None:
    """The latest complete UTC day of the billing data (None when there is none)."""
    frame = semantic.call(
        "get_data_freshness", spark=spark, config=config, start_date=None, end_date=None, dataset_name=FRESHNESS_DATASET
    )
    day = frame["latest_complete_day"].iloc[0] if not frame.empty else None
    return None if day is None or pd.isna(day) else pd.Timestamp(day).date()


def default_end(config: Config, latest: date | None = None) -> date:
    """The last day of a default period: the latest complete day of the data, never after yesterday (UTC, by
    `hm_utils.clock`); yesterday when the data's extent is unknown."""
    yesterday = clock.today(config) - timedelta(days=1)
    return min(latest, yesterday) if latest else yesterday


def resolve_period(config: Config, start_date: str = "", end_date: str = "", latest: date | None = None) -> Period:
    """The report period: explicit dates, else the last `reports.period_days` days up to `default_end` (`latest`
    being the data's latest complete day, see :func:`latest_complete_day`)."""
    end = _parse_date(end_date, "end_date") if end_date else default_end(config, latest)
    days = int(config.get("reports.period_days", DEFAULT_PERIOD_DAYS))
    start = _parse_date(start_date, "start_date") if start_date else end - timedelta(days=days - 1)
    if start > end:
        raise ConfigError(
            f"start_date {start} is after end_date {end}", where="report parameters", fix="swap or fix the dates"
        )
    return Period(start, end)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Spark decimals arrive as Decimal objects: make them floats so pandas and charts can compute.
    The Spark Connect plan metrics in `attrs` are dropped (they are not data and do not serialize)."""
    frame.attrs = {}
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


@dataclass
class Report:
    """One report run: config, session, period, scope and money settings."""

    config: Config
    spark: SparkSession
    period: Period
    run_id: str = "interactive"
    workspaces: list[str] = field(default_factory=list)
    currency: str = "USD"
    discount_pct: float = 0.0
    cache: Path | None = None  # results shared by the reports of one publish (same run, same data)

    # ------------------------------------------------------------------------------------- data
    def call(self, name: str, previous: bool = False, **params: Any) -> pd.DataFrame:
        """Semantic function `name` over the period (or the previous one), for the report's workspaces.

        With several workspaces the function is called once per workspace and the rows concatenated
        (functions take one workspace or NULL for all). Results are kept in `cache` when set, so the
        reports of one publish run each distinct call once."""
        period = self.period.previous if previous else self.period
        takes = semantic.function_spec(self.config, name).param_names
        dates = {"start_date": period.start, "end_date": period.end}
        # status functions (freshness now, the latest evaluation) take no period
        arguments = {**{key: value for key, value in dates.items() if key in takes}, **params}
        return self._cached(name, [sorted(arguments.items())], lambda: self._call(name, arguments))

    def call_many(self, calls: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, pd.DataFrame]:
        """Several :meth:`call` s, `reports.query_threads` at a time on the one session (Spark Connect
        runs them side by side; small queries spend most of their time planning, one core each).

        calls: {result name: (function, keyword arguments of call)}; returns {result name: frame}."""
        threads = max(1, int(self.config.get("reports.query_threads", 1)))
        with ThreadPoolExecutor(threads) as pool:
            futures = {key: pool.submit(self.call, name, **params) for key, (name, params) in calls.items()}
            return {key: future.result() for key, future in futures.items()}

    def metric(
        self,
        view: str,
        measures: Sequence[str],
        dimensions: Sequence[str],
        date_dimension: str,
        where: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Measures of metric view `view` by `dimensions` over the period (`date_dimension` between its
        first and last day) and the filters in `where` (as semantic.metric takes them), for the report's
        workspaces (by `workspace_id` when the view has it, else by `workspace_name`, else account-wide);
        cached like :meth:`call`."""
        filters: dict[str, Any] = {date_dimension: ("between", self.period.start, self.period.end), **(where or {})}
        known = semantic.assets.metric_view_fields(semantic.metric_view_spec(self.config, view))[0]
        column = next((name for name in ("workspace_id", "workspace_name") if name in known), None)
        if self.workspaces and column:  # views without a workspace dimension are account-wide
            filters[column] = list(self.workspaces)
        return self._cached(
            view,
            [list(measures), list(dimensions), sorted(filters.items())],
            lambda: _plain(semantic.metric(view, measures, dimensions, filters, spark=self.spark, config=self.config)),
        )

    def _cached(self, name: str, key: list[Any], compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """Every result a page shows passes here: personal data is masked on the way out (the cache keeps the
        values, so a publish with masking on never reads an unmasked result, whoever cached it)."""
        return privacy.for_readers(self.config, self._stored(name, key, compute))

    def _stored(self, name: str, key: list[Any], compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        if self.cache is None:
            return compute()
        digest = hashlib.sha256(json.dumps([name, key, self.workspaces], default=str).encode()).hexdigest()[:16]
        path = self.cache / f"{name}-{digest}.parquet"
        if path.is_file():
            return pd.read_parquet(path)
        frame = compute()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")  # reports may run side by side
        frame.to_parquet(temporary, index=False)
        temporary.replace(path)
        return frame

    def _call(self, name: str, arguments: dict[str, Any]) -> pd.DataFrame:
        takes_workspace = "workspace" in semantic.function_spec(self.config, name).param_names
        if not self.workspaces or not takes_workspace:
            frame = semantic.call(name, spark=self.spark, config=self.config, **arguments)
            if self.workspaces and "workspace_id" in frame.columns:
                frame = frame[frame["workspace_id"].astype(str).isin(self.workspaces)]
            return _plain(frame.reset_index(drop=True))
        frames = [
            semantic.call(name, spark=self.spark, config=self.config, workspace=workspace, **arguments)
            for workspace in self.workspaces
        ]
        return _plain(pd.concat(frames, ignore_index=True))

    @property
    def history_start(self) -> date:
        """First day of the 12 weeks ending with the period: the window of trend charts."""
        return self.period.end - timedelta(weeks=HISTORY_WEEKS) + timedelta(days=1)

    # ------------------------------------------------------------------------------------- money
    @property
    def discount(self) -> float:
        """Multiplier from list price to what the account pays."""
        return 1 - self.discount_pct / 100

    def net(self, list_amount: Any) -> Any:
        """A list-price amount (number or Series) at the report's discount."""
        return list_amount * self.discount

    def priced(self, frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
        """A copy of `frame` with the list-price money `columns` at the report's discount."""
        return frame.assign(**{column: frame[column] * self.discount for column in columns})

    def money(self, amount: Any, compact: bool | None = None) -> str:
        return formatting.money(amount, self.currency, compact)

    # ------------------------------------------------------------------------------------- page
    def headlines(self, raw: dict[str, float | None]) -> blocks.Headlines:
        """The five headline tiles (see hm_utils.headline) from their values for the report's scope."""
        values = headline.values(
            self.config, raw, self.period.start, self.period.end, self.workspaces, self.discount_pct, self.currency
        )
        spend, change, savings, rate, events = (raw.get(h.key) for h in headline.HEADLINES)
        previous = (
            f" · previous {self.money(spend / (1 + change))}" if spend and change is not None and change != -1 else ""
        )
        notes = {
            "spend": (f"{self.period.days} days{previous}", ""),
            "spend_change": (
                f"vs the previous {self.period.days} days" if change is not None else "no spend in the previous period",
                "bad" if (change or 0) > 0.1 else "good" if (change or 0) < 0 else "",
            ),
            "savings": (f"{formatting.percent(savings / spend)} of spend" if spend and savings else "nothing to save found", "bad" if savings else ""),
            "job_success_rate": ("of completed job runs" if rate is not None else "no completed job runs", "bad" if rate is not None and rate < 0.95 else ""),
            "security_events": ("failed-login and download bursts, admin changes, sensitive access", "bad" if events else "good"),
        }  # fmt: skip
        tiles = [blocks.Kpi(v.label, v.text, notes[v.key][0], notes[v.key][1], v.key, v.value) for v in values]
        return blocks.Headlines(blocks.kpis(tiles), [dataclasses.asdict(value) for value in values])

    def freshness(self) -> pd.Series | None:
        """How far the billing data reaches, whatever the period (a `get_data_freshness` row; None without data)."""
        frame = self._cached(
            "get_data_freshness",
            [FRESHNESS_DATASET],
            lambda: _plain(
                semantic.call(
                    "get_data_freshness",
                    spark=self.spark,
                    config=self.config,
                    start_date=None,
                    end_date=None,
                    dataset_name=FRESHNESS_DATASET,
                )
            ),
        )
        return None if frame.empty or pd.isna(frame["latest_time"].iloc[0]) else frame.iloc[0]

    def header(self) -> blocks.Block:
        """Period, scope, price basis and how old the data is, under the page title; a banner when it is stale."""
        scope = ", ".join(self.workspaces) if self.workspaces else "all workspaces"
        prices = "list prices" if not self.discount_pct else f"list prices less a {self.discount_pct:g}% discount"
        lines = [
            f"Period: {self.period.label} · compared with {self.period.previous.label}",
            f"Scope: {scope} · amounts in {self.currency} at {prices}",
        ]
        fresh = self.freshness()
        if fresh is None:
            return blocks.context([*lines, "Data: no billing usage yet"])
        day, age = pd.Timestamp(fresh["latest_complete_day"]).date(), int(fresh["days_old"])
        lines.append(
            f"Data: billing usage complete through {_day(day)} ({age} day{'s' if age != 1 else ''} before today)"
        )
        stale_after = int(self.config.get("reports.stale_after_days", DEFAULT_STALE_AFTER_DAYS))
        if age <= stale_after:
            return blocks.context(lines)
        today = clock.today(self.config)
        warning = (
            f"The data is stale: billing usage is complete only through {_day(day)}, {age} days before today "
            f"({_day(today)}). Refresh the source, or read this report as of {_day(day)}."
        )
        return blocks.join(blocks.context(lines), blocks.banner(warning))

    def no_data(self, what: str) -> str:
        """The sentence shown instead of an empty table or chart."""
        return f"No {what} between {self.period.start} and {self.period.end}."


def open_report(
    env: str = "",
    overrides: str = "",
    run_id: str = "",
    start_date: str = "",
    end_date: str = "",
    workspaces: Sequence[str] = (),
    currency: str = "USD",
    discount_pct: float = 0.0,
) -> Report:
    """First call of every report notebook: parameters, config, session and period."""
    from hm_utils import notebook

    ctx = notebook.start(
        env=env,
        overrides=overrides,
        run_id=run_id,
        start_date=start_date,
        end_date=end_date,
        workspaces=list(workspaces),
        currency=currency,
        discount_pct=float(discount_pct),
    )
    params = ctx.params
    cache = None
    if params["run_id"]:
        cache = ctx.config.path("runs") / str(params["run_id"]) / "reports" / CACHE_FOLDER
    latest = None if params["end_date"] else latest_complete_day(ctx.spark, ctx.config)
    return Report(
        config=ctx.config,
        spark=ctx.spark,
        period=resolve_period(ctx.config, params["start_date"], params["end_date"], latest),
        run_id=ctx.run_id,
        workspaces=[str(workspace) for workspace in params["workspaces"]],
        currency=params["currency"] or "USD",
        discount_pct=float(params["discount_pct"]),
        cache=cache,
    )
