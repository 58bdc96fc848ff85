"""Shared fixtures: the `ci` config, one local engine for the whole session, and a simulated
account built once through every pipeline layer (bronze → silver → gold → semantic)."""

from __future__ import annotations

import pytest

from hm_utils import config as config_module


def pytest_collection_modifyitems(items):
    """Golden notebooks (nbval) run last, after the fixtures have built the test account."""
    items.sort(key=lambda item: "tests/golden/" in str(item.path))


@pytest.fixture(scope="session")
def config():
    """The `ci` environment (isolated engine home and port; small simulated account)."""
    return config_module.load("ci")


@pytest.fixture(scope="session")
def spark(config):
    """A client of the ci engine; the engine is started once and stopped at the end if we started it."""
    from hm_utils.engine import LocalEngine
    from hm_utils.spark import get_spark

    engine = LocalEngine(config)
    was_running = engine.status().running
    session = get_spark(config)
    yield session
    if not was_running:
        session.stop()  # first: a session left open retries against the stopped server for minutes at exit
        engine.stop()


@pytest.fixture(scope="session")
def account(spark, config):
    """The ci simulated account, simulated and built through every layer once per session.

    Returns each layer's report by layer name (bronze, silver, gold, semantic). The layers start empty:
    bronze is incremental, so what an earlier day's session ingested would outlive a new simulation.
    """
    from hm_utils import layers, simulation

    layers.drop_layer_schemas(spark, config)
    simulation.run_simulation(config, simulation.options_from_config(config), spark=spark)
    return {result.layer: result.report for result in layers.build_layers(spark, config, "test-build")}
