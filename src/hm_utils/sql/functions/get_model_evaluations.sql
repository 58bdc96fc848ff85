create or replace function {semantic}.get_model_evaluations(
  model_filter string default null comment 'Model name or part of it; NULL (default) = every model.',
  latest_only boolean default true comment 'True (default) = the latest finished run of each model; false = every finished run (evaluation history).'
)
returns table (
  model_name string comment 'Model evaluated.',
  run_id string comment 'MLflow run holding the evaluation.',
  evaluated_at timestamp comment 'When the run started (UTC).',
  metric string comment 'Evaluation metric, e.g. mae or f1 (metrics named baseline_<metric> are the baseline score).',
  value double comment 'The model score on held-out data.',
  baseline_value double comment 'The simple baseline score on the same data (MLflow metric baseline_<metric>), NULL if not logged.',
  beats_baseline boolean comment 'True when the model is better than the baseline (lower for error metrics such as mae, rmse, mape, loss; higher otherwise).'
)
comment 'Model evaluation results and their baselines from MLflow, one row per model, run and metric: whether each model beats the simple baseline it is scored against. Empty until a model is trained. BEST FOR: "how good are the models?", "does the forecast beat its baseline?", "evaluation history of a model" (latest_only => false). NOT FOR: when models were trained (get_model_training_runs), input drift (get_feature_drift). Models that lose to their baseline first.'
return
  with runs as (
    select *, row_number() over (partition by model_name order by start_time desc) as newest
    from {ops.mlflow_runs} where status = 'FINISHED' and (model_filter is null or contains(model_name, model_filter))
  ),
  scores as (
    select r.model_name, r.run_id, r.start_time, m.key as metric, m.value as value,
      r.metrics[concat('baseline_', m.key)] as baseline_value
    from runs as r lateral view explode(r.metrics) m as key, value
    where (not latest_only or r.newest = 1) and not startswith(m.key, 'baseline_')
  )
  select /*+ REPARTITION(1) */ s.model_name as model_name, s.run_id as run_id, s.start_time as evaluated_at,
    s.metric as metric, s.value as value, s.baseline_value as baseline_value,
    case when s.baseline_value is null then null
      when s.metric rlike '(?i)(mae|mse|rmse|mape|error|loss)' then s.value < s.baseline_value
      else s.value > s.baseline_value end as beats_baseline
  from scores as s
  order by coalesce(cast(beats_baseline as int), 2), model_name, evaluated_at desc, metric
