"""How one gold table is built, derived from its model: its builder, its inputs, which dates it rewrites.

Every gold table has one builder, `build_<table>(inputs) -> DataFrame` in `hm_utils.gold.<domain>` (the model's
`domain`), that returns the table's rows; it reads only through `inputs.read(key)`, and only the tables its model
`reads`. :func:`build_table` decides what to rewrite and writes the frame conformed to the model:

- `refresh: whole`, a missing table or `gold.full_refresh`: the whole table (`overwrite`);
- `refresh: by_date`: the dates of `date_column` whose input changed (`replace_where` on those dates), with the
  main input (`reads[0]`) restricted to them. With a `watermark`, the changed dates are those of main-input rows
  that arrived after the newest watermark in the table (minus `lookback_days`); without one, the table follows
  its main input, a by_date gold table, and rewrites the dates that table rewrote in the same build (none when it
  was not built). No changed date: nothing is written (`unchanged`).

:func:`plan` is the build graph: each table → the gold tables it reads.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from hm_utils import clock, io
from hm_utils.config import Config
from hm_utils.errors import ConfigError
from hm_utils.gold import models
from hm_utils.gold.models import GoldModel

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

Builder = Callable[["Inputs"], "DataFrame"]


@dataclass
class TableBuild:
    """What one gold table's build did: `overwrite`, `replace_where` (of `dates`) or `unchanged`; rows afterwards."""

    key: str
    mode: str
    rows: int
    seconds: float
    dates: list[date] | None = None
    note: str = ""


class Inputs:
    """What a builder reads: the tables its model declares (silver through `gold.input_layer`), the main input
    restricted to the dates being rewritten, its own previous rows, and the run's config and clock."""

    def __init__(
        self, spark: SparkSession, config: Config, run_id: str, model: GoldModel, dates: list[date] | None = None
    ) -> None:
        self.spark = spark
        self.config = config
        self.run_id = run_id
        self.model = model
        self.dates = dates

    def read(self, key: str) -> DataFrame:
        """The registry table `key`, one of the model's `reads`."""

        if key not in self.model.reads:
            raise ConfigError(
                f"the builder of {self.model.key} reads {key}, which its model does not list",
                where=self.model.source,
                fix=f"add {key} to `reads` (the build order comes from it)",
            )
        layer, name = key.split(".", 1)
        source = f"{self.config.get('gold.input_layer', 'silver')}.{name}" if layer == "silver" else key
        frame = io.read_table(self.spark, self.config, source)
        if self.dates is not None and key == self.model.main_input:
            frame = frame.where(input_date(self.model).isin(self.dates))
        return frame

    def previous(self) -> DataFrame | None:
        """This table as the last build left it; None before its first build."""
        if not io.table_exists(self.spark, self.config, self.model.key):
            return None
        return io.read_table(self.spark, self.config, self.model.key)

    @property
    def now(self) -> datetime:
        """The present instant (naive UTC, `hm_utils.clock`)."""
        return clock.now(self.config)


def builder(model: GoldModel) -> Builder:
    """`build_<table>` of the model's domain module."""
    function = getattr(importlib.import_module(f"hm_utils.gold.{model.domain}"), f"build_{model.table}", None)
    if function is None:
        raise ConfigError(
            f"no builder for {model.key}",
            where=f"hm_utils.gold.{model.domain}",
            fix=f"add build_{model.table}(inputs) there, or fix `domain` in {model.source}",
        )
    return function


def plan(all_models: Mapping[str, GoldModel]) -> dict[str, set[str]]:
    """The build graph: each gold table → the gold tables it reads (built before it)."""
    return {name: model.gold_reads for name, model in all_models.items()}


def input_date(model: GoldModel) -> Column:
    """The date_column value of a main-input row: the model's `input_date` expression, else its column of that name."""
    from pyspark.sql import functions as F

    return F.expr(model.input_date) if model.input_date else F.col(str(model.date_column))


def dates_predicate(column: str, dates: list[date]) -> str:
    """SQL selecting the rows of the given dates."""
    return f"{column} in (" + ", ".join(f"date'{d.isoformat()}'" for d in dates) + ")"


def changed_dates(
    spark: SparkSession, config: Config, model: GoldModel, built: Mapping[str, TableBuild]
) -> list[date] | None:
    """The dates a build rewrites: None for the whole table, [] for none (see the module docstring)."""
    from pyspark.sql import functions as F

    whole = model.refresh == "whole" or config.get("gold.full_refresh", False)
    if whole or not io.table_exists(spark, config, model.key):
        return None
    if model.watermark is None:  # follows its main input; unchanged when that was not built in this run
        main = built.get(model.main_input)
        return main.dates if main is not None else []
    newest = io.read_table(spark, config, model.key).agg(F.max(model.watermark)).first()[0]
    if newest is None:
        return None
    lookback = models.lookback_days(config, model)
    arrived = F.col(model.watermark)
    newer = arrived > F.lit(newest) if not lookback else arrived >= F.lit(newest - timedelta(days=lookback))
    main = Inputs(spark, config, "", model).read(model.main_input)
    rows = main.where(arrived.isNull() | newer).select(input_date(model).alias("d")).distinct().collect()
    return sorted(row["d"] for row in rows if row["d"] is not None)


def build_table(
    spark: SparkSession, config: Config, run_id: str, model: GoldModel, built: Mapping[str, TableBuild]
) -> TableBuild:
    """Build one gold table; `built` holds the builds of this run so far (by key), which include its gold reads."""
    started = time.perf_counter()
    dates = changed_dates(spark, config, model, built)
    if dates == []:
        rows = int(io.read_table(spark, config, model.key).count())
        log.info("%s: no input arrived since the last build; unchanged", model.key)
        return TableBuild(model.key, "unchanged", rows, _since(started), [], "no new input")
    frame = builder(model)(Inputs(spark, config, run_id, model, dates))
    if dates is None:
        result = models.write_model(spark, config, model.table, frame, "overwrite")
    else:
        where = dates_predicate(str(model.date_column), dates)
        result = models.write_model(spark, config, model.table, frame, "replace_where", where=where)
    seconds = _since(started)
    log.info("%s: %s rows (%s) in %ss", model.key, result.rows, result.mode, seconds)
    return TableBuild(model.key, result.mode, result.rows, seconds, dates)


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 2)
