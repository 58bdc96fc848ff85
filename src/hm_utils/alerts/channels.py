"""Delivery channels: each notification rendered in its service's own format and sent.

- `email`: a multipart (text + HTML) message over SMTP with the standard library (`smtplib`):
  STARTTLS, implicit TLS or plain, optional login, optional CA file;
- `slack`: a Slack incoming-webhook message (Block Kit `blocks` with a `text` fallback);
- `teams`: a Microsoft Teams incoming-webhook / Workflows message carrying an Adaptive Card;
- `webhook`: the Alertmanager webhook JSON (version 4), which many receivers already understand;
- `pagerduty`: PagerDuty Events API v2, one event per alert instance: `trigger` while it fires and
  `resolve` when it resolves, with the instance fingerprint as `dedup_key` (PagerDuty folds repeats).

HTTP channels post with `requests`. Chat libraries such as apprise were considered: they build the
service URL from tokens instead of posting to the URL the secret holds, report only success or
failure (the outbox records status codes and attempts), and have no PagerDuty resolve. Secrets (webhook
URLs, SMTP passwords, routing keys) are references in params, `env:NAME` or `secret:scope/key`,
resolved at send time from the environment or a Databricks secret scope; a literal is refused.
"""

from __future__ import annotations

import base64
import json
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from hm_utils.config import Config
from hm_utils.errors import ConfigError

CHANNEL_TYPES = ("email", "slack", "teams", "webhook", "pagerduty")
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_SECRET_FIELDS = {"slack": ("url",), "teams": ("url",), "webhook": ("url",), "pagerduty": ("routing_key",)}
_FIELDS = {
    "email": {"type", "to", "sender", "smtp_host", "smtp_port", "security", "username", "password", "ca_file"},
    "slack": {"type", "url"},
    "teams": {"type", "url"},
    "webhook": {"type", "url"},
    "pagerduty": {"type", "routing_key", "url"},
}
_COMMON = {"send_resolved", "timeout_seconds"}
_SEVERITY_COLOURS = {"critical": "#d1242f", "warning": "#bf8700", "info": "#0969da", "resolved": "#1a7f37"}
_PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


