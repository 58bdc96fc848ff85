"""The build scheduler: dependencies respected, the most urgent ready build first, errors raised."""

from __future__ import annotations

import pytest

from hm_utils import scheduling
from hm_utils.errors import ConfigError


def test_tables_run_in_parallel_only_after_the_tables_they_read():
    import threading
    import time

    graph = {"a": set(), "b": set(), "c": {"a"}, "d": {"c", "b"}}
    finished: list[str] = []
    lock = threading.Lock()

    def work(key: str) -> str:
        with lock:
            assert graph[key] <= set(finished), f"{key} started before {graph[key] - set(finished)}"
        time.sleep(0.01)
        with lock:
            finished.append(key)
        return key.upper()

    assert scheduling.run_in_dependency_order(graph, work, 2, priority=lambda key: 0) == {
        "a": "A",
        "b": "B",
        "c": "C",
        "d": "D",
    }


def test_of_the_tables_ready_the_largest_starts_first():
    started: list[str] = []
    graph = {"small": set(), "medium": set(), "large": {"small"}, "tiny": set()}
    sizes = {"small": 1, "medium": 50, "large": 100, "tiny": 0}
    scheduling.run_in_dependency_order(graph, started.append, 1, priority=sizes.__getitem__)
    assert started == ["medium", "small", "large", "tiny"]


def test_a_failing_table_stops_the_build_with_its_error():
    def work(key: str) -> str:
        if key == "b":
            raise ConfigError("b is broken")
        return key

    with pytest.raises(ConfigError, match="b is broken"):
        scheduling.run_in_dependency_order({"a": set(), "b": set(), "c": {"b"}}, work, 2, priority=lambda key: 0)


def test_a_chain_of_builds_starts_first_then_the_largest_builds_and_what_they_wait_for():
    graph = {
        "prices": set(),
        "runs": set(),
        "usage": {"prices", "runs"},
        "audit": set(),
        "tiny": set(),
        "daily": {"usage"},
    }
    sizes = {"prices": 1, "runs": 20, "usage": 100, "audit": 500, "tiny": 0, "daily": 5}
    priorities = scheduling.urgency(graph, sizes)
    assert priorities == {
        "prices": (2, 106),
        "runs": (2, 125),
        "usage": (1, 105),
        "audit": (0, 500),
        "tiny": (0, 0),
        "daily": (0, 5),
    }
    started: list[str] = []
    scheduling.run_in_dependency_order(graph, started.append, 1, priorities.__getitem__)
    assert started == ["runs", "prices", "usage", "audit", "daily", "tiny"]
