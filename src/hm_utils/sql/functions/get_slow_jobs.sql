create or replace function {semantic}.get_slow_jobs(
  start_date date default {today} - interval 7 days comment 'First UTC run date included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  top_n int default 20 comment 'Number of jobs returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by longest run, 1 = slowest job.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  runs bigint comment 'Completed runs in the period.',
  avg_duration_minutes double comment 'Average wall-clock duration of a run in minutes.',
  p50_duration_minutes double comment 'Median run duration in minutes.',
  p90_duration_minutes double comment '90th percentile run duration in minutes.',
  max_duration_minutes double comment 'Longest run in minutes.',
  longest_run_id string comment 'Run id of the longest run.',
  max_active_minutes double comment 'Longest time one run spent running in minutes: its attempts added up, without the waits between a failed attempt and its repair (a runaway run, not a late repair).',
  longest_active_run_id string comment 'Run id of the run with max_active_minutes.',
  total_run_hours double comment 'Sum of run durations in hours.',
  avg_queue_minutes double comment 'Average minutes queued before starting.',
  avg_setup_minutes double comment 'Average minutes spent setting up compute.',
  list_cost decimal(38,6) comment 'List cost of the runs (account currency).'
)
comment 'The slowest jobs of a period by their longest run, with median, 90th percentile and average durations, queue and setup time, and cost. BEST FOR: "which jobs take the longest?", "was there a runaway run this week?", "how long does job x usually run?". NOT FOR: jobs that became slower than before (use get_duration_regressions), runs over their SLA target (get_sla_breaches), the slow task inside a job (get_longest_tasks). Durations in minutes; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  runs as (
    select r.*, row_number() over (partition by r.workspace_id, r.job_id order by r.duration_seconds desc, r.run_id) as length_order,
      row_number() over (partition by r.workspace_id, r.job_id order by r.active_seconds desc, r.run_id) as active_order
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and r.is_completed
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  ),
  per_job as (
    select workspace_id, job_id, count(*) as runs,
      avg(duration_seconds) / 60 as avg_duration_minutes,
      percentile(duration_seconds, 0.5) / 60 as p50_duration_minutes,
      percentile(duration_seconds, 0.9) / 60 as p90_duration_minutes,
      max(duration_seconds) / 60 as max_duration_minutes,
      max(case when length_order = 1 then run_id end) as longest_run_id,
      max(active_seconds) / 60 as max_active_minutes,
      max(case when active_order = 1 then run_id end) as longest_active_run_id,
      sum(duration_seconds) / 3600 as total_run_hours,
      avg(queue_seconds) / 60 as avg_queue_minutes,
      avg(setup_seconds) / 60 as avg_setup_minutes,
      sum(list_cost) as list_cost
    from runs
    group by workspace_id, job_id
  ),
  ranked as (
    select p.*, row_number() over (order by p.max_duration_minutes desc, p.job_id) as rank from per_job as p
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.job_id as job_id,
    j.job_name as job_name,
    r.runs as runs,
    r.avg_duration_minutes as avg_duration_minutes,
    r.p50_duration_minutes as p50_duration_minutes,
    r.p90_duration_minutes as p90_duration_minutes,
    r.max_duration_minutes as max_duration_minutes,
    r.longest_run_id as longest_run_id,
    r.max_active_minutes as max_active_minutes,
    r.longest_active_run_id as longest_active_run_id,
    r.total_run_hours as total_run_hours,
    r.avg_queue_minutes as avg_queue_minutes,
    r.avg_setup_minutes as avg_setup_minutes,
    r.list_cost as list_cost
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.dim_job} as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id and j.is_current
  where r.rank <= top_n
  order by rank
