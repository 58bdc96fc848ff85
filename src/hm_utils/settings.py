"""Settings checked on load, against params/base.yml as the schema of every key.

- A key that base.yml does not have is an error that suggests the closest known key (a typo must
  never be accepted and then ignored).
- A value has the type of base.yml's value: a whole number where base has one, a number where base
  has a decimal, true/false, text, a list or a section. A key whose base value is null takes its
  type from :data:`NULLABLE`; :data:`OPEN_MAPS` are sections whose keys are the user's own.
- :data:`RANGES` bound numbers and :data:`CHOICES` list the accepted words, with the key named.

Override values typed as text (`--set`, HM_SET) are read as their key's type here, so a text
setting keeps any character the command line accepts (`;`, `: `, `#`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import yaml

from hm_utils.errors import ConfigError

if TYPE_CHECKING:
    from hm_utils.config import Config

# Sections whose keys are free: Spark settings by their own dotted names, SLA targets by job, and the
# alert channels, teams and destinations by the user's names (checked by hm_utils.alerts when read).
OPEN_MAPS = (
    "spark.local.conf",
    "semantic.sla.jobs",
    "alerts.channels",
    "alerts.routing.teams",
    "alerts.severity_channels",
    "alerts.databricks.destinations",
    "monitoring.time_columns",
    "monitoring.latency_hours",
)


class OverrideText(str):
    """An override value as typed on the command line or in HM_SET: read as the type params/base.yml
    gives its key (text stays text, so `a;b`, `x: y` or `#1` arrive unchanged)."""


@dataclass(frozen=True)
class Range:
    """Accepted numbers: from `low` (excluded when `above`) to `high`, either end open when None."""

    low: float | None = None
    high: float | None = None
    above: bool = False

    def holds(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return False
        return self.high is None or value <= self.high

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"is outside {self.low:g}-{self.high:g}"
        return f"must be above {self.low:g}" if self.above else f"must be at least {self.low:g}"


RANGES = {
    "gold.discount_pct": Range(0, 100),
    "reports.discount_pct": Range(0, 100),
    "gold.reconcile_tolerance": Range(0),
    "gold.lookback_days": Range(0),
    "gold.parallelism": Range(1),
    "bronze.lookback_days": Range(0),
    "bronze.parallel_tables": Range(1),
    "silver.max_quarantine_fraction": Range(0, 1),
    "silver.sample_rows": Range(0),
    "silver.parallelism": Range(1),
    "silver.future_days": Range(0),
    "simulation.workspaces": Range(1),
    "simulation.days": Range(1),
    "simulation.scale": Range(0, above=True),
    "spark.local.port": Range(1, 65535),
    "spark.local.shuffle_partitions": Range(1),
    "spark.local.start_timeout_seconds": Range(0, above=True),
    "spark.local.connection_timeout_seconds": Range(0, above=True),
    "semantic.sla.default_minutes": Range(0, above=True),
    "semantic.benchmark_repeats": Range(1),
    "reports.period_days": Range(1),
    "reports.parallel": Range(1),
    "reports.query_threads": Range(1),
    "alerts.evaluation_threads": Range(1),
    "alerts.benchmark_cycles": Range(1),
    "alerts.delivery.attempts_per_run": Range(1),
    "alerts.delivery.backoff_seconds": Range(0),
    "alerts.delivery.max_attempts": Range(1),
    "monitoring.history_days": Range(1),
    "monitoring.completeness_days": Range(1),
    "monitoring.volume_drop_ratio": Range(0, 1),
    "monitoring.volume_spike_ratio": Range(1),
    "monitoring.min_expected_rows": Range(0),
    "monitoring.drift.psi_threshold": Range(0, above=True),
    "monitoring.drift.pvalue_threshold": Range(0, 1),
}
CHOICES = {
    "gold.price_field": ("effective_list", "default", "promotional"),
    "gold.input_layer": ("silver", "bronze"),
    "spark.local.log_level": ("ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"),
}
# The type of keys whose base value is null: "text", "whole number", "number" or "date".
NULLABLE = {
    "source.path": "text",
    "spark.local.port": "whole number",
    "spark.databricks.profile": "text",
    "spark.databricks.cluster_id": "text",
    "semantic.genie.warehouse_id": "text",
    "semantic.genie.parent_path": "text",
    "reports.discount_pct": "number",
    "alerts.databricks.warehouse_id": "text",
    "alerts.databricks.parent_path": "text",
}


def split_key(dotted: str) -> list[str]:
    """The parts of a dotted key; below an open map the rest is one key (`spark.local.conf.spark.x`)."""
    for prefix in OPEN_MAPS:
        if dotted.startswith(prefix + ".") and len(dotted) > len(prefix) + 1:
            return [*prefix.split("."), dotted[len(prefix) + 1 :]]
    return dotted.split(".")


def check_file(data: Mapping[str, Any], base: Mapping[str, Any], where: str) -> None:
    """Every key of an environment file exists in base.yml."""
    for dotted in _dotted_keys(data):
        _known(dotted, base, where)


def check_override(dotted: str, value: Any, base: Mapping[str, Any], source: str) -> Any:
    """An override's key checked against base.yml and its text value read as the key's type."""
    _known(dotted, base, source)
    kind = _kind(dotted, base)
    if isinstance(value, OverrideText):
        value = _read_text(dotted, str(value), base, kind)
    if kind == "date" and isinstance(value, str):  # the same value whether it came as text or JSON
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # reported by check_values, with the key named
    return value


def _read_text(dotted: str, text: str, base: Mapping[str, Any], kind: str | None) -> Any:
    if text.lower() in ("null", "~") and _base_value(dotted, base) is None:
        return None
    if kind == "text":
        return text
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):  # ValueError: a date-like text that is no date, e.g. 2026-13-01
        return text  # reported as the wrong type by check_values, with the key named


def check_values(config: Config, base: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    """Every value has its key's type and lies in its range or choices; `sources` names where each
    overridden key was set (`--set`, `HM_SET`), the others come from the parameter files."""
    from hm_utils import clock

    for dotted in _dotted_keys(config.data):
        if any(dotted.startswith(prefix + ".") for prefix in OPEN_MAPS):
            continue
        value = config.get(dotted)
        where = sources.get(dotted) or f"params/{config.env}.yml (or params/base.yml)"
        kind = _kind(dotted, base)
        if value is None or kind is None:
            continue
        if not _has_kind(value, kind):
            raise ConfigError(
                f"setting {dotted} = {value!r} is not {_article(kind)}",
                where=where,
                fix=f"give {_article(kind)}, e.g. --set {dotted}={_example(dotted, base, kind)}",
            )
        limits = RANGES.get(dotted)
        if limits is not None and not limits.holds(float(value)):
            raise ConfigError(f"setting {dotted} = {value!r} {limits.describe()}", where=where, fix="change the value")
        choices = CHOICES.get(dotted)
        if choices is not None and str(value).upper() not in {choice.upper() for choice in choices}:
            raise ConfigError(
                f"setting {dotted} = {value!r} is not one of {', '.join(choices)}", where=where, fix="use one of them"
            )
    clock.pinned(config)  # a ConfigError when clock.now is not a date or time
    clock.parse_instant(config.get("simulation.end"), "simulation.end", "null to follow clock.now")


def _known(dotted: str, base: Mapping[str, Any], where: str) -> None:
    parts = split_key(dotted)
    node: Any = base
    for index, part in enumerate(parts):
        path = ".".join(parts[: index + 1])
        if path in OPEN_MAPS:
            return
        if not isinstance(node, Mapping):
            section = ".".join(parts[:index])
            raise ConfigError(
                f"cannot set '{dotted}': '{section}' is a value, not a section",
                where=where,
                fix=f"set {section} itself (see params/base.yml)",
            )
        if part not in node:
            raise ConfigError(f"unknown setting '{dotted}'", where=where, fix=_suggestion(dotted, base))
        node = node[part]


def _suggestion(dotted: str, base: Mapping[str, Any]) -> str:
    known = [key for key in _dotted_keys(base) if not any(key.startswith(p + ".") for p in OPEN_MAPS)]
    close = difflib.get_close_matches(dotted, known, n=1, cutoff=0.6)
    listed = "every setting and its meaning are in params/base.yml"
    return f"did you mean '{close[0]}'? ({listed})" if close else f"check the name: {listed}"


def _dotted_keys(data: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every leaf and section key below `data`; the keys of an open map count as one leaf each."""
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if dotted in OPEN_MAPS:
            yield dotted
            continue
        if isinstance(value, Mapping) and value:
            yield from _dotted_keys(value, dotted + ".")
        else:
            yield dotted


