"""Delivery channels without the engine: each service's format, and real deliveries to a local SMTP
server and a local HTTP receiver, checked on what arrived."""

from __future__ import annotations

import email

import pytest

from hm_utils import config as config_module
from hm_utils.alerts import channels
from hm_utils.errors import ConfigError


def _notification(status: str = "firing") -> dict:
    alert = {
        "fingerprint": "f1a2b3c4d5e6f708",
        "alert_id": "rel_job_failure_streak",
        "name": "Job failing repeatedly",
        "status": status,
        "severity": "critical",
        "domain": "reliability",
        "team": "data-engineering",
        "labels": {
            "alert_id": "rel_job_failure_streak",
            "severity": "critical",
            "domain": "reliability",
            "team": "data-engineering",
            "workspace_id": "123",
            "job_id": "456",
        },  # fmt: skip
        "annotations": {"job_name": "nightly_etl"},
        "summary": "nightly_etl in prod failed 5 times in a row (DRIVER_ERROR)",
        "value": "5",
        "threshold": "3",
        "fired_at": "2026-11-30T06:00:00Z",
        "resolved_at": "2026-11-30T09:00:00Z" if status == "resolved" else None,
        "runbook": "Read the last failed run's error.\nPause the schedule.",
        "detail": "get_failed_jobs",
    }
    return {
        "notification_id": "n0123456789abcdef01234567",
        "group_key": "g1",
        "team": "data-engineering",
        "title": f"[{status.upper()}:1] alert_id=rel_job_failure_streak",
        "status": status,
        "created_at": "2026-11-30T06:00:00Z",
        "group_labels": {"alert_id": "rel_job_failure_streak"},
        "alerts": [alert],
    }


def _channel(kind: str, **settings) -> channels.Channel:
    return channels.Channel(name=f"test_{kind}", type=kind, settings={"type": kind, "timeout_seconds": 2, **settings})


def test_slack_message_is_block_kit_with_a_fallback_text():
    body = channels.slack_message(_notification())
    assert body["text"].startswith("[FIRING:1]") and "failed 5 times" in body["text"]
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[FIRING:1] alert_id=rel_job_failure_streak"},
    }
    section = body["blocks"][1]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "*Job failing repeatedly*" in section["text"]["text"] and "`get_failed_jobs`" in section["text"]["text"]
    assert body["blocks"][-1]["type"] == "context"


def test_teams_message_carries_one_adaptive_card():
    body = channels.teams_message(_notification())
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    facts = next(item for item in card["body"] if item["type"] == "FactSet")["facts"]
    assert {"title": "job_id", "value": "456"} in facts


def test_webhook_message_is_the_alertmanager_format():
    body = channels.webhook_message(_notification("resolved"), "hooks")
    assert body["version"] == "4" and body["status"] == "resolved" and body["receiver"] == "hooks"
    (alert,) = body["alerts"]
    assert alert["fingerprint"] == "f1a2b3c4d5e6f708" and alert["endsAt"] == "2026-11-30T09:00:00Z"
    assert body["commonLabels"]["job_id"] == "456" and alert["annotations"]["runbook"].startswith("Read")


def test_pagerduty_triggers_and_resolves_with_the_fingerprint_as_dedup_key():
    (trigger,) = channels.pagerduty_events(_notification(), "rk")
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == "f1a2b3c4d5e6f708"
    payload = trigger["payload"]
    assert (
        payload["severity"] == "critical"
        and payload["source"] == "123"
        and payload["class"] == "rel_job_failure_streak"
    )
    assert set(payload) >= {
        "summary",
        "source",
        "severity",
        "timestamp",
        "component",
        "group",
        "class",
        "custom_details",
    }
    (resolve,) = channels.pagerduty_events(_notification("resolved"), "rk")
    assert resolve == {"routing_key": "rk", "event_action": "resolve", "dedup_key": "f1a2b3c4d5e6f708"}


