"""The `hm` command line: run the plan, query the engine, manage the local engine, simulate, bench."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hm_utils import config as config_module
from hm_utils.errors import HealthMonitorError

app = typer.Typer(
    help="Databricks Health Monitor: system tables → bronze → silver → gold → semantic layer → reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
spark_app = typer.Typer(help="Manage the local Spark engine (a background Spark Connect server).", no_args_is_help=True)
app.add_typer(spark_app, name="spark")
alerts_app = typer.Typer(
    help="Alerts: evaluate, list, history, silences, validate, deploy to Databricks, score.", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")

EnvOption = Annotated[
    str | None, typer.Option("--env", "-e", help="Environment: local, dev, prod or ci (params/<env>.yml).")
]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", "-s", help="Override a parameter: section.key=value (repeatable).")
]


def _config(env: str | None, overrides: list[str] | None, extra: dict | None = None):
    parsed = config_module.parse_overrides(overrides)
    return config_module.load(env, {**parsed, **(extra or {})})


@app.command()
def run(
    env: EnvOption = None,
    set_: SetOption = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only this step (repeatable).")] = None,
    from_step: Annotated[str | None, typer.Option("--from", help="Run from this step to the end.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="simulated, system, or parquet:DIR (a <schema>/<table>/ export).")
    ] = None,
) -> None:
    """Run the steps of the run plan (params/run_plan.yml) through papermill."""
    from hm_utils import runner, sources

    extra = sources.parse_source_option(source) if source else None
    config = _config(env, set_, extra)
    result = runner.run_plan(config, only=only, from_step=from_step)
    total = sum(step.seconds for step in result.steps)
    typer.echo(f"done in {total:.1f} s · executed notebooks in {result.folder}")
    _echo_published(result.folder / "reports")


def _echo_published(folder: Path) -> None:
    """The front page and the five headline numbers of a publish (nothing when the reports did not run)."""
    from hm_utils import headline
    from hm_utils.reports import PublishResult

    published = PublishResult.read(folder)
    if published is None:
        return
    typer.echo(f"health report: {published.front_page}")
    for line in headline.format_lines(published.headlines):
        typer.echo(f"  {line}")


@app.command()
def report(
    env: EnvOption = None,
    set_: SetOption = None,
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: reports.period_days before --end).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: the last complete day).")] = None,
    workspace: Annotated[list[str] | None, typer.Option(help="Only this workspace id (repeatable).")] = None,
    renderer: Annotated[
        str, typer.Option(help="auto (quarto when on PATH, else nbconvert), quarto or nbconvert.")
    ] = "auto",
) -> None:
    """Re-render the health report site from what is already built (runs only the report notebooks)."""
    from hm_utils import reports, runner

    config = _config(env, set_)
    result = reports.publish(config, runner.new_run_id(), start or "", end or "", workspace or (), renderer=renderer)
    _echo_published(Path(result.folder))


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SQL query to run on the configured engine.")],
    env: EnvOption = None,
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records instead of CSV.")] = False,
    limit: Annotated[int, typer.Option(help="Print at most this many rows.")] = 10_000,
) -> None:
    """Run a query against the configured engine and print the result (CSV by default)."""
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    frame = get_spark(config).sql(query).limit(limit).toPandas()
    if as_json:
        typer.echo(frame.to_json(orient="records", date_format="iso", default_handler=str))
    else:
        typer.echo(frame.to_csv(index=False), nl=False)


@app.command()
def simulate(
    env: EnvOption = None,
    set_: SetOption = None,
    workspaces: Annotated[int | None, typer.Option(help="Number of workspaces.")] = None,
    days: Annotated[int | None, typer.Option(help="Days of history.")] = None,
    end_date: Annotated[
        str | None, typer.Option(help="Last simulated day, YYYY-MM-DD (default: yesterday UTC).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: same seed and options, same data.")] = None,
    scale: Annotated[float | None, typer.Option(help="Volume; 1.0 = one day of a large account.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write an export folder <out>/<schema>/<table>/ instead.")] = None,
    format_: Annotated[str, typer.Option("--format", help="Export file format (parquet).")] = "parquet",
    defects: Annotated[bool | None, typer.Option("--defects/--no-defects", help="Inject data defects.")] = None,
    incidents: Annotated[bool | None, typer.Option("--incidents/--no-incidents", help="Inject incidents.")] = None,
) -> None:
    """Simulate a Databricks account's system tables (exact real schemas, labelled incidents)."""
    from hm_utils import simulation

    if format_ != "parquet":
        raise HealthMonitorError(f"unsupported format '{format_}'", where="--format", fix="use --format parquet")
    config = _config(env, set_)
    options = simulation.options_from_config(
        config,
        workspaces=workspaces,
        days=days,
        end_date=date.fromisoformat(end_date) if end_date else None,
        seed=seed,
        scale=scale,
        defects=defects,
        incidents=incidents,
    )
    summary = simulation.run_simulation(config, options, out)
    typer.echo(f"wrote {sum(summary.rows.values()):,} rows in {summary.seconds:.1f} s to {summary.folder}")
    for table, rows in sorted(summary.rows.items()):
        typer.echo(f"  {table:<56} {rows:>12,}")


