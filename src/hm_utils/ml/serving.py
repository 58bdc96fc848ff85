"""Online scoring: MLflow's model server for a model's champion, and a client that scores over HTTP.

`hm ml serve MODEL` runs `mlflow models serve` on the champion (`models:/<name>@champion`) in this
environment (env manager `local`: the kit's package and pins are the model's environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hm_utils.config import Config
from hm_utils.errors import HealthMonitorError
from hm_utils.ml import tracking


class ModelServerError(HealthMonitorError):
    """The model server did not start or answered with an error."""


def server_command(config: Config, model: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", tracking.champion_uri(config, model),
        "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def server_environment(config: Config) -> dict[str, str]:
    tracking.configure(config)
    scripts = str(Path(sys.executable).parent)  # the server execs `uvicorn` from this environment
    return {
        **os.environ,
        "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")]),
        "MLFLOW_TRACKING_URI": tracking.tracking_uri(config),
        "MLFLOW_REGISTRY_URI": tracking.registry_uri(config),
    }


@dataclass
class ModelServer:
    """A running model server (a child process) and its address."""

    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(config: Config, model: str, port: int, timeout_seconds: float = 180) -> ModelServer:
    """Start the server for the model's champion and wait until it answers /ping."""
    tracking.load_champion(config, model)  # a clear error before starting a server that cannot load it
    process = subprocess.Popen(
        server_command(config, model, port),
        env=server_environment(config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = ModelServer(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ModelServerError(
                f"the model server for {model} exited with code {process.returncode}",
                where=" ".join(server_command(config, model, port)),
                fix=(process.stderr.read() if process.stderr else "")[-500:] or "run the command by hand to see why",
            )
        try:
            with urllib.request.urlopen(f"{server.url}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    server.stop()
    raise ModelServerError(
        f"the model server for {model} did not answer within {timeout_seconds:.0f} s",
        where=server.url,
        fix="check that the port is free and the machine not overloaded; try `hm ml serve` by hand",
    )


def score(url: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions of the server at `url` for `frame` (MLflow's dataframe_split payload)."""
    body = frame.to_json(orient="split", index=False, date_format="iso")
    request = urllib.request.Request(
        f"{url}/invocations",
        data=('{"dataframe_split": ' + body + "}").encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            payload = _predictions(answer.read())
    except urllib.error.HTTPError as exc:
        raise ModelServerError(
            f"the model server answered {exc.code}: {exc.read().decode()[:300]}",
            where=f"{url}/invocations",
            fix="send the model's input columns (its signature, `mlflow models` shows it)",
        ) from exc
    return payload


def _predictions(raw: bytes) -> pd.DataFrame:
    import json

    return pd.DataFrame(json.loads(raw)["predictions"])


def single_record_latency(url: str, records: pd.DataFrame, requests: int = 200) -> dict[str, float]:
    """Milliseconds per single-record request (p50, p95, max) over `requests` calls cycling through `records`."""
    score(url, records.head(1))  # first call warms the server
    timings = []
    for index in range(requests):
        started = time.perf_counter()
        score(url, records.iloc[[index % len(records)]])
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "requests": float(requests),
        "p50_ms": round(float(np.percentile(timings, 50)), 2),
        "p95_ms": round(float(np.percentile(timings, 95)), 2),
        "max_ms": round(float(np.max(timings)), 2),
    }
