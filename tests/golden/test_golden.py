"""The real notebooks, executed by papermill on fixed inputs, match their golden copies in this folder (nbval's
comparison after tests/golden/sanitize.cfg; see compare.py, which also says how to regenerate a copy).

- the executive report (reports/index.ipynb) on the fixed-seed ci account for the last ten complete days of its
  data (tests/conftest.py GOLDEN_PERIOD), executed once by the `published_site` fixture with the other pages;
- the simulate step (notebooks/00_source_simulate.ipynb) writing a small export: no engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from compare import GOLDEN, check

from hm_utils import runner

pytestmark = pytest.mark.slow


def test_executive_report_matches_its_golden_copy(published_site):
    [front] = [run for run in published_site.reports if run.page == "index"]
    assert {value["key"]: value["text"] for value in published_site.headlines}["spend"] != "–", "an empty period"
    assert check(Path(front.notebook), GOLDEN / "index.ipynb") == []


def test_simulate_step_matches_its_golden_copy(config, tmp_path):
    executed = tmp_path / "00_source_simulate.ipynb"
    parameters = {
        "env": "ci",
        "overrides": "simulation.end=2026-01-31 06:00;simulation.days=3;simulation.workspaces=1",
        "run_id": "golden",
        "out": str(tmp_path / "hm_golden_export"),
    }
    runner.execute_notebook(
        config, "notebooks/00_source_simulate.ipynb", executed, parameters, what="the simulate step", rerun="pytest"
    )
    assert check(executed, GOLDEN / "00_source_simulate.ipynb") == []