@app.command()
def bench(
    scale: Annotated[float, typer.Option(help="Volume of the simulated day; 1.0 = a large account.")] = 1.0,
    workspaces: Annotated[int, typer.Option(help="Number of workspaces.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    engine: Annotated[
        bool, typer.Option("--engine", help="Instead: compare engine start-up (new JVM vs Spark Connect client).")
    ] = False,
    latency: Annotated[
        bool, typer.Option("--latency", help="Instead: p50/p95 of every table function on 90 days of WORKSPACES.")
    ] = False,
    alerts: Annotated[
        bool, typer.Option("--alerts", help="Instead: one evaluation cycle of every alert on 90 days of WORKSPACES.")
    ] = False,
    set_: SetOption = None,
) -> None:
    """Simulate one working day at SCALE and time it through every pipeline step (rows, seconds, memory)."""
    from hm_utils import benchmark

    if engine:
        typer.echo(json.dumps(benchmark.measure_engine_startup(), indent=2))
        return
    if alerts:
        figures = benchmark.run_alerts_benchmark(
            workspaces=workspaces, overrides=set_, progress=lambda m: typer.echo(m, err=True)
        )
        typer.echo(json.dumps(figures, indent=2))
        return
    if latency:
        figures = benchmark.run_latency_benchmark(
            workspaces=workspaces, overrides=set_, progress=lambda m: typer.echo(m, err=True)
        )
        typer.echo(json.dumps(figures, indent=2))
        return

    figures = benchmark.run_benchmark(
        scale=scale, workspaces=workspaces, overrides=set_, progress=lambda m: typer.echo(m, err=True)
    )
    typer.echo(json.dumps(figures, indent=2) if as_json else benchmark.format_table(figures))


@app.command()
def doctor(env: EnvOption = None, set_: SetOption = None) -> None:
    """Check the environment: Python, Java 17+, pyspark, config files."""
    import platform

    from hm_utils.spark import check_java

    config = _config(env, set_)
    typer.echo(f"python {platform.python_version()} · java {check_java()} · env {config.env} · target {config.target}")
    if config.is_local:
        import pyspark

        typer.echo(f"pyspark {pyspark.__version__} · engine home {config.home}")


@spark_app.command("up")
def spark_up(env: EnvOption = None, set_: SetOption = None) -> None:
    """Start the local engine (no-op when it runs)."""
    from hm_utils.spark import LocalEngine

    status = LocalEngine(_config(env, set_)).ensure_running()
    typer.echo(f"running · pid {status.pid} · {status.url} · log {status.log}")


@spark_app.command("down")
def spark_down(env: EnvOption = None, set_: SetOption = None) -> None:
    """Stop the local engine."""
    from hm_utils.spark import LocalEngine

    stopped = LocalEngine(_config(env, set_)).stop()
    typer.echo("stopped" if stopped else "not running")


@spark_app.command("prepare")
def spark_prepare(env: EnvOption = None, set_: SetOption = None) -> None:
    """Record the engine's class archive once per installation (make setup runs it): later engines
    start in about half the time."""
    from hm_utils.spark import record_class_archive

    record_class_archive(_config(env, set_), progress=typer.echo)


@spark_app.command("status")
def spark_status(env: EnvOption = None, set_: SetOption = None) -> None:
    """Show whether the local engine runs, its address and log."""
    from hm_utils.spark import LocalEngine

    status = LocalEngine(_config(env, set_)).status()
    state = f"running · pid {status.pid}" if status.running else "stopped"
    typer.echo(f"{state} · {status.url} · home {status.home} · log {status.log}")


def _echo_frame(frame, as_json: bool = False) -> None:
    if as_json:
        typer.echo(frame.to_json(orient="records", date_format="iso", default_handler=str))
    elif frame.empty:
        typer.echo("(none)")
    else:
        typer.echo(frame.to_string(index=False, max_colwidth=90))


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON records.")]


@alerts_app.command("eval")
def alerts_eval(
    env: EnvOption = None,
    set_: SetOption = None,
    at: Annotated[
        str | None, typer.Option(help="Evaluation time, 'YYYY-MM-DD HH:MM' UTC (default: now, or clock.now).")
    ] = None,
    force: Annotated[bool, typer.Option("--all", help="Evaluate every alert, due by its schedule or not.")] = False,
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="Send the planned notifications now (else the next run).")
    ] = True,
) -> None:
    """Evaluate the due alerts, record state and history, and deliver notifications."""
    from hm_utils.alerts import operations
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    report = operations.evaluate_step(get_spark(config), config, at, deliver=deliver, force=force)
    typer.echo(report.summary())
    _echo_frame(report.firing_frame())


