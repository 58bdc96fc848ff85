"""Errors that tell the user what went wrong, where, and what to do about it, and the helpers that
turn other errors (Spark's, a notebook's) into that form without their stack traces."""

from __future__ import annotations

import re

_WHERE = "  where: "
_FIX = "  what to do: "
_SPARK_LINES = 6
# How a lost Spark Connect channel shows: gRPC's UNAVAILABLE, a refused or reset connection.
_CONNECTION_LOSS = re.compile(
    r"StatusCode\.UNAVAILABLE|failed to connect to all addresses|Connection refused|Connection reset|Socket closed",
    re.IGNORECASE,
)


class HealthMonitorError(Exception):
    """Base error: a message with the place it happened and the fix, printed without a traceback."""

    exit_code = 2  # of the `hm` command that stops on it

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        lines = [self.what]
        if self.where:
            lines.append(f"{_WHERE}{self.where}")
        if self.fix:
            lines.append(f"{_FIX}{self.fix}")
        return "\n".join(lines)


class ConfigError(HealthMonitorError):
    """A parameter file, override or table registry entry is wrong."""


class EngineError(HealthMonitorError):
    """The Spark engine cannot be started or reached."""


class TableNotFoundError(HealthMonitorError):
    """A table that a step reads does not exist yet."""


class StepFailedError(HealthMonitorError):
    """A notebook step of the run plan failed; `notebook` is the executed copy with the full trace."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None, notebook: str = "") -> None:
        self.notebook = notebook
        super().__init__(what, where=where, fix=fix)

    def render(self) -> str:
        rendered = super().render()
        return f"{rendered}\n  executed notebook: {self.notebook}" if self.notebook else rendered


class QualityGateError(HealthMonitorError):
    """A blocking data-quality expectation failed."""


def parse_rendered(text: str) -> tuple[str, str | None, str | None] | None:
    """(what, where, fix) of a HealthMonitorError's rendered text (as a notebook reports it), else None."""
    if f"\n{_WHERE}" not in text and f"\n{_FIX}" not in text:
        return None
    what, where, fix = [], None, None
    for line in text.splitlines():
        if line.startswith(_WHERE):
            where = line[len(_WHERE) :]
        elif line.startswith(_FIX):
            fix = line[len(_FIX) :]
        elif where is None and fix is None:
            what.append(line)
    return "\n".join(what).strip(), where, fix


def spark_summary(text: str) -> str:
    """The first part of a Spark error (error class and message), without the JVM stack trace."""
    head = text.split("JVM stacktrace:")[0].strip()
    lines = [line for line in head.splitlines() if line.strip() and not line.lstrip().startswith("at ")]
    return "\n".join(lines[:_SPARK_LINES])


def is_connection_loss(text: str) -> bool:
    """Whether an error's text says the Spark Connect channel to the engine is gone."""
    return bool(_CONNECTION_LOSS.search(text))
