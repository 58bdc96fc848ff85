create or replace function {semantic}.get_job_cost(
  start_date date default {today} - interval 30 days comment 'First UTC run date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  job string default null comment 'Job id or job name to keep; NULL (default) = all jobs.',
  top_n int default 20 comment 'Number of jobs returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by list cost, 1 = most expensive job.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  runs bigint comment 'Runs started in the period.',
  failed_runs bigint comment 'Runs that ended FAILED, TIMED_OUT or ERROR.',
  all_purpose_runs bigint comment 'Runs on all-purpose clusters (their cost is the share of the cluster time they used).',
  dbus decimal(38,6) comment 'DBUs consumed by the runs.',
  list_cost decimal(38,6) comment 'List cost of all runs (account currency), including failed attempts and all-purpose shares.',
  effective_cost decimal(38,6) comment 'Cost after the configured discount (account currency).',
  failed_list_cost decimal(38,6) comment 'Part of list_cost spent on failed runs and failed attempts.',
  avg_run_list_cost decimal(38,6) comment 'list_cost / runs: average cost of one run.',
  max_run_list_cost decimal(38,6) comment 'Cost of the most expensive single run.',
  most_expensive_run_id string comment 'Run id of the most expensive run (look it up in fct_job_runs).'
)
comment 'Cost of jobs and of their runs: per job the runs, DBUs, list and effective cost, the average run cost and the most expensive run, including runs on all-purpose clusters (charged their share of the cluster time). BEST FOR: "which jobs cost the most?", "what does job nightly_etl cost per run?", "what was our most expensive job run this week?". NOT FOR: cost wasted by failures (use get_failed_run_cost), all-purpose clusters that should be job clusters (get_all_purpose_job_clusters), non-job spend (get_top_cost_drivers). Money in the account currency; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  jobs as (
    select workspace_id, job_id, job_name from {gold.dim_job} where is_current
  ),
  runs as (
    select r.*, j.job_name as job_name,
      row_number() over (partition by r.workspace_id, r.job_id order by r.list_cost desc, r.run_id) as cost_order
    from {gold.fct_job_runs} as r
    left join jobs as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
      and (job is null or r.job_id = job or j.job_name = job)
  ),
  per_job as (
    select workspace_id, job_id, max(job_name) as job_name,
      count(*) as runs,
      count_if(is_failure) as failed_runs,
      count_if(is_all_purpose) as all_purpose_runs,
      sum(dbus) as dbus, sum(list_cost) as list_cost, sum(effective_cost) as effective_cost,
      sum(failed_list_cost) as failed_list_cost,
      max(list_cost) as max_run_list_cost,
      max(case when cost_order = 1 then run_id end) as most_expensive_run_id
    from runs
    group by workspace_id, job_id
  ),
  ranked as (
    select p.*, row_number() over (order by p.list_cost desc, p.job_id) as rank from per_job as p
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.job_id as job_id,
    r.job_name as job_name,
    r.runs as runs,
    r.failed_runs as failed_runs,
    r.all_purpose_runs as all_purpose_runs,
    r.dbus as dbus,
    r.list_cost as list_cost,
    r.effective_cost as effective_cost,
    r.failed_list_cost as failed_list_cost,
    try_divide(r.list_cost, r.runs) as avg_run_list_cost,
    r.max_run_list_cost as max_run_list_cost,
    r.most_expensive_run_id as most_expensive_run_id
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  order by rank
