create or replace function {semantic}.get_failed_run_cost(
  start_date date default {today} - interval 30 days comment 'First UTC run date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  top_n int default 20 comment 'Number of jobs returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by failed list cost, 1 = job that wasted the most.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  runs bigint comment 'Runs started in the period.',
  failed_runs bigint comment 'Runs that ended FAILED, TIMED_OUT or ERROR.',
  repaired_runs bigint comment 'Runs repaired at least once (failed attempts followed by a repair).',
  repairs bigint comment 'Repair attempts summed over the runs.',
  retry_runs bigint comment 'Runs that were automatic retries of a failed run.',
  failed_list_cost decimal(38,6) comment 'List cost of failed runs and of failed attempts before a repair (account currency).',
  failed_effective_cost decimal(38,6) comment 'The same after the configured discount.',
  repair_list_cost decimal(38,6) comment 'Part of failed_list_cost spent on runs that were later repaired.',
  list_cost decimal(38,6) comment 'List cost of all runs of the job in the period.',
  failed_share double comment 'failed_list_cost / list_cost (0..1): the share of the job spend wasted on failures.'
)
comment 'What failures cost: per job the list and effective cost of failed runs and of the failed attempts before repairs, with failure and repair counts and the wasted share. BEST FOR: "how much did failed jobs cost us this month?", "which job wastes the most money on failures?", "what do repairs cost?". NOT FOR: why jobs fail (use get_failed_jobs or get_termination_codes), total job cost (get_job_cost), retry and repair counts over time (get_run_retries). Only jobs with failure cost or failed runs are returned; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  jobs as (
    select workspace_id, job_id, job_name from {gold.dim_job} where is_current
  ),
  per_job as (
    select r.workspace_id as workspace_id, r.job_id as job_id, max(j.job_name) as job_name,
      count(*) as runs,
      count_if(r.is_failure) as failed_runs,
      count_if(r.repairs > 0) as repaired_runs,
      sum(r.repairs) as repairs,
      count_if(r.is_retry) as retry_runs,
      sum(r.failed_list_cost) as failed_list_cost,
      sum(r.failed_effective_cost) as failed_effective_cost,
      coalesce(sum(case when r.repairs > 0 then r.failed_list_cost end), 0) as repair_list_cost,
      sum(r.list_cost) as list_cost
    from {gold.fct_job_runs} as r
    left join jobs as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
    group by r.workspace_id, r.job_id
    having count_if(r.is_failure) > 0 or sum(r.failed_list_cost) > 0
  ),
  ranked as (
    select p.*, row_number() over (order by p.failed_list_cost desc, p.failed_runs desc, p.job_id) as rank from per_job as p
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.job_id as job_id,
    r.job_name as job_name,
    r.runs as runs,
    r.failed_runs as failed_runs,
    r.repaired_runs as repaired_runs,
    cast(r.repairs as bigint) as repairs,
    r.retry_runs as retry_runs,
    r.failed_list_cost as failed_list_cost,
    r.failed_effective_cost as failed_effective_cost,
    r.repair_list_cost as repair_list_cost,
    r.list_cost as list_cost,
    try_divide(cast(r.failed_list_cost as double), cast(r.list_cost as double)) as failed_share
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  order by rank
