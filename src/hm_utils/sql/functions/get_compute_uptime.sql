create or replace function {semantic}.get_compute_uptime(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  rank int comment 'Position by uptime hours, 1 = longest running resource.',
  resource_type string comment 'warehouse (SQL warehouse) or serving_endpoint (model serving endpoint).',
  workspace_id string comment 'Workspace of the resource.',
  workspace_name string comment 'Current workspace name.',
  resource_id string comment 'Warehouse id or serving endpoint id (the endpoint name when the id is unknown).',
  resource_name string comment 'Warehouse name or endpoint name.',
  uptime_hours double comment 'Warehouses: hours running (from start to stop events); endpoints: hours with at least one request.',
  period_hours double comment 'Hours in the period (days x 24).',
  uptime_share double comment 'uptime_hours / period_hours (0..1).',
  starts bigint comment 'Warehouse starts (STARTING events); NULL for endpoints.',
  avg_session_hours double comment 'uptime_hours / starts: average time a warehouse stays up once started.',
  requests bigint comment 'Statements (warehouses) or requests (endpoints) in the period.',
  failed_requests bigint comment 'Failed statements or requests answered with status >= 400.',
  error_rate double comment 'failed_requests / requests (0..1).',
  list_cost decimal(38,6) comment 'List cost billed to the resource in the period (account currency).'
)
comment 'Uptime and availability of always-on style compute: SQL warehouses (hours running, starts, average session) and model serving endpoints (hours serving, requests, error rate), with their cost. BEST FOR: "how long were our warehouses up this week?", "which serving endpoints have errors?", "warehouses that start and stop too often". NOT FOR: queueing on warehouses (use get_warehouse_queueing), classic clusters (get_cluster_utilization or get_idle_clusters). Hours in UTC; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  warehouse_up as (
    select e.workspace_id as workspace_id, e.warehouse_id as resource_id,
      sum(case when e.event_type not in ('STOPPED', 'STOPPING') then coalesce(e.seconds_to_next_event, 0) else 0 end) / 3600.0 as uptime_hours,
      count_if(e.event_type = 'STARTING') as starts
    from {gold.fct_warehouse_events} as e
    where e.event_date between start_date and end_date
    group by e.workspace_id, e.warehouse_id
  ),
  warehouse_queries as (
    select q.workspace_id as workspace_id, q.warehouse_id as resource_id, count(*) as requests, count_if(q.is_failed) as failed_requests
    from {gold.fct_queries} as q
    where q.query_date between start_date and end_date and q.warehouse_id is not null
    group by q.workspace_id, q.warehouse_id
  ),
  endpoints as (
    select s.workspace_id as workspace_id, coalesce(s.endpoint_id, s.endpoint_name) as resource_id, max(s.endpoint_name) as resource_name,
      cast(size(collect_set(s.hour_start)) as bigint) as uptime_hours, sum(s.requests) as requests, sum(s.failed_requests) as failed_requests
    from {gold.fct_serving_usage} as s
    where s.usage_date between start_date and end_date
    group by s.workspace_id, coalesce(s.endpoint_id, s.endpoint_name)
  ),
  costs as (
    select u.workspace_id as workspace_id, u.owner_type as owner_type, u.owner_id as owner_id, sum(u.list_cost) as list_cost
    from {gold.fct_usage_daily} as u
    where u.usage_date between start_date and end_date and u.owner_type in ('warehouse', 'serving_endpoint')
    group by u.workspace_id, u.owner_type, u.owner_id
  ),
  resources as (
    select 'warehouse' as resource_type, coalesce(u.workspace_id, q.workspace_id) as workspace_id,
      coalesce(u.resource_id, q.resource_id) as resource_id, d.warehouse_name as resource_name,
      coalesce(u.uptime_hours, 0) as uptime_hours, u.starts as starts, coalesce(q.requests, 0) as requests,
      coalesce(q.failed_requests, 0) as failed_requests
    from warehouse_up as u
    full outer join warehouse_queries as q on q.workspace_id = u.workspace_id and q.resource_id = u.resource_id
    left join {gold.dim_warehouse} as d on d.workspace_id = coalesce(u.workspace_id, q.workspace_id)
      and d.warehouse_id = coalesce(u.resource_id, q.resource_id) and d.is_current
    union all
    select 'serving_endpoint', e.workspace_id, e.resource_id, e.resource_name, cast(e.uptime_hours as double),
      cast(null as bigint), e.requests, e.failed_requests
    from endpoints as e
  ),
  filtered as (
    select r.*, c.list_cost as list_cost
    from resources as r
    left join ws as w on w.workspace_id = r.workspace_id and workspace is not null
    left join costs as c on c.workspace_id = r.workspace_id and c.owner_type = r.resource_type
      and (c.owner_id = r.resource_id or c.owner_id = r.resource_name)
    where workspace is null or r.workspace_id = workspace or w.workspace_name = workspace
  )
  select
    cast(row_number() over (order by f.uptime_hours desc, f.resource_type, f.resource_id) as int) as rank,
    f.resource_type as resource_type,
    f.workspace_id as workspace_id,
    coalesce(w.workspace_name, f.workspace_id) as workspace_name,
    f.resource_id as resource_id,
    f.resource_name as resource_name,
    f.uptime_hours as uptime_hours,
    (datediff(end_date, start_date) + 1) * 24.0 as period_hours,
    f.uptime_hours / ((datediff(end_date, start_date) + 1) * 24.0) as uptime_share,
    f.starts as starts,
    try_divide(f.uptime_hours, cast(f.starts as double)) as avg_session_hours,
    f.requests as requests,
    f.failed_requests as failed_requests,
    try_divide(cast(f.failed_requests as double), cast(f.requests as double)) as error_rate,
    coalesce(f.list_cost, 0) as list_cost
  from filtered as f
  left join ws as w on w.workspace_id = f.workspace_id
  order by rank
