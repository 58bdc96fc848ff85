create or replace function {semantic}.get_job_failure_risk(
  start_date date default {today} - interval 7 days comment 'Keep jobs whose latest run ended on or after this UTC day; NULL = no lower bound. Default: 7 days ago (jobs still running).',
  end_date date default {today} comment 'Keep jobs whose latest run ended on or before this UTC day; NULL = no upper bound. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  min_probability double default 0.2 comment 'Lowest failure probability returned (0 to 1). Default 0.2 (medium and high risk).',
  top_n int default 50 comment 'Number of jobs returned, riskiest first. Default 50.'
)
returns table (
  rank int comment 'Position by failure probability, 1 = most likely to fail.',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  failure_probability double comment 'Probability that the next run fails, from the champion job_failure_predictor (rank by it).',
  risk_band string comment 'high (>= 0.5), medium (>= 0.2) or low.',
  recent_failure_rate double comment 'Share of the last 5 runs that failed (why the score is high).',
  failed_last_run boolean comment 'True when the latest run failed.',
  last_run_end timestamp comment 'End of the latest run the prediction knows of (UTC).',
  model_version string comment 'Champion version that scored.',
  scored_at timestamp comment 'When the batch scoring ran (UTC).'
)
comment 'Jobs most likely to fail on their next run, from the ML job failure predictor (XGBoost on what is known before a run: the jobs recent failures, time of day, compute, backlog), scored by the ml_score step. Its held-out quality against the "failed last time" rule is in get_ml_model_quality. BEST FOR: "which jobs are likely to fail next?", "which jobs should we watch tonight?", "what is the failure risk of job X?". NOT FOR: failures that already happened (use get_failed_jobs), flaky history (get_flaky_jobs). Empty until the ML steps have run.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  jobs as (
    select workspace_id, job_id, job_name from {gold.dim_job} where is_current
  ),
  risk as (
    select p.*, coalesce(w.workspace_name, p.workspace_id) as ws_name
    from {ml.pred_job_failure_risk} as p
    left join ws as w on w.workspace_id = p.workspace_id
    where (start_date is null or cast(p.last_run_end as date) >= start_date)
      and (end_date is null or cast(p.last_run_end as date) <= end_date)
      and p.failure_probability >= min_probability
      and (workspace is null or p.workspace_id = workspace or w.workspace_name = workspace)
  ),
  ranked as (
    select r.*, cast(row_number() over (order by r.failure_probability desc, r.job_id) as int) as position
    from risk as r
  )
  select
    r.position as rank,
    r.workspace_id as workspace_id,
    r.ws_name as workspace_name,
    r.job_id as job_id,
    j.job_name as job_name,
    r.failure_probability as failure_probability,
    r.risk_band as risk_band,
    r.recent_failure_rate as recent_failure_rate,
    r.failed_last_run = 1 as failed_last_run,
    r.last_run_end as last_run_end,
    r.model_version as model_version,
    r.scored_at as scored_at
  from ranked as r
  left join jobs as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id
  where r.position <= top_n
  order by rank