def _base_value(dotted: str, base: Mapping[str, Any]) -> Any:
    node: Any = base
    for part in split_key(dotted):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


# kind -> (the type of a base value of that kind, the types a value of that kind may have); in this order,
# as a bool is also an int and a whole-number setting takes no decimals
_KINDS: dict[str, tuple[type, tuple[type, ...]]] = {
    "date": (date, (date,)),
    "true/false": (bool, (bool,)),
    "whole number": (int, (int,)),
    "number": (float, (int, float)),
    "text": (str, (str,)),
    "list": (list, (list,)),
    "section": (Mapping, (Mapping,)),
}


def _kind(dotted: str, base: Mapping[str, Any]) -> str | None:
    """The type a key takes: from its base value, or from NULLABLE when that is null (None: any)."""
    value = _base_value(dotted, base)
    if value is None:
        return NULLABLE.get(dotted)
    return next((kind for kind, (base_type, _) in _KINDS.items() if isinstance(value, base_type)), None)


def _has_kind(value: Any, kind: str) -> bool:
    if kind == "date" and isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if isinstance(value, bool) and kind != "true/false":
        return False
    return isinstance(value, _KINDS[kind][1]) if kind in _KINDS else True


def _article(kind: str) -> str:
    return {"true/false": "true or false", "list": "a list", "section": "a section", "date": "a date (YYYY-MM-DD)"}.get(
        kind, f"a {kind}" if kind != "text" else "text"
    )


def _example(dotted: str, base: Mapping[str, Any], kind: str) -> str:
    value = _base_value(dotted, base)
    if value is not None and not isinstance(value, (list, dict)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return {"date": "2026-01-31", "whole number": "1", "number": "1.5", "list": "[a, b]"}.get(kind, "VALUE")
