"""Settings checked on load against params/base.yml: unknown keys, types, ranges, and override values
that survive any character the command line accepts."""

from __future__ import annotations

from datetime import date

import pytest

from hm_utils import config as config_module
from hm_utils.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_hm_set(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)


def _error(overrides) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        config_module.load("ci", overrides)
    return raised.value


def test_an_unknown_key_is_an_error_suggesting_the_closest_known_one():
    error = _error(["gold.discount_pc=50"])
    assert error.what == "unknown setting 'gold.discount_pc'"
    assert error.where == "--set"
    assert "did you mean 'gold.discount_pct'?" in error.fix


def test_an_unknown_key_in_an_environment_file_names_the_file(tmp_path):
    (tmp_path / "params").mkdir()
    base = config_module.project_root() / "params" / "base.yml"
    (tmp_path / "params" / "base.yml").write_text(base.read_text())
    (tmp_path / "params" / "ci.yml").write_text("simulation:\n  workspace: 2\n")
    with pytest.raises(ConfigError) as raised:
        config_module.load("ci", root=tmp_path)
    assert raised.value.where == "params/ci.yml"
    assert "'simulation.workspaces'" in raised.value.fix


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("gold.discount_pct=abc", "setting gold.discount_pct = 'abc' is not a number"),
        ("gold.discount_pct=120", "setting gold.discount_pct = 120 is outside 0-100"),
        ("simulation.days=-1", "setting simulation.days = -1 must be at least 1"),
        ("simulation.days=2.5", "setting simulation.days = 2.5 is not a whole number"),
        ("simulation.scale=0", "setting simulation.scale = 0 must be above 0"),
        ("silver.earliest_date=2026-13-01", "setting silver.earliest_date = '2026-13-01' is not a date"),
        ("simulation.end=2026-13-01", "simulation.end '2026-13-01' is not a date or time"),
        ("gold.full_refresh=maybe", "setting gold.full_refresh = 'maybe' is not true or false"),
        ("gold.price_field=cheapest", "setting gold.price_field = 'cheapest' is not one of effective_list"),
        ("gold.tag_keys=[team, env", "setting gold.tag_keys = '[team, env' is not a list"),
        ("spark.local.port=70000", "setting spark.local.port = 70000 is outside 1-65535"),
        ("clock.now=yesterday", "clock.now 'yesterday' is not a date or time"),
        ("simulation.days.x=1", "'simulation.days' is a value, not a section"),
        ("alerts.evaluation_threads=0", "setting alerts.evaluation_threads = 0 must be at least 1"),
        ("alerts.delivery.max_attempts=-2", "setting alerts.delivery.max_attempts = -2 must be at least 1"),
        ("alerts.routing.group_by=alert_id", "setting alerts.routing.group_by = 'alert_id' is not a list"),
    ],
)
def test_a_value_of_the_wrong_type_or_out_of_range_names_the_key(override, message):
    assert message in str(_error([override]))


def test_text_settings_keep_every_character_the_command_line_accepts():
    title = "Health; Monitor #1: nightly"
    config = config_module.load("ci", [f"semantic.genie.title_prefix={title}", "semantic.genie.warehouse_id=0123"])
    assert config.get("semantic.genie.title_prefix") == title
    assert config.get("semantic.genie.warehouse_id") == "0123"  # an id of digits stays text


def test_typed_values_are_read_as_their_key_type():
    config = config_module.load(
        "ci",
        ["gold.discount_pct=12.5", "silver.earliest_date=2026-11-01", "gold.full_refresh=true", "source.path=null"],
    )
    assert config.get("gold.discount_pct") == 12.5
    assert config.get("silver.earliest_date") == date(2026, 11, 1)
    assert config.get("gold.full_refresh") is True
    assert config.get("source.path") is None


def test_overrides_reach_the_notebooks_unchanged_as_json():
    given = ["semantic.genie.title_prefix=a;b=c", "simulation.end=2026-11-01 06:00", "gold.tag_keys=[team, env]"]
    config = config_module.load("ci", given)
    text = config_module.overrides_json(config.overrides)
    assert config_module.load("ci", text).data == config.data


def test_open_maps_take_any_key_including_dotted_spark_names():
    config = config_module.load(
        "ci", ["spark.local.conf.spark.sql.adaptive.enabled=false", "semantic.sla.jobs.nightly_etl=45"]
    )
    assert config.get("spark.local.conf")["spark.sql.adaptive.enabled"] is False
    assert config.get("spark.local.conf")["spark.buffer.pageSize"] == "1m"  # the others stay
    assert config.get("semantic.sla.jobs") == {"nightly_etl": 45}


def test_alert_channels_teams_and_destinations_take_the_users_names():
    config = config_module.load(
        "ci",
        {
            "alerts.channels.oncall_pager": {"type": "pagerduty", "routing_key": "env:HM_PD_KEY"},
            "alerts.routing.teams.finops": {"channels": ["oncall_pager"]},
            "alerts.severity_channels.critical": ["oncall_pager"],
            "alerts.databricks.destinations.oncall_pager": "dest-1",
            "alerts.databricks.warehouse_id": "0123",
        },
    )
    assert config.get("alerts.channels")["oncall_pager"]["type"] == "pagerduty"
    assert config.get("alerts.routing.teams") == {"finops": {"channels": ["oncall_pager"]}}
    assert config.get("alerts.routing.group_wait") == "30s"  # the section's other keys stay
    assert config.get("alerts.databricks.warehouse_id") == "0123"
    assert "did you mean 'alerts.channels'" in _error(["alerts.channel.x=1"]).fix


def test_hm_set_is_checked_and_named(monkeypatch):
    monkeypatch.setenv("HM_SET", "gold.discount_pc=5")
    with pytest.raises(ConfigError) as raised:
        config_module.load("ci")
    assert raised.value.where == "HM_SET"
