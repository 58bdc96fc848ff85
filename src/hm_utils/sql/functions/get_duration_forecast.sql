create or replace function {semantic}.get_duration_forecast(
  start_date date default {today} - interval 7 days comment 'Unused filter kept for the common signature: forecasts are for each job next run. Default: 7 days ago.',
  end_date date default {today} comment 'Unused filter kept for the common signature. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  job string default null comment 'Job id or name to keep; NULL (default) = all jobs.',
  top_n int default 50 comment 'Number of jobs returned, longest expected p90 first. Default 50.'
)
returns table (
  rank int comment 'Position by p90 minutes, 1 = longest.',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  expected_minutes double comment 'Expected (median) duration of the next successful run, minutes.',
  p90_minutes double comment '90th percentile of the next run duration, minutes: a dynamic SLA threshold.',
  usual_minutes double comment 'Median of the jobs earlier successful runs (what a fixed rule would expect).',
  last_minutes double comment 'Duration of the latest successful run.',
  model_version string comment 'Champion version of duration_predictor that scored.',
  scored_at timestamp comment 'When the batch scoring ran (UTC).'
)
comment 'Expected duration and a 90th percentile for each job next run, from the ML duration predictor (quantile gradient boosting on the jobs history, backlog since its previous run and time of day). BEST FOR: "how long will job X take next time?", "which jobs will run longest tonight?", "what SLA threshold fits this job?". NOT FOR: runs that were already slow (use get_slow_jobs or get_duration_regressions). Empty until the ML steps have run.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  jobs as (
    select workspace_id, job_id, job_name from {gold.dim_job} where is_current
  ),
  forecast as (
    select p.*, coalesce(w.workspace_name, p.workspace_id) as ws_name, j.job_name as job_name
    from {ml.pred_duration_forecast} as p
    left join ws as w on w.workspace_id = p.workspace_id
    left join jobs as j on j.workspace_id = p.workspace_id and j.job_id = p.job_id
    where (workspace is null or p.workspace_id = workspace or w.workspace_name = workspace)
      and (job is null or p.job_id = job or j.job_name = job)
      and (start_date is null or end_date is null or start_date <= end_date)
  ),
  ranked as (
    select f.*, cast(row_number() over (order by f.p90_minutes desc, f.job_id) as int) as position
    from forecast as f
  )
  select
    r.position as rank,
    r.workspace_id as workspace_id,
    r.ws_name as workspace_name,
    r.job_id as job_id,
    r.job_name as job_name,
    r.expected_minutes as expected_minutes,
    r.p90_minutes as p90_minutes,
    r.prior_median_minutes as usual_minutes,
    r.last_minutes as last_minutes,
    r.model_version as model_version,
    r.scored_at as scored_at
  from ranked as r
  where r.position <= top_n
  order by rank
