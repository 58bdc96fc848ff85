"""The kit's notion of "now": the real UTC time, or the instant pinned by `clock.now` in params.

Everything that is relative to the present goes through here (the simulated account's default end,
report periods, the default dates of the semantic layer), so pinning one value makes a run, and the
test suite, give the same answers on any day.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from hm_utils.config import Config
from hm_utils.errors import ConfigError


def pinned(config: Config) -> datetime | None:
    """The pinned instant (naive UTC), or None when the kit follows the real clock."""
    return parse_instant(config.get("clock.now"), "clock.now", "null for the real time")


def parse_instant(value: object, key: str, unset: str) -> datetime | None:
    """A setting holding an instant as naive UTC ('YYYY-MM-DD' is that day's midnight; None or '' is None);
    a ConfigError naming `key` when it is no date or time (`unset` says what null means)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"{key} '{value}' is not a date or time",
            where=f"params: {key}",
            fix=f"write it as YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (UTC), or {unset}",
        ) from exc
    return parsed.astimezone(timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def now(config: Config) -> datetime:
    """The present instant as naive UTC."""
    return pinned(config) or datetime.now(timezone.utc).replace(tzinfo=None)


def hour(config: Config) -> datetime:
    """The start of the present hour (naive UTC): the simulated account's default "now", so every run
    within an hour sees the same snapshot."""
    return now(config).replace(minute=0, second=0, microsecond=0)


def today(config: Config) -> date:
    """The present UTC date."""
    return now(config).date()


def sql_today(config: Config) -> str:
    """SQL for today's date: `current_date()`, or the pinned date as a literal."""
    instant = pinned(config)
    return f"date'{instant.date().isoformat()}'" if instant else "current_date()"


def sql_now(config: Config) -> str:
    """SQL for the present instant: `current_timestamp()`, or the pinned instant as a literal."""
    instant = pinned(config)
    return f"timestamp'{instant.isoformat(sep=' ')}'" if instant else "current_timestamp()"
