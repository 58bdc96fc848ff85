"""The run plan covers the layers in dependency order and every step notebook exists."""

from __future__ import annotations

from hm_utils import config as config_module
from hm_utils import runner

LAYER_ORDER = ["simulate", "bronze", "silver", "gold", "semantic", "monitoring", "alerts", "report"]


def test_steps_follow_the_layer_order(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    names = [step.name for step in runner.load_plan(config_module.load("ci"))]
    known = [name for name in names if name in LAYER_ORDER]
    assert known == sorted(known, key=LAYER_ORDER.index)
    assert names[:2] == ["simulate", "bronze"]
