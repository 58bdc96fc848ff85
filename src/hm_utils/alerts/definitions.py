"""Alert definitions: one YAML file per alert under `alerts/<domain>/<id>.yml`, loaded and validated.

A definition says what to query (SQL over the semantic layer only: `{semantic}.<function>(...)` or a
metric view, with the `{today}` / `{now}` placeholders for the evaluation time), how to judge each
result row (`evaluation`: a result column, a comparison operator and a constant or column threshold),
which result columns identify an alert instance (`labels`), how long the condition must hold
(`for`), how long to keep firing after it clears (`keep_firing_for`), when to evaluate (`schedule`),
who is told (`route`) and what to do (`runbook`, `detail`). Every problem is an AlertDefinitionError
naming the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from hm_utils.errors import HealthMonitorError

ALERTS_DIR = Path(__file__).resolve().parent
DOMAINS = ("cost", "security", "performance", "reliability", "quality", "mlops")
SEVERITIES = ("critical", "warning", "info")
# Databricks SQL Alerts v2 comparison operators (the same names are used when deploying)
OPERATORS = (
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "EQUAL",
    "NOT_EQUAL",
    "IS_NULL",
    "IS_NOT_NULL",
)
EMPTY_RESULT_STATES = ("ok", "triggered", "error")
LABEL_RESERVED = ("alert_id", "severity", "domain", "team")

_TOP_KEYS = {
    "id",
    "name",
    "domain",
    "severity",
    "description",
    "query",
    "evaluation",
    "labels",
    "annotations",
    "summary",
    "for",
    "keep_firing_for",
    "schedule",
    "route",
    "runbook",
    "detail",
}
_REQUIRED = ("id", "name", "domain", "severity", "description", "query", "evaluation", "labels", "summary")
_REQUIRED += ("schedule", "route", "runbook", "detail")
_EVALUATION_KEYS = {"source", "operator", "threshold", "empty_result_state"}
_THRESHOLD_KEYS = {"value", "column"}
_SCHEDULE_KEYS = {"every", "at"}
_ROUTE_KEYS = {"team", "channels", "group_by", "group_wait", "group_interval", "repeat_interval"}
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\.([a-z0-9_]+))?\}")
_SEMANTIC_REF = re.compile(r"\{semantic\}\.([a-z0-9_]+)")
_ALLOWED_PLACEHOLDERS = ("semantic", "today", "now")


class AlertDefinitionError(HealthMonitorError):
    """An alert YAML file is wrong: the message names the file and the field."""


@dataclass(frozen=True)
class Schedule:
    """Evaluate every `every` (dividing an hour or a day), daily ones at `at` (HH:MM, UTC)."""

    every: timedelta
    at: str | None = None

    def tick(self, moment: datetime) -> datetime:
        """The latest scheduled instant at or before `moment`: the alert is due when it was not
        evaluated since then."""
        if self.every >= timedelta(days=1):
            hour, minute = (int(part) for part in (self.at or "00:00").split(":"))
            tick = moment.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return tick if tick <= moment else tick - timedelta(days=1)
        step = int(self.every.total_seconds())
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = int((moment - midnight).total_seconds())
        return midnight + timedelta(seconds=elapsed - elapsed % step)

    def quartz(self) -> str:
        """The Quartz cron expression (seconds minutes hours day-of-month month day-of-week)."""
        seconds = int(self.every.total_seconds())
        if seconds >= 86_400:
            hour, minute = (int(part) for part in (self.at or "00:00").split(":"))
            return f"0 {minute} {hour} * * ?"
        if seconds >= 3_600:
            return "0 0 * * * ?" if seconds == 3_600 else f"0 0 0/{seconds // 3_600} * * ?"
        return f"0 0/{seconds // 60} * * * ?"


@dataclass(frozen=True)
class Route:
    """Who is told: the owning team, its channels, and how alerts are grouped into notifications."""

    team: str
    channels: tuple[str, ...] | None
    group_by: tuple[str, ...] | None
    group_wait: timedelta | None
    group_interval: timedelta | None
    repeat_interval: timedelta | None


@dataclass(frozen=True)
class AlertDefinition:
    """One validated alert (see the module docstring for the fields)."""

    id: str
    name: str
    domain: str
    severity: str
    description: str
    query: str
    source: str
    operator: str
    threshold_value: float | str | bool | None
    threshold_column: str | None
    empty_result_state: str
    labels: tuple[str, ...]
    annotations: tuple[str, ...]
    summary: str
    for_: timedelta
    keep_firing_for: timedelta
    schedule: Schedule
    route: Route
    runbook: str
    detail: str
    path: Path = field(compare=False)

    @property
    def functions(self) -> list[str]:
        """Semantic objects the query reads, in order of appearance."""
        return list(dict.fromkeys(_SEMANTIC_REF.findall(self.query)))

    @property
    def result_columns(self) -> tuple[str, ...]:
        """Result columns the evaluation needs: source, threshold column, labels and annotations."""
        needed = [self.source, self.threshold_column, *self.labels, *self.annotations]
        return tuple(dict.fromkeys(column for column in needed if column))

    @property
    def relative_path(self) -> str:
        return f"{self.domain}/{self.path.name}"


def parse_duration(value: Any, where: str) -> timedelta:
    """`30s`, `5m`, `2h`, `1d` or 0 → timedelta; anything else is an AlertDefinitionError at `where`."""
    if value in (0, "0"):
        return timedelta(0)
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        raise AlertDefinitionError(
            f"'{value}' is not a duration", where=where, fix="write a number and a unit: 30s, 5m, 2h or 1d (or 0)"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(value: timedelta) -> str:
    """The shortest `30s` / `5m` / `2h` / `1d` spelling of a duration (0 → `0s`)."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def alert_paths() -> list[Path]:
    """Every alert file, sorted by domain folder then name."""
    return sorted(ALERTS_DIR.glob("*/*.yml"))


