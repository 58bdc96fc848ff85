create or replace function {semantic}.get_job_success_rate(
  start_date date default {today} - interval 30 days comment 'First UTC run date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  job string default null comment 'Job id or job name to keep; NULL (default) = all jobs.',
  min_runs int default 1 comment 'Minimum completed runs for a job to be returned. Default 1.'
)
returns table (
  rank int comment 'Position by success rate ascending, 1 = least reliable job.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  runs bigint comment 'Runs started in the period.',
  completed_runs bigint comment 'Runs with a final result.',
  successes bigint comment 'Runs that ended SUCCEEDED.',
  failures bigint comment 'Runs that ended FAILED, TIMED_OUT or ERROR.',
  cancellations bigint comment 'Runs that were cancelled.',
  success_rate double comment 'successes / completed_runs (0..1).',
  retries bigint comment 'Automatic retry runs.',
  repairs bigint comment 'Repair attempts.',
  days_with_failures bigint comment 'Days with at least one failed run.'
)
comment 'Success rate of every job: runs, successes, failures, cancellations, retries and repairs, least reliable first. BEST FOR: "what is the success rate of our jobs?", "least reliable jobs this month", "how reliable is job x?". NOT FOR: the failures themselves and their streaks (use get_failed_jobs), jobs that flip between success and failure (get_flaky_jobs), recovery time (get_mttr), the account-wide trend (metric view mv_job_daily). Rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  per_job as (
    select a.workspace_id as workspace_id, a.job_id as job_id, max(a.job_name) as job_name,
      sum(a.runs) as runs, sum(a.completed_runs) as completed_runs, sum(a.successes) as successes,
      sum(a.failures) as failures, sum(a.cancellations) as cancellations, sum(a.retries) as retries,
      sum(a.repairs) as repairs, count_if(a.failures > 0) as days_with_failures
    from {gold.agg_daily_jobs} as a
    left join ws as w on w.workspace_id = a.workspace_id and workspace is not null
    where a.run_date between start_date and end_date
      and (workspace is null or a.workspace_id = workspace or w.workspace_name = workspace)
      and (job is null or a.job_id = job or a.job_name = job)
    group by a.workspace_id, a.job_id
    having sum(a.completed_runs) >= min_runs
  )
  select
    cast(row_number() over (order by try_divide(cast(p.successes as double), cast(p.completed_runs as double)) asc nulls last,
      p.failures desc, p.job_id) as int) as rank,
    p.workspace_id as workspace_id,
    coalesce(w.workspace_name, p.workspace_id) as workspace_name,
    p.job_id as job_id,
    p.job_name as job_name,
    p.runs as runs,
    p.completed_runs as completed_runs,
    p.successes as successes,
    p.failures as failures,
    p.cancellations as cancellations,
    try_divide(cast(p.successes as double), cast(p.completed_runs as double)) as success_rate,
    p.retries as retries,
    p.repairs as repairs,
    p.days_with_failures as days_with_failures
  from per_job as p
  left join ws as w on w.workspace_id = p.workspace_id
  order by rank
