create or replace function {semantic}.get_longest_tasks(
  start_date date default {today} - interval 7 days comment 'First UTC run date included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  job string default null comment 'Job id or job name to keep; NULL (default) = all jobs.',
  top_n int default 20 comment 'Number of task runs returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by duration, 1 = longest task run.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  task_key string comment 'Task name within the job.',
  job_run_id string comment 'Job run the task run belongs to.',
  task_run_id string comment 'Task run id.',
  start_time timestamp comment 'Task run start (UTC).',
  duration_minutes double comment 'Wall-clock minutes of the task run.',
  setup_minutes double comment 'Minutes spent setting up compute.',
  execution_minutes double comment 'Minutes executing.',
  result_state string comment 'Final result: SUCCEEDED, FAILED, ...',
  typical_minutes double comment 'Median duration of the same task (job and task_key) in the period.',
  ratio_to_typical double comment 'duration_minutes / typical_minutes (3.0 = three times longer than usual).',
  share_of_job_run double comment 'Task duration / duration of its job run (0..1): how much of the run this task took.'
)
comment 'The longest task runs inside jobs, with how long the same task usually takes and its share of the job run: finds the step that makes a job slow. BEST FOR: "which task makes job x slow?", "longest running tasks this week", "which step of the pipeline takes the most time?". NOT FOR: whole-job durations (use get_slow_jobs), jobs that became slower (get_duration_regressions), failing jobs (get_failed_jobs). Durations in minutes.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  jobs as (
    select workspace_id, job_id, job_name from {gold.dim_job} where is_current
  ),
  tasks as (
    select t.*, j.job_name as job_name,
      percentile(t.duration_seconds, 0.5) over (partition by t.workspace_id, t.job_id, t.task_key) as typical_seconds
    from {gold.fct_task_runs} as t
    left join ws as w on w.workspace_id = t.workspace_id and workspace is not null
    left join jobs as j on j.workspace_id = t.workspace_id and j.job_id = t.job_id
    where t.run_date between start_date and end_date
      and (workspace is null or t.workspace_id = workspace or w.workspace_name = workspace)
      and (job is null or t.job_id = job or j.job_name = job)
  ),
  ranked as (
    select t.*, row_number() over (order by t.duration_seconds desc, t.task_run_id) as rank from tasks as t
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.job_id as job_id,
    r.job_name as job_name,
    r.task_key as task_key,
    r.job_run_id as job_run_id,
    r.task_run_id as task_run_id,
    r.start_time as start_time,
    r.duration_seconds / 60.0 as duration_minutes,
    r.setup_seconds / 60.0 as setup_minutes,
    r.execution_seconds / 60.0 as execution_minutes,
    r.result_state as result_state,
    r.typical_seconds / 60.0 as typical_minutes,
    try_divide(cast(r.duration_seconds as double), r.typical_seconds) as ratio_to_typical,
    try_divide(cast(r.duration_seconds as double), cast(jr.duration_seconds as double)) as share_of_job_run
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.fct_job_runs} as jr on jr.workspace_id = r.workspace_id and jr.run_id = r.job_run_id
  where r.rank <= top_n
  order by rank
