create or replace function {semantic}.get_model_training_runs(
  start_date date default {today} - interval 90 days comment 'First UTC date of runs started. Default: 90 days ago.',
  end_date date default {today} comment 'Last UTC date of runs started. Default: today.',
  model_filter string default null comment 'Model name or part of it, e.g. cost_forecast; NULL (default) = every model.'
)
returns table (
  model_name string comment 'Model the run trained or evaluated (MLflow tag model_name, else the run or experiment name).',
  experiment_name string comment 'MLflow experiment of the run.',
  run_id string comment 'MLflow run id.',
  status string comment 'FINISHED, FAILED, RUNNING or KILLED.',
  start_time timestamp comment 'When the run started (UTC).',
  duration_minutes double comment 'Run time in minutes (NULL while running).',
  metric_count int comment 'Metrics the run logged.',
  params string comment 'Training parameters, key=value, comma-separated.'
)
comment 'Training and evaluation runs of the kit models from MLflow: when each model was trained, how long it took and whether it finished. Empty until a model is trained. BEST FOR: "when were the models last trained?", "did any training run fail?", "training runs this month". NOT FOR: model quality (get_ml_model_quality), the health monitor own pipeline (get_pipeline_run_health). Newest first.'
return
  select /*+ REPARTITION(1) */ r.model_name as model_name, r.experiment_name as experiment_name, r.run_id as run_id,
    r.status as status, r.start_time as start_time,
    round((unix_timestamp(r.end_time) - unix_timestamp(r.start_time)) / 60.0, 2) as duration_minutes,
    size(r.metrics) as metric_count,
    array_join(array_sort(transform(map_entries(r.params), e -> concat(e.key, '=', e.value))), ', ') as params
  from {ops.mlflow_runs} as r
  where (start_date is null or cast(r.start_time as date) >= start_date)
    and (end_date is null or cast(r.start_time as date) <= end_date)
    and (model_filter is null or contains(r.model_name, model_filter))
  order by r.start_time desc, r.model_name
