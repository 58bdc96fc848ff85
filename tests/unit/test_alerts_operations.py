"""What `hm alerts` parses and lists without the engine: silence matchers and the definitions table."""

from __future__ import annotations

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
