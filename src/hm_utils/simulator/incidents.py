"""Injected incidents: when each one happens (the plan) and its ground-truth record.

Incidents are anchored to absolute days, not to the window: each type recurs with its own period
(`CADENCE`), on a phase drawn from the seed, and each occurrence picks its entity by cycling through
a pool of suitable entities. A day's data therefore depends only on (seed, account, day), so a
window that moves by a day keeps every earlier incident where it was, and any window as long as a
type's period holds at least one of it. The generators read the plan; the ground truth is written
from the generated data (or, for values that need days not generated yet, from the plan), so it
matches the tables exactly and never changes once written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from hm_utils.simulator.common import US_PER_DAY, US_PER_HOUR, stable_int


@dataclass(frozen=True)
class Cadence:
    """An incident type recurs every `period` days and its effect lasts `duration` days."""

    period: int
    duration: int = 1


CADENCE: dict[str, Cadence] = {
    "cost_spike": Cadence(14),
    "runaway_job": Cadence(14),
    "failure_streak": Cadence(7),
    "duration_regression": Cadence(14, 14),
    "brute_force_login": Cadence(7),
    "admin_privilege_grant": Cadence(7),
    "mass_download": Cadence(7),
    "permission_change_burst": Cadence(7),
    "secret_enumeration": Cadence(7),
    "mass_securable_access": Cadence(7),
    "cross_workspace_activity": Cadence(7),
    "idle_cluster": Cadence(21, 5),
    "oversized_cluster": Cadence(21, 4),
    "warehouse_queueing": Cadence(7),
    "stale_table": Cadence(14, 21),
}
INCIDENT_TYPES = tuple(CADENCE)
# One user active in this many workspaces in a day is what cross-workspace detections alert on.
CROSS_WORKSPACE_MIN = 5

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
class Occurrence:
    """One incident: its type, cycle number, first day (epoch day) and the pool entry it hits."""

    kind: str
    cycle: int
    day: int
    entity: int

    @property
    def last_day(self) -> int:
        return self.day + CADENCE[self.kind].duration - 1

    def covers(self, day: int | np.ndarray) -> bool | np.ndarray:
        return (day >= self.day) & (day <= self.last_day)


@dataclass(frozen=True)
class IncidentPlan:
    """Occurrences of every incident type that touch the generated days; `enabled` False is empty.

    `entity` is a row index into the account frame the type acts on (jobs, clusters, warehouses,
    principals...): occurrence k of a type hits pool[(phase + k) % len(pool)] of its candidates, so
    consecutive ones differ.
    Tunables of the incidents' size are class attributes.
    """

    enabled: bool
    occurrences: tuple[Occurrence, ...] = ()

    runaway_hours: float = 14.0
    streak_runs: int = 5
    regression_factor: float = 2.5
    cost_spike_factor: int = 6
    oversized_workers: int = 16

    @classmethod
    def build(
        cls, seed: int, first_day: int, last_day: int, pools: dict[str, np.ndarray], enabled: bool
    ) -> IncidentPlan:
        """Occurrences whose effect overlaps [first_day, last_day]; `pools` holds each type's candidate
        entity indexes (a type with an empty pool does not occur)."""
        if not enabled:
            return cls(enabled=False)
        found = []
        for kind, cadence in CADENCE.items():
            pool = np.asarray(pools.get(kind, []), dtype=np.int64)
            size = pool.size
            if size <= 0:
                continue
            phase = stable_int(seed, "incident-phase", kind)
            first_cycle = (first_day - cadence.duration - phase % cadence.period) // cadence.period
            last_cycle = (last_day - phase % cadence.period) // cadence.period + 1
            for k in range(first_cycle, last_cycle + 1):
                day = k * cadence.period + phase % cadence.period
                occurrence = Occurrence(kind, k, day, int(pool[(phase + k) % size]))
                if occurrence.last_day >= first_day and occurrence.day <= last_day:
                    found.append(occurrence)
        return cls(enabled=True, occurrences=tuple(found))

    def of(self, kind: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.kind == kind]

    def on(self, kind: str, day: int) -> list[Occurrence]:
        """Occurrences of `kind` whose effect covers epoch day `day`."""
        return [o for o in self.occurrences if o.kind == kind and o.covers(day)]


@dataclass
class GroundTruth:
    """Collects one record per injected incident; the id names the type and start minute, so it is
    the same whichever run of the simulator wrote the record."""

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
        stamp = np.datetime64(int(start_us), "us").astype("datetime64[m]").astype(str).replace("-", "").replace(":", "")
        self.records.append(
            {
                "incident_id": f"{incident_type}-{stamp}",
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

    def table(self, after_us: int | None = None, first_us: int = 0, end_us: int | None = None) -> pa.Table:
        """Records that started in (after_us, end_us] and not before `first_us`, sorted by id."""
        kept = [
            r
            for r in self.records
            if r["start_time"] >= first_us
            and (after_us is None or r["start_time"] > after_us)
            and (end_us is None or r["start_time"] <= end_us)
        ]
        kept.sort(key=lambda r: r["incident_id"])
        columns = {name: [r[name] for r in kept] for name in GROUND_TRUTH_SCHEMA.names}
        return pa.table(columns, schema=GROUND_TRUTH_SCHEMA)


def day_bounds(day: int) -> tuple[int, int]:
    """Start and exclusive end (µs) of an epoch day."""
    return day * US_PER_DAY, (day + 1) * US_PER_DAY


def hour_us(day: int, hour: float) -> int:
    """Microsecond timestamp of `hour` (fractional) on epoch day `day`."""
    return int(day * US_PER_DAY + hour * US_PER_HOUR)
