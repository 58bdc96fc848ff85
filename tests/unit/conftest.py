"""Simulated accounts shared by the unit tests (simulated in-process, no engine)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hm_utils.simulator import SimulationOptions, simulate

# The default account's shape (8 workspaces, default scale and seed) over five weeks: every incident
# type occurs several times, and the coverage and detection tests read the same folder.
DEFAULT_SHAPE = SimulationOptions(days=35, end=datetime(2026, 11, 30, 6, 0), seed=42)


@pytest.fixture(scope="session")
def default_account(tmp_path_factory):
    """(folder, options) of the default account's shape with incidents and defects."""
    out = tmp_path_factory.mktemp("default_account")
    simulate(out, DEFAULT_SHAPE)
    return out, DEFAULT_SHAPE
