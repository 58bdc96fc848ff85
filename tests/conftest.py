"""Shared fixtures: the `ci` config, one local engine for the whole session, and a simulated
account built once through every pipeline layer (bronze → silver → gold → semantic)."""

from __future__ import annotations

import importlib.util

import pytest

from hm_utils import config as config_module


@pytest.fixture(scope="session")
def config():
    """The `ci` environment (isolated engine home and port; small simulated account)."""
    return config_module.load("ci")


@pytest.fixture(scope="session")
def spark(config):
    """A client of the ci engine; the engine is started once and stopped at the end if we started it."""
    from hm_utils.spark import LocalEngine, get_spark

    engine = LocalEngine(config)
    was_running = engine.status().running
    session = get_spark(config)
    yield session
    if not was_running:
        engine.stop()


# Layer functions called in order to build the test account; each takes (spark, config, run_id).
PIPELINE = [
    ("hm_utils.bronze", "ingest_all"),
    ("hm_utils.silver", "build_silver"),
    ("hm_utils.gold", "build_gold"),
    ("hm_utils.semantic", "deploy_step"),
]


@pytest.fixture(scope="session")
def account(spark, config):
    """The ci simulated account, simulated and built through every layer once per session."""
    from hm_utils import simulation

    simulation.run_simulation(config, simulation.options_from_config(config), spark=spark)
    reports = {}
    for module_name, function in PIPELINE:
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        reports[module_name.rsplit(".", 1)[1]] = getattr(module, function)(spark, config, "test-build")
    return reports
