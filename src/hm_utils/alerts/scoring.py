"""Recall and precision of the alerts against the simulator's ground truth (`hm alerts score`).

For each seed the command simulates the default account twice, with incidents and without, builds
every layer, and replays the alerts once a day over the last days of the window as a scheduler
would (the lifecycle included, state in memory, nothing delivered). Recall: each incident of the
ground truth that the replay could see is detected when an alert of one of its domains (`incidents.yml`)
starts firing between the incident's start and `grace` after its end with labels naming its workspace
and entity.
Precision: on the account without incidents, every instance that fired is listed by severity with
its summary, so each can be explained (injected data defects, the simulator's usual noise).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from hm_utils.alerts import evaluation
from hm_utils.alerts import store as store_module
from hm_utils.alerts.definitions import ALERTS_DIR, parse_duration
from hm_utils.config import Config
from hm_utils.errors import ConfigError

MAPPING_PATH = ALERTS_DIR / "incidents.yml"


@dataclass(frozen=True)
class IncidentRule:
    """How an incident type is matched: alert domains and incident field → alert label."""

    incident_type: str
    domains: tuple[str, ...]
    labels: dict[str, str]


def load_rules(path: Path = MAPPING_PATH) -> tuple[dict[str, IncidentRule], timedelta]:
    """The incident-type mapping and the detection grace period."""
    raw = yaml.safe_load(path.read_text()) or {}
    rules = {}
    for incident_type, entry in (raw.get("incident_types") or {}).items():
        if not entry.get("domains") or not entry.get("labels"):
            raise ConfigError(
                f"incident type {incident_type} needs domains and labels", where=str(path), fix="add both"
            )
        rules[incident_type] = IncidentRule(incident_type, tuple(entry["domains"]), dict(entry["labels"]))
    return rules, parse_duration(raw.get("grace", "3d"), f"{path}: grace")


@dataclass
class Replay:
    """The firing events of a replay and the cycles' timings."""

    fired: list[dict[str, Any]]
    cycles: int
    cycle_seconds: list[float] = field(default_factory=list)


def replay(
    config: Config,
    runner: evaluation.Runner,
    start: datetime,
    end: datetime,
    every: timedelta = timedelta(days=1),
    progress: Callable[[str], None] = lambda _: None,
) -> Replay:
    """Evaluate the alerts at start, start + every, ... up to end, carrying the state in memory."""
    memory = store_module.MemoryStore()
    moment, seconds = start, []
    while moment <= end:
        report = evaluation.run_cycle(config, memory, runner, moment, deliver=False)
        seconds.append(report.seconds)
        progress(f"  {report.summary()}")
        moment += every
    fired = [
        {**event, "labels": json.loads(event["labels"])}
        for event in memory.events.values()
        if event["to_state"] == "firing"
    ]
    return Replay(
        fired=sorted(fired, key=lambda e: (e["evaluated_at"], e["alert_id"])),
        cycles=len(seconds),
        cycle_seconds=seconds,
    )


def recall(
    truth: Sequence[dict[str, Any]],
    fired: Sequence[dict[str, Any]],
    replayed: tuple[datetime, datetime] | None = None,
    path: Path = MAPPING_PATH,
) -> list[dict[str, Any]]:
    """One row per incident: whether an alert of the right domain and labels fired in time, and which.

    With `replayed` (the first and last evaluation of a replay), only the incidents the replay could detect
    count: those whose detection window (start to end + grace) reaches into it. The simulator repeats its
    incidents over the whole account, most of them before a replay of the last days."""
    rules, grace = load_rules(path)
    if replayed:
        first, last = replayed
        truth = [i for i in truth if _naive(i["end_time"]) + grace >= first and _naive(i["start_time"]) <= last]
    rows = []
    for incident in truth:
        rule = rules.get(incident["incident_type"])
        if rule is None:
            rows.append({**_incident(incident), "detected": False, "alerts": [], "note": "no rule in incidents.yml"})
            continue
        start, end = _naive(incident["start_time"]), _naive(incident["end_time"])
        hits = sorted(
            {
                event["alert_id"]
                for event in fired
                if event["domain"] in rule.domains
                and start - timedelta(days=1) <= _naive(event["evaluated_at"]) <= end + grace
                and all(
                    str(event["labels"].get(label)) == str(incident[field_name])
                    for field_name, label in rule.labels.items()
                )
            }
        )
        rows.append({**_incident(incident), "detected": bool(hits), "alerts": hits, "note": ""})
    return rows


