create or replace function {semantic}.get_bottleneck_summary(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  rank int comment 'Position by share of time or work affected, 1 = biggest bottleneck.',
  workspace_id string comment 'Workspace.',
  workspace_name string comment 'Current workspace name.',
  area string comment 'jobs, queries or clusters.',
  signal string comment 'The bottleneck: job failures, job queue and setup time, query queueing, query failures, query spill, idle cluster hours.',
  value double comment 'Size of the signal in its unit.',
  unit string comment 'Unit of value: share (0..1) or hours.',
  affected bigint comment 'Entities affected (jobs, statements or clusters).',
  worst_entity string comment 'Entity with the largest contribution (job id, warehouse id or cluster id).',
  next_step string comment 'The function to call for detail.'
)
comment 'One-screen summary of where time and work are lost per workspace: job failure share, job queue and setup share, query queueing share, query failure share, spilled statements and idle cluster hours, each with the worst entity and the function to drill into. BEST FOR: "where are our performance bottlenecks?", "what should we fix first?", "health overview of workspace x". NOT FOR: the detail of any one signal (follow next_step: get_failed_jobs, get_warehouse_queueing, get_idle_clusters, ...), cost (get_top_cost_drivers). Shares are 0..1; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  runs as (
    select r.*
    from {gold.fct_job_runs} as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    where r.run_date between start_date and end_date and r.is_completed
      and (workspace is null or r.workspace_id = workspace or w.workspace_name = workspace)
  ),
  queries as (
    select q.*
    from {gold.fct_queries} as q
    left join ws as w on w.workspace_id = q.workspace_id and workspace is not null
    where q.query_date between start_date and end_date
      and (workspace is null or q.workspace_id = workspace or w.workspace_name = workspace)
  ),
  idle as (
    select u.workspace_id as workspace_id, u.cluster_id as cluster_id, u.hour_start as hour_start,
      try_divide(sum(u.avg_cpu_percent * u.node_minutes), sum(u.node_minutes)) as cpu_percent
    from {gold.fct_node_utilization_hourly} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.usage_date between start_date and end_date
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
    group by u.workspace_id, u.cluster_id, u.hour_start
  ),
  job_stats as (
    select workspace_id,
      try_divide(cast(count_if(is_failure) as double), cast(count(*) as double)) as failure_share,
      cast(size(collect_set(case when is_failure then job_id end)) as bigint) as failing_jobs,
      max_by(job_id, case when is_failure then 1 else 0 end + failed_list_cost / 1e9) as worst_failing_job,
      try_divide(cast(sum(coalesce(queue_seconds, 0) + coalesce(setup_seconds, 0)) as double),
        cast(sum(duration_seconds) as double)) as wait_share,
      cast(size(collect_set(case when coalesce(queue_seconds, 0) + coalesce(setup_seconds, 0) > 0 then job_id end)) as bigint) as waiting_jobs,
      max_by(job_id, coalesce(queue_seconds, 0) + coalesce(setup_seconds, 0)) as worst_waiting_job
    from runs group by workspace_id
  ),
  query_stats as (
    select workspace_id,
      try_divide(cast(sum(coalesce(queued_ms, 0)) as double), cast(sum(total_duration_ms) as double)) as queue_share,
      count_if(waiting_at_capacity_ms > 0) as queued_statements,
      max_by(warehouse_id, coalesce(waiting_at_capacity_ms, 0)) as worst_queue_warehouse,
      try_divide(cast(count_if(is_failed) as double), cast(count(*) as double)) as failure_share,
      count_if(is_failed) as failed_statements,
      max_by(warehouse_id, case when is_failed then 1 else 0 end) as worst_failing_warehouse,
      try_divide(cast(count_if(spilled_local_bytes > 0) as double), cast(count(*) as double)) as spill_share,
      count_if(spilled_local_bytes > 0) as spilled_statements,
      max_by(statement_id, coalesce(spilled_local_bytes, 0)) as worst_spill_statement
    from queries group by workspace_id
  ),
  idle_stats as (
    select workspace_id, cast(count_if(cpu_percent < 10) as double) as idle_hours,
      cast(size(collect_set(case when cpu_percent < 10 then cluster_id end)) as bigint) as idle_clusters,
      max_by(cluster_id, case when cpu_percent < 10 then 1 else 0 end) as worst_idle_cluster
    from idle group by workspace_id
  ),
  signals as (
    select workspace_id, stack(2,
      'jobs', 'job failures', failure_share, 'share', failing_jobs, worst_failing_job, 'get_failed_jobs',
      'jobs', 'job queue and setup time', wait_share, 'share', waiting_jobs, worst_waiting_job, 'get_slow_jobs'
    ) as (area, signal, value, unit, affected, worst_entity, next_step)
    from job_stats
    union all
    select workspace_id, stack(3,
      'queries', 'query queueing', queue_share, 'share', queued_statements, worst_queue_warehouse, 'get_warehouse_queueing',
      'queries', 'query failures', failure_share, 'share', failed_statements, worst_failing_warehouse, 'get_query_failures',
      'queries', 'query spill', spill_share, 'share', spilled_statements, worst_spill_statement, 'get_spill_heavy_queries'
    ) as (area, signal, value, unit, affected, worst_entity, next_step)
    from query_stats
    union all
    select workspace_id, 'clusters', 'idle cluster hours', idle_hours, 'hours', cast(idle_clusters as bigint), worst_idle_cluster,
      'get_idle_clusters'
    from idle_stats
  )
  select
    cast(row_number() over (order by case when s.unit = 'hours' then least(s.value / 168, 1) else s.value end desc nulls last,
      s.workspace_id, s.signal) as int) as rank,
    s.workspace_id as workspace_id,
    coalesce(w.workspace_name, s.workspace_id) as workspace_name,
    s.area as area,
    s.signal as signal,
    s.value as value,
    s.unit as unit,
    s.affected as affected,
    s.worst_entity as worst_entity,
    s.next_step as next_step
  from signals as s
  left join ws as w on w.workspace_id = s.workspace_id
  order by rank