class DeliveryError(Exception):
    """A send failed; `status` is the HTTP status or SMTP reply code when the service answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Channel:
    """A configured channel (`alerts.channels.<name>` in params)."""

    name: str
    type: str
    settings: dict[str, Any]

    @property
    def send_resolved(self) -> bool:
        return bool(self.settings.get("send_resolved", True))

    @property
    def timeout(self) -> float:
        return float(self.settings.get("timeout_seconds", 10))


def load_channels(config: Config) -> dict[str, Channel]:
    """Every channel of `alerts.channels`, checked: known type and fields, secrets given as references."""
    raw = config.get("alerts.channels") or {}
    if not isinstance(raw, dict):
        raise ConfigError("alerts.channels must map a channel name to its settings", where="params: alerts.channels")
    channels = {}
    for name, settings in raw.items():
        where = f"params: alerts.channels.{name}"
        if not isinstance(settings, dict) or settings.get("type") not in CHANNEL_TYPES:
            raise ConfigError(
                f"channel '{name}' needs a type", where=where, fix=f"set type: one of {', '.join(CHANNEL_TYPES)}"
            )
        kind = settings["type"]
        unknown = set(settings) - _FIELDS[kind] - _COMMON
        if unknown:
            raise ConfigError(
                f"channel '{name}' ({kind}) has unknown field(s) {', '.join(sorted(unknown))}",
                where=where,
                fix=f"use {', '.join(sorted((_FIELDS[kind] | _COMMON) - {'type'}))}",
            )
        for secret in (*_SECRET_FIELDS.get(kind, ()), *(("password",) if kind == "email" else ())):
            value = settings.get(secret)
            if value is not None and not _is_reference(value):
                raise ConfigError(
                    f"channel '{name}' has a literal {secret}: secrets never live in params",
                    where=f"{where}.{secret}",
                    fix="write env:VARIABLE_NAME (an environment variable) or secret:scope/key (a Databricks secret)",
                )
        channels[name] = Channel(name=str(name), type=kind, settings=dict(settings))
    return channels


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("env:") or value.startswith("secret:"))


def resolve_secret(reference: str, what: str) -> str:
    """The value behind `env:NAME` or `secret:scope/key`; a DeliveryError saying which is missing."""
    if reference.startswith("env:"):
        name = reference[4:]
        value = os.environ.get(name)
        if not value:
            raise DeliveryError(f"{what}: environment variable {name} is not set")
        return value
    scope, _, key = reference[7:].partition("/")
    try:
        from databricks.sdk import WorkspaceClient

        secret = WorkspaceClient().secrets.get_secret(scope=scope, key=key)
    except Exception as error:  # no workspace, no permission, no such secret
        raise DeliveryError(f"{what}: cannot read Databricks secret {scope}/{key}: {error}") from error
    return base64.b64decode(secret.value or "").decode()


# ------------------------------------------------------------------------------------------ formats


def slack_message(notification: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body: a header, one section per alert, a context line; `text` is the
    fallback shown in notifications."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": notification["title"][:150]}},
    ]
    for alert in notification["alerts"][:40]:  # Slack allows 50 blocks
        mark = ":large_green_circle:" if alert["status"] == "resolved" else _slack_icon(alert["severity"])
        lines = [f"{mark} *{alert['name']}* ({alert['severity']}, {alert['status']})", alert["summary"]]
        if alert["status"] != "resolved":
            lines.append(f"_Runbook:_ {_first_line(alert['runbook'])}  ·  _Detail:_ `{alert['detail']}`")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Databricks Health Monitor · team {notification['team']} · {notification['created_at']}",
                }
            ],
        }
    )
    return {"text": f"{notification['title']}: {_one_line_summary(notification)}", "blocks": blocks}


def teams_message(notification: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams incoming-webhook (or Workflows) body: a message with one Adaptive Card attachment."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": notification["title"], "weight": "Bolder", "size": "Medium", "wrap": True}
    ]
    for alert in notification["alerts"]:
        colour = (
            "Good" if alert["status"] == "resolved" else ("Attention" if alert["severity"] == "critical" else "Warning")
        )
        body.append({"type": "TextBlock", "text": f"{alert['name']} ({alert['severity']}, {alert['status']})",
                     "weight": "Bolder", "color": colour, "wrap": True, "spacing": "Medium"})  # fmt: skip
        facts = [{"title": key, "value": value} for key, value in alert["labels"].items() if value]
        body.append({"type": "TextBlock", "text": alert["summary"], "wrap": True})
        body.append({"type": "FactSet", "facts": facts})
        if alert["status"] != "resolved":
            body.append({"type": "TextBlock", "text": f"Runbook: {_first_line(alert['runbook'])} Detail: {alert['detail']}",
                         "wrap": True, "isSubtle": True})  # fmt: skip
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def webhook_message(notification: Mapping[str, Any], receiver: str) -> dict[str, Any]:
    """The Alertmanager webhook body (version 4): group, common labels and one entry per alert."""
    alerts = notification["alerts"]
    common = _common(alert["labels"] for alert in alerts)
    return {
        "version": "4",
        "groupKey": notification["group_key"],
        "truncatedAlerts": 0,
        "status": notification["status"],
        "receiver": receiver,
        "groupLabels": dict(notification["group_labels"]),
        "commonLabels": common,
        "commonAnnotations": _common({"summary": a["summary"], "runbook": a["runbook"]} for a in alerts),
        "externalURL": "",
        "alerts": [
            {
                "status": alert["status"],
                "labels": alert["labels"],
                "annotations": {
                    **alert["annotations"],
                    "summary": alert["summary"],
                    "runbook": alert["runbook"],
                    "detail": alert["detail"],
                    "value": alert["value"] or "",
                },  # fmt: skip
                "startsAt": alert["fired_at"] or "",
                "endsAt": alert["resolved_at"] or "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": alert["fingerprint"],
            }
            for alert in alerts
        ],
    }


def pagerduty_events(notification: Mapping[str, Any], routing_key: str) -> list[dict[str, Any]]:
    """PagerDuty Events API v2 bodies: one trigger per firing instance, one resolve per resolved one."""
    events = []
    for alert in notification["alerts"]:
        if alert["status"] == "resolved":
            events.append({"routing_key": routing_key, "event_action": "resolve", "dedup_key": alert["fingerprint"]})
            continue
        labels = alert["labels"]
        events.append(
            {
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": alert["fingerprint"],
                "payload": {
                    "summary": f"{alert['name']}: {alert['summary']}"[:1024],
                    "source": labels.get("workspace_name") or labels.get("workspace_id") or "databricks-account",
                    "severity": _PAGERDUTY_SEVERITY.get(alert["severity"], "info"),
                    "timestamp": alert["fired_at"],
                    "component": alert["domain"],
                    "group": alert["team"],
                    "class": alert["alert_id"],
                    "custom_details": {
                        "labels": labels,
                        "value": alert["value"],
                        "threshold": alert["threshold"],
                        "runbook": alert["runbook"],
                        "detail_function": alert["detail"],
                    },  # fmt: skip
                },
            }
        )
    return events


def email_message(notification: Mapping[str, Any], sender: str, to: list[str]) -> EmailMessage:
    """A text + HTML email; the subject is the notification title."""
    message = EmailMessage()
    message["Subject"] = f"[Health Monitor] {notification['title']}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(idstring=notification["notification_id"][:12])
    text, html = [notification["title"], ""], [f"<h2>{_escape(notification['title'])}</h2>"]
    for alert in notification["alerts"]:
        labels = ", ".join(f"{k}={v}" for k, v in alert["labels"].items() if v)
        text += [
            f"{alert['name']} ({alert['severity']}, {alert['status']})",
            f"  {alert['summary']}",
            f"  labels: {labels}",
        ]
        colour = _SEVERITY_COLOURS["resolved" if alert["status"] == "resolved" else alert["severity"]]
        html.append(
            f"<h3 style='color:{colour}'>{_escape(alert['name'])} ({alert['severity']}, {alert['status']})</h3>"
            f"<p>{_escape(alert['summary'])}</p><p><small>{_escape(labels)}</small></p>"
        )
        if alert["status"] != "resolved":
            text += [f"  runbook: {alert['runbook']}", f"  detail: {alert['detail']}"]
            html.append(
                f"<p><b>Runbook:</b> {_escape(alert['runbook'])}<br><b>Detail:</b> <code>{alert['detail']}</code></p>"
            )
        text.append("")
    message.set_content("\n".join(text))
    message.add_alternative("<html><body>" + "".join(html) + "</body></html>", subtype="html")
    return message


# ------------------------------------------------------------------------------------------ delivery


def deliver(channel: Channel, notification: Mapping[str, Any]) -> str:
    """Send one notification; returns what the service answered, raises DeliveryError on failure."""
    kind, settings = channel.type, channel.settings
    if kind == "email":
        return _send_email(channel, notification)
    if kind == "pagerduty":
        key = resolve_secret(settings.get("routing_key") or "", f"channel {channel.name} routing_key")
        url = settings.get("url") or PAGERDUTY_EVENTS_URL
        answers = [_post(url, event, channel.timeout) for event in pagerduty_events(notification, key)]
        return "; ".join(answers)
    url = resolve_secret(settings.get("url") or "", f"channel {channel.name} url")
    body = {
        "slack": lambda: slack_message(notification),
        "teams": lambda: teams_message(notification),
        "webhook": lambda: webhook_message(notification, channel.name),
    }[kind]()
    return _post(url, body, channel.timeout)


def _post(url: str, body: dict[str, Any], timeout: float) -> str:
    import requests

    try:
        response = requests.post(url, json=body, timeout=timeout)
    except requests.Timeout as error:
        raise DeliveryError(f"no answer within {timeout:g} s") from error
    except requests.RequestException as error:
        raise DeliveryError(f"cannot reach the service: {type(error).__name__}") from error
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", status=response.status_code)
    return f"HTTP {response.status_code}"


def _send_email(channel: Channel, notification: Mapping[str, Any]) -> str:
    settings = channel.settings
    to = list(settings.get("to") or [])
    if not to or not settings.get("smtp_host") or not settings.get("sender"):
        raise DeliveryError(f"channel {channel.name}: email needs to, sender and smtp_host")
    message = email_message(notification, str(settings["sender"]), to)
    security = settings.get("security", "starttls")
    context = ssl.create_default_context(cafile=settings.get("ca_file"))
    host, port = str(settings["smtp_host"]), int(settings.get("smtp_port") or (465 if security == "ssl" else 587))
    try:
        if security == "ssl":
            client = smtplib.SMTP_SSL(host, port, timeout=channel.timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=channel.timeout)
        with client:
            if security == "starttls":
                client.starttls(context=context)
            if settings.get("username"):
                password = resolve_secret(settings.get("password") or "", f"channel {channel.name} password")
                client.login(str(settings["username"]), password)
            refused = client.send_message(message)
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(f"SMTP {error.smtp_code}: {error.smtp_error!r}", status=error.smtp_code) from error
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"SMTP: {type(error).__name__}: {error}") from error
    if refused:
        raise DeliveryError(f"SMTP refused {', '.join(refused)}")
    return f"SMTP accepted for {len(to)} recipient(s)"


# ------------------------------------------------------------------------------------------ helpers


def _common(label_sets) -> dict[str, str]:
    sets = [dict(labels) for labels in label_sets]
    if not sets:
        return {}
    return {key: value for key, value in sets[0].items() if all(s.get(key) == value for s in sets[1:])}


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _one_line_summary(notification: Mapping[str, Any]) -> str:
    return "; ".join(alert["summary"] for alert in notification["alerts"][:3])[:500]


def _slack_icon(severity: str) -> str:
    return {"critical": ":red_circle:", "warning": ":large_orange_circle:"}.get(severity, ":large_blue_circle:")


def _escape(text: str) -> str:
    import html

    return html.escape(str(text or ""))


def payload_preview(channel: Channel, notification: Mapping[str, Any]) -> Any:
    """What the channel would send (secrets left as references), for `--dry-run` and tests."""
    if channel.type == "slack":
        return slack_message(notification)
    if channel.type == "teams":
        return teams_message(notification)
    if channel.type == "webhook":
        return webhook_message(notification, channel.name)
    if channel.type == "pagerduty":
        return pagerduty_events(notification, str(channel.settings.get("routing_key")))
    message = email_message(notification, str(channel.settings.get("sender")), list(channel.settings.get("to") or []))
    return json.loads(json.dumps({"subject": message["Subject"], "to": message["To"]}))
