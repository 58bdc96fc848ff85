"""Deterministic, vectorised simulator of the Databricks system tables.

    from hm_utils.simulator import SimulationOptions, simulate
    summary = simulate(Path("data/simulated"), SimulationOptions(workspaces=3, days=90))

writes one parquet folder per reference table plus `_ground_truth/incidents` and
`_ground_truth/defects`.
"""

from hm_utils.simulator.common import SimulationOptions, SimulationSummary
from hm_utils.simulator.engine import simulate
from hm_utils.simulator.incidents import INCIDENT_TYPES

__all__ = ["INCIDENT_TYPES", "SimulationOptions", "SimulationSummary", "simulate"]
