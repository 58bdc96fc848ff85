"""Errors that tell the user what went wrong, where, and what to do about it."""

from __future__ import annotations


class HealthMonitorError(Exception):
    """Base error: a message with the place it happened and the fix, printed without a traceback."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        lines = [self.what]
        if self.where:
            lines.append(f"  where: {self.where}")
        if self.fix:
            lines.append(f"  what to do: {self.fix}")
        return "\n".join(lines)


class ConfigError(HealthMonitorError):
    """A parameter file, override or table registry entry is wrong."""


class EngineError(HealthMonitorError):
    """The Spark engine cannot be started or reached."""


class TableNotFoundError(HealthMonitorError):
    """A table that a step reads does not exist yet."""


class StepFailedError(HealthMonitorError):
    """A notebook step of the run plan failed."""


class QualityGateError(HealthMonitorError):
    """A blocking data-quality expectation failed."""