def noise(fired: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Distinct instances that fired, by severity (for the account without incidents)."""
    first: dict[str, dict[str, Any]] = {}
    for event in fired:
        first.setdefault(event["fingerprint"], event)
    by_severity: dict[str, list[dict[str, Any]]] = {"critical": [], "warning": [], "info": []}
    for event in first.values():
        by_severity.setdefault(event["severity"], []).append(
            {
                "alert_id": event["alert_id"],
                "labels": event["labels"],
                "summary": event["summary"],
                "first_fired": str(event["evaluated_at"]),
            }  # fmt: skip
        )
    return by_severity


def _incident(incident: dict[str, Any]) -> dict[str, Any]:
    return {
        "incident_type": incident["incident_type"],
        "workspace_id": str(incident["workspace_id"]),
        "entity_id": str(incident["entity_id"]),
        "start": str(_naive(incident["start_time"])),
    }


def _naive(value: Any) -> datetime:
    return store_module._naive(value)


# ------------------------------------------------------------------------------------------ the command


def score_seed(
    config: Config, seed: int, incidents: bool, days: int, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Simulate and build the default account for `seed`, replay the `days` days before the simulation's end,
    score the replay."""
    import pyarrow.parquet as pq

    from hm_utils import layers, simulation, sources
    from hm_utils.spark import get_spark

    spark = get_spark(config)
    layers.drop_layer_schemas(spark, config)
    options = simulation.options_from_config(config, seed=seed, incidents=incidents)
    simulation.run_simulation(config, options, spark=spark)
    progress(f"seed {seed}, incidents {'on' if incidents else 'off'}: simulated; building the layers")
    layers.build_layers(spark, config, f"score-{seed}")
    # the last cycle runs at the simulation's end instant (simulation.end, or clock.hour when unset): the
    # account holds nothing later, and an end in the past would otherwise leave the replay over empty days
    start, end = options.end - timedelta(days=days), options.end
    result = replay(config, evaluation.spark_runner(spark, config), start, end, progress=progress)
    truth_path = sources.simulated_folder(config) / "_ground_truth" / "incidents"
    truth = pq.read_table(truth_path).to_pylist() if incidents else []
    return {
        "seed": seed,
        "incidents": incidents,
        "cycles": result.cycles,
        "cycle_seconds_median": sorted(result.cycle_seconds)[len(result.cycle_seconds) // 2]
        if result.cycle_seconds
        else 0,
        "recall": recall(truth, result.fired, (start, end)),
        "fired": noise(result.fired),
    }


def recall_table(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Incident type → detected/total per seed and the alerts that detected it."""
    table: dict[str, dict[str, Any]] = {}
    for result in results:
        for row in result["recall"]:
            entry = table.setdefault(row["incident_type"], {"incident_type": row["incident_type"], "alerts": set()})
            seed_key = f"seed {result['seed']}"
            hit, total = entry.get(seed_key, (0, 0))
            entry[seed_key] = (hit + int(row["detected"]), total + 1)
            entry["alerts"].update(row["alerts"])
    return [{**entry, "alerts": sorted(entry["alerts"])} for _, entry in sorted(table.items())]


def format_report(results: Sequence[dict[str, Any]]) -> str:
    """The recall table and the precision counts as text (markdown tables)."""
    with_incidents = [r for r in results if r["incidents"]]
    without = [r for r in results if not r["incidents"]]
    seeds = [f"seed {r['seed']}" for r in with_incidents]
    lines = ["Recall: incidents detected by an alert of the right domain and labels", ""]
    lines.append("| incident type | " + " | ".join(seeds) + " | alerts that fired for it |")
    lines.append("|---|" + "---|" * len(seeds) + "---|")
    for row in recall_table(with_incidents):
        cells = [f"{row[s][0]}/{row[s][1]}" if s in row else "-" for s in seeds]
        lines.append(f"| {row['incident_type']} | " + " | ".join(cells) + f" | {', '.join(row['alerts'])} |")
    lines += ["", "Precision: alert instances that fired on the account without incidents", ""]
    lines.append("| seed | critical | warning | info |")
    lines.append("|---|---|---|---|")
    for result in without:
        fired = result["fired"]
        lines.append(
            f"| {result['seed']} | {len(fired['critical'])} | {len(fired['warning'])} | {len(fired['info'])} |"
        )
    for result in without:
        for severity in ("critical", "warning", "info"):
            for item in result["fired"][severity]:
                lines.append(f"- seed {result['seed']} {severity} {item['alert_id']}: {item['summary']}")
    for result in with_incidents:
        missed = [row for row in result["recall"] if not row["detected"]]
        for row in missed:
            lines.append(
                f"- seed {result['seed']} MISSED {row['incident_type']} ({row['workspace_id']}, {row['entity_id']}) {row['note']}"
            )
    return "\n".join(lines)
