create or replace function {semantic}.get_run_retries(
  start_date date default {today} - interval 30 days comment 'First UTC run date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC run date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  top_n int default 20 comment 'Number of jobs returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by retries plus repairs, 1 = job needing the most second attempts.',
  workspace_id string comment 'Workspace of the job.',
  workspace_name string comment 'Current workspace name.',
  job_id string comment 'Job id.',
  job_name string comment 'Current job name.',
  runs bigint comment 'Runs started in the period.',
  retry_runs bigint comment 'Runs that were automatic retries of a failed run (ONETIME_RETRY).',
  retries_succeeded bigint comment 'Retry runs that succeeded.',
  repaired_runs bigint comment 'Runs repaired at least once.',
  repairs bigint comment 'Repair attempts in total.',
  recovered_by_repair bigint comment 'Runs whose first attempt failed and whose final result is SUCCEEDED after a repair.',
  retry_list_cost decimal(38,6) comment 'List cost of the retry runs (account currency).',
  repair_failed_list_cost decimal(38,6) comment 'List cost of the failed attempts before repairs (account currency).'
)
comment 'Second attempts per job: automatic retries and manual or API repairs, how many of them rescued the run, and what they cost. BEST FOR: "which jobs need retries or repairs?", "how often do repairs fix failed runs?", "what do retries cost?". NOT FOR: failures without a second attempt (use get_failed_jobs), the cost of all failures (get_failed_run_cost), recovery time (get_mttr). Money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  per_job as (
    select r.workspace_id as workspace_id, r.job_id as job_id, count(*) as runs,
      count_if(r.is_retry) as retry_runs,
      count_if(r.is_retry and r.is_success) as retries_succeeded,
      count_if(r.repairs > 0) as repaired_runs,
      cast(sum(r.repairs) as bigint) as repairs,
      count_if(r.repairs > 0 and r.is_success and r.first_result_state in ('FAILED', 'TIMED_OUT', 'ERROR')) as recovered_by_repair,
      coalesce(sum(case when r.is_retry then r.list_cost end), 0) as retry_list_cost,
      coalesce(sum(case when r.repairs > 0 then r.failed_list_cost end), 0) as repair_failed_list_cost
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
    group by r.workspace_id, r.job_id
    having count_if(r.is_retry) + sum(r.repairs) > 0
  ),
  ranked as (
    select p.*, row_number() over (order by p.retry_runs + p.repairs desc, p.job_id) as rank from per_job as p
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.job_id as job_id,
    j.job_name as job_name,
    r.runs as runs,
    r.retry_runs as retry_runs,
    r.retries_succeeded as retries_succeeded,
    r.repaired_runs as repaired_runs,
    r.repairs as repairs,
    r.recovered_by_repair as recovered_by_repair,
    r.retry_list_cost as retry_list_cost,
    r.repair_failed_list_cost as repair_failed_list_cost
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.dim_job} as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id and j.is_current
  where r.rank <= top_n
  order by rank
