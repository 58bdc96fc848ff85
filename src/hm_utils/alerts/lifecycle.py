"""The alert lifecycle, as pure functions: result rows → instance states → events → notifications.

An alert instance is one alert id with one set of label values (its fingerprint). At each evaluation
time an instance moves inactive → pending (the condition holds) → firing (it held for `for`) →
resolved (it stopped holding, and `keep_firing_for` has passed), as in Prometheus and Alertmanager.
Firing instances may be muted by a silence (label matchers with an end time) or inhibited (a firing
critical instance mutes warnings that share the rule's labels). Instances that are neither are
grouped by route and `group_by` labels into notifications, sent after `group_wait`, again after
`group_interval` when the group changes, and every `repeat_interval` while it fires; an instance
that resolves gets a resolve notice. Every function takes the evaluation time, so the lifecycle is
tested without a clock, and the same inputs always give the same ids (re-running an evaluation
time plans the same notifications, which the store then keeps once).
"""

from __future__ import annotations

import hashlib
import json
import operator as op
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hm_utils.alerts.definitions import AlertDefinition

PENDING, FIRING, RESOLVED, INACTIVE, ERROR = "pending", "firing", "resolved", "inactive", "error"
_COMPARE = {
    "GREATER_THAN": op.gt,
    "GREATER_THAN_OR_EQUAL": op.ge,
    "LESS_THAN": op.lt,
    "LESS_THAN_OR_EQUAL": op.le,
    "EQUAL": op.eq,
    "NOT_EQUAL": op.ne,
}
# a repeat is due this much before repeat_interval has fully passed, so schedule jitter does not skip a cycle
REPEAT_TOLERANCE = timedelta(minutes=1)


def fingerprint(alert_id: str, labels: Mapping[str, str]) -> str:
    """Stable id of an alert instance: the alert id and its label values."""
    text = json.dumps({"alert_id": alert_id, **dict(labels)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stable_id(*parts: Any) -> str:
    """A deterministic id for events and notifications (same inputs, same id)."""
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Observation:
    """One result row judged against the alert's evaluation."""

    labels: dict[str, str]
    annotations: dict[str, str]
    value: Any
    threshold: Any
    active: bool
    summary: str


@dataclass(frozen=True)
class Instance:
    """The state of one alert instance (a row of ops.alert_state)."""

    fingerprint: str
    alert_id: str
    labels: dict[str, str]
    state: str
    active_since: datetime | None
    fired_at: datetime | None
    last_active_at: datetime | None
    resolved_at: datetime | None
    evaluated_at: datetime
    value: str | None = None
    threshold: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    severity: str = ""
    domain: str = ""
    team: str = ""
    silenced_by: str | None = None
    inhibited_by: str | None = None

    @property
    def muted(self) -> bool:
        return bool(self.silenced_by or self.inhibited_by)

    def all_labels(self) -> dict[str, str]:
        """Instance labels plus the ones every alert has (alert_id, severity, domain, team)."""
        common = {"alert_id": self.alert_id, "severity": self.severity, "domain": self.domain, "team": self.team}
        return {**common, **self.labels}


@dataclass(frozen=True)
class Event:
    """A state change of an instance (a row of ops.alert_events)."""

    event_id: str
    evaluated_at: datetime
    alert_id: str
    fingerprint: str
    labels: dict[str, str]
    from_state: str
    to_state: str
    severity: str
    domain: str
    value: str | None
    threshold: str | None
    summary: str
    muted: bool


# ------------------------------------------------------------------------------------------ evaluation


def judge(definition: AlertDefinition, rows: Sequence[Mapping[str, Any]]) -> list[Observation]:
    """One observation per distinct label set of the result (the first row of each: results come worst
    first); an empty result follows `empty_result_state`."""
    if not rows:
        if definition.empty_result_state == "triggered":
            return [Observation({}, {}, None, definition.threshold_value, True, f"{definition.name}: no rows")]
        return []
    seen: dict[str, Observation] = {}
    for row in rows:
        labels = {name: _text(row.get(name)) for name in definition.labels}
        key = json.dumps(labels, sort_keys=True)
        observation = _observe(definition, row, labels)
        if key not in seen or (observation.active and not seen[key].active):
            seen[key] = observation
    return list(seen.values())


def condition(operator: str, value: Any, threshold: Any) -> bool:
    """The comparison of Databricks SQL alerts: NULL never meets a threshold; numbers compare as numbers."""
    if operator == "IS_NULL":
        return _is_null(value)
    if operator == "IS_NOT_NULL":
        return not _is_null(value)
    if _is_null(value) or _is_null(threshold):
        return False
    left, right = _comparable(value), _comparable(threshold)
    if type(left) is not type(right):
        left, right = str(value), str(threshold)
    return bool(_COMPARE[operator](left, right))


def _observe(definition: AlertDefinition, row: Mapping[str, Any], labels: dict[str, str]) -> Observation:
    value = row.get(definition.source)
    threshold = row.get(definition.threshold_column) if definition.threshold_column else definition.threshold_value
    annotations = {name: _text(row.get(name)) for name in definition.annotations}
    active = condition(definition.operator, value, threshold)
    fields = {**labels, **annotations, "value": _text(value), "threshold": _text(threshold)}
    return Observation(labels, annotations, value, threshold, active, render_summary(definition.summary, fields))


def render_summary(template: str, fields: Mapping[str, str]) -> str:
    """`{name}` placeholders replaced by label, annotation or value text (a missing one stays visible)."""
    return re.sub(r"\{([a-z0-9_]+)\}", lambda m: fields.get(m.group(1)) or "?", template)


def _is_null(value: Any) -> bool:
    """None, NaN and pandas' NaT (the only values not equal to themselves)."""
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):  # values whose comparison is not a plain boolean
        return False


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "__float__") and not isinstance(value, str):
        return float(value)  # Decimal, numpy numbers
    try:
        return float(str(value))
    except ValueError:
        return str(value)


