"""What `hm alerts` and the alerts step do: evaluate, list, history, silences (create, list, expire)."""

from __future__ import annotations

import contextlib
import getpass
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hm_utils import clock, locking
from hm_utils.alerts import evaluation
from hm_utils.alerts import store as store_module
from hm_utils.alerts.definitions import AlertDefinitionError, load_definitions, parse_duration
from hm_utils.alerts.lifecycle import Silence
from hm_utils.config import Config

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession


def evaluate_step(
    spark: SparkSession,
    config: Config,
    at: str | None = None,
    *,
    deliver: bool = True,
    force: bool = False,
    wait_seconds: float = 0,
) -> evaluation.CycleReport:
    """Pipeline entry point (the alerts notebook and `hm alerts eval`): one cycle on the ops store.

    The whole cycle (state read, state and history written, notifications delivered and recorded) runs
    under the engine home's run lock, so two evaluations never interleave and none writes beside a run
    (inside `hm run` the step writes under the run's own hold; elsewhere it waits `wait_seconds`). The lock
    does not reach Databricks: there every evaluation is a run of the alerts job, whose runs queue one at a
    time (the pipeline's alerts step triggers it: `databricks_run_job` in the run plan).
    Evaluation errors are reported after the cycle is committed and delivered, as one error naming each
    file and field, so one broken alert never holds up the others."""
    exclusive = locking.writing(config, wait_seconds) if config.is_local else contextlib.nullcontext()
    with exclusive:
        report = evaluation.run_cycle(
            config,
            store_module.SparkStore(spark, config),
            evaluation.spark_runner(spark, config),
            at,
            deliver=deliver,
            force=force,
        )
    if report.errors:
        raise AlertDefinitionError(
            f"{len(report.errors)} alert(s) could not be evaluated (the others were):\n  "
            + "\n  ".join(report.errors.values()),
            where="src/hm_utils/alerts",
            fix="fix the fields named above, check with `hm alerts validate`, then `hm alerts eval`",
        )
    return report


def definitions_frame() -> pd.DataFrame:
    """Every alert: id, domain, severity, schedule, team and name, sorted."""
    import pandas as pd

    rows = [
        {
            "alert_id": d.id,
            "domain": d.domain,
            "severity": d.severity,
            "every": d.schedule.quartz(),
            "team": d.route.team,
            "name": d.name,
        }  # fmt: skip
        for d in load_definitions()
    ]
    return pd.DataFrame(rows).sort_values(["domain", "alert_id"], ignore_index=True)


def state_frame(spark: SparkSession, config: Config, all_states: bool = False) -> pd.DataFrame:
    """Live alert instances (firing first), or with `all_states` pending and resolved ones too."""
    import pandas as pd

    rows = [r for r in store_module.SparkStore(spark, config).snapshot().instances if all_states or r.state == "firing"]
    order = {"critical": 0, "warning": 1, "info": 2}
    frame = pd.DataFrame(
        [
            {
                "state": i.state,
                "severity": i.severity,
                "domain": i.domain,
                "alert_id": i.alert_id,
                "summary": i.summary,
                "since": i.fired_at or i.active_since,
                "muted": "silenced" if i.silenced_by else ("inhibited" if i.inhibited_by else ""),
            }  # fmt: skip
            for i in sorted(rows, key=lambda i: (i.state != "firing", order.get(i.severity, 3), i.domain, i.alert_id))
        ],
        columns=["state", "severity", "domain", "alert_id", "summary", "since", "muted"],
    )
    return frame


def history_frame(spark: SparkSession, config: Config, days: int = 7, alert: str | None = None) -> pd.DataFrame:
    """State changes of the last `days` days, newest first (through get_alert_history)."""
    from hm_utils import semantic

    today = clock.today(config)
    return semantic.call(
        "get_alert_history", spark=spark, config=config, start_date=today - timedelta(days=days), end_date=today,
        alert_filter=alert,
    )  # fmt: skip


def parse_matchers(items: Sequence[str]) -> dict[str, str]:
    """`["workspace_id=123", "alert_id=~cost_.*"]` → {"workspace_id": "123", "alert_id": "~cost_.*"}."""
    matchers = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value:
            raise AlertDefinitionError(
                f"matcher '{item}' is not label=value",
                where="--match",
                fix="write --match workspace_id=123 (or label=~regex)",
            )
        matchers[key.strip()] = value.strip()
    if not matchers:
        raise AlertDefinitionError(
            "a silence needs at least one matcher", where="--match", fix="add --match label=value"
        )
    return matchers


def create_silence(
    spark: SparkSession, config: Config, matchers: Sequence[str], duration: str, comment: str, author: str | None = None
) -> Silence:
    """A new silence from now for `duration` (e.g. 2h), recorded in ops.alert_silences."""
    if not comment.strip():
        raise AlertDefinitionError(
            "a silence needs a comment", where="--comment", fix="say why, e.g. --comment 'planned backfill'"
        )
    now = evaluation.evaluation_time(config)
    silence = Silence(
        silence_id=secrets.token_hex(4),
        matchers=parse_matchers(matchers),
        starts_at=now,
        ends_at=now + parse_duration(duration, "--for"),
        comment=comment.strip(),
        created_by=author or getpass.getuser(),
    )
    store_module.SparkStore(spark, config).write_silence(store_module.silence_row(silence, now))
    return silence


def expire_silence(spark: SparkSession, config: Config, silence_id: str) -> None:
    """End a silence now."""
    store = store_module.SparkStore(spark, config)
    rows = [row for row in store.silence_rows() if row["silence_id"] == silence_id]
    if not rows:
        raise AlertDefinitionError(
            f"no silence '{silence_id}'", where="hm alerts silence --expire", fix="see `hm alerts silences`"
        )
    store.write_silence({**rows[0], "expired_at": evaluation.evaluation_time(config)})


def silences_frame(spark: SparkSession, config: Config) -> pd.DataFrame:
    """Every silence with its status (active, pending, expired), active first."""
    import pandas as pd

    now = evaluation.evaluation_time(config)
    rows = []
    for row in store_module.SparkStore(spark, config).silence_rows():
        silence = store_module.silence_from_row(row)
        status = "active" if silence.active(now) else ("pending" if silence.starts_at > now else "expired")
        rows.append({"silence_id": silence.silence_id, "status": status,
                     "matchers": ", ".join(f"{k}={v}" for k, v in silence.matchers.items()),
                     "ends_at": min(silence.ends_at, silence.expired_at or datetime.max), "created_by": silence.created_by,
                     "comment": silence.comment})  # fmt: skip
    columns = ["silence_id", "status", "matchers", "ends_at", "created_by", "comment"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["status", "ends_at"], ignore_index=True) if not frame.empty else frame
