"""One engine, two places: a SparkSession for the configured target.

- `local` (the embedded default): a Spark Connect client of this engine home's server, which
  :mod:`hm_utils.engine` starts on first use. A client session starts in about a second instead of
  a new JVM per notebook, and it speaks the same protocol as Databricks Connect. Before use the
  client checks that the server serves this home, and it gives up on a lost connection after
  `spark.local.connection_timeout_seconds` (Spark Connect's own policy retries for ten minutes,
  which turns a stopped engine into a silent hang).
- `databricks`: Databricks Connect (profile, serverless or cluster id from params or the standard
  `DATABRICKS_*` variables); inside a Databricks job the runtime's own session is returned.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hm_utils.config import Config
from hm_utils.engine import HOME_CONF, LocalEngine
from hm_utils.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_FIRST_RETRY_MS = 100  # a lost connection is retried after 0.1 s, 0.2 s, 0.4 s ... at most 1 s apart
_LONGEST_RETRY_MS = 1000


def get_spark(config: Config) -> SparkSession:
    """The SparkSession for `config.target`, starting the local engine when needed."""
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()
    if config.target == "databricks":
        return _databricks_session(config)
    engine = LocalEngine(config)
    engine.ensure_running()
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(engine.url).getOrCreate()
    session.client.set_retry_policies([fail_fast_policy(config)])
    _check_identity(session, engine)
    return session


def fail_fast_policy(config: Config):
    """Spark Connect's retry policy with its waits cut to `spark.local.connection_timeout_seconds` in all."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    budget_ms = 1000 * float(config.get("spark.local.connection_timeout_seconds", 10))
    waits, wait = 0, _FIRST_RETRY_MS
    retries = 0
    while waits < budget_ms:
        waits += wait
        retries += 1
        wait = min(2 * wait, _LONGEST_RETRY_MS)
    return DefaultPolicy(
        max_retries=retries,
        initial_backoff=_FIRST_RETRY_MS,
        backoff_multiplier=2.0,
        max_backoff=_LONGEST_RETRY_MS,
        jitter=0,
        max_server_retry_delay=int(budget_ms),
    )


def _check_identity(session: SparkSession, engine: LocalEngine) -> None:
    """Refuse a server that serves another engine home (its catalog and tables are not this checkout's)."""
    served = session.conf.get(HOME_CONF, None)
    if served != str(engine.home):
        raise EngineError(
            f"the engine at {engine.url} serves engine home {served or '(unknown)'}, not this checkout's {engine.home}",
            where="spark.local.port",
            fix="leave spark.local.port null (each home then gets its own port) or pick a free one with "
            "--set spark.local.port=N; an engine started by an older kit: `hm spark down`, then retry",
        )


def _databricks_session(config: Config) -> SparkSession:
    try:
        from databricks.connect import DatabricksSession
    except ImportError as exc:
        raise EngineError(
            "target is databricks but databricks-connect is not installed",
            where="the Python environment",
            fix="create a separate environment with `pip install -e '.[databricks]'` "
            "(databricks-connect replaces pyspark; use the Python version of your cluster's runtime)",
        ) from exc
    builder = DatabricksSession.builder
    settings = config.get("spark.databricks", {}) or {}
    if settings.get("profile"):
        builder = builder.profile(settings["profile"])
    if settings.get("cluster_id"):
        builder = builder.clusterId(settings["cluster_id"])
    elif settings.get("serverless") and not os.environ.get("DATABRICKS_CLUSTER_ID"):
        builder = builder.serverless(True)
    return builder.getOrCreate()
