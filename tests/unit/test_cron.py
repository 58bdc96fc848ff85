"""Schedules in their three forms: crontab (as written), Quartz for Databricks jobs, systemd OnCalendar."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hm_utils import cron
from hm_utils.errors import ConfigError

CASES = [  # cron, Quartz, systemd
    ("0 6 * * *", "0 0 6 * * ?", "*-*-* 06:00:00 UTC"),
    ("*/15 * * * *", "0 */15 * * * ?", "*-*-* *:00/15:00 UTC"),
    ("0 7 * * 1", "0 0 7 ? * MON", "Mon *-*-* 07:00:00 UTC"),
    ("0 8 * * 1-5", "0 0 8 ? * MON-FRI", "Mon..Fri *-*-* 08:00:00 UTC"),
    ("0 9 * * 0,6", "0 0 9 ? * SUN,SAT", "Sun,Sat *-*-* 09:00:00 UTC"),
    ("0 9 * * 7", "0 0 9 ? * SUN", "Sun *-*-* 09:00:00 UTC"),
    ("30 2 1 * *", "0 30 2 1 * ?", "*-*-1 02:30:00 UTC"),
]


@pytest.mark.parametrize(("expression", "quartz", "systemd"), CASES)
def test_each_form(expression, quartz, systemd):
    assert cron.quartz(expression) == quartz
    assert cron.systemd_calendar(expression, "UTC") == systemd


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize(("expression", "quartz", "systemd"), CASES)
def test_systemd_accepts_each_calendar(expression, quartz, systemd):
    checked = subprocess.run(["systemd-analyze", "calendar", systemd], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    ("expression", "message"),
    [("0 6 * *", "five-field"), ("0 25 * * *", "five-field"), ("0 6 1 * 1", "both the day of month")],
)
def test_bad_schedules_are_refused(expression, message):
    with pytest.raises(ConfigError, match=message):
        cron.quartz(expression)


def test_a_stepped_range_is_refused_for_systemd_with_a_fix():
    with pytest.raises(ConfigError, match="steps through a range") as raised:
        cron.systemd_calendar("0 8-18/2 * * *", "UTC")
    assert "8,10,12" in raised.value.fix
