create or replace function {semantic}.get_warehouse_queueing(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  queue_threshold_seconds double default 60 comment 'A day is flagged when the 95th percentile wait at capacity of its queued statements reaches this many seconds. Default 60.'
)
returns table (
  rank int comment 'Position by 95th percentile queue time, 1 = worst warehouse day.',
  query_date date comment 'UTC day.',
  workspace_id string comment 'Workspace of the warehouse.',
  workspace_name string comment 'Current workspace name.',
  warehouse_id string comment 'SQL warehouse id.',
  warehouse_name string comment 'Current warehouse name.',
  warehouse_size string comment 'Current t-shirt size.',
  max_clusters int comment 'Current maximum number of clusters (queueing at capacity starts at this limit).',
  statements bigint comment 'Statements run that day.',
  queued_statements bigint comment 'Statements that waited at capacity (waiting_at_capacity > 0).',
  p95_queue_seconds double comment '95th percentile wait at capacity of the queued statements, seconds.',
  max_queue_seconds double comment 'Longest wait at capacity, seconds.',
  total_queue_hours double comment 'Sum of all waiting (for compute and at capacity), hours.',
  avg_wait_for_compute_seconds double comment 'Average seconds waiting for the warehouse to start or scale.',
  peak_hour timestamp comment 'Clock hour with the most waiting at capacity (UTC).',
  running_cluster_hours double comment 'Cluster-hours the warehouse ran that day (from its start, stop and scaling events).',
  busy_share double comment 'Statement execution hours / running cluster-hours (0..1+, a rough utilisation; above 1 means many concurrent statements per cluster).',
  is_queueing boolean comment 'True when p95_queue_seconds >= queue_threshold_seconds: raise max_clusters or spread the load.'
)
comment 'SQL warehouse queueing and utilisation per day: statements, how many waited at capacity and how long (95th percentile and max), waiting for start-up, the worst hour, running cluster-hours and a busy share. BEST FOR: "are our warehouses queueing?", "which warehouse needs more clusters?", "warehouse utilisation this week". NOT FOR: single slow statements (use get_slowest_queries), warehouse uptime and starts (get_compute_uptime), warehouse cost (get_top_cost_drivers). Rows in rank order (worst first).'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  q as (
    select qq.*
    from {gold.fct_queries} as qq
    left join ws as w on w.workspace_id = qq.workspace_id and workspace is not null
    where qq.query_date between start_date and end_date
      and qq.warehouse_id is not null
      and (workspace is null or qq.workspace_id = workspace or w.workspace_name = workspace)
  ),
  hourly as (
    select query_date, workspace_id, warehouse_id, date_trunc('HOUR', start_time) as hour_start,
      sum(waiting_at_capacity_ms) as waited_ms,
      row_number() over (partition by query_date, workspace_id, warehouse_id order by sum(waiting_at_capacity_ms) desc, date_trunc('HOUR', start_time)) as hour_order
    from q
    group by query_date, workspace_id, warehouse_id, date_trunc('HOUR', start_time)
  ),
  daily as (
    select query_date, workspace_id, warehouse_id,
      count(*) as statements,
      count_if(waiting_at_capacity_ms > 0) as queued_statements,
      percentile(case when waiting_at_capacity_ms > 0 then waiting_at_capacity_ms end, 0.95) / 1000 as p95_queue_seconds,
      max(waiting_at_capacity_ms) / 1000.0 as max_queue_seconds,
      sum(queued_ms) / 3600000.0 as total_queue_hours,
      avg(waiting_for_compute_ms) / 1000 as avg_wait_for_compute_seconds,
      sum(execution_ms) / 3600000.0 as execution_hours
    from q
    group by query_date, workspace_id, warehouse_id
  ),
  running as (
    select e.event_date as query_date, e.workspace_id as workspace_id, e.warehouse_id as warehouse_id,
      sum(coalesce(e.seconds_to_next_event, 0) * coalesce(e.cluster_count, 0)) / 3600.0 as running_cluster_hours
    from {gold.fct_warehouse_events} as e
    where e.event_date between start_date and end_date and e.event_type not in ('STOPPED', 'STOPPING')
    group by e.event_date, e.workspace_id, e.warehouse_id
  ),
  ranked as (
    select d.*, h.hour_start as peak_hour, r.running_cluster_hours as running_cluster_hours,
      row_number() over (order by d.p95_queue_seconds desc nulls last, d.max_queue_seconds desc, d.query_date, d.warehouse_id) as rank
    from daily as d
    left join hourly as h on h.query_date = d.query_date and h.workspace_id = d.workspace_id
      and h.warehouse_id = d.warehouse_id and h.hour_order = 1 and h.waited_ms > 0
    left join running as r on r.query_date = d.query_date and r.workspace_id = d.workspace_id and r.warehouse_id = d.warehouse_id
  )
  select
    cast(r.rank as int) as rank,
    r.query_date as query_date,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.warehouse_id as warehouse_id,
    c.warehouse_name as warehouse_name,
    c.warehouse_size as warehouse_size,
    c.max_clusters as max_clusters,
    r.statements as statements,
    r.queued_statements as queued_statements,
    r.p95_queue_seconds as p95_queue_seconds,
    r.max_queue_seconds as max_queue_seconds,
    r.total_queue_hours as total_queue_hours,
    r.avg_wait_for_compute_seconds as avg_wait_for_compute_seconds,
    r.peak_hour as peak_hour,
    r.running_cluster_hours as running_cluster_hours,
    try_divide(r.execution_hours, r.running_cluster_hours) as busy_share,
    coalesce(r.p95_queue_seconds >= queue_threshold_seconds, false) as is_queueing
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.dim_warehouse} as c on c.workspace_id = r.workspace_id and c.warehouse_id = r.warehouse_id and c.is_current
  order by rank
