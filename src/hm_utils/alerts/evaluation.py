"""One evaluation cycle: run the due alerts' queries, advance the lifecycle, commit, plan and deliver.

The order makes a crash harmless: events are written first, then the state (the commit point), then
the notifications the committed state calls for (the outbox), then each outbox row is delivered and
its status recorded. A cycle that dies before its commit leaves events that the next cycle removes;
one that dies after it leaves a state whose notifications the next cycle plans (or finds pending in
the outbox) and sends. Queries are rendered for the evaluation time (`{today}`, `{now}`), identical
queries run once, and a few run at a time.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from hm_utils import clock
from hm_utils.alerts import channels as channels_module
from hm_utils.alerts import lifecycle
from hm_utils.alerts import store as store_module
from hm_utils.alerts.definitions import AlertDefinition, AlertDefinitionError, load_definitions, parse_duration
from hm_utils.alerts.lifecycle import InhibitRule, Instance, RoutePlan
from hm_utils.config import Config
from hm_utils.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

Runner = Callable[[str], "pd.DataFrame"]


@dataclass
class CycleReport:
    """What one evaluation cycle did."""

    evaluated_at: datetime
    evaluated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    events: int = 0
    firing: list[dict[str, Any]] = field(default_factory=list)
    planned: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    query_seconds: dict[str, float] = field(default_factory=dict)
    queries_wall_seconds: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.evaluated_at:%Y-%m-%d %H:%M} UTC: {len(self.evaluated)} alerts evaluated "
            f"({len(self.skipped)} not due, {len(self.errors)} errors), {len(self.firing)} instances firing, "
            f"{self.events} events, {self.planned} notifications planned, {self.delivered} delivered, "
            f"{self.retrying} to retry, {self.failed} failed, in {self.seconds:.1f} s"
        )

    def firing_frame(self) -> pd.DataFrame:
        """Firing instances, critical first, for notebooks and the CLI."""
        import pandas as pd

        columns = ["severity", "domain", "alert_id", "summary", "muted"]
        frame = pd.DataFrame(self.firing, columns=columns)
        rank = {"critical": 0, "warning": 1, "info": 2}
        frame["order"] = frame["severity"].map(rank)
        return frame.sort_values(["order", "domain", "alert_id"], ignore_index=True).drop(columns="order")


# ------------------------------------------------------------------------------------------ routing


def route_plans(config: Config, definitions: Sequence[AlertDefinition]) -> dict[str, RoutePlan]:
    """Each alert's effective route: params `alerts.routing` (defaults, then the team's entry), then the
    alert's own `route` overrides, plus `alerts.severity_channels` for its severity."""
    known = set(channels_module.load_channels(config))
    return {definition.id: _route_plan(config, definition, known) for definition in definitions}


def _route_plan(config: Config, definition: AlertDefinition, known: set[str]) -> RoutePlan:
    routing = config.get("alerts.routing") or {}
    team = (routing.get("teams") or {}).get(definition.route.team) or {}
    where = f"params: alerts.routing.teams.{definition.route.team}"

    def pick(key: str) -> Any:
        own = getattr(definition.route, key)
        return own if own is not None else team.get(key, routing.get(key))

    def duration(key: str) -> timedelta:
        value = pick(key)
        return value if isinstance(value, timedelta) else parse_duration(value or 0, f"{where} / alerts.routing.{key}")

    channels = list(pick("channels") or routing.get("default_channels") or [])
    severity_channels = (config.get("alerts.severity_channels") or {}).get(definition.severity) or []
    channels += [channel for channel in severity_channels if channel not in channels]
    unknown = [channel for channel in channels if channel not in known]
    if unknown:
        raise ConfigError(
            f"alert {definition.id} routes to channel(s) {', '.join(unknown)}, which are not configured",
            where=f"{definition.path}: route / params: alerts.routing",
            fix="declare them under alerts.channels in params, or fix the route",
        )
    return RoutePlan(
        team=definition.route.team,
        channels=tuple(channels),
        group_by=tuple(pick("group_by") or ("alert_id",)),
        group_wait=duration("group_wait"),
        group_interval=duration("group_interval"),
        repeat_interval=duration("repeat_interval"),
        evaluation_gap=definition.schedule.every,
    )