def _text(value: Any) -> str:
    if _is_null(value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if hasattr(value, "__float__") and not isinstance(value, (str, bool, int)):
        return _text(float(value))
    return str(value)


# ------------------------------------------------------------------------------------------ lifecycle


def advance(
    definition: AlertDefinition,
    previous: Iterable[Instance],
    observations: Sequence[Observation],
    now: datetime,
    team: str,
) -> tuple[list[Instance], list[Event]]:
    """The alert's instances after an evaluation at `now`, and the transitions it caused.

    Pending instances whose condition clears are dropped (they never fired); resolved instances are
    kept so their resolve notice can be sent, and dropped by :func:`prune`."""
    by_fp = {instance.fingerprint: instance for instance in previous}
    active = {fingerprint(definition.id, o.labels): o for o in observations if o.active}
    result: list[Instance] = []
    events: list[Event] = []
    for fp, observation in active.items():
        before = by_fp.get(fp)
        state = before.state if before else INACTIVE
        since = before.active_since if before and state in (PENDING, FIRING) else now
        fired = before.fired_at if before and state == FIRING else None
        new_state = FIRING if state == FIRING or now - since >= definition.for_ else PENDING
        if new_state == FIRING and fired is None:
            fired = now
        instance = Instance(
            fingerprint=fp,
            alert_id=definition.id,
            labels=observation.labels,
            state=new_state,
            active_since=since,
            fired_at=fired,
            last_active_at=now,
            resolved_at=None,
            evaluated_at=now,
            value=_text(observation.value),
            threshold=_text(observation.threshold),
            annotations=observation.annotations,
            summary=observation.summary,
            severity=definition.severity,
            domain=definition.domain,
            team=team,
        )
        result.append(instance)
        events.extend(_transitions(state, instance, now))
    for fp, before in by_fp.items():
        if fp in active:
            continue
        if before.state == PENDING:
            events.extend(_transitions(PENDING, replace(before, state=INACTIVE, evaluated_at=now), now))
        elif (
            before.state == FIRING
            and before.last_active_at
            and now - before.last_active_at < definition.keep_firing_for
        ):
            result.append(replace(before, evaluated_at=now))
        elif before.state == FIRING:
            resolved = replace(before, state=RESOLVED, resolved_at=now, evaluated_at=now)
            result.append(resolved)
            events.extend(_transitions(FIRING, resolved, now))
        elif before.state == RESOLVED:
            result.append(before)
    return result, events


def _transitions(from_state: str, instance: Instance, now: datetime) -> list[Event]:
    """The events of one instance's step: inactive → firing with for=0 is two events (pending, firing)."""
    steps: list[tuple[str, str]] = []
    if from_state in (INACTIVE, RESOLVED) and instance.state in (PENDING, FIRING):
        steps.append((from_state, PENDING))
        if instance.state == FIRING:
            steps.append((PENDING, FIRING))
    elif from_state != instance.state:
        steps.append((from_state, instance.state))
    return [
        Event(
            event_id=stable_id(instance.fingerprint, now.isoformat(), to_state),
            evaluated_at=now,
            alert_id=instance.alert_id,
            fingerprint=instance.fingerprint,
            labels=instance.labels,
            from_state=source,
            to_state=to_state,
            severity=instance.severity,
            domain=instance.domain,
            value=instance.value,
            threshold=instance.threshold,
            summary=instance.summary,
            muted=instance.muted,
        )
        for source, to_state in steps
    ]


def error_event(definition: AlertDefinition, message: str, now: datetime) -> Event:
    """The event of an evaluation that failed (its instances keep their state)."""
    fp = fingerprint(definition.id, {})
    return Event(
        event_id=stable_id(fp, now.isoformat(), ERROR),
        evaluated_at=now,
        alert_id=definition.id,
        fingerprint=fp,
        labels={},
        from_state="",
        to_state=ERROR,
        severity=definition.severity,
        domain=definition.domain,
        value=None,
        threshold=None,
        summary=message[:1000],
        muted=False,
    )


def prune(instances: Iterable[Instance], now: datetime, retention: timedelta) -> list[Instance]:
    """Instances without resolved ones older than `retention` (their notices went out long ago)."""
    return [i for i in instances if not (i.state == RESOLVED and i.resolved_at and now - i.resolved_at > retention)]


# ------------------------------------------------------------------------------------------ muting


@dataclass(frozen=True)
class Silence:
    """Mutes instances whose labels match every matcher, from `starts_at` until `ends_at`."""

    silence_id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    comment: str = ""
    created_by: str = ""
    expired_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        end = min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at
        return self.starts_at <= now < end

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Each matcher is `value` (equal) or `~regex` (full match)."""
        for key, wanted in self.matchers.items():
            have = labels.get(key, "")
            if wanted.startswith("~"):
                if not re.fullmatch(wanted[1:], have):
                    return False
            elif have != wanted:
                return False
        return True


@dataclass(frozen=True)
class InhibitRule:
    """A firing instance of `source_severity` mutes instances of `target_severities` that carry every
    label in `equal` with the same values (a label missing on either side never matches)."""

    source_severity: str
    target_severities: tuple[str, ...]
    equal: tuple[str, ...]


def mute(
    instances: Sequence[Instance], silences: Sequence[Silence], rules: Sequence[InhibitRule], now: datetime
) -> list[Instance]:
    """Instances with `silenced_by` / `inhibited_by` set for this evaluation time."""
    live = [s for s in silences if s.active(now)]
    sources = [i for i in instances if i.state == FIRING]
    muted = []
    for instance in instances:
        labels = instance.all_labels()
        silenced = ",".join(s.silence_id for s in live if s.matches(labels)) or None
        inhibited = None
        for rule in rules:
            if instance.severity not in rule.target_severities:
                continue
            for source in sources:
                if source.fingerprint != instance.fingerprint and source.severity == rule.source_severity:
                    theirs = source.all_labels()
                    if all(labels.get(k) and labels.get(k) == theirs.get(k) for k in rule.equal):
                        inhibited = source.fingerprint
                        break
            if inhibited:
                break
        muted.append(replace(instance, silenced_by=silenced, inhibited_by=inhibited))
    return muted


# ------------------------------------------------------------------------------------------ notifications


@dataclass(frozen=True)
class RoutePlan:
    """The effective route of an alert: the team's channels and grouping, with the alert's overrides."""

    team: str
    channels: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    evaluation_gap: timedelta  # the alert's schedule interval: time until its next evaluation


@dataclass(frozen=True)
class PreviousNotification:
    """What the store knows of a group's latest notification."""

    group_key: str
    created_at: datetime
    firing: tuple[str, ...]


@dataclass(frozen=True)
class Notification:
    """One message to one channel about one group (a row of ops.notifications, the outbox)."""

    notification_id: str
    group_key: str
    channel: str
    team: str
    created_at: datetime
    status: str  # firing (some alerts fire) or resolved (all of the group's notified alerts resolved)
    reason: str  # new, changed, repeat
    group_labels: dict[str, str]
    firing: tuple[str, ...]
    resolved: tuple[str, ...]
    alerts: tuple[dict[str, Any], ...]

    @property
    def title(self) -> str:
        labels = " ".join(f"{k}={v}" for k, v in self.group_labels.items() if v)
        count = len(self.firing) if self.firing else len(self.resolved)
        return f"[{self.status.upper()}:{count}] {labels}".strip()


def plan_notifications(
    instances: Sequence[Instance],
    routes: Mapping[str, RoutePlan],
    previous: Mapping[str, PreviousNotification],
    details: Mapping[str, Mapping[str, str]],
    now: datetime,
) -> list[Notification]:
    """The notifications due at `now`, one per group and channel.

    `routes` maps alert id → its route; `previous` maps group key → the group's latest notification;
    `details` maps alert id → what a message shows about the alert (name, runbook, detail function)."""
    groups: dict[str, list[Instance]] = {}
    group_routes: dict[str, RoutePlan] = {}
    group_labels: dict[str, dict[str, str]] = {}
    for instance in instances:
        route = routes.get(instance.alert_id)
        if route is None or instance.state not in (FIRING, RESOLVED):
            continue
        labels = {name: instance.all_labels().get(name, "") for name in route.group_by}
        key = stable_id(route.team, route.channels, route.group_wait, route.group_interval, route.repeat_interval,
                        json.dumps(labels, sort_keys=True))  # fmt: skip
        groups.setdefault(key, []).append(instance)
        group_routes[key] = route
        group_labels[key] = labels
    planned: list[Notification] = []
    for key, members in sorted(groups.items()):
        route = group_routes[key]
        firing = sorted((i for i in members if i.state == FIRING and not i.muted), key=_by_fingerprint)
        last = previous.get(key)
        notified = set(last.firing) if last else set()
        resolved = sorted(
            (i for i in members if i.state == RESOLVED and i.fingerprint in notified), key=_by_fingerprint
        )
        gone = notified - {i.fingerprint for i in members}  # pruned or re-keyed: nothing to say about them
        reason = _due(firing, resolved, last, notified - gone, route, now)
        if reason is None or not route.channels:
            continue
        status = FIRING if firing else RESOLVED
        alerts = tuple(_message_alert(i, details.get(i.alert_id, {})) for i in [*firing, *resolved])
        for channel in route.channels:
            planned.append(
                Notification(
                    notification_id=stable_id(key, channel, now.isoformat()),
                    group_key=key,
                    channel=channel,
                    team=route.team,
                    created_at=now,
                    status=status,
                    reason=reason,
                    group_labels=group_labels[key],
                    firing=tuple(i.fingerprint for i in firing),
                    resolved=tuple(i.fingerprint for i in resolved),
                    alerts=alerts,
                )
            )
    return planned


def _by_fingerprint(instance: Instance) -> str:
    return instance.fingerprint


def _due(
    firing: list[Instance],
    resolved: list[Instance],
    last: PreviousNotification | None,
    notified: set[str],
    route: RoutePlan,
    now: datetime,
) -> str | None:
    """Why the group is notified now (new, changed, repeat), or None.

    The kit evaluates in cycles: a wait that would end before the group's next evaluation is served in
    this one (waiting for the next cycle would only make it later)."""
    next_cycle = now + route.evaluation_gap
    if last is None:
        if not firing:
            return None
        first = min(i.fired_at or now for i in firing)
        return "new" if next_cycle > first + route.group_wait else None
    current = {i.fingerprint for i in firing}
    if current != notified or resolved:
        if not current and not resolved:
            return None  # the notified alerts were silenced or inhibited: no resolve notice for them
        return "changed" if next_cycle > last.created_at + route.group_interval else None
    if current and now >= last.created_at + route.repeat_interval - REPEAT_TOLERANCE:
        return "repeat"
    return None


def _message_alert(instance: Instance, detail: Mapping[str, str]) -> dict[str, Any]:
    """What a message says about one instance (kept in the outbox, so a later delivery says the same)."""
    return {
        "fingerprint": instance.fingerprint,
        "alert_id": instance.alert_id,
        "name": detail.get("name", instance.alert_id),
        "status": instance.state,
        "severity": instance.severity,
        "domain": instance.domain,
        "team": instance.team,
        "labels": instance.all_labels(),
        "annotations": instance.annotations,
        "summary": instance.summary,
        "value": instance.value,
        "threshold": instance.threshold,
        "fired_at": _iso(instance.fired_at),
        "resolved_at": _iso(instance.resolved_at),
        "runbook": detail.get("runbook", ""),
        "detail": detail.get("detail", ""),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None
