create or replace function {semantic}.get_termination_codes(
  start_date date default {today} - interval 30 days comment 'First UTC run date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  include_success boolean default false comment 'True = also list SUCCESS; false (default) = only codes of runs that did not succeed.'
)
returns table (
  rank int comment 'Position by runs, 1 = most frequent termination code.',
  termination_code string comment 'Termination code, e.g. RUN_EXECUTION_ERROR, DRIVER_ERROR, CLUSTER_ERROR, USER_CANCELED.',
  termination_type string comment 'Who caused it: SUCCESS, CLIENT_ERROR (user code or config), INTERNAL_ERROR (platform), CLOUD_FAILURE (cloud provider).',
  result_state string comment 'Final result of the runs: FAILED, TIMED_OUT, ERROR, CANCELLED, ...',
  runs bigint comment 'Runs ending with this code in the period.',
  jobs bigint comment 'Distinct jobs affected.',
  share_of_runs double comment 'runs / all listed runs (0..1).',
  failed_list_cost decimal(38,6) comment 'List cost of the failed attempts of these runs (account currency).',
  top_job_id string comment 'Job with the most runs ending with this code.',
  last_seen timestamp comment 'Start of the latest run with this code (UTC).'
)
comment 'Breakdown of job run termination codes: how many runs ended with each code and type, how many jobs are affected, the job most affected and the cost of the failures. BEST FOR: "why do our jobs fail?", "how many failures are cloud or platform errors vs our own code?", "most common job errors this month". NOT FOR: which jobs fail (use get_failed_jobs), query errors (get_query_failures), pipelines (get_pipeline_health). Rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  runs as (
    select r.*
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and r.is_completed
      and (include_success or not r.is_success)
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  ),
  per_job as (
    select termination_code, termination_type, result_state, job_id, count(*) as runs
    from runs group by termination_code, termination_type, result_state, job_id
  ),
  codes as (
    select r.termination_code as termination_code, r.termination_type as termination_type, r.result_state as result_state,
      count(*) as runs, cast(size(collect_set(r.job_id)) as bigint) as jobs, sum(r.failed_list_cost) as failed_list_cost,
      max(r.start_time) as last_seen
    from runs as r
    group by r.termination_code, r.termination_type, r.result_state
  ),
  top_jobs as (
    select termination_code, termination_type, result_state, max_by(job_id, runs) as top_job_id
    from per_job group by termination_code, termination_type, result_state
  )
  select
    cast(row_number() over (order by c.runs desc, c.termination_code) as int) as rank,
    c.termination_code as termination_code,
    c.termination_type as termination_type,
    c.result_state as result_state,
    c.runs as runs,
    c.jobs as jobs,
    try_divide(cast(c.runs as double), cast(sum(c.runs) over () as double)) as share_of_runs,
    c.failed_list_cost as failed_list_cost,
    t.top_job_id as top_job_id,
    c.last_seen as last_seen
  from codes as c
  left join top_jobs as t on t.termination_code <=> c.termination_code and t.termination_type <=> c.termination_type
    and t.result_state <=> c.result_state
  order by rank
