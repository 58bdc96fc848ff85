create or replace function {semantic}.get_pipeline_health(
  start_date date default {today} - interval 30 days comment 'First UTC update date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC update date included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  rank int comment 'Position: most failures first, then lowest success rate.',
  workspace_id string comment 'Workspace of the pipeline.',
  workspace_name string comment 'Current workspace name.',
  pipeline_id string comment 'Pipeline id.',
  pipeline_name string comment 'Current pipeline name.',
  is_continuous boolean comment 'True for continuous pipelines.',
  updates bigint comment 'Updates (refreshes) started in the period.',
  successes bigint comment 'Updates that COMPLETED.',
  failures bigint comment 'Updates that FAILED.',
  success_rate double comment 'successes / completed updates (0..1).',
  full_refreshes bigint comment 'Full refreshes (recompute everything; expensive).',
  avg_duration_minutes double comment 'Average update duration in minutes.',
  max_duration_minutes double comment 'Longest update in minutes.',
  last_update_time timestamp comment 'Start of the latest update (UTC).',
  last_result_state string comment 'Result of the latest update: COMPLETED, FAILED, CANCELED or NULL while running.',
  list_cost decimal(38,6) comment 'List cost of the updates (account currency).'
)
comment 'Health of Lakeflow declarative pipelines (DLT): updates, failures, success rate, full refreshes, durations, latest result and cost. BEST FOR: "are our pipelines healthy?", "which pipelines failed this month?", "how often do we full-refresh?". NOT FOR: jobs (use get_job_success_rate or get_failed_jobs), freshness of the tables they write (get_table_freshness). Durations in minutes; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  updates as (
    select u.*, row_number() over (partition by u.workspace_id, u.pipeline_id order by u.start_time desc, u.update_id) as recency
    from {gold.fct_pipeline_updates} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.update_date between start_date and end_date
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
  ),
  per_pipeline as (
    select workspace_id, pipeline_id, count(*) as updates, count_if(is_success) as successes, count_if(is_failure) as failures,
      try_divide(cast(count_if(is_success) as double), cast(count_if(is_completed) as double)) as success_rate,
      count_if(is_full_refresh) as full_refreshes,
      avg(duration_seconds) / 60 as avg_duration_minutes, max(duration_seconds) / 60.0 as max_duration_minutes,
      max(case when recency = 1 then start_time end) as last_update_time,
      max(case when recency = 1 then result_state end) as last_result_state,
      sum(list_cost) as list_cost
    from updates
    group by workspace_id, pipeline_id
  )
  select
    cast(row_number() over (order by p.failures desc, p.success_rate asc nulls last, p.pipeline_id) as int) as rank,
    p.workspace_id as workspace_id,
    coalesce(w.workspace_name, p.workspace_id) as workspace_name,
    p.pipeline_id as pipeline_id,
    d.pipeline_name as pipeline_name,
    d.is_continuous as is_continuous,
    p.updates as updates,
    p.successes as successes,
    p.failures as failures,
    p.success_rate as success_rate,
    p.full_refreshes as full_refreshes,
    p.avg_duration_minutes as avg_duration_minutes,
    p.max_duration_minutes as max_duration_minutes,
    p.last_update_time as last_update_time,
    p.last_result_state as last_result_state,
    p.list_cost as list_cost
  from per_pipeline as p
  left join ws as w on w.workspace_id = p.workspace_id
  left join {gold.dim_pipeline} as d on d.workspace_id = p.workspace_id and d.pipeline_id = p.pipeline_id and d.is_current
  order by rank