def inhibit_rules(config: Config) -> list[InhibitRule]:
    """`alerts.inhibit_rules` from params."""
    rules = []
    for index, raw in enumerate(config.get("alerts.inhibit_rules") or []):
        if not isinstance(raw, dict) or not raw.get("source_severity") or not raw.get("equal"):
            raise ConfigError(
                "an inhibit rule needs source_severity, target_severities and equal",
                where=f"params: alerts.inhibit_rules[{index}]",
                fix="e.g. {source_severity: critical, target_severities: [warning, info], equal: [domain, workspace_id, job_id]}",
            )
        rules.append(
            InhibitRule(str(raw["source_severity"]), tuple(raw.get("target_severities") or ()), tuple(raw["equal"]))
        )
    return rules


# ------------------------------------------------------------------------------------------ queries


def render_query(definition: AlertDefinition, config: Config) -> str:
    """The alert's SQL for `config`'s target and clock (placeholders filled)."""
    from hm_utils.semantic import assets

    return assets.render(definition.query, config, f"{definition.path}: query").strip().rstrip(";")


def config_at(config: Config, moment: datetime) -> Config:
    """`config` with the clock pinned to `moment` (the queries' `{today}` / `{now}`)."""
    return config.with_overrides({"clock.now": moment.isoformat(sep=" ", timespec="seconds")})


class SparkRunner:
    """Runs alert queries on a session. Table-function calls shared by several queries of a cycle are
    computed once (`cache table` of the call, released after the cycle); where caching is not
    available (serverless compute) the calls stay inline."""

    def __init__(self, spark: SparkSession, semantic_schema: str) -> None:
        self.spark, self.semantic_schema, self.cached = spark, semantic_schema, []

    def __call__(self, text: str) -> pd.DataFrame:
        from hm_utils.semantic import query

        return query.fetch(self.spark, text, {})

    def prepare(self, texts: Sequence[str], threads: int) -> dict[str, str]:
        """`texts` with every call used by two or more of them replaced by a cached view of its rows."""
        from hm_utils.alerts.lifecycle import stable_id

        calls = [set(_semantic_calls(text, self.semantic_schema)) for text in texts]
        shared = sorted({call for found in calls for call in found if sum(call in other for other in calls) > 1})

        def cache(call: str) -> tuple[str, str | None]:
            view = f"hm_alert_call_{stable_id(call)[:12]}"
            try:
                self.spark.sql(f"cache table {view} as select * from {call}")
            except Exception:  # no caching here, or the call fails: the queries run it inline (and report it)
                return call, None
            self.cached.append(view)
            return call, view

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            views = {call: view for call, view in pool.map(cache, shared) if view}
        prepared = {}
        for text in texts:
            rewritten = text
            for call, view in views.items():
                rewritten = rewritten.replace(call, view)
            prepared[text] = rewritten
        return prepared

    def release(self) -> None:
        for view in self.cached:
            self.spark.sql(f"uncache table if exists {view}")
            self.spark.catalog.dropTempView(view)
        self.cached = []


def _semantic_calls(text: str, schema: str) -> list[str]:
    """Each `<schema>.<function>(...)` call in a rendered query, as written."""
    from hm_utils.semantic import assets

    calls = []
    for match in re.finditer(re.escape(schema) + r"\.[a-z0-9_]+\(", text):
        _, end = assets._balanced(text, match.end() - 1)
        calls.append(text[match.start() : end])
    return calls


def spark_runner(spark: SparkSession, config: Config) -> SparkRunner:
    from hm_utils.semantic import assets

    return SparkRunner(spark, assets.semantic_schema(config))


