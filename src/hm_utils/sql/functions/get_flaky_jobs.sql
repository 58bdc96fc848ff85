create or replace function {semantic}.get_flaky_jobs(
  start_date date default {today} - interval 30 days comment 'First UTC run date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  min_runs int default 5 comment 'Minimum completed runs for a job to be judged. Default 5.',
  min_flips int default 2 comment 'Minimum switches between success and failure for a job to be returned. Default 2.'
)
returns table (
  rank int comment 'Position by flip rate, 1 = flakiest job.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  completed_runs bigint comment 'Runs that succeeded or failed in the period.',
  failures bigint comment 'Runs that failed.',
  failure_rate double comment 'failures / completed_runs (0..1).',
  flips bigint comment 'Times the result switched between success and failure from one run to the next.',
  flip_rate double comment 'flips / (completed_runs - 1) (0..1): 1 = alternates every run.',
  max_consecutive_failures bigint comment 'Longest streak of consecutive failures (a long streak means broken, not flaky).',
  rescued_by_repair bigint comment 'Runs that failed first and succeeded after a repair (another flakiness sign).'
)
comment 'Flaky jobs: jobs whose runs switch back and forth between success and failure without a lasting streak, ranked by how often the result flips. BEST FOR: "which jobs are flaky?", "intermittent job failures", "jobs that fail now and then". NOT FOR: jobs failing continuously (use get_failed_jobs: a long streak means broken, not flaky), success rates of all jobs (get_job_success_rate), retries and repairs (get_run_retries). Rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  runs as (
    select r.workspace_id as workspace_id, r.job_id as job_id, r.is_failure as is_failure,
      r.repairs > 0 and r.is_success and r.first_result_state in ('FAILED', 'TIMED_OUT', 'ERROR') as rescued,
      lag(r.is_failure) over (partition by r.workspace_id, r.job_id order by r.start_time, r.run_id) as previous_failure,
      row_number() over (partition by r.workspace_id, r.job_id order by r.start_time, r.run_id)
        - row_number() over (partition by r.workspace_id, r.job_id, r.is_failure order by r.start_time, r.run_id) as streak_group
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and r.is_completed and (r.is_failure or r.is_success)
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  ),
  streaks as (
    select workspace_id, job_id, is_failure, count(*) as runs,
      count_if(previous_failure is not null and previous_failure <> is_failure) as flips, count_if(rescued) as rescued
    from runs
    group by workspace_id, job_id, streak_group, is_failure
  ),
  per_job as (
    select workspace_id, job_id, sum(runs) as completed_runs, sum(case when is_failure then runs else 0 end) as failures,
      sum(flips) as flips, max(case when is_failure then runs else 0 end) as max_consecutive_failures,
      sum(rescued) as rescued_by_repair
    from streaks
    group by workspace_id, job_id
    having sum(runs) >= min_runs and sum(flips) >= min_flips
  )
  select
    cast(row_number() over (order by try_divide(cast(p.flips as double), cast(p.completed_runs - 1 as double)) desc, p.job_id) as int) as rank,
    p.workspace_id as workspace_id,
    coalesce(w.workspace_name, p.workspace_id) as workspace_name,
    p.job_id as job_id,
    j.job_name as job_name,
    p.completed_runs as completed_runs,
    p.failures as failures,
    try_divide(cast(p.failures as double), cast(p.completed_runs as double)) as failure_rate,
    p.flips as flips,
    try_divide(cast(p.flips as double), cast(p.completed_runs - 1 as double)) as flip_rate,
    p.max_consecutive_failures as max_consecutive_failures,
    p.rescued_by_repair as rescued_by_repair
  from per_job as p
  left join ws as w on w.workspace_id = p.workspace_id
  left join {gold.dim_job} as j on j.workspace_id = p.workspace_id and j.job_id = p.job_id and j.is_current
  order by rank
