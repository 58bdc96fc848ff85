"""The running local engine carries the Spark settings of the params (`spark.local.conf`), not others."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.engine

# Settings the engine reads at start and Spark Connect does not report back to a client session.
_NOT_REPORTED = {"spark.ui.enabled", "spark.connect.grpc.maxInboundMessageSize", "spark.driver.extraJavaOptions"}


def _spark_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_the_running_engine_has_every_spark_setting_of_the_params(spark, config):
    wanted = {key: _spark_text(value) for key, value in config.get("spark.local.conf").items()}
    checked = {key: value for key, value in wanted.items() if key not in _NOT_REPORTED}
    assert {"spark.sql.codegen.cache.maxEntries", "spark.buffer.pageSize"} <= set(checked)
    assert {key: spark.conf.get(key, None) for key in checked} == checked
