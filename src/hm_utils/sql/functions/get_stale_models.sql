create or replace function {semantic}.get_stale_models(
  max_age_days int default 7 comment 'A model whose latest finished run is older than this many days is stale. Default: 7.'
)
returns table (
  model_name string comment 'Model.',
  last_trained_at timestamp comment 'Start of its latest finished run (UTC).',
  age_days int comment 'Days since then.',
  last_status string comment 'Status of its newest run of any kind (a FAILED newest run explains a stale model).',
  runs bigint comment 'Runs of the model in MLflow.'
)
comment 'Models not retrained recently: the latest finished MLflow run of each model older than max_age_days, with the status of its newest attempt. Empty until a model is trained. BEST FOR: "which models are stale?", "when was each model last retrained?". NOT FOR: model quality (get_ml_model_quality), stale data tables (get_late_tables). Oldest first.'
return
  with per_model as (
    select model_name, max(case when status = 'FINISHED' then start_time end) as last_trained_at,
      max_by(status, start_time) as last_status, count(*) as runs
    from {ops.mlflow_runs} group by model_name
  )
  select /*+ REPARTITION(1) */ p.model_name as model_name, p.last_trained_at as last_trained_at,
    datediff({today}, cast(p.last_trained_at as date)) as age_days, p.last_status as last_status, p.runs as runs
  from per_model as p
  where p.last_trained_at is null or datediff({today}, cast(p.last_trained_at as date)) > coalesce(max_age_days, 7)
  order by age_days desc nulls first, p.model_name