def run_queries(
    definitions: Sequence[AlertDefinition], config: Config, runner: Runner, threads: int
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], dict[str, float]]:
    """Rows of each alert's query (identical queries run once), errors and seconds by alert id."""
    texts = {d.id: render_query(d, config) for d in definitions}
    unique = sorted(set(texts.values()))
    prepare = getattr(runner, "prepare", None)
    prepared = prepare(unique, threads) if prepare else {text: text for text in unique}

    def run(text: str) -> tuple[str, Any, float]:
        began = time.perf_counter()
        try:
            frame = runner(prepared[text])
        except Exception as error:  # an analysis error names the missing function or column
            return text, error, time.perf_counter() - began
        return text, frame, time.perf_counter() - began

    try:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            outcomes = {text: (result, seconds) for text, result, seconds in pool.map(run, unique)}
    finally:
        if hasattr(runner, "release"):
            runner.release()
    rows, errors, seconds = {}, {}, {}
    for definition in definitions:
        result, took = outcomes[texts[definition.id]]
        seconds[definition.id] = round(took, 3)
        if isinstance(result, Exception):
            errors[definition.id] = _error_text(definition, "query", _first_lines(result))
            continue
        missing = [c for c in definition.result_columns if c not in result.columns]
        if missing:
            field_name = _field_of(definition, missing[0])
            errors[definition.id] = _error_text(
                definition, field_name, f"column {missing[0]} is not in the query result ({', '.join(result.columns)})"
            )
            continue
        rows[definition.id] = result.to_dict("records")
    return rows, errors, seconds


def validate_queries(spark: SparkSession, config: Config, definitions: Sequence[AlertDefinition] | None = None) -> None:
    """Analyse every alert query against the deployed semantic layer (nothing runs); one
    AlertDefinitionError listing each file and field that is wrong."""
    problems = []
    for definition in definitions or load_definitions():
        try:
            columns = spark.sql(render_query(definition, config)).columns
        except Exception as error:
            problems.append(_error_text(definition, "query", _first_lines(error)))
            continue
        for column in definition.result_columns:
            if column not in columns:
                problems.append(
                    _error_text(
                        definition, _field_of(definition, column), f"column {column} is not in the query result"
                    )
                )
    if problems:
        raise AlertDefinitionError(
            f"{len(problems)} alert definition(s) do not match the deployed semantic layer:\n  "
            + "\n  ".join(problems),
            where="src/hm_utils/alerts",
            fix="fix the fields named above; a missing function means the semantic step has not deployed it (hm run --from semantic)",
        )


def _field_of(definition: AlertDefinition, column: str) -> str:
    if column == definition.source:
        return "evaluation.source"
    if column == definition.threshold_column:
        return "evaluation.threshold.column"
    return "labels" if column in definition.labels else "annotations"


def _error_text(definition: AlertDefinition, field_name: str, message: str) -> str:
    return f"{definition.relative_path}: {field_name}: {message}"


def _first_lines(error: Exception) -> str:
    text = str(error).split("JVM stacktrace:")[0].strip()
    return " ".join(line.strip() for line in text.splitlines()[:3])[:500]


# ------------------------------------------------------------------------------------------ the cycle


