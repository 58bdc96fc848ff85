"""The pinned clock: one setting makes every relative date of a run the same on any day."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from hm_utils import clock, simulation
from hm_utils import config as config_module
from hm_utils.errors import ConfigError
from hm_utils.reports import page
from hm_utils.semantic import assets, genie


def _config(now):
    return config_module.load("local", {"clock.now": now})


def test_unpinned_clock_follows_the_real_time():
    config = _config(None)
    assert clock.pinned(config) is None
    assert abs(clock.now(config) - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=1)
    assert clock.sql_today(config) == "current_date()"
    assert clock.sql_now(config) == "current_timestamp()"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-04", datetime(2026, 3, 4)),
        ("2026-03-04 05:06", datetime(2026, 3, 4, 5, 6)),
        ("2026-03-04T05:06:00+02:00", datetime(2026, 3, 4, 3, 6)),
        (date(2026, 3, 4), datetime(2026, 3, 4)),
    ],
)
def test_pinned_clock_accepts_dates_and_times(value, expected):
    assert clock.now(_config(value)) == expected


def test_a_pinned_clock_fixes_every_relative_date():
    config = _config("2026-03-04 05:06")
    assert simulation.options_from_config(config).end == datetime(2026, 3, 4, 5), "the account's now: the clock's hour"
    assert page.default_end(config) == date(2026, 3, 3)
    rendered = assets.render_function(config, "get_failed_jobs")
    assert "current_date()" not in rendered and "date'2026-03-04'" in rendered
    example = next(e for e in genie.load_space("cost")["examples"] if "{today}" in str(e.get("args")))
    sql = genie.example_sql(config, example)
    assert "date'2026-03-04'" in sql and "{today}" not in sql


def test_unpinned_deploy_keeps_the_current_date_functions():
    rendered = assets.render_function(_config(None), "get_failed_jobs")
    assert "current_date()" in rendered and "{today}" not in rendered


def test_a_bad_pinned_clock_names_the_setting():
    with pytest.raises(ConfigError, match="clock.now"):
        clock.now(_config("next tuesday"))


def test_an_explicit_simulation_end_overrides_the_clock():
    config = config_module.load("local", {"clock.now": "2026-03-04 05:06", "simulation.end": "2026-02-01 12:30"})
    assert simulation.options_from_config(config).end == datetime(2026, 2, 1, 12, 30)


def test_a_bad_simulation_end_names_the_setting():
    with pytest.raises(ConfigError, match="simulation.end"):
        config_module.load("local", {"simulation.end": "yesterday"})
