"""Alert state and history in the ops schema, written through `hm_utils.io`.

- `ops.alert_state`: one row per alert (scope `alert`: its last evaluation, OK / TRIGGERED / ERROR) and
  per live instance (scope `instance`: pending, firing or recently resolved). Overwritten whole at the
  end of an evaluation: it is the cycle's commit point.
- `ops.alert_events`: every state change (and evaluation error), keyed by fingerprint, evaluation time
  and new state. Written before the state; events newer than the last committed evaluation belong to
  a cycle that died before its commit and are removed by the next one.
- `ops.notifications`: the outbox, one row per group, channel and evaluation time, with its delivery
  status (pending, retrying, delivered, failed), attempts and last error. Planned from the committed
  state, inserted once (a re-run of the same evaluation time plans the same ids and adds nothing),
  then delivered; a run that dies before delivering leaves `pending` rows that the next run sends.
- `ops.alert_silences`: silences with their matchers, window, author and comment.

:class:`MemoryStore` keeps the same data in memory for scoring replays and unit tests.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hm_utils import io, tables
from hm_utils.alerts.lifecycle import Event, Instance, Notification, PreviousNotification, Silence

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from hm_utils.config import Config

STATE_KEY, EVENTS_KEY, NOTIFICATIONS_KEY, SILENCES_KEY = (
    "ops.alert_state",
    "ops.alert_events",
    "ops.notifications",
    "ops.alert_silences",
)
OPEN_STATUSES = ("pending", "retrying")

STATE_COLUMNS = {
    "scope": ("string", "alert (one row per alert: its last evaluation) or instance (one alert id + label values)"),
    "fingerprint": ("string", "Instance id: hash of the alert id and label values (alert rows: of the alert id)"),
    "alert_id": ("string", "Alert definition id (src/hm_utils/alerts/<domain>/<alert_id>.yml)"),
    "labels": ("string", 'Instance labels as JSON, e.g. {"workspace_id": "...", "job_id": "..."}'),
    "state": ("string", "alert rows: ok, triggered or error; instance rows: pending, firing or resolved"),
    "severity": ("string", "critical, warning or info"),
    "domain": ("string", "cost, security, performance, reliability, quality or mlops"),
    "team": ("string", "Owning team (route)"),
    "active_since": ("timestamp", "When the condition started to hold (UTC)"),
    "fired_at": ("timestamp", "When the instance started firing (UTC)"),
    "last_active_at": ("timestamp", "Last evaluation with the condition holding (UTC)"),
    "resolved_at": ("timestamp", "When the instance resolved (UTC)"),
    "evaluated_at": ("timestamp", "Last evaluation time (UTC)"),
    "value": ("string", "Evaluated value of the result column"),
    "threshold": ("string", "Threshold it was compared with"),
    "annotations": ("string", "Extra result columns shown in messages, as JSON"),
    "summary": ("string", "One-line description of the instance, or the error of an alert row"),
    "silenced_by": ("string", "Silence ids muting the instance (comma separated)"),
    "inhibited_by": ("string", "Fingerprint of the critical instance inhibiting this one"),
    "result_rows": ("bigint", "alert rows: rows the query returned"),
    "seconds": ("double", "alert rows: seconds the query took"),
}
EVENT_COLUMNS = {
    "event_id": ("string", "Hash of fingerprint, evaluation time and new state (one event once)"),
    "evaluated_at": ("timestamp", "Evaluation time of the change (UTC)"),
    "alert_id": ("string", "Alert definition id"),
    "fingerprint": ("string", "Instance id"),
    "labels": ("string", "Instance labels as JSON"),
    "from_state": ("string", "State before: inactive, pending, firing or resolved (empty for errors)"),
    "to_state": ("string", "State after: pending, firing, resolved, inactive, or error (the query failed)"),
    "severity": ("string", "critical, warning or info"),
    "domain": ("string", "Alert domain"),
    "value": ("string", "Evaluated value"),
    "threshold": ("string", "Threshold"),
    "summary": ("string", "One-line description, or the error message"),
    "muted": ("boolean", "True when a silence or an inhibition muted the instance"),
}
NOTIFICATION_COLUMNS = {
    "notification_id": ("string", "Hash of group, channel and evaluation time (planned once)"),
    "group_key": ("string", "Notification group: route and group_by label values"),
    "channel": ("string", "Channel name (alerts.channels in params)"),
    "team": ("string", "Team the group is routed to"),
    "created_at": ("timestamp", "Evaluation time that planned it (UTC)"),
    "status": ("string", "firing or resolved (what the message says)"),
    "reason": ("string", "new, changed (alerts joined or resolved) or repeat (repeat_interval)"),
    "title": ("string", "Message title, e.g. [FIRING:2] alert_id=job_failure_streak"),
    "group_labels": ("string", "Group label values as JSON"),
    "firing": ("string", "Fingerprints firing in the message, as JSON"),
    "resolved": ("string", "Fingerprints resolved in the message, as JSON"),
    "alerts": ("string", "The alerts as the message shows them, as JSON (a later delivery sends the same)"),
    "delivery_status": ("string", "pending, retrying, delivered or failed"),
    "attempts": ("int", "Delivery attempts so far"),
    "last_attempt_at": ("timestamp", "Wall-clock time of the last attempt (UTC)"),
    "next_attempt_at": ("timestamp", "Earliest evaluation time of the next attempt (retrying rows)"),
    "delivered_at": ("timestamp", "Wall-clock time it was delivered (UTC)"),
    "last_error": ("string", "Error of the last failed attempt (timeout, HTTP status, SMTP reply)"),
    "response": ("string", "What the service answered on delivery"),
}
SILENCE_COLUMNS = {
    "silence_id": ("string", "Silence id"),
    "matchers": ("string", "Label matchers as JSON: {label: value} or {label: ~regex}"),
    "starts_at": ("timestamp", "Start (UTC)"),
    "ends_at": ("timestamp", "End (UTC)"),
    "created_by": ("string", "Who created it"),
    "comment": ("string", "Why"),
    "created_at": ("timestamp", "When it was created (UTC)"),
    "expired_at": ("timestamp", "When it was expired early (UTC), else NULL"),
}


@dataclass
class Snapshot:
    """What an evaluation cycle reads before it starts."""

    alerts: dict[str, dict[str, Any]]  # alert id → its alert row (last evaluation)
    instances: list[Instance]
    silences: list[Silence]
    previous: dict[str, PreviousNotification]
    committed_at: datetime | None


def instance_row(instance: Instance) -> dict[str, Any]:
    row = dict.fromkeys(STATE_COLUMNS)
    row.update(
        asdict(instance), scope="instance", labels=_json(instance.labels), annotations=_json(instance.annotations)
    )
    return row


def instance_from_row(row: dict[str, Any]) -> Instance:
    values = {item.name: row[item.name] for item in fields(Instance)}
    values.update(
        labels=json.loads(row["labels"] or "{}"),
        annotations=json.loads(row["annotations"] or "{}"),
        **{
            name: _naive(row[name])
            for name in ("active_since", "fired_at", "last_active_at", "resolved_at", "evaluated_at")
        },
        **{name: row[name] or "" for name in ("summary", "severity", "domain", "team")},
    )
    return Instance(**values)


def event_row(event: Event) -> dict[str, Any]:
    return {**asdict(event), "labels": _json(event.labels)}


def notification_row(notification: Notification) -> dict[str, Any]:
    return {
        "notification_id": notification.notification_id,
        "group_key": notification.group_key,
        "channel": notification.channel,
        "team": notification.team,
        "created_at": notification.created_at,
        "status": notification.status,
        "reason": notification.reason,
        "title": notification.title,
        "group_labels": _json(notification.group_labels),
        "firing": _json(list(notification.firing)),
        "resolved": _json(list(notification.resolved)),
        "alerts": _json(list(notification.alerts)),
        "delivery_status": "pending",
        "attempts": 0,
        "last_attempt_at": None,
        "next_attempt_at": None,
        "delivered_at": None,
        "last_error": None,
        "response": None,
    }


def message(row: dict[str, Any]) -> dict[str, Any]:
    """The outbox row as the channels read it."""
    return {
        "notification_id": row["notification_id"],
        "group_key": row["group_key"],
        "team": row["team"],
        "title": row["title"],
        "status": row["status"],
        "created_at": _naive(row["created_at"]).isoformat(timespec="seconds") + "Z",
        "group_labels": json.loads(row["group_labels"] or "{}"),
        "alerts": json.loads(row["alerts"] or "[]"),
    }


def latest_per_group(rows: list[dict[str, Any]]) -> dict[str, PreviousNotification]:
    """Each group's latest notification (any channel, any delivery status: planning it counts)."""
    latest: dict[str, PreviousNotification] = {}
    for row in rows:
        created = _naive(row["created_at"])
        known = latest.get(row["group_key"])
        if known is None or created > known.created_at:
            latest[row["group_key"]] = PreviousNotification(
                row["group_key"], created, tuple(json.loads(row["firing"] or "[]"))
            )
    return latest