def evaluation_time(config: Config, at: datetime | str | None = None) -> datetime:
    """The evaluation time: `at`, else the kit's clock (pinned by clock.now), to the second."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", ""))
    moment = at or clock.now(config)
    return (moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment).replace(microsecond=0)


def run_cycle(
    config: Config,
    store,
    runner: Runner,
    at: datetime | str | None = None,
    *,
    deliver: bool = True,
    force: bool = False,
    only: Sequence[str] | None = None,
) -> CycleReport:
    """Evaluate the due alerts at `at` (default: now), commit, plan notifications and deliver them.

    `force` evaluates every alert whatever its schedule; `only` limits the cycle to these alert ids;
    `deliver=False` leaves the planned notifications pending in the outbox (the next cycle sends them)."""
    began = time.perf_counter()
    now = evaluation_time(config, at)
    definitions = [d for d in load_definitions() if not only or d.id in only]
    routes = route_plans(config, definitions)
    snapshot = store.snapshot()
    if snapshot.committed_at and now < snapshot.committed_at:
        raise ConfigError(
            f"evaluation time {now} is before the last committed evaluation {snapshot.committed_at}",
            where="hm alerts eval --at",
            fix="evaluate at the same time (a no-op) or later",
        )
    report = CycleReport(evaluated_at=now)
    due = [d for d in definitions if force or _is_due(d, snapshot.alerts.get(d.id), now)]
    report.skipped = sorted(d.id for d in definitions if d not in due)
    threads = int(config.get("alerts.evaluation_threads", 3))
    queries_began = time.perf_counter()
    rows, errors, seconds = run_queries(due, config_at(config, now), runner, threads)
    report.queries_wall_seconds = round(time.perf_counter() - queries_began, 2)
    report.query_seconds, report.errors = seconds, errors

    by_alert: dict[str, list[Instance]] = {}
    for instance in snapshot.instances:
        by_alert.setdefault(instance.alert_id, []).append(instance)
    instances: list[Instance] = []
    events: list[lifecycle.Event] = []
    alert_rows = {alert_id: row for alert_id, row in snapshot.alerts.items()}
    for definition in definitions:
        previous = by_alert.pop(definition.id, [])
        if definition not in due:
            instances.extend(previous)
            continue
        report.evaluated.append(definition.id)
        if definition.id in errors:
            instances.extend(previous)
            events.append(lifecycle.error_event(definition, errors[definition.id], now))
            alert_rows[definition.id] = _alert_row(definition, routes, now, "error", errors[definition.id], 0, seconds)
            continue
        observations = lifecycle.judge(definition, rows[definition.id])
        advanced, changes = lifecycle.advance(definition, previous, observations, now, routes[definition.id].team)
        instances.extend(advanced)
        events.extend(changes)
        firing = sum(1 for i in advanced if i.state == lifecycle.FIRING)
        state = "triggered" if firing else "ok"
        alert_rows[definition.id] = _alert_row(definition, routes, now, state, "", len(rows[definition.id]), seconds)
    if not only:
        for alert_id in list(alert_rows):  # alerts whose file was removed
            if alert_id not in routes:
                del alert_rows[alert_id]
    else:
        instances.extend(i for rest in by_alert.values() for i in rest)
    retention = parse_duration(config.get("alerts.resolved_retention", "7d"), "params: alerts.resolved_retention")
    instances = lifecycle.prune(instances, now, retention)
    instances = lifecycle.mute(instances, snapshot.silences, inhibit_rules(config), now)
    muted = {i.fingerprint for i in instances if i.muted}
    events = [_with_muted(event, muted) for event in events]

    store.write_events([store_module.event_row(event) for event in events])
    store.write_state([*alert_rows.values(), *(store_module.instance_row(i) for i in instances)])
    report.events = len(events)
    report.firing = [
        {"severity": i.severity, "domain": i.domain, "alert_id": i.alert_id, "summary": i.summary, "muted": i.muted}
        for i in instances
        if i.state == lifecycle.FIRING
    ]

    details = {d.id: {"name": d.name, "runbook": d.runbook, "detail": d.detail} for d in definitions}
    planned = lifecycle.plan_notifications(instances, routes, snapshot.previous, details, now)
    report.planned = len(store.add_notifications([store_module.notification_row(n) for n in planned]))
    if deliver:
        outcome = dispatch(config, store, now)
        report.delivered, report.retrying, report.failed = outcome["delivered"], outcome["retrying"], outcome["failed"]
    report.seconds = round(time.perf_counter() - began, 2)
    if errors:
        log.warning("%d alert(s) could not be evaluated:\n  %s", len(errors), "\n  ".join(errors.values()))
    return report


def _is_due(definition: AlertDefinition, alert_row: Mapping[str, Any] | None, now: datetime) -> bool:
    if alert_row is None or alert_row.get("evaluated_at") is None:
        return True
    last = store_module._naive(alert_row["evaluated_at"])
    return last < definition.schedule.tick(now) or last == now


def _alert_row(definition, routes, now, state, error, result_rows, seconds) -> dict[str, Any]:
    row = {name: None for name in store_module.STATE_COLUMNS}
    row.update(
        scope="alert",
        fingerprint=lifecycle.fingerprint(definition.id, {}),
        alert_id=definition.id,
        labels="{}",
        state=state,
        severity=definition.severity,
        domain=definition.domain,
        team=routes[definition.id].team,
        evaluated_at=now,
        summary=error,
        result_rows=int(result_rows),
        seconds=float(seconds.get(definition.id, 0.0)),
    )
    return row


def _with_muted(event: lifecycle.Event, muted: set[str]) -> lifecycle.Event:
    from dataclasses import replace

    return replace(event, muted=event.fingerprint in muted)


# ------------------------------------------------------------------------------------------ delivery


def dispatch(config: Config, store, now: datetime) -> dict[str, int]:
    """Deliver every open outbox row whose retry time has come: one thread per channel, so a slow or
    failing channel never holds up the others; each row is tried a few times with exponential backoff,
    then left `retrying` for a later cycle, and `failed` after `alerts.delivery.max_attempts`."""
    settings = config.get("alerts.delivery") or {}
    per_run = int(settings.get("attempts_per_run", 3))
    backoff = float(settings.get("backoff_seconds", 0.5))
    max_attempts = int(settings.get("max_attempts", 9))
    retry_after = parse_duration(settings.get("retry_after", "5m"), "params: alerts.delivery.retry_after")
    configured = channels_module.load_channels(config)
    open_rows = [
        row
        for row in store.open_notifications()
        if row["next_attempt_at"] is None or store_module._naive(row["next_attempt_at"]) <= now
    ]
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(open_rows, key=lambda r: (store_module._naive(r["created_at"]), r["notification_id"])):
        by_channel.setdefault(row["channel"], []).append(row)

    def send_all(channel_name: str) -> list[dict[str, Any]]:
        channel = configured.get(channel_name)
        done = []
        for row in by_channel[channel_name]:
            done.append(_attempt(channel, channel_name, row, per_run, backoff, max_attempts, retry_after, now))
        return done

    updated: list[dict[str, Any]] = []
    if by_channel:
        with ThreadPoolExecutor(max_workers=len(by_channel)) as pool:
            for rows in pool.map(send_all, sorted(by_channel)):
                updated.extend(rows)
    store.update_notifications(updated)
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for row in updated:
        counts[row["delivery_status"]] = counts.get(row["delivery_status"], 0) + 1
    return counts


def _attempt(channel, name, row, per_run, backoff, max_attempts, retry_after, now) -> dict[str, Any]:
    row = dict(row)
    for attempt in range(per_run):
        row["attempts"] = int(row["attempts"] or 0) + 1
        row["last_attempt_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        try:
            if channel is None:
                raise channels_module.DeliveryError(f"channel {name} is no longer configured (alerts.channels)")
            row["response"] = channels_module.deliver(channel, store_module.message(row))
        except channels_module.DeliveryError as error:
            row["last_error"] = str(error)[:1000]
            if row["attempts"] >= max_attempts or channel is None:
                row["delivery_status"] = "failed"
                return row
            if attempt + 1 < per_run:
                time.sleep(backoff * 2**attempt)
            continue
        row.update(delivery_status="delivered", delivered_at=row["last_attempt_at"], next_attempt_at=None)
        return row
    row["delivery_status"] = "retrying"
    row["next_attempt_at"] = now + retry_after * 2 ** max(0, row["attempts"] // per_run - 1)
    log.warning("notification %s to %s not delivered yet: %s", row["notification_id"], name, row["last_error"])
    return row
