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
alerts_app = typer.Typer(
    help="Alerts: evaluate, list, history, silences, validate, deploy to Databricks, score.", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")
ml_app = typer.Typer(help="Models: train, score, serve (src/hm_utils/ml/models/*.yml).", no_args_is_help=True)
app.add_typer(ml_app, name="ml")

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
    job: Annotated[
        str | None, typer.Option("--job", help="Run this job of the run plan (default: the first, the main job).")
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for another run of this engine home to finish.")
    ] = 0,
) -> None:
    """Run the steps of a job of the run plan (params/run_plan.yml) through papermill, one run at a time per
    engine home (another run waits --wait seconds, else stops with exit code 75 and the running one named)."""
    from hm_utils import runner, sources

    extra = sources.parse_source_option(source) if source else None
    config = _config(env, set_, extra)
    command = " ".join(["hm", *sys.argv[1:]])
    result = runner.run_plan(config, only=only, from_step=from_step, job=job, wait_seconds=wait, command=command)
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
    end: Annotated[
        str | None, typer.Option(help="Last day, YYYY-MM-DD (default: the latest complete day in the data).")
    ] = None,
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
    given = {"workspaces": workspaces, "days": days, "end": end, "seed": seed, "scale": scale}
    given |= {"defects": defects, "incidents": incidents}
    options_set = {f"simulation.{name}": value for name, value in given.items() if value is not None}
    config = _config(env, [*(set_ or []), *(f"{key}={value}" for key, value in options_set.items())])
    options = simulation.options_from_config(config)
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
    gold_totals: Annotated[
        bool,
        typer.Option(
            "--gold-totals",
            help="Instead: rows and decimal totals (costs) of every gold table already built for --env, as JSON;"
            " two checkouts' outputs are equal when a change keeps what the kit computes.",
        ),
    ] = False,
    two_days: Annotated[
        bool,
        typer.Option(
            "--two-days", help="Instead: check that two consecutive daily builds give the gold of one build over both."
        ),
    ] = False,
    alerts: Annotated[
        bool,
        typer.Option(
            "--alerts",
            help="Instead: evaluation cycles of every alert on 90 days of WORKSPACES (warm: the later half).",
        ),
    ] = False,
    ml: Annotated[
        bool,
        typer.Option(
            "--ml",
            help="Instead: train all models on the built local account, score, serve the failure predictor and "
            "evaluate the champions on accounts of other seeds (--seed).",
        ),
    ] = False,
    seed: Annotated[list[int] | None, typer.Option(help="With --ml: another seed to evaluate on (repeatable).")] = None,
    env: EnvOption = None,
    set_: SetOption = None,
) -> None:
    """Simulate one working day at SCALE and time it through every pipeline step (rows, seconds, memory)."""
    from hm_utils import benchmark

    if gold_totals:
        typer.echo(json.dumps(benchmark.gold_totals(_config(env, set_)), indent=2, sort_keys=True, default=str))
        return
    if ml:
        from hm_utils.ml import bench as ml_bench

        figures = ml_bench.run_ml_benchmark(
            _config(env, set_), list(seed or []), progress=lambda m: typer.echo(m, err=True)
        )
        typer.echo(json.dumps(figures, indent=2, default=str))
        return
    if two_days:
        from hm_utils import consecutive_days
        from hm_utils.spark import get_spark

        config = _config(env, set_)
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


@ml_app.command("train")
def ml_train(
    env: EnvOption = None,
    set_: SetOption = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Only this model (repeatable).")] = None,
) -> None:
    """Build the feature tables from gold, train, evaluate against the baselines and register the models."""
    from hm_utils.ml import training
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    results = training.run_training(get_spark(config), config, model)
    typer.echo(training.summary(results).to_string(index=False))


@ml_app.command("score")
def ml_score(env: EnvOption = None, set_: SetOption = None) -> None:
    """Score every champion into the prediction tables of the ML schema."""
    from hm_utils.ml import scoring
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    for result in scoring.score_and_write(get_spark(config), config):
        typer.echo(f"{result.model} v{result.version} -> {result.table}: {result.rows} rows ({result.seconds} s)")