def silence_from_row(row: dict[str, Any]) -> Silence:
    return Silence(
        silence_id=row["silence_id"],
        matchers=json.loads(row["matchers"] or "{}"),
        starts_at=_naive(row["starts_at"]),
        ends_at=_naive(row["ends_at"]),
        comment=row["comment"] or "",
        created_by=row["created_by"] or "",
        expired_at=_naive(row["expired_at"]),
    )


def silence_row(silence: Silence, created_at: datetime) -> dict[str, Any]:
    return {
        "silence_id": silence.silence_id,
        "matchers": _json(silence.matchers),
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": created_at,
        "expired_at": silence.expired_at,
    }


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _naive(value: Any) -> datetime | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", ""))
    return value.replace(tzinfo=None) if value.tzinfo else value


def _ddl(columns: dict[str, tuple[str, str]]) -> str:
    return ", ".join(f"{name} {kind}" for name, (kind, _) in columns.items())


# ------------------------------------------------------------------------------------------ stores


@dataclass
class MemoryStore:
    """The store's data in memory (scoring replays, unit tests); same behaviour as :class:`SparkStore`."""

    state: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    silences: dict[str, dict[str, Any]] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        alerts = {row["alert_id"]: row for row in self.state if row["scope"] == "alert"}
        committed = max((row["evaluated_at"] for row in alerts.values()), default=None)
        for event_id in [k for k, e in self.events.items() if committed is None or e["evaluated_at"] > committed]:
            del self.events[event_id]  # a cycle that died before its commit
        return Snapshot(
            alerts=alerts,
            instances=[instance_from_row(r) for r in self.state if r["scope"] == "instance"],
            silences=[silence_from_row(r) for r in self.silences.values()],
            previous=latest_per_group(list(self.notifications.values())),
            committed_at=committed,
        )

    def write_events(self, rows: list[dict[str, Any]]) -> None:
        self.events.update({row["event_id"]: row for row in rows})

    def write_state(self, rows: list[dict[str, Any]]) -> None:
        self.state = list(rows)

    def add_notifications(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        new = [row for row in rows if row["notification_id"] not in self.notifications]
        self.notifications.update({row["notification_id"]: row for row in new})
        return new

    def open_notifications(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.notifications.values() if r["delivery_status"] in OPEN_STATUSES]

    def update_notifications(self, rows: list[dict[str, Any]]) -> None:
        self.notifications.update({row["notification_id"]: dict(row) for row in rows})

    def write_silence(self, row: dict[str, Any]) -> None:
        self.silences[row["silence_id"]] = row

    def silence_rows(self) -> list[dict[str, Any]]:
        return list(self.silences.values())


class SparkStore:
    """The store in the ops schema (parquet locally, Delta on Databricks), through `hm_utils.io`."""

    def __init__(self, spark: SparkSession, config: Config) -> None:
        self.spark, self.config = spark, config

    def ensure_tables(self) -> None:
        """Create the empty alert tables (the semantic layer's get_alert_history reads them)."""
        for key, columns in (
            (STATE_KEY, STATE_COLUMNS),
            (EVENTS_KEY, EVENT_COLUMNS),
            (NOTIFICATIONS_KEY, NOTIFICATION_COLUMNS),
            (SILENCES_KEY, SILENCE_COLUMNS),
        ):
            if not io.table_exists(self.spark, self.config, key):
                self._write(key, columns, [], "overwrite")

    def _rows(self, key: str, where: str | None = None) -> list[dict[str, Any]]:
        if not io.table_exists(self.spark, self.config, key):
            return []
        frame = io.read_table(self.spark, self.config, key)
        if where:
            frame = frame.where(where)
        return [row.asDict() for row in frame.collect()]

    def _write(self, key: str, columns: dict, rows: list[dict[str, Any]], mode: str, **options: Any) -> None:
        frame = self.spark.createDataFrame([tuple(row.get(c) for c in columns) for row in rows], _ddl(columns))
        comments = {name: comment for name, (_, comment) in columns.items()}
        io.write_table(self.spark, self.config, key, frame, mode, column_comments=comments, **options)

    def snapshot(self) -> Snapshot:
        self.ensure_tables()
        state = self._rows(STATE_KEY)
        alerts = {row["alert_id"]: row for row in state if row["scope"] == "alert"}
        committed = max((_naive(row["evaluated_at"]) for row in alerts.values()), default=None)
        if committed is not None:
            orphan = f"evaluated_at > timestamp'{committed.isoformat(sep=' ')}'"
            if self._rows(EVENTS_KEY, orphan):
                self._write(EVENTS_KEY, EVENT_COLUMNS, [], "replace_where", where=orphan)
        columns = "group_key, created_at, firing"
        latest = self.spark.sql(
            f"select {columns} from (select {columns}, row_number() over (partition by group_key order by created_at desc) as n "
            f"from {tables.full_name(self.config, NOTIFICATIONS_KEY)}) where n = 1"
        ).collect()
        return Snapshot(
            alerts=alerts,
            instances=[instance_from_row(r) for r in state if r["scope"] == "instance"],
            silences=[silence_from_row(r) for r in self._rows(SILENCES_KEY)],
            previous=latest_per_group([row.asDict() for row in latest]),
            committed_at=committed,
        )

    def write_events(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._write(EVENTS_KEY, EVENT_COLUMNS, rows, "upsert")

    def write_state(self, rows: list[dict[str, Any]]) -> None:
        self._write(STATE_KEY, STATE_COLUMNS, rows, "overwrite")

    def add_notifications(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        ids = ", ".join(f"'{row['notification_id']}'" for row in rows)
        known = {r["notification_id"] for r in self._rows(NOTIFICATIONS_KEY, f"notification_id in ({ids})")}
        new = [row for row in rows if row["notification_id"] not in known]
        if new:
            self._write(NOTIFICATIONS_KEY, NOTIFICATION_COLUMNS, new, "append")
        return new

    def open_notifications(self) -> list[dict[str, Any]]:
        statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
        return self._rows(NOTIFICATIONS_KEY, f"delivery_status in ({statuses})")

    def update_notifications(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._write(NOTIFICATIONS_KEY, NOTIFICATION_COLUMNS, rows, "upsert")

    def write_silence(self, row: dict[str, Any]) -> None:
        self.ensure_tables()
        self._write(SILENCES_KEY, SILENCE_COLUMNS, [row], "upsert")

    def silence_rows(self) -> list[dict[str, Any]]:
        return self._rows(SILENCES_KEY)


def expire(row: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """A silence row expired at `moment`."""
    return {**row, "expired_at": moment}
