"""What `hm alerts` parses and lists without the engine: silence matchers and the definitions table."""

from __future__ import annotations

import os

import pytest

from hm_utils.alerts import operations
from hm_utils.alerts.definitions import AlertDefinitionError


def test_matchers_are_label_equals_value_or_a_regex():
    assert operations.parse_matchers(["workspace_id=123", "alert_id=~cost_.*"]) == {
        "workspace_id": "123",
        "alert_id": "~cost_.*",
    }
    with pytest.raises(AlertDefinitionError, match="not label=value") as error:
        operations.parse_matchers(["workspace_id"])
    assert "--match" in error.value.render()
    with pytest.raises(AlertDefinitionError, match="at least one matcher"):
        operations.parse_matchers([])


def test_the_definitions_table_lists_the_56_alerts_by_domain():
    frame = operations.definitions_frame()
    assert len(frame) == 56 and frame["domain"].is_monotonic_increasing
    assert set(frame.columns) == {"alert_id", "domain", "severity", "every", "team", "name"}


def test_an_evaluation_writes_under_the_run_lock_and_stops_beside_a_run(tmp_path, monkeypatch):
    """The whole cycle holds the engine home's lock, so it never interleaves with a run or another cycle."""
    import subprocess
    import sys

    from hm_utils import config as config_module
    from hm_utils import locking
    from hm_utils.alerts import evaluation

    monkeypatch.delenv("HM_SET", raising=False)
    monkeypatch.delenv(locking.TOKEN_VARIABLE, raising=False)
    config = config_module.load("ci", {"paths.home": str(tmp_path / "home")})
    holders = []

    def cycle(*args, **kwargs):
        holders.append(locking.holder(config))
        return evaluation.CycleReport(evaluated_at=None)

    monkeypatch.setattr(evaluation, "run_cycle", cycle)
    monkeypatch.setattr(evaluation, "spark_runner", lambda spark, config: None)
    operations.evaluate_step(None, config)
    assert holders[0] is not None and holders[0].pid == os.getpid()
    assert locking.holder(config) is None  # released after the cycle

    code = (
        "import time\nfrom hm_utils import config, locking\n"
        f"cfg = config.load('ci', {{'paths.home': {str(config.home)!r}}})\n"
        "with locking.run_lock(cfg, 'hm run --env ci'):\n    print('held', flush=True)\n    time.sleep(30)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline().strip() == "held"
        with pytest.raises(locking.RunLockedError, match="hm run --env ci"):
            operations.evaluate_step(None, config)
        assert len(holders) == 1  # nothing evaluated beside the run
    finally:
        run.kill()
        run.wait()