def test_email_has_the_title_as_subject_and_a_text_and_html_body():
    message = channels.email_message(_notification(), "hm@example.com", ["oncall@example.com"])
    assert message["Subject"] == "[Health Monitor] [FIRING:1] alert_id=rel_job_failure_streak"
    kinds = [part.get_content_type() for part in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert "failed 5 times" in message.get_body(("plain",)).get_content()


def test_http_channels_deliver_to_the_url_of_their_secret(http_receiver, monkeypatch):
    monkeypatch.setenv("HM_TEST_SLACK", http_receiver.url("/slack"))
    monkeypatch.setenv("HM_TEST_TEAMS", http_receiver.url("/teams"))
    monkeypatch.setenv("HM_TEST_HOOK", http_receiver.url("/hook"))
    monkeypatch.setenv("HM_TEST_PD_KEY", "routing-key-1")
    notification = _notification()
    assert channels.deliver(_channel("slack", url="env:HM_TEST_SLACK"), notification) == "HTTP 200"
    channels.deliver(_channel("teams", url="env:HM_TEST_TEAMS"), notification)
    channels.deliver(_channel("webhook", url="env:HM_TEST_HOOK"), notification)
    assert (
        channels.deliver(
            _channel("pagerduty", routing_key="env:HM_TEST_PD_KEY", url=http_receiver.url("/pagerduty")), notification
        )
        == "HTTP 202"
    )
    assert http_receiver.bodies("/slack") == [channels.slack_message(notification)]
    assert http_receiver.bodies("/teams")[0]["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert http_receiver.bodies("/hook")[0]["alerts"][0]["fingerprint"] == "f1a2b3c4d5e6f708"
    (event,) = http_receiver.bodies("/pagerduty")
    assert event["routing_key"] == "routing-key-1" and event["dedup_key"] == "f1a2b3c4d5e6f708"
    assert all(item["headers"]["Content-Type"] == "application/json" for item in http_receiver.received)


def test_a_failing_service_and_a_hanging_one_raise_delivery_errors(http_receiver, monkeypatch):
    http_receiver.behaviour = {"/down": 500, "/slow": ("sleep", 3)}
    monkeypatch.setenv("HM_TEST_DOWN", http_receiver.url("/down"))
    monkeypatch.setenv("HM_TEST_SLOW", http_receiver.url("/slow"))
    with pytest.raises(channels.DeliveryError, match="HTTP 500") as failed:
        channels.deliver(_channel("webhook", url="env:HM_TEST_DOWN"), _notification())
    assert failed.value.status == 500
    with pytest.raises(channels.DeliveryError, match="no answer within 1 s"):
        channels.deliver(_channel("slack", url="env:HM_TEST_SLOW", timeout_seconds=1), _notification())


def test_a_missing_secret_names_the_variable(monkeypatch):
    monkeypatch.delenv("HM_TEST_NOT_SET", raising=False)
    with pytest.raises(channels.DeliveryError, match="HM_TEST_NOT_SET is not set"):
        channels.deliver(_channel("slack", url="env:HM_TEST_NOT_SET"), _notification())


def test_email_is_delivered_over_smtp_with_login(smtp_receiver, monkeypatch):
    monkeypatch.setenv("HM_TEST_SMTP_PASSWORD", "secret")
    channel = _channel("email", to=["oncall@example.com", "lead@example.com"], sender="hm@example.com",
                       smtp_host="127.0.0.1", smtp_port=smtp_receiver.port, security="none", username="hm",
                       password="env:HM_TEST_SMTP_PASSWORD")  # fmt: skip
    assert channels.deliver(channel, _notification()) == "SMTP accepted for 2 recipient(s)"
    (received,) = smtp_receiver.messages
    assert received["from"] == "hm@example.com" and received["to"] == ["oncall@example.com", "lead@example.com"]
    parsed = email.message_from_string(received["data"])
    assert parsed["Subject"] == "[Health Monitor] [FIRING:1] alert_id=rel_job_failure_streak"


def test_a_wrong_smtp_password_is_a_delivery_error_and_nothing_is_sent(smtp_receiver, monkeypatch):
    monkeypatch.setenv("HM_TEST_SMTP_PASSWORD", "wrong")
    channel = _channel("email", to=["oncall@example.com"], sender="hm@example.com", smtp_host="127.0.0.1",
                       smtp_port=smtp_receiver.port, security="none", username="hm", password="env:HM_TEST_SMTP_PASSWORD")  # fmt: skip
    with pytest.raises(channels.DeliveryError, match="SMTP"):
        channels.deliver(channel, _notification())
    assert not smtp_receiver.messages


def test_channels_refuse_literal_secrets_and_unknown_fields():
    config = config_module.load(
        "ci", {"alerts.channels": {"chat": {"type": "slack", "url": "https://hooks.slack.com/services/T/B/X"}}}
    )
    with pytest.raises(ConfigError, match="literal url") as error:
        channels.load_channels(config)
    assert "alerts.channels.chat.url" in error.value.render()
    config = config_module.load("ci", {"alerts.channels": {"chat": {"type": "slack", "url": "env:X", "colour": "red"}}})
    with pytest.raises(ConfigError, match="unknown field"):
        channels.load_channels(config)


def _self_signed(folder) -> tuple[str, str]:
    """A certificate and key for 127.0.0.1, made here (the channel trusts it through ca_file)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_email_over_starttls_checks_the_server_certificate(tmp_path, monkeypatch):
    import socket
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - the aiosmtpd API
            received.append(envelope.content.decode())
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=lambda *args: AuthResult(success=args[4].password == b"secret"))  # fmt: skip
    controller.start()
    try:
        monkeypatch.setenv("HM_TEST_SMTP_PASSWORD", "secret")
        settings = dict(to=["oncall@example.com"], sender="hm@example.com", smtp_host="127.0.0.1", smtp_port=port,
                        security="starttls", username="hm", password="env:HM_TEST_SMTP_PASSWORD")  # fmt: skip
        with pytest.raises(channels.DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            channels.deliver(_channel("email", **settings), _notification())  # an unknown certificate is refused
        assert channels.deliver(_channel("email", ca_file=cert, **settings), _notification()).startswith(
            "SMTP accepted"
        )
    finally:
        controller.stop()
    assert len(received) == 1 and "Subject: [Health Monitor]" in received[0]
