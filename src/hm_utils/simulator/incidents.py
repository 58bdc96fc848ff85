"""Injected incidents: where each one goes (the plan) and its ground-truth record.

Incidents are anchored to the END of the window (days before `end_date`), clipped into the
window, so short windows still contain them. The security incidents and the failure streak fall
in the last 5 days so that "last 7 days" checks find them. The generators read the plan; the
ground truth is written from the generated data so it matches the tables exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa

from hm_utils.simulator.common import US_PER_DAY, US_PER_HOUR, Window

INCIDENT_TYPES = (
    "cost_spike",
    "runaway_job",
    "failure_streak",
    "duration_regression",
    "brute_force_login",
    "admin_privilege_grant",
    "mass_download",
    "idle_cluster",
    "oversized_cluster",
    "warehouse_queueing",
    "stale_table",
)

GROUND_TRUTH_SCHEMA = pa.schema(
    [
        ("incident_id", pa.string()),
        ("incident_type", pa.string()),
        ("workspace_id", pa.string()),
        ("entity_type", pa.string()),
        ("entity_id", pa.string()),
        ("start_time", pa.timestamp("us", tz="UTC")),
        ("end_time", pa.timestamp("us", tz="UTC")),
        ("magnitude", pa.float64()),
        ("unit", pa.string()),
        ("description", pa.string()),
        ("details", pa.string()),
    ]
)


@dataclass(frozen=True)
class IncidentPlan:
    """Days (epoch-day numbers) and entities (row indexes into the account frames) of incidents.

    `enabled` False gives a plan that changes nothing.
    """

    enabled: bool
    runaway_job: int = 0
    runaway_day: int = 0
    runaway_hours: float = 14.0
    streak_job: int = 1
    streak_day: int = 0
    streak_runs: int = 5
    regression_job: int = 4
    regression_day: int = 0
    regression_factor: float = 2.5
    stale_job: int = 5
    stale_day: int = 0
    cost_spike_day: int = 0
    cost_spike_factor: float = 6.0
    idle_cluster: int = 0
    idle_days: tuple[int, int] = (0, 0)
    oversized_cluster: int = 1
    oversized_days: tuple[int, int] = (0, 0)
    oversized_workers: int = 32
    queueing_warehouse: int = 0
    queueing_day: int = 0
    brute_force_day: int = 0
    admin_grant_day: int = 0
    mass_download_day: int = 0

    @classmethod
    def build(cls, window: Window, enabled: bool) -> IncidentPlan:
        if not enabled:
            return cls(enabled=False)

        def back(days: int) -> int:
            return max(window.first_day, window.last_day - days)

        return cls(
            enabled=True,
            runaway_day=back(8),
            streak_day=back(2),
            regression_day=back(max(1, min(20, (window.last_day - window.first_day) // 2))),
            stale_day=back(6),
            cost_spike_day=back(12),
            idle_days=(back(9), back(2)),
            oversized_days=(back(6), back(1)),
            queueing_day=back(3),
            brute_force_day=back(1),
            admin_grant_day=back(2),
            mass_download_day=back(3),
        )


@dataclass
class GroundTruth:
    """Collects one record per injected incident."""

    records: list[dict[str, object]] = field(default_factory=list)

    def add(
        self,
        incident_type: str,
        workspace_id: str,
        entity_type: str,
        entity_id: str,
        start_us: int,
        end_us: int,
        magnitude: float,
        unit: str,
        description: str,
        **details: object,
    ) -> None:
        self.records.append(
            {
                "incident_id": f"inc-{len(self.records) + 1:03d}-{incident_type}",
                "incident_type": incident_type,
                "workspace_id": workspace_id,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "start_time": int(start_us),
                "end_time": int(end_us),
                "magnitude": float(magnitude),
                "unit": unit,
                "description": description,
                "details": json.dumps(details, sort_keys=True, default=str),
            }
        )

    def table(self) -> pa.Table:
        columns = {name: [r[name] for r in self.records] for name in GROUND_TRUTH_SCHEMA.names}
        return pa.table(columns, schema=GROUND_TRUTH_SCHEMA)


def day_bounds(day: int) -> tuple[int, int]:
    """Start and exclusive end (µs) of an epoch day."""
    return day * US_PER_DAY, (day + 1) * US_PER_DAY


def hour_us(day: int, hour: float) -> int:
    """Microsecond timestamp of `hour` (fractional) on epoch day `day`."""
    return int(day * US_PER_DAY + hour * US_PER_HOUR)
