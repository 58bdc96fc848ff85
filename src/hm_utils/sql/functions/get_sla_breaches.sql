create or replace function {semantic}.get_sla_breaches(
  start_date date default {today} - interval 7 days comment 'First UTC run date included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  default_target_minutes int default {sla_default_minutes} comment 'Duration target in minutes for jobs without their own target; the default comes from params semantic.sla.default_minutes.'
)
returns table (
  rank int comment 'Position by overrun, 1 = worst breach.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  run_id string comment 'Run that breached its target.',
  start_time timestamp comment 'Run start (UTC).',
  end_time timestamp comment 'Run end (UTC).',
  duration_minutes double comment 'Wall-clock duration of the run in minutes.',
  target_minutes int comment 'Duration target of the job in minutes.',
  target_source string comment 'job (a per-job target from params semantic.sla.jobs, by id or name) or default.',
  overrun_minutes double comment 'duration_minutes - target_minutes.',
  result_state string comment 'Final result of the run.',
  list_cost decimal(38,6) comment 'List cost of the run (account currency).'
)
comment 'Job runs that took longer than their SLA target: per-job targets from params semantic.sla.jobs (matched by job id or name, baked in at deploy) or the default target. BEST FOR: "which jobs missed their SLA this week?", "runs that overran their target", "did the nightly job finish in time?". NOT FOR: slow jobs without targets (use get_slow_jobs), jobs that became slower (get_duration_regressions), failed runs (get_failed_jobs). Durations in minutes; one row per breaching run.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  targets as {sla_targets},
  runs as (
    select r.*, j.job_name as job_name,
      coalesce(t_id.target_minutes, t_name.target_minutes, default_target_minutes) as target_minutes,
      case when coalesce(t_id.target_minutes, t_name.target_minutes) is not null then 'job' else 'default' end as target_source
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    left join {gold.dim_job} as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id and j.is_current
    left join targets as t_id on t_id.job_key = r.job_id
    left join targets as t_name on t_name.job_key = j.job_name
    where r.run_date between start_date and end_date
      and r.is_completed
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  )
  select
    cast(row_number() over (order by r.duration_seconds / 60.0 - r.target_minutes desc, r.run_id) as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.job_id as job_id,
    r.job_name as job_name,
    r.run_id as run_id,
    r.start_time as start_time,
    r.end_time as end_time,
    r.duration_seconds / 60.0 as duration_minutes,
    r.target_minutes as target_minutes,
    r.target_source as target_source,
    r.duration_seconds / 60.0 - r.target_minutes as overrun_minutes,
    r.result_state as result_state,
    r.list_cost as list_cost
  from runs as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.duration_seconds > r.target_minutes * 60
  order by rank
