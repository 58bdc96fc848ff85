"""Widget values (always strings on Databricks) are converted to the notebook default's type; a step
notebook logs its own progress, not its libraries'."""

from __future__ import annotations

import logging

import pytest

from hm_utils.errors import ConfigError
from hm_utils.notebook import coerce, start, widget_values


@pytest.mark.parametrize(
    ("raw", "default", "expected"),
    [("7", 3, 7), ("0.5", 1.0, 0.5), ("true", False, True), ("0", True, False), ('["a"]', [], ["a"]), ("x", "", "x")],
)
def test_coerce(raw, default, expected):
    assert coerce("p", raw, default) == expected


def test_bad_widget_value_names_the_parameter():
    with pytest.raises(ConfigError, match="'days' = 'seven' is not a int"):
        coerce("days", "seven", 7)


def test_outside_databricks_defaults_pass_through():
    assert widget_values({"days": 7, "env": "ci"}) == {"days": 7, "env": "ci"}


def test_step_logs_its_progress_and_only_warnings_of_libraries():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        start(env="ci")
        assert logging.getLogger("hm_utils.silver").isEnabledFor(logging.INFO)
        assert not logging.getLogger("great_expectations._docs_decorators").isEnabledFor(logging.INFO)
        assert logging.getLogger("great_expectations").isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("hm_utils").setLevel(logging.NOTSET)
