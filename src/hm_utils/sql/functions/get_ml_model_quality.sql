create or replace function {semantic}.get_ml_model_quality(
  start_date date default {today} - interval 90 days comment 'First UTC day of evaluations returned; NULL = no lower bound. Default: 90 days ago.',
  end_date date default {today} comment 'Last UTC day of evaluations returned; NULL = no upper bound. Default: today.',
  workspace string default null comment 'Unused (evaluations are account-wide), kept for the common signature. Default NULL.',
  model string default null comment 'Model name to keep, e.g. job_failure_predictor; NULL (default) = all models.',
  primary_only boolean default true comment 'True (default) = only the metric that decides promotion; false = every metric.'
)
returns table (
  model_name string comment 'Model.',
  model_version string comment 'Registered version evaluated.',
  dataset string comment 'What it was evaluated on (held-out later days of this account, or an account of another seed).',
  metric string comment 'Metric, e.g. auc_pr, mae_minutes, f1, mape, mae_dbus, brier, savings_pct.',
  value double comment 'The model value.',
  baseline_value double comment 'The simple baselines value on the same data.',
  beats_baseline boolean comment 'True when the model is better than its baseline; false must be read as: use the simple rule.',
  baseline string comment 'What the baseline is.',
  test_rows bigint comment 'Rows evaluated.',
  evaluated_at timestamp comment 'When (UTC).',
  days_since_evaluated int comment 'Days since the evaluation (how stale the model quality figure is).'
)
comment 'How good each ML model is, measured on data it did not train on and against a simple baseline (failed last time, the jobs median, a z-score, seasonal naive, the run rate of the month, committing the spend of the last period). BEST FOR: "can we trust the failure predictions?", "does the forecaster beat a naive forecast?", "when were the models last trained and evaluated?". NOT FOR: the predictions themselves (get_job_failure_risk, get_duration_forecast, get_cost_anomalies_ml, get_cost_forecast, get_dbu_demand_forecast, get_budget_breach_risk, get_commitment_recommendation). Empty until the ML steps have run.'
return
  select
    e.model_name as model_name,
    e.model_version as model_version,
    e.dataset as dataset,
    e.metric as metric,
    e.value as value,
    e.baseline_value as baseline_value,
    e.beats_baseline as beats_baseline,
    e.baseline as baseline,
    e.test_rows as test_rows,
    e.evaluated_at as evaluated_at,
    datediff({today}, cast(e.evaluated_at as date)) as days_since_evaluated
  from {ml.model_evaluation} as e
  where (start_date is null or cast(e.evaluated_at as date) >= start_date)
    and (end_date is null or cast(e.evaluated_at as date) <= end_date)
    and (model is null or e.model_name = model)
    and (not primary_only or e.is_primary)
    and (workspace is null or workspace = workspace)
  order by model_name, evaluated_at desc, dataset, metric
