"""Shared fixtures: the `ci` config, one local engine for the whole session, a simulated account built once
through every pipeline layer (bronze → silver → gold → semantic → monitoring → ML models), and its report site published once.

A test that uses the engine (the `spark` or `account` fixture) or lives in tests/integration is marked `engine`
here, so `pytest -m "not engine"` runs exactly the tests that start no engine; tests/unit/conftest.py refuses the
engine outright.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hm_utils import config as config_module

ENGINE_FIXTURES = {"spark", "account", "published_site"}
GOLDEN_PERIOD = ("2026-11-19", "2026-11-28")  # the ci account's default period: its last 10 complete days


def pytest_collection_modifyitems(items):
    for item in items:
        in_integration = Path(str(item.path)).parent.name == "integration"
        if in_integration or ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def config():
    """The `ci` environment (isolated engine home and port; small simulated account)."""
    return config_module.load("ci")


@pytest.fixture(scope="session")
def spark(config):
    """A client of the ci engine; the engine is started once and stopped at the end if we started it."""
    from hm_utils.engine import LocalEngine
    from hm_utils.spark import get_spark

    engine = LocalEngine(config)
    was_running = engine.status().running
    session = get_spark(config)
    yield session
    if not was_running:
        session.stop()  # first: a session left open retries against the stopped server for minutes at exit
        engine.stop()


@pytest.fixture(scope="session")
def account(spark, config):
    """The ci simulated account, simulated and built through every layer once per session, then the models
    trained and scored as the main job's ml_train and ml_score steps do (the semantic functions over the
    predictions answer from then on).

    Returns each layer's report by layer name (bronze, silver, gold, semantic, monitoring), the training results
    under `ml_train` and the scoring results under `ml_score`. The layers start empty, and so does the MLflow store:
    bronze is incremental, so what an earlier day's session ingested would outlive a new simulation, and models
    registered by an earlier session would be champions to beat.
    """
    from hm_utils import layers, simulation
    from hm_utils.ml import scoring, tracking, training

    layers.drop_layer_schemas(spark, config)
    shutil.rmtree(tracking.local_folder(config), ignore_errors=True)
    simulation.run_simulation(config, simulation.options_from_config(config), spark=spark)
    built = {result.layer: result.report for result in layers.build_layers(spark, config, "test-build")}
    built["ml_train"] = training.run_training(spark, config)
    built["ml_score"] = scoring.score_and_write(spark, config)
    return built


@pytest.fixture(scope="session")
def report_period() -> tuple[str, str]:
    """The fixed, non-empty report period of the ci account used by the report and notebook tests."""
    return GOLDEN_PERIOD


@pytest.fixture(scope="session")
def published_site(account, config, tmp_path_factory):
    """The ci account's report site, published once with the golden period (the browser test and the golden
    front page read it)."""
    from hm_utils.reports import publish

    folder = tmp_path_factory.mktemp("published")
    local = config.with_overrides({"paths.site": str(folder / "site"), "paths.runs": str(folder / "runs")})
    return publish(local, "published-test", *GOLDEN_PERIOD)


class HttpReceiver:
    """A real HTTP server on localhost recording every POST (path, headers, JSON body).

    `behaviour[path]` makes a path answer with a status code, or hang (`("sleep", seconds)`: no answer
    for that long, then a 504, the message not taken), to play a failing or hanging service."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[dict] = []
        self.behaviour: dict[str, object] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = receiver.behaviour.get(self.path, 200)
                if isinstance(action, tuple):
                    time.sleep(action[1])
                    action = 504
                if action == 200:
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                    )
                self.send_response(int(action) if action != 200 else (202 if "pagerduty" in self.path else 200))
                self.end_headers()
                self.wfile.write(b'{"status": "success"}' if action == 200 else b"boom")

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str) -> list:
        return [item["json"] for item in self.received if item["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_receiver():
    """A local HTTP receiver for webhook, Slack, Teams and PagerDuty deliveries."""
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_receiver():
    """A real local SMTP server (aiosmtpd) keeping the messages it accepts; login with user hm / secret."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Keep:
        def __init__(self) -> None:
            self.messages: list[dict] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - the aiosmtpd API
            self.messages.append(
                {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content.decode()}
            )
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"hm" and auth_data.password == b"secret"
        return AuthResult(success=ok)

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Keep()
    handler.port = port
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    yield handler
    controller.stop()
