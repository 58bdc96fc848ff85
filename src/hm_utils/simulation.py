"""`hm simulate` and the simulate step: run the simulator into an export folder or into the local
simulated account (registered as `<schemas.simulated>_<schema>.<table>` tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hm_utils import clock
from hm_utils.config import Config


@dataclass
class SimulationRun:
    """Where a simulation went and what it wrote."""

    folder: Path
    rows: dict[str, int]
    seconds: float
    registered: list[str]
    appended_after: datetime | None = None


def options_from_config(config: Config, **given: Any):
    """SimulationOptions from `simulation.*` params, with explicitly given values taking precedence."""
    from hm_utils.simulator import SimulationOptions

    settings = dict(config.get("simulation", {}) or {})
    settings.update({key: value for key, value in given.items() if value is not None})
    end = clock.parse_instant(settings.get("end"), "simulation.end", "null to follow clock.now")
    return SimulationOptions(
        workspaces=int(settings["workspaces"]),
        days=int(settings["days"]),
        end=end or clock.hour(config),
        seed=int(settings["seed"]),
        scale=float(settings["scale"]),
        defects=bool(settings.get("defects", True)),
        incidents=bool(settings.get("incidents", True)),
    )


def account_rows(folder: Path) -> dict[str, int]:
    """Rows per system table in a simulated folder (every part file: what the account holds, whichever
    run wrote or appended them)."""
    import pyarrow.dataset as ds

    from hm_utils.system_schema import SYSTEM_TABLES

    return {
        key: ds.dataset(Path(folder) / key.replace(".", "/"), format="parquet").count_rows() for key in SYSTEM_TABLES
    }


def run_simulation(config: Config, options, out: Path | None = None, spark=None) -> SimulationRun:
    """Simulate into `out`, or (no `out`) into the local simulated account and register its tables."""
    from hm_utils import sources
    from hm_utils.simulator import simulate

    folder = out.resolve() if out else sources.simulated_folder(config)
    summary = simulate(folder, options)
    registered: list[str] = []
    if out is None:
        if spark is None:
            from hm_utils.spark import get_spark

            spark = get_spark(config)
        registered = sources.register_simulated(spark, config, folder)
    return SimulationRun(folder, dict(summary.rows), float(summary.seconds), registered, summary.appended_after)
