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
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for another run of this engine home to finish.")
    ] = 0,
) -> None:
    """Run the steps of the run plan (params/run_plan.yml) through papermill, one run at a time per engine home
    (another run waits --wait seconds, else stops with exit code 75 and the running one named)."""
    from hm_utils import runner, sources

    extra = sources.parse_source_option(source) if source else None
    config = _config(env, set_, extra)
    command = " ".join(["hm", *sys.argv[1:]])
    result = runner.run_plan(config, only=only, from_step=from_step, wait_seconds=wait, command=command)
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
    given = {"workspaces": workspaces, "days": days, "end_date": end_date, "seed": seed, "scale": scale}
    given |= {"defects": defects, "incidents": incidents}
    options_set = {f"simulation.{name}": value for name, value in given.items() if value is not None}
    config = _config(env, [*(set_ or []), *(f"{key}={value}" for key, value in options_set.items())])
    options = simulation.options_from_config(config)
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
    set_: SetOption = None,
) -> None:
    """Simulate one working day at SCALE and time it through every pipeline step (rows, seconds, memory)."""
    from hm_utils import benchmark

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
    """Check the environment: Python, the Java the engine will run (17+), pyspark, config files."""
    import platform

    from hm_utils.engine import check_java

    config = _config(env, set_)
    line = f"python {platform.python_version()} · env {config.env} · target {config.target}"
    if config.is_local:
        import pyspark

        major, java = check_java()
        line += f" · java {major} ({java}) · pyspark {pyspark.__version__} · engine home {config.home}"
    typer.echo(line)


@spark_app.command("up")
def spark_up(env: EnvOption = None, set_: SetOption = None) -> None:
    """Start the local engine (no-op when it runs)."""
    from hm_utils.engine import LocalEngine

    typer.echo(LocalEngine(_config(env, set_)).ensure_running().describe())


@spark_app.command("down")
def spark_down(env: EnvOption = None, set_: SetOption = None) -> None:
    """Stop the local engine of this engine home (only a process verified to be it is signalled)."""
    from hm_utils.engine import LocalEngine

    stopped = LocalEngine(_config(env, set_)).stop()
    typer.echo("stopped" if stopped else "not running")


@spark_app.command("prepare")
def spark_prepare(env: EnvOption = None, set_: SetOption = None) -> None:
    """Record the engine's class archive once per installation (make setup runs it): later engines
    start in about half the time."""
    from hm_utils.engine import record_class_archive

    record_class_archive(_config(env, set_), progress=typer.echo)


@spark_app.command("status")
def spark_status(env: EnvOption = None, set_: SetOption = None) -> None:
    """Show whether the local engine runs, its address and log."""
    from hm_utils.engine import LocalEngine

    typer.echo(LocalEngine(_config(env, set_)).status().describe())


def main() -> None:
    """Console entry point: user errors are printed as what/where/what-to-do, without a traceback."""
    from hm_utils import errors

    for spark_logger in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(spark_logger).setLevel(logging.CRITICAL)  # they would print the JVM stack
    try:
        app()
    except HealthMonitorError as error:
        typer.secho(f"error: {error.render()}", fg=typer.colors.RED, err=True)
        sys.exit(error.exit_code)
    except Exception as error:  # Spark's own errors: print the message, not the JVM stack trace
        if not type(error).__module__.startswith("pyspark"):
            raise
        if errors.is_connection_loss(str(error)):
            error = errors.EngineError(
                "lost the connection to the local Spark engine",
                where="the engine of this checkout (`hm spark status` shows it)",
                fix="`hm spark status`; read the engine log it names; start it again with `hm spark up`",
            )
            typer.secho(f"error: {error.render()}", fg=typer.colors.RED, err=True)
        else:
            typer.secho(f"error: {errors.spark_summary(str(error))}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
