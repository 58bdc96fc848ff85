create or replace function {semantic}.get_failed_jobs(
  start_date date default {today} - interval 7 days comment 'First UTC run date included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  min_failures int default 1 comment 'Minimum failed runs in the period for a job to be returned. Default 1.'
)
returns table (
  rank int comment 'Position by failed runs, then longest failure streak, 1 = worst job.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  failed_runs bigint comment 'Runs that ended FAILED, TIMED_OUT or ERROR in the period.',
  completed_runs bigint comment 'Runs with a final result in the period.',
  failure_rate double comment 'failed_runs / completed_runs (0..1).',
  max_consecutive_failures bigint comment 'Longest streak of consecutive failed runs in the period (a streak of 3 or more means the job is broken, not flaky).',
  last_failure_time timestamp comment 'Start of the most recent failed run (UTC).',
  last_failed_run_id string comment 'Run id of the most recent failed run.',
  last_termination_code string comment 'Termination code of the most recent failed run, e.g. DRIVER_ERROR, RUN_EXECUTION_ERROR.',
  termination_codes string comment 'Distinct termination codes of the failed runs, comma separated.',
  last_run_succeeded boolean comment 'True when the latest run in the period succeeded (the job has recovered).',
  failed_list_cost decimal(38,6) comment 'List cost of the failed runs and failed attempts (account currency).'
)
comment 'Jobs with failed runs in a period: how many failed, the failure rate, the longest streak of consecutive failures, the latest failure and its termination code, and what the failures cost. BEST FOR: "which jobs failed this week?", "is any job failing repeatedly?", "what broke last night?". NOT FOR: jobs that alternate between success and failure (use get_flaky_jobs), failure causes across all jobs (get_termination_codes), recovery times (get_mttr), slow jobs (get_slow_jobs). Rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  runs as (
    select r.workspace_id as workspace_id, r.job_id as job_id, r.run_id as run_id, r.start_time as start_time,
      r.is_failure as is_failure, r.is_success as is_success, r.termination_code as termination_code,
      r.failed_list_cost as failed_list_cost,
      row_number() over (partition by r.workspace_id, r.job_id order by r.start_time, r.run_id)
        - row_number() over (partition by r.workspace_id, r.job_id, r.is_failure order by r.start_time, r.run_id) as streak_group,
      row_number() over (partition by r.workspace_id, r.job_id order by r.start_time desc, r.run_id desc) as recency,
      row_number() over (partition by r.workspace_id, r.job_id, r.is_failure order by r.start_time desc, r.run_id desc) as failure_recency
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and r.is_completed
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  ),
  streaks as (
    select workspace_id, job_id, is_failure, count(*) as runs,
      max(case when is_failure and failure_recency = 1 then start_time end) as last_failure_time,
      max(case when is_failure and failure_recency = 1 then run_id end) as last_failed_run_id,
      max(case when is_failure and failure_recency = 1 then termination_code end) as last_termination_code,
      collect_set(case when is_failure then termination_code end) as termination_codes,
      bool_or(recency = 1 and is_success) as last_run_succeeded,
      sum(failed_list_cost) as failed_list_cost
    from runs
    group by workspace_id, job_id, streak_group, is_failure
  ),
  per_job as (
    select workspace_id, job_id,
      sum(case when is_failure then runs else 0 end) as failed_runs,
      sum(runs) as completed_runs,
      max(case when is_failure then runs end) as max_consecutive_failures,
      max(last_failure_time) as last_failure_time,
      max(last_failed_run_id) as last_failed_run_id,
      max(last_termination_code) as last_termination_code,
      array_join(array_sort(array_distinct(flatten(collect_list(termination_codes)))), ',') as termination_codes,
      bool_or(last_run_succeeded) as last_run_succeeded,
      sum(failed_list_cost) as failed_list_cost
    from streaks
    group by workspace_id, job_id
    having sum(case when is_failure then runs else 0 end) >= greatest(min_failures, 1)
  ),
  ranked as (
    select p.*, row_number() over (order by p.failed_runs desc, p.max_consecutive_failures desc, p.job_id) as rank
    from per_job as p
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.job_id as job_id,
    j.job_name as job_name,
    r.failed_runs as failed_runs,
    r.completed_runs as completed_runs,
    try_divide(cast(r.failed_runs as double), cast(r.completed_runs as double)) as failure_rate,
    r.max_consecutive_failures as max_consecutive_failures,
    r.last_failure_time as last_failure_time,
    r.last_failed_run_id as last_failed_run_id,
    r.last_termination_code as last_termination_code,
    r.termination_codes as termination_codes,
    r.last_run_succeeded as last_run_succeeded,
    r.failed_list_cost as failed_list_cost
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.dim_job} as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id and j.is_current
  order by rank