@alerts_app.command("list")
def alerts_list(
    env: EnvOption = None,
    set_: SetOption = None,
    definitions: Annotated[bool, typer.Option("--definitions", help="List the 56 alert definitions instead.")] = False,
    all_states: Annotated[bool, typer.Option("--all", help="Pending and resolved instances too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """What is firing now (from the last evaluation), or the alert definitions."""
    from hm_utils.alerts import operations

    if definitions:
        _echo_frame(operations.definitions_frame(), as_json)
        return
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    _echo_frame(operations.state_frame(get_spark(config), config, all_states), as_json)


@alerts_app.command("history")
def alerts_history(
    env: EnvOption = None,
    set_: SetOption = None,
    days: Annotated[int, typer.Option(help="Days back.")] = 7,
    alert: Annotated[str | None, typer.Option(help="Only alert ids containing this.")] = None,
    as_json: JsonOption = False,
) -> None:
    """State changes of alert instances (pending, firing, resolved, errors), newest first."""
    from hm_utils.alerts import operations
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    frame = operations.history_frame(get_spark(config), config, days, alert)
    _echo_frame(
        frame[["evaluated_at", "alert_id", "severity", "from_state", "to_state", "summary"]] if not as_json else frame,
        as_json,
    )


@alerts_app.command("silences")
def alerts_silences(env: EnvOption = None, set_: SetOption = None, as_json: JsonOption = False) -> None:
    """Every silence: active, pending or expired."""
    from hm_utils.alerts import operations
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    _echo_frame(operations.silences_frame(get_spark(config), config), as_json)


@alerts_app.command("silence")
def alerts_silence(
    env: EnvOption = None,
    set_: SetOption = None,
    match: Annotated[
        list[str] | None, typer.Option("--match", help="label=value or label=~regex (repeatable; all must match).")
    ] = None,
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 30m, 2h, 1d.")] = "2h",
    comment: Annotated[str, typer.Option(help="Why (required).")] = "",
    expire: Annotated[str | None, typer.Option(help="Instead: end the silence with this id now.")] = None,
) -> None:
    """Mute matching alert instances for a while (no notifications; they still show as firing)."""
    from hm_utils.alerts import operations
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    spark = get_spark(config)
    if expire:
        operations.expire_silence(spark, config, expire)
        typer.echo(f"silence {expire} expired")
        return
    silence = operations.create_silence(spark, config, match or [], for_, comment)
    typer.echo(f"silence {silence.silence_id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC: {silence.matchers}")


@alerts_app.command("validate")
def alerts_validate(env: EnvOption = None, set_: SetOption = None) -> None:
    """Load every alert file and analyse its query against the deployed semantic layer."""
    from hm_utils.alerts import evaluation
    from hm_utils.alerts.definitions import load_definitions
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    definitions = load_definitions()
    evaluation.validate_queries(get_spark(config), config, definitions)
    typer.echo(f"{len(definitions)} alerts valid")


@alerts_app.command("deploy")
def alerts_deploy(
    target: Annotated[str, typer.Option(help="Databricks environment: dev or prod (params/<target>.yml).")] = "dev",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the SQL Alerts v2 payloads; change nothing.")
    ] = False,
    warehouse_id: Annotated[
        str | None, typer.Option(help="SQL warehouse id (default: alerts.databricks.warehouse_id).")
    ] = None,
    set_: SetOption = None,
) -> None:
    """Create or update the alerts as Databricks SQL alerts (v2) in the target workspace."""
    from hm_utils.alerts import deploy as deploy_module

    if target not in ("dev", "prod"):
        raise HealthMonitorError(f"unknown target '{target}'", where="--target", fix="use dev or prod")
    config = _config(target, set_)
    if dry_run:
        payloads = deploy_module.alert_payloads(config, warehouse_id or "<warehouse_id>")
        for payload in payloads.values():
            deploy_module.sdk_alert(payload)
        typer.echo(json.dumps(payloads, indent=2))
        return
    result = deploy_module.deploy(config, warehouse_id, progress=typer.echo)
    typer.echo(f"{len(result.created)} created, {len(result.updated)} updated, {len(result.trashed)} trashed")


@alerts_app.command("score")
def alerts_score(
    seeds: Annotated[str, typer.Option(help="Comma-separated simulation seeds.")] = "42,7,11",
    days: Annotated[int, typer.Option(help="Days replayed (one evaluation a day at 06:00 UTC).")] = 14,
    env: EnvOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recall on the simulated incidents and alerts fired without incidents, per seed (rebuilds the account)."""
    from hm_utils.alerts import scoring

    config = _config(env, set_)
    results = []
    for seed in [int(part) for part in seeds.split(",") if part.strip()]:
        for incidents in (True, False):
            results.append(
                scoring.score_seed(config, seed, incidents, days, progress=lambda m: typer.echo(m, err=True))
            )
    typer.echo(json.dumps(results, indent=2, default=str) if as_json else scoring.format_report(results))


def main() -> None:
    """Console entry point: user errors are printed as what/where/what-to-do, without a traceback."""
    for spark_logger in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(spark_logger).setLevel(logging.CRITICAL)  # they would print the JVM stack
    try:
        app()
    except HealthMonitorError as error:
        typer.secho(f"error: {error.render()}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except Exception as error:  # Spark's own errors: print the message, not the JVM stack trace
        if type(error).__module__.startswith("pyspark"):
            typer.secho(f"error: {spark_error_message(error)}", fg=typer.colors.RED, err=True)
            sys.exit(2)
        raise


def spark_error_message(error: Exception) -> str:
    """The first part of a Spark error (error class and message), without the JVM stack trace."""
    text = str(error).split("JVM stacktrace:")[0].strip()
    lines = [line for line in text.splitlines() if line.strip()][:6]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
