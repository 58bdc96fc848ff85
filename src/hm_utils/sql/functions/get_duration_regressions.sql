create or replace function {semantic}.get_duration_regressions(
  start_date date default {today} - interval 7 days comment 'First UTC run date of the recent window. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC run date of the recent window. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  baseline_days int default 28 comment 'Days before start_date that form each job baseline. Default 28.',
  min_ratio double default 1.5 comment 'Minimum recent median / baseline median duration for a job to be returned (1.5 = 50 % slower). Default 1.5.',
  min_runs int default 3 comment 'Minimum successful runs needed in both the recent window and the baseline. Default 3.'
)
returns table (
  rank int comment 'Position by slowdown ratio, 1 = biggest regression.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  baseline_runs bigint comment 'Successful runs in the baseline window.',
  recent_runs bigint comment 'Successful runs in the recent window.',
  baseline_median_minutes double comment 'Median duration of successful baseline runs in minutes.',
  recent_median_minutes double comment 'Median duration of successful recent runs in minutes.',
  ratio double comment 'recent_median_minutes / baseline_median_minutes (2.0 = twice as slow).',
  extra_minutes_per_run double comment 'recent median - baseline median in minutes.',
  recent_list_cost decimal(38,6) comment 'List cost of the recent runs (account currency).',
  first_slow_run_time timestamp comment 'Start of the first recent run slower than min_ratio x the baseline median (UTC): when the regression began.'
)
comment 'Jobs whose successful runs became slower than their own baseline: median duration in the recent window against the median of the baseline_days before it. BEST FOR: "which jobs got slower recently?", "performance regressions this week", "when did job x start running longer?". NOT FOR: jobs that are always slow (use get_slow_jobs), SLA breaches (get_sla_breaches), the task that got slow (get_longest_tasks). Durations in minutes; only regressions at or above min_ratio are returned.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  runs as (
    select r.workspace_id as workspace_id, r.job_id as job_id, r.start_time as start_time, r.list_cost as list_cost,
      r.duration_seconds / 60.0 as minutes, r.run_date >= start_date as is_recent
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between date_sub(start_date, baseline_days) and end_date
      and r.is_success
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  ),
  with_baseline as (
    select r.*, percentile(case when not r.is_recent then r.minutes end, 0.5)
      over (partition by r.workspace_id, r.job_id) as baseline_median_minutes
    from runs as r
  ),
  flagged as (
    select b.*, b.is_recent and b.minutes >= min_ratio * b.baseline_median_minutes as is_slow
    from with_baseline as b
  ),
  per_job as (
    select workspace_id, job_id,
      count_if(not is_recent) as baseline_runs,
      count_if(is_recent) as recent_runs,
      max(baseline_median_minutes) as baseline_median_minutes,
      percentile(case when is_recent then minutes end, 0.5) as recent_median_minutes,
      sum(case when is_recent then list_cost end) as recent_list_cost,
      min(case when is_slow then start_time end) as first_slow_run_time
    from flagged
    group by workspace_id, job_id
    having count_if(not is_recent) >= min_runs and count_if(is_recent) >= min_runs
  ),
  regressions as (
    select p.*, try_divide(p.recent_median_minutes, p.baseline_median_minutes) as ratio
    from per_job as p
    where try_divide(p.recent_median_minutes, p.baseline_median_minutes) >= min_ratio
  )
  select
    cast(row_number() over (order by g.ratio desc, g.job_id) as int) as rank,
    g.workspace_id as workspace_id,
    coalesce(w.workspace_name, g.workspace_id) as workspace_name,
    g.job_id as job_id,
    j.job_name as job_name,
    g.baseline_runs as baseline_runs,
    g.recent_runs as recent_runs,
    g.baseline_median_minutes as baseline_median_minutes,
    g.recent_median_minutes as recent_median_minutes,
    g.ratio as ratio,
    g.recent_median_minutes - g.baseline_median_minutes as extra_minutes_per_run,
    g.recent_list_cost as recent_list_cost,
    g.first_slow_run_time as first_slow_run_time
  from regressions as g
  left join ws as w on w.workspace_id = g.workspace_id
  left join {gold.dim_job} as j on j.workspace_id = g.workspace_id and j.job_id = g.job_id and j.is_current
  order by rank