@ml_app.command("serve")
def ml_serve(
    model: Annotated[str, typer.Argument(help="Model name, e.g. job_failure_predictor.")],
    env: EnvOption = None,
    set_: SetOption = None,
    port: Annotated[int | None, typer.Option(help="Port (default: ml.serve_port).")] = None,
) -> None:
    """Run MLflow's model server for the model's champion (POST /invocations; Ctrl-C stops it)."""
    import subprocess

    from hm_utils.ml import catalog, serving, tracking

    config = _config(env, set_)
    catalog.get_model(model)
    tracking.load_champion(config, model)
    command = serving.server_command(config, model, port or int(config.get("ml.serve_port", 5055)))
    typer.echo(" ".join(command), err=True)
    raise typer.Exit(subprocess.call(command, env=serving.server_environment(config)))


@ml_app.command("ui")
def ml_ui(env: EnvOption = None, set_: SetOption = None, port: int = 5000) -> None:
    """Browse runs, registered versions and aliases in the MLflow UI (local tracking store)."""
    import subprocess

    from hm_utils.ml import tracking

    config = _config(env, set_)
    uri = tracking.tracking_uri(config)
    raise typer.Exit(
        subprocess.call([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--port", str(port)])
    )


@app.command()
def lab(
    env: EnvOption = None,
    set_: SetOption = None,
    port: Annotated[
        int | None, typer.Option(help="Port of JupyterLab (default: Jupyter's, 8888 or the next free).")
    ] = None,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open a browser tab.")] = True,
) -> None:
    """Open JupyterLab on the project with the starter notebook; its kernels use this environment and engine."""
    from hm_utils import lab as lab_module

    raise typer.Exit(lab_module.open_lab(_config(env, set_), port, browser))


@app.command()
def doctor(env: EnvOption = None, set_: SetOption = None) -> None:
    """Check the environment: locally Python, the Java the engine will run (17+) and pyspark; for a Databricks
    environment what a remote run needs (databricks-connect, credentials, compute, read access to the system tables)."""
    import platform

    config = _config(env, set_)
    line = f"python {platform.python_version()} · env {config.env} · target {config.target}"
    if config.is_local:
        import pyspark

        from hm_utils.engine import check_java

        major, java = check_java()
        typer.echo(f"{line} · java {major} ({java}) · pyspark {pyspark.__version__} · engine home {config.home}")
        return
    typer.echo(line)
    from hm_utils import doctor as checks

    found = checks.remote_checks(config)
    if all(check.ok for check in found):
        from hm_utils.spark import get_spark

        found += checks.system_table_checks(get_spark(config), config)
    else:
        found.append(checks.Check("system tables", False, "not checked: no connection", "fix the items above first"))
    for line in checks.format_checks(found):
        typer.echo(line)
    if not all(check.ok for check in found):
        raise typer.Exit(1)


TargetOption = Annotated[str, typer.Option("--target", "-t", help="Bundle target = environment: dev or prod.")]


@app.command()
def deploy(
    target: TargetOption = "dev",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the jobs, tasks and schedules; change nothing.")
    ] = False,
    generate: Annotated[
        bool, typer.Option("--generate", help="Only write databricks.yml and resources/ from the run plan and params.")
    ] = False,
) -> None:
    """Deploy the Databricks bundle (the run plan's jobs, same notebooks) with `databricks bundle deploy`."""
    from hm_utils import bundle
    from hm_utils.config import project_root
    from hm_utils.errors import ConfigError

    root = project_root()
    generated = bundle.generate(root)
    documents = generated.documents()
    if target not in documents["databricks.yml"]["targets"]:
        raise ConfigError(
            f"no bundle target '{target}'",
            where="--target",
            fix=f"use one of {list(documents['databricks.yml']['targets'])} (environments with target: databricks)",
        )
    problems = bundle.validate(root, documents)
    if problems:
        raise ConfigError("the generated bundle is invalid:\n  " + "\n  ".join(problems), where=str(root))
    if dry_run:
        for line in bundle.describe(documents, target):
            typer.echo(line)
        stale = generated.stale(root)
        if stale:
            typer.echo(f"not yet written (`hm deploy --generate`): {', '.join(stale)}")
        return
    for path in generated.write(root):
        typer.echo(f"wrote {path}")
    if not generate:
        bundle.check_deployable(documents, target)
        bundle.deploy(root, target, progress=typer.echo)


schedule_app = typer.Typer(
    help="Local scheduled runs of the run plan's jobs (crontab or systemd timers).", invoke_without_command=True
)
app.add_typer(schedule_app, name="schedule")


@schedule_app.callback()
def schedule_lines(
    ctx: typer.Context,
    env: EnvOption = None,
    set_: SetOption = None,
    install: Annotated[bool, typer.Option("--install", help="Write them (user crontab, or systemd units).")] = False,
    systemd: Annotated[bool, typer.Option("--systemd", help="systemd user timers instead of crontab lines.")] = False,
) -> None:
    """Print the crontab lines (or systemd timers) that run each job of the run plan on its schedule."""
    if ctx.invoked_subcommand is not None:
        return
    from hm_utils import schedule

    items = schedule.schedules(_config(env, set_))
    if install:
        where = schedule.install_systemd(items) if systemd else schedule.install_crontab(items)
        typer.echo(f"installed {len(items)} schedule(s) in {where}")
        return
    if systemd:
        for item in items:
            for name, text in schedule.systemd_units(item).items():
                typer.echo(f"# {schedule.SYSTEMD_FOLDER}/{name}\n{text}")
    else:
        typer.echo(schedule.crontab_text(items), nl=False)
    note = schedule.time_zone_note(items)
    if note:
        typer.echo(f"note: {note}", err=True)


@schedule_app.command("run")
def schedule_run(
    job: Annotated[str, typer.Argument(help="The job of the run plan to run.")],
    env: EnvOption = None,
    set_: SetOption = None,
) -> None:
    """What a scheduled line runs: `hm run --job JOB`, its output kept in a log, recorded in the run log."""
    from hm_utils import schedule

    record = schedule.run_job(_config(env, set_), job)
    typer.echo(f"job {record.job}: exit {record.exit_status} after {record.seconds} s · log {record.log}")
    raise typer.Exit(record.exit_status)


@schedule_app.command("log")
def schedule_log(
    env: EnvOption = None,
    set_: SetOption = None,
    last: Annotated[int, typer.Option(help="Show this many runs.")] = 10,
) -> None:
    """The last scheduled runs: job, start, duration, exit status and log file."""
    from hm_utils import schedule

    for record in schedule.read_run_log(_config(env, set_), last):
        typer.echo(
            f"{record.started} {record.job:<12} exit {record.exit_status:<3} {record.seconds:>8} s  {record.log}"
        )


@app.command()
def grants(
    target: TargetOption = "prod",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the SQL; run nothing.")] = False,
    set_: SetOption = None,
) -> None:
    """Unity Catalog grants for readers, analysts and the kit's service principal, and masks of personal data."""
    from hm_utils import grants as access

    config = _config(target, set_)
    sections = access.grant_sections(config)
    if dry_run:
        typer.echo(access.render(sections), nl=False)
        return
    from hm_utils.spark import get_spark

    count = access.apply(get_spark(config), config, sections, progress=typer.echo)
    typer.echo(f"{count} statements run on {config.catalog}")


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
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for a run (or another evaluation) of this home to end.")
    ] = 0,
) -> None:
    """Evaluate the due alerts, record state and history, and deliver notifications (under the run lock)."""
    from hm_utils.alerts import operations
    from hm_utils.spark import get_spark

    config = _config(env, set_)
    report = operations.evaluate_step(get_spark(config), config, at, deliver=deliver, force=force, wait_seconds=wait)
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
    days: Annotated[
        int, typer.Option(help="Days replayed before the simulation's end (one evaluation a day at its hour).")
    ] = 14,
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
