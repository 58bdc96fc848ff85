"""The `hm` command line: run the plan, query the engine, manage the local engine, simulate, bench."""

from __future__ import annotations

import json
import logging
import sys
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
    end: Annotated[
        str | None,
        typer.Option(
            help="The account's now, 'YYYY-MM-DD HH:MM' UTC (default: clock.now); tables lag it by their latency."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: same seed and options, same data.")] = None,
    scale: Annotated[float | None, typer.Option(help="Volume; 1.0 = one day of a large account.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write an export folder <out>/<schema>/<table>/ instead.")] = None,
    format_: Annotated[str, typer.Option("--format", help="Export file format (parquet).")] = "parquet",
    defects: Annotated[bool | None, typer.Option("--defects/--no-defects", help="Inject data defects.")] = None,
    incidents: Annotated[bool | None, typer.Option("--incidents/--no-incidents", help="Inject incidents.")] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Then print the cost mix, job spread and event frequencies.")
    ] = False,
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
        end=end,
        seed=seed,
        scale=scale,
        defects=defects,
        incidents=incidents,
    )
    run = simulation.run_simulation(config, options, out)
    appended = f" (appended after {run.appended_after})" if run.appended_after else ""
    typer.echo(f"wrote {sum(run.rows.values()):,} rows in {run.seconds:.1f} s to {run.folder}{appended}")
    for table, rows in sorted(run.rows.items()):
        typer.echo(f"  {table:<56} {rows:>12,}")
    if summary:
        from hm_utils.simulator.summary import format_summary

        typer.echo(format_summary(run.folder))


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
    two_days: Annotated[
        bool,
        typer.Option(
            "--two-days", help="Instead: check that two consecutive daily builds give the gold of one build over both."
        ),
    ] = False,
    set_: SetOption = None,
) -> None:
    """Simulate one working day at SCALE and time it through every pipeline step (rows, seconds, memory)."""
    from hm_utils import benchmark

    if two_days:
        from hm_utils import consecutive_days
        from hm_utils.spark import get_spark

        config = _config(None, set_)
        check = consecutive_days.run_two_day_check(
            get_spark(config),
            config,
            consecutive_days.small_account(config),
            config.home / "two_days",
            progress=lambda m: typer.echo(m, err=True),
        )
        typer.echo(json.dumps(check.as_dict(), indent=2) if as_json else consecutive_days.format_check(check))
        if not check.identical:
            raise typer.Exit(1)
        return
    if engine:
        typer.echo(json.dumps(benchmark.measure_engine_startup(), indent=2))
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


monitor_app = typer.Typer(help="Data profiling monitors, freshness and completeness.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("run")
def monitor_run(
    env: EnvOption = None,
    set_: SetOption = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only this monitor (repeatable).")] = None,
    databricks: Annotated[
        bool, typer.Option("--databricks", help="Instead: create the monitors in the workspace (quality_monitors API).")
    ] = False,
) -> None:
    """Profile and drift of every declared monitor (only windows with new data), then freshness and completeness."""
    import time

    from hm_utils import monitoring
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    if databricks:
        from databricks.sdk import WorkspaceClient

        from hm_utils.monitoring import databricks as databricks_monitors

        created = databricks_monitors.create_monitors(WorkspaceClient(), config)
        typer.echo(f"created {len(created)} monitors: {', '.join(created)}")
        return
    spark = get_spark(config)
    started = time.perf_counter()
    report = monitoring.run_monitors(spark, config, "cli", only) if only else monitoring.run_step(spark, config, "cli")
    typer.echo(report.frame().to_string(index=False))
    typer.echo(f"{report.summary()} in {time.perf_counter() - started:.1f} s")


@monitor_app.command("score")
def monitor_score(env: EnvOption = None, set_: SetOption = None) -> None:
    """Which output flagged each injected table defect, and critical flags no defect explains (simulated source)."""
    from hm_utils.monitoring import evaluation
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    defects, unexplained = evaluation.score(get_spark(config), config)
    typer.echo(defects.to_string(index=False) if len(defects) else "no table defects in the ground truth")
    typer.echo(f"\nflags no defect explains ({len(unexplained)}):")
    typer.echo(unexplained.to_string(index=False) if len(unexplained) else "  none")
