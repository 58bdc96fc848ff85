"""A run plan schedule (five-field cron) in the forms that run it: crontab, Quartz (Databricks jobs) and
systemd `OnCalendar`.

Cron runs a line when the day of month OR the day of week matches, Quartz and systemd need one of them
left open: a schedule restricting both is refused rather than run on other days than written.
"""

from __future__ import annotations

from collections.abc import Callable

from crontab import CronSlices

from hm_utils.errors import ConfigError

_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def check(expression: str, where: str) -> list[str]:
    """The five fields of a valid schedule; a ConfigError saying what is wrong otherwise."""
    fields = expression.split()
    if len(fields) != 5 or not CronSlices.is_valid(expression):
        raise ConfigError(
            f"'{expression}' is not a five-field cron schedule",
            where=where,
            fix="write minute hour day-of-month month day-of-week, e.g. '0 6 * * *' for daily at 06:00",
        )
    if fields[2] != "*" and fields[4] != "*":
        raise ConfigError(
            f"'{expression}' restricts both the day of month and the day of week",
            where=where,
            fix="restrict one of them (Databricks and systemd cannot run 'either day')",
        )
    return fields


def quartz(expression: str) -> str:
    """The Quartz expression of a Databricks job schedule: seconds first, `?` for the open day field."""
    minute, hour, day, month, weekday = check(expression, "schedule")
    if weekday == "*":
        weekday = "?"
    else:
        day = "?"
        weekday = _map_days(weekday, lambda number: _DAY_NAMES[number % 7], "-")
    return f"0 {minute} {hour} {day} {month} {weekday}"


def systemd_calendar(expression: str, timezone: str) -> str:
    """The systemd timer `OnCalendar=` value, e.g. `*-*-* 06:00:00 UTC`."""
    minute, hour, day, month, weekday = check(expression, "schedule")
    days = "" if weekday == "*" else _map_days(weekday, lambda number: _DAY_NAMES[number % 7].title(), "..") + " "
    date = f"*-{_systemd_field(month, 1)}-{_systemd_field(day, 1)}"
    time = f"{_systemd_field(hour, 0, width=2)}:{_systemd_field(minute, 0, width=2)}:00"
    return f"{days}{date} {time} {timezone}"


def _map_days(field: str, name: Callable[[int], str], range_separator: str) -> str:
    """Day-of-week numbers (0 or 7 = Sunday) or names, as names; ranges joined with `range_separator`."""
    items = []
    for item in field.split(","):
        bounds = item.split("-")
        items.append(range_separator.join(name(int(b)) if b.isdigit() else b.upper()[:3] for b in bounds))
    return ",".join(items)


def _systemd_field(field: str, first: int, width: int = 1) -> str:
    """A cron field in systemd syntax: `*`, lists, `a..b` ranges, `start/step` repetitions."""
    if field == "*":
        return "*"
    items = []
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            base = str(first)
        if "-" in base and step:
            raise ConfigError(
                f"cron field '{field}' steps through a range, which systemd timers cannot",
                where="schedule",
                fix="list the values instead, e.g. 8,10,12 for 8-12/2",
            )
        text = "..".join(part.zfill(width) for part in base.split("-"))
        items.append(f"{text}/{step}" if step else text)
    return ",".join(items)