def load_definitions() -> list[AlertDefinition]:
    """All alert definitions, validated; ids unique across domains."""
    return list(_load_all())


@lru_cache(maxsize=1)
def _load_all() -> tuple[AlertDefinition, ...]:
    definitions = [load_definition(path) for path in alert_paths()]
    seen: dict[str, Path] = {}
    for definition in definitions:
        if definition.id in seen:
            raise AlertDefinitionError(
                f"alert id '{definition.id}' is used twice",
                where=f"{definition.path}: id (also {seen[definition.id]})",
                fix="give each alert its own id (the file name)",
            )
        seen[definition.id] = definition.path
    return tuple(definitions)


def get_definition(alert_id: str) -> AlertDefinition:
    """The definition with this id; an error listing near ids when there is none."""
    for definition in load_definitions():
        if definition.id == alert_id:
            return definition
    near = [d.id for d in load_definitions() if alert_id.split("_")[0] in d.id][:6]
    raise AlertDefinitionError(
        f"no alert '{alert_id}'",
        where=str(ALERTS_DIR),
        fix=f"use an id from `hm alerts list`, e.g. {', '.join(near or [d.id for d in load_definitions()[:6]])}",
    )


def load_definition(path: Path) -> AlertDefinition:
    """Read and validate one alert file."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise AlertDefinitionError(
            f"invalid YAML: {getattr(exc, 'problem', exc)}", where=where, fix="fix the syntax"
        ) from exc
    if not isinstance(raw, dict):
        raise AlertDefinitionError("an alert file must be a mapping", where=str(path), fix="write key: value pairs")
    return _definition(raw, path)


def _definition(raw: dict[str, Any], path: Path) -> AlertDefinition:
    def where(name: str) -> str:
        return f"{path}: {name}"

    _no_unknown(raw, _TOP_KEYS, where(""), "")
    for key in _REQUIRED:
        if raw.get(key) in (None, "", [], {}):
            raise AlertDefinitionError(f"field '{key}' is missing", where=where(key), fix=f"add {key}:")
    alert_id = str(raw["id"])
    if alert_id != path.stem or not re.fullmatch(r"[a-z][a-z0-9_]*", alert_id):
        raise AlertDefinitionError(
            f"id '{alert_id}' must be snake_case and equal the file name '{path.stem}'",
            where=where("id"),
            fix="rename the file or the id",
        )
    domain = _choice(raw["domain"], DOMAINS, where("domain"))
    if path.parent.name != domain:
        raise AlertDefinitionError(
            f"domain '{domain}' does not match the folder '{path.parent.name}'",
            where=where("domain"),
            fix=f"move the file to alerts/{domain}/ or fix the domain",
        )
    severity = _choice(raw["severity"], SEVERITIES, where("severity"))
    evaluation = _mapping(raw["evaluation"], where("evaluation"))
    _no_unknown(evaluation, _EVALUATION_KEYS, where("evaluation"), "evaluation.")
    source = _text(evaluation.get("source"), where("evaluation.source"))
    operator = _choice(evaluation.get("operator"), OPERATORS, where("evaluation.operator"))
    threshold_value, threshold_column = _threshold(evaluation.get("threshold"), operator, where)
    empty_state = _choice(
        evaluation.get("empty_result_state", "ok"), EMPTY_RESULT_STATES, where("evaluation.empty_result_state")
    )
    labels = _names(raw["labels"], where("labels"))
    for label in labels:
        if label in LABEL_RESERVED:
            raise AlertDefinitionError(
                f"label '{label}' is added by the kit", where=where("labels"), fix=f"do not list {LABEL_RESERVED}"
            )
    annotations = _names(raw.get("annotations") or [], where("annotations"))
    query = _text(raw["query"], where("query"))
    _check_query(query, where("query"))
    summary = _text(raw["summary"], where("summary"))
    columns = {source, threshold_column, *labels, *annotations, "value", "threshold"} - {None}
    for name in re.findall(r"\{([a-z0-9_]+)(?::[^}]*)?\}", summary):
        if name not in columns:
            raise AlertDefinitionError(
                f"summary uses {{{name}}}, which is not a label, annotation or the evaluated value",
                where=where("summary"),
                fix=f"use {{value}}, {{threshold}} or one of {', '.join(sorted(columns - {'value', 'threshold'}))}",
            )
    detail = _text(raw["detail"], where("detail"))
    from hm_utils.semantic import assets

    if detail not in assets.function_names():
        raise AlertDefinitionError(
            f"detail '{detail}' is not a semantic function",
            where=where("detail"),
            fix="name the table function that shows the detail, e.g. get_failed_jobs",
        )
    return AlertDefinition(
        id=alert_id,
        name=_text(raw["name"], where("name")),
        domain=domain,
        severity=severity,
        description=_text(raw["description"], where("description")),
        query=query.strip(),
        source=source,
        operator=operator,
        threshold_value=threshold_value,
        threshold_column=threshold_column,
        empty_result_state=empty_state,
        labels=labels,
        annotations=annotations,
        summary=summary.strip(),
        for_=parse_duration(raw.get("for", 0), where("for")),
        keep_firing_for=parse_duration(raw.get("keep_firing_for", 0), where("keep_firing_for")),
        schedule=_schedule(raw["schedule"], where),
        route=_route(raw["route"], where),
        runbook=_text(raw["runbook"], where("runbook")).strip(),
        detail=detail,
        path=path,
    )


def _no_unknown(raw: dict[str, Any], known: set[str], path_where: str, prefix: str) -> None:
    unknown = sorted(str(key) for key in set(raw) - known)
    if unknown:
        raise AlertDefinitionError(
            f"unknown field(s) {', '.join(prefix + key for key in unknown)}",
            where=f"{path_where.split(': ')[0]}: {prefix}{unknown[0]}",
            fix=f"use only {', '.join(sorted(prefix + key for key in known))}",
        )


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise AlertDefinitionError(f"'{value}' is not one of {', '.join(allowed)}", where=where, fix="use one of them")
    return str(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AlertDefinitionError("must be a mapping", where=where, fix="write key: value pairs under it")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AlertDefinitionError("must be a non-empty string", where=where, fix="write a text value")
    return value


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and re.fullmatch(r"[a-z0-9_]+", v) for v in value):
        raise AlertDefinitionError(
            "must be a list of result column names", where=where, fix="write [column, ...] (lowercase names)"
        )
    return tuple(value)


def _threshold(value: Any, operator: str, where) -> tuple[Any, str | None]:
    if operator in ("IS_NULL", "IS_NOT_NULL"):
        if value is not None:
            raise AlertDefinitionError(
                f"{operator} takes no threshold", where=where("evaluation.threshold"), fix="remove threshold:"
            )
        return None, None
    threshold = _mapping(value, where("evaluation.threshold"))
    _no_unknown(threshold, _THRESHOLD_KEYS, where("evaluation.threshold"), "evaluation.threshold.")
    if len(threshold) != 1:
        raise AlertDefinitionError(
            "threshold needs exactly one of value or column",
            where=where("evaluation.threshold"),
            fix="write threshold: {value: 3} or threshold: {column: upper_bound}",
        )
    if "column" in threshold:
        return None, _names([threshold["column"]], where("evaluation.threshold.column"))[0]
    constant = threshold["value"]
    if not isinstance(constant, (int, float, str, bool)):
        raise AlertDefinitionError(
            "threshold value must be a number, a string or a boolean",
            where=where("evaluation.threshold.value"),
            fix="write a constant",
        )
    return (float(constant) if isinstance(constant, int) and not isinstance(constant, bool) else constant), None


def _schedule(value: Any, where) -> Schedule:
    raw = _mapping(value, where("schedule"))
    _no_unknown(raw, _SCHEDULE_KEYS, where("schedule"), "schedule.")
    every = parse_duration(raw.get("every"), where("schedule.every"))
    seconds = int(every.total_seconds())
    valid = seconds >= 60 and (
        (seconds < 3_600 and 3_600 % seconds == 0)
        or (3_600 <= seconds < 86_400 and 86_400 % seconds == 0)
        or seconds == 86_400
    )
    if not valid:
        raise AlertDefinitionError(
            f"schedule every {raw.get('every')} does not divide an hour or a day",
            where=where("schedule.every"),
            fix="use 1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 4h, 6h, 12h or 1d",
        )
    at = raw.get("at")
    if at is not None and (seconds != 86_400 or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(at))):
        raise AlertDefinitionError(
            f"schedule at '{at}' needs every: 1d and HH:MM", where=where("schedule.at"), fix="e.g. at: '06:00'"
        )
    return Schedule(every=every, at=str(at) if at is not None else None)


def _route(value: Any, where) -> Route:
    raw = _mapping(value, where("route"))
    _no_unknown(raw, _ROUTE_KEYS, where("route"), "route.")
    team = _text(raw.get("team"), where("route.team"))
    channels = raw.get("channels")
    group_by = raw.get("group_by")

    def duration(key: str) -> timedelta | None:
        return parse_duration(raw[key], where(f"route.{key}")) if raw.get(key) is not None else None

    return Route(
        team=team,
        channels=_names(channels, where("route.channels")) if channels is not None else None,
        group_by=_names(group_by, where("route.group_by")) if group_by is not None else None,
        group_wait=duration("group_wait"),
        group_interval=duration("group_interval"),
        repeat_interval=duration("repeat_interval"),
    )


def _check_query(query: str, where: str) -> None:
    """The query reads only the semantic layer, and the functions it calls exist with those arguments."""
    from hm_utils.semantic import assets

    for match in _PLACEHOLDER.finditer(query):
        if match.group(2) is not None or match.group(1) not in _ALLOWED_PLACEHOLDERS:
            raise AlertDefinitionError(
                f"placeholder {match.group(0)} is not allowed in an alert query",
                where=where,
                fix="alerts read the semantic layer only: {semantic}.<function or metric view>, {today}, {now}",
            )
    references = _SEMANTIC_REF.findall(query)
    if not references:
        raise AlertDefinitionError(
            "the query reads nothing from the semantic layer",
            where=where,
            fix="select from {semantic}.<table function>(...) or a metric view",
        )
    functions, views = set(assets.function_names()), set(assets.metric_view_names())
    for match in _SEMANTIC_REF.finditer(query):
        name = match.group(1)
        if name in views:
            continue
        if name not in functions:
            raise AlertDefinitionError(
                f"{{semantic}}.{name} is neither a table function nor a metric view",
                where=where,
                fix="use a function of src/hm_utils/sql/functions or a view of src/hm_utils/sql/metric_views",
            )
        _check_arguments(query, match.end(), name, where)
    outside = re.sub(r"\{semantic\}\.[a-z0-9_]+", "", query)
    for table in re.findall(r"\b(?:from|join)\s+([a-z_][\w.`]*\.[\w.`]+)", outside, re.IGNORECASE):
        raise AlertDefinitionError(
            f"the query reads {table}, which is not in the semantic layer",
            where=where,
            fix="read {semantic}.<function or metric view> only (never bronze, silver or gold tables)",
        )


def _check_arguments(query: str, position: int, function: str, where: str) -> None:
    from hm_utils.semantic import assets

    if position >= len(query) or query[position] != "(":
        return
    arguments, _ = assets._balanced(query, position)
    params = _param_names(function)
    for argument in assets._split_top_level(arguments):
        named = re.match(r"([a-z_][a-z0-9_]*)\s*=>", argument)
        if not named:
            raise AlertDefinitionError(
                f"{function}() is called with a positional argument '{argument}'",
                where=where,
                fix=f"name every argument: {function}(start_date => ...); it has {', '.join(params)}",
            )
        if named.group(1) not in params:
            raise AlertDefinitionError(
                f"{function}() has no parameter {named.group(1)}",
                where=where,
                fix=f"use {', '.join(params)}",
            )


@cache
def _param_names(function: str) -> tuple[str, ...]:
    """Parameter names of a table function, read from its file (no config needed: names do not
    depend on the target)."""
    from hm_utils.semantic import assets

    text = assets.function_path(function).read_text().replace("{semantic}", "semantic")
    return tuple(assets._parse_function(text, function).param_names)
