"""`hm bench --ml`: training time of every model, batch scoring time, served single-record latency of the
job failure predictor, and the evaluation on the default account and on accounts simulated with other seeds.

The default account must be built (`hm run`). Each other seed is simulated and built through gold in its
own engine home (`<paths.home>/ml-seed-<seed>`), one engine at a time; the champions trained on the default
account are then evaluated on it (the forecasting models' methods are refit on that account's earlier days,
since a forecast belongs to its series). Every evaluation row goes to ml.model_evaluation of the default account.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from hm_utils import clock, layers, simulation
from hm_utils.config import Config
from hm_utils.ml import catalog, estimators, features, scoring, serving, tracking, training


def evaluate_champions(
    config: Config, built: dict[str, pd.DataFrame], incidents: pd.DataFrame | None, dataset: str
) -> pd.DataFrame:
    """Evaluation rows of every champion (of `config`'s registry) on feature tables it never saw."""
    results = []
    for name, spec in catalog.models().items():
        frame = built[spec.reads.removeprefix("ml.")]
        estimator, version = tracking.load_champion(config, name)
        if estimator.refit_per_account:
            table = catalog.feature_tables()[spec.reads.removeprefix("ml.")]
            train, test = estimators.split_by_time(frame, table.time, spec.holdout_days)
            method = estimators.make(catalog.configured(spec, config))
            estimator, test_rows, train_rows = method.fit(method.training_rows(train)), test, len(train)
        else:
            test_rows, train_rows = frame, 0
        scores = estimator.evaluate(test_rows, incidents)
        results.append(training.Evaluated(name, version, train_rows, len(test_rows), scores))
    return training.evaluation_rows(results, dataset, clock.now(config).replace(tzinfo=None))


def other_seed_features(config: Config, seed: int, progress) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """Simulate the account with `seed`, build it through gold in its own engine home, return its features."""
    from hm_utils.engine import LocalEngine
    from hm_utils.spark import get_spark

    seed_config = config.with_overrides(
        {"simulation.seed": seed, "paths.home": str(config.home / f"ml-seed-{seed}"), "paths.runs": "runs"}
    )
    engine = LocalEngine(seed_config)
    spark = get_spark(seed_config)
    try:
        started = time.perf_counter()
        layers.drop_layer_schemas(spark, seed_config)
        simulation.run_simulation(seed_config, simulation.options_from_config(seed_config), spark=spark)
        for result in layers.build_layers(spark, seed_config, f"ml-seed-{seed}"):
            if result.layer == "gold":
                break
        inputs = features.read_gold_inputs(spark, seed_config)
        progress(f"seed {seed}: account built in {time.perf_counter() - started:.0f} s")
    finally:
        spark.stop()
        engine.stop()
    built = features.compute_features(inputs, features.last_complete_day(seed_config))
    return built, training.read_incidents(seed_config)


def run_ml_benchmark(config: Config, seeds: list[int], requests: int = 200, progress=print) -> dict[str, Any]:
    """Train, score, serve and evaluate; figures as a dict (seconds, milliseconds, the evaluation table)."""
    from hm_utils.engine import LocalEngine
    from hm_utils.spark import get_spark

    spark = get_spark(config)
    started = time.perf_counter()
    results = training.run_training(spark, config)
    training_seconds = round(time.perf_counter() - started, 2)
    progress(f"trained {len(results)} models in {training_seconds} s")
    started = time.perf_counter()
    scored = scoring.score_and_write(spark, config)
    scoring_seconds = round(time.perf_counter() - started, 2)
    progress(f"scored in {scoring_seconds} s")
    evaluated_at = clock.now(config).replace(tzinfo=None)
    evaluation = [training.evaluation_rows(results, training.dataset_label(config), evaluated_at)]
    runs = features.read_gold_inputs(spark, config)["gold.fct_job_runs"]
    records = scoring.next_runs(runs)[list(catalog.get_model("job_failure_predictor").features)].astype(float)
    spark.stop()
    LocalEngine(config).stop()
    with serving.start_server(config, "job_failure_predictor", int(config.get("ml.serve_port", 5055))) as server:
        latency = serving.single_record_latency(server.url, records, requests)
    progress(f"served job_failure_predictor: p95 {latency['p95_ms']} ms")
    for seed in seeds:
        built, incidents = other_seed_features(config, seed, progress)
        evaluation.append(evaluate_champions(config, built, incidents, f"seed {seed}, all days (unseen account)"))
    rows = pd.concat(evaluation, ignore_index=True)
    spark = get_spark(config)
    training.write_evaluation(spark, config, rows)
    return {
        "training_seconds": training_seconds,
        "training_seconds_by_model": {r.model: r.seconds for r in results},
        "scoring_seconds": scoring_seconds,
        "predictions": {r.table: r.rows for r in scored},
        "served_job_failure_predictor_ms": latency,
        "evaluation": primary_table(rows),
    }


def primary_table(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """The primary metric of every model and dataset, with its baseline (sorted by model, dataset)."""
    primary = rows[rows["is_primary"]].sort_values(["model_name", "dataset"])
    keep = ["model_name", "model_version", "dataset", "metric", "value", "baseline_value", "beats_baseline"]
    return [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in record.items()}
        for record in primary[keep].to_dict("records")
    ]
