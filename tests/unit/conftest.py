"""tests/unit starts no engine: the engine fixtures fail here, and so does starting a JVM in any other way.
A test that needs Spark or the built account belongs in tests/integration. Simulated accounts (simulated
in-process, no engine) are shared here.
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from hm_utils.simulator import SimulationOptions, simulate

JVM_LAUNCHERS = {"java", "spark-submit", "spark-class", "pyspark"}


def _refuse(*_args, **_kwargs):
    pytest.fail("tests/unit starts no engine: move this test to tests/integration")


@pytest.fixture(scope="session")
def spark():
    _refuse()


@pytest.fixture(scope="session")
def account():
    _refuse()


@pytest.fixture(scope="session")
def published_site():
    _refuse()


def _no_jvm_popen(fakes_folder: Path) -> type[subprocess.Popen]:
    """Popen refusing the JVM launchers, except stand-ins a test wrote under `fakes_folder` (its tmp_path)."""

    class NoJvmPopen(subprocess.Popen):
        def __init__(self, args, *more, **kwargs):
            program = Path(str(args[0] if isinstance(args, (list, tuple)) else str(args).split()[0]))
            if program.name in JVM_LAUNCHERS and not program.resolve().is_relative_to(fakes_folder):
                _refuse()
            super().__init__(args, *more, **kwargs)

    return NoJvmPopen


@pytest.fixture(autouse=True)
def _no_jvm(monkeypatch, tmp_path_factory):
    monkeypatch.setattr(subprocess, "Popen", _no_jvm_popen(tmp_path_factory.getbasetemp().resolve()))


# The default account's shape (8 workspaces, default scale and seed) over five weeks: every incident
# type occurs several times, and the coverage and detection tests read the same folder.
DEFAULT_SHAPE = SimulationOptions(days=35, end=datetime(2026, 11, 30, 6, 0), seed=42)


@pytest.fixture(scope="session")
def default_account(tmp_path_factory):
    """(folder, options) of the default account's shape with incidents and defects."""
    out = tmp_path_factory.mktemp("default_account")
    simulate(out, DEFAULT_SHAPE)
    return out, DEFAULT_SHAPE
