"""Shared fixtures: the `ci` config, one local engine for the whole session, a simulated account built once
through every pipeline layer (bronze → silver → gold → semantic), and its report site published once.

A test that uses the engine (the `spark` or `account` fixture) or lives in tests/integration is marked `engine`
here, so `pytest -m "not engine"` runs exactly the tests that start no engine; tests/unit/conftest.py refuses the
engine outright.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hm_utils import config as config_module

ENGINE_FIXTURES = {"spark", "account", "published_site"}
GOLDEN_PERIOD = ("2026-11-19", "2026-11-28")  # the ci account's default period: its last 10 complete days


def pytest_collection_modifyitems(items):
    for item in items:
        in_integration = Path(str(item.path)).parent.name == "integration"
        if in_integration or ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)


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


@pytest.fixture(scope="session")
def report_period() -> tuple[str, str]:
    """The fixed, non-empty report period of the ci account used by the report and notebook tests."""
    return GOLDEN_PERIOD


@pytest.fixture(scope="session")
def published_site(account, config, tmp_path_factory):
    """The ci account's report site, published once with the golden period (the browser test and the golden
    front page read it)."""
    from hm_utils.reports import publish

    folder = tmp_path_factory.mktemp("published")
    local = config.with_overrides({"paths.site": str(folder / "site"), "paths.runs": str(folder / "runs")})
    return publish(local, "published-test", *GOLDEN_PERIOD)
