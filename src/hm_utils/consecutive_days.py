"""`hm bench --two-days`: do two consecutive daily runs build the same gold history as one run over both?

A scheduled deployment runs once a day: the simulated account grows by a day (appended, with late
rows and billing corrections), bronze ingests only what is new, silver and gold refresh incrementally.
This check builds one small simulated account both ways, through the same layer functions the notebooks
of `hm run` call, each in its own schemas on one engine:

- stepwise: simulate up to `end`, build; simulate up to `end` + 1 day into the same folder, build again;
- at once: simulate up to `end` + 1 day into a fresh folder, build once;

and compares every gold table row for row (the `_hm_*` lineage columns, which record when a row was
ingested, aside). Both builds run with `clock.now` pinned to their simulated end, like a daily job.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hm_utils import layers, tables
from hm_utils.config import Config
from hm_utils.simulator import SimulationOptions, simulate


@dataclass
class TableComparison:
    """One gold table in both builds: its rows and the rows only one of them has."""

    table: str
    rows_stepwise: int
    rows_at_once: int
    only_stepwise: int
    only_at_once: int

    @property
    def identical(self) -> bool:
        return self.only_stepwise == 0 and self.only_at_once == 0


@dataclass
class TwoDayCheck:
    """What the check built and found; `identical` when no gold table differs."""

    first_end: datetime
    second_end: datetime
    source_rows: dict[str, int]
    seconds: dict[str, float]
    tables: list[TableComparison] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return bool(self.tables) and all(t.identical for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_end": self.first_end.isoformat(sep=" "),
            "second_end": self.second_end.isoformat(sep=" "),
            "identical": self.identical,
            "source_rows": self.source_rows,
            "seconds": self.seconds,
            "gold_tables": {
                t.table: {
                    "rows_stepwise": t.rows_stepwise,
                    "rows_at_once": t.rows_at_once,
                    "only_stepwise": t.only_stepwise,
                    "only_at_once": t.only_at_once,
                }
                for t in self.tables
            },
        }


def small_account(config: Config) -> SimulationOptions:
    """The account `hm bench --two-days` checks: 2 workspaces, a week up to 06:00 yesterday (clock.now)."""
    from hm_utils import clock

    end = datetime.combine(clock.today(config) - timedelta(days=1), datetime.min.time()) + timedelta(hours=6)
    return SimulationOptions(workspaces=2, days=7, end=end, seed=int(config.get("simulation.seed", 42)), scale=0.001)


def build_config(config: Config, name: str, folder: Path, now: datetime) -> Config:
    """`config` reading the parquet account in `folder`, writing schemas prefixed `hm_<name>_`, at `now`."""
    schemas = {f"schemas.{layer}": f"hm_{name}_{layer}" for layer in layers.LAYER_SCHEMAS}
    return config.with_overrides(
        {
            **schemas,
            "source.kind": "parquet",
            "source.path": str(folder),
            "clock.now": now.strftime("%Y-%m-%d %H:%M"),
            "gold.full_refresh": False,
        }
    )


def run_two_day_check(
    spark, config: Config, options: SimulationOptions, work: Path, progress: Callable[[str], None] = lambda m: None
) -> TwoDayCheck:
    """Build `options`' account stepwise (its end, then a day later) and at once, and compare gold."""
    first_end = options.end
    second = replace(options, end=first_end + timedelta(days=1), days=options.days + 1)
    stepwise, at_once = Path(work) / "stepwise", Path(work) / "at_once"
    for folder in (stepwise, at_once):
        shutil.rmtree(folder, ignore_errors=True)
    check = TwoDayCheck(first_end, second.end, {}, {})

    def build(name: str, folder: Path, now: datetime, step: str, fresh: bool) -> Config:
        built = build_config(config, name, folder, now)
        if fresh:
            layers.drop_layer_schemas(spark, built)
        started = time.perf_counter()
        layers.build_layers(spark, built, f"two-days-{step}", until="gold")
        check.seconds[step] = round(time.perf_counter() - started, 1)
        progress(f"{step}: built in {check.seconds[step]} s")
        return built

    simulate(stepwise, options)
    build("stepwise", stepwise, first_end, "stepwise_day_1", fresh=True)
    appended = simulate(stepwise, second)
    check.source_rows["appended_on_day_2"] = sum(appended.rows.values())
    step_config = build("stepwise", stepwise, second.end, "stepwise_day_2", fresh=False)
    whole = simulate(at_once, second)
    check.source_rows["at_once"] = sum(whole.rows.values())
    once_config = build("at_once", at_once, second.end, "at_once", fresh=True)
    check.tables = compare_gold(spark, step_config, once_config)
    return check


def compare_gold(spark, left: Config, right: Config) -> list[TableComparison]:
    """Every gold table of two builds compared row for row, the `_hm_*` lineage columns aside."""
    found = []
    for key in tables.keys(left, "gold"):
        a, b = (_comparable(spark.table(tables.full_name(config, key))) for config in (left, right))
        found.append(TableComparison(key, a.count(), b.count(), a.exceptAll(b).count(), b.exceptAll(a).count()))
    return found


def _comparable(frame):
    """`frame` without the `_hm_*` columns, with maps as sorted entry lists (set operations refuse maps) and
    floating-point numbers to 9 decimals (an average summed in another order differs in the last bits)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType, MapType

    columns = []
    for column in frame.schema.fields:
        if column.name.startswith("_hm_"):
            continue
        if isinstance(column.dataType, MapType):
            columns.append(F.array_sort(F.map_entries(column.name)).alias(column.name))
        elif isinstance(column.dataType, DoubleType | FloatType):
            columns.append(F.round(column.name, 9).alias(column.name))
        elif "map<" in column.dataType.simpleString():
            columns.append(F.to_json(column.name).alias(column.name))
        else:
            columns.append(F.col(column.name))
    return frame.select(columns)


def format_check(check: TwoDayCheck) -> str:
    """Human-readable result: one line per gold table and the verdict."""
    lines = [
        f"stepwise (up to {check.first_end:%Y-%m-%d %H:%M}, then {check.second_end:%Y-%m-%d %H:%M})"
        f" vs at once (up to {check.second_end:%Y-%m-%d %H:%M}); build seconds {check.seconds}",
        f"  {'gold table':<32} {'stepwise':>10} {'at once':>10} {'differ':>8}",
    ]
    for t in check.tables:
        lines.append(
            f"  {t.table:<32} {t.rows_stepwise:>10,} {t.rows_at_once:>10,} {t.only_stepwise + t.only_at_once:>8,}"
        )
    verdict = "identical" if check.identical else "DIFFERENT"
    lines.append(f"gold history: {verdict} ({len(check.tables)} tables)")
    return "\n".join(lines)
