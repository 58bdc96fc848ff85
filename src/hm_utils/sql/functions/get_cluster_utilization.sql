create or replace function {semantic}.get_cluster_utilization(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  cluster string default null comment 'Cluster id or name to keep; NULL (default) = all clusters with utilisation data.',
  top_n int default 50 comment 'Number of clusters returned (rank 1..top_n). Default 50.'
)
returns table (
  rank int comment 'Position by node-hours, 1 = cluster with the most node time.',
  workspace_id string comment 'Workspace of the cluster.',
  workspace_name string comment 'Current workspace name.',
  cluster_id string comment 'Cluster id.',
  cluster_name string comment 'Current cluster name.',
  compute_kind string comment 'ALL_PURPOSE, JOB, PIPELINE or OTHER.',
  worker_node_type string comment 'Worker instance type.',
  hours_up bigint comment 'Clock hours with utilisation data.',
  node_hours double comment 'Instance-hours measured (driver and workers).',
  avg_workers double comment 'Average worker instances per hour up.',
  max_workers bigint comment 'Most worker instances in one hour.',
  avg_cpu_percent double comment 'Average CPU busy percent (user + system) over all node-minutes.',
  peak_cpu_percent double comment 'Highest per-minute CPU busy percent.',
  avg_worker_cpu_percent double comment 'Average CPU busy percent of the workers only.',
  avg_driver_cpu_percent double comment 'Average CPU busy percent of the driver only.',
  avg_mem_used_percent double comment 'Average memory used percent.',
  peak_mem_used_percent double comment 'Highest per-minute memory used percent.',
  avg_cpu_wait_percent double comment 'Average CPU IO-wait percent (storage or network bound when high).',
  swap_hours bigint comment 'Hours with swap in use (memory pressure).',
  list_cost decimal(38,6) comment 'List cost billed to the cluster in the period (account currency).'
)
comment 'CPU and memory utilisation of classic clusters: average and peak CPU (driver and workers), memory, IO wait, swap, worker counts and the cost billed to the cluster. BEST FOR: "how busy are our clusters?", "CPU and memory use of cluster x", "which clusters have memory pressure?". NOT FOR: a list of clusters to shut down (use get_idle_clusters), clusters with too many workers (get_oversized_clusters), SQL warehouses (get_warehouse_queueing). CPU and memory in percent; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  clusters as (
    select workspace_id, cluster_id, cluster_name, compute_kind, worker_node_type from {gold.dim_cluster} where is_current
  ),
  util as (
    select u.workspace_id as workspace_id, u.cluster_id as cluster_id,
      cast(size(collect_set(u.hour_start)) as bigint) as hours_up,
      sum(u.node_minutes) / 60.0 as node_hours,
      sum(case when not u.is_driver then u.instance_count else 0 end) / cast(size(collect_set(u.hour_start)) as bigint) as avg_workers,
      max(case when not u.is_driver then u.instance_count else 0 end) as max_workers,
      try_divide(sum(u.avg_cpu_percent * u.node_minutes), sum(u.node_minutes)) as avg_cpu_percent,
      max(u.peak_cpu_percent) as peak_cpu_percent,
      try_divide(sum(case when not u.is_driver then u.avg_cpu_percent * u.node_minutes end),
        sum(case when not u.is_driver then u.node_minutes end)) as avg_worker_cpu_percent,
      try_divide(sum(case when u.is_driver then u.avg_cpu_percent * u.node_minutes end),
        sum(case when u.is_driver then u.node_minutes end)) as avg_driver_cpu_percent,
      try_divide(sum(u.avg_mem_used_percent * u.node_minutes), sum(u.node_minutes)) as avg_mem_used_percent,
      max(u.peak_mem_used_percent) as peak_mem_used_percent,
      try_divide(sum(u.avg_cpu_wait_percent * u.node_minutes), sum(u.node_minutes)) as avg_cpu_wait_percent,
      cast(size(collect_set(case when u.avg_mem_swap_percent > 0 then u.hour_start end)) as bigint) as swap_hours
    from {gold.fct_node_utilization_hourly} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    left join clusters as c on c.workspace_id = u.workspace_id and c.cluster_id = u.cluster_id and cluster is not null
    where u.usage_date between start_date and end_date
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
      and (cluster is null or u.cluster_id = cluster or c.cluster_name = cluster)
    group by u.workspace_id, u.cluster_id
  ),
  costs as (
    select h.workspace_id as workspace_id, h.cluster_id as cluster_id, sum(h.list_cost) as list_cost
    from {gold.fct_usage_hourly} as h
    where h.usage_date between start_date and end_date and h.cluster_id is not null
    group by h.workspace_id, h.cluster_id
  ),
  ranked as (
    select t.*, k.list_cost as list_cost, row_number() over (order by t.node_hours desc, t.cluster_id) as rank
    from util as t
    left join costs as k on k.workspace_id = t.workspace_id and k.cluster_id = t.cluster_id
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.cluster_id as cluster_id,
    c.cluster_name as cluster_name,
    c.compute_kind as compute_kind,
    c.worker_node_type as worker_node_type,
    r.hours_up as hours_up,
    r.node_hours as node_hours,
    r.avg_workers as avg_workers,
    r.max_workers as max_workers,
    r.avg_cpu_percent as avg_cpu_percent,
    r.peak_cpu_percent as peak_cpu_percent,
    r.avg_worker_cpu_percent as avg_worker_cpu_percent,
    r.avg_driver_cpu_percent as avg_driver_cpu_percent,
    r.avg_mem_used_percent as avg_mem_used_percent,
    r.peak_mem_used_percent as peak_mem_used_percent,
    r.avg_cpu_wait_percent as avg_cpu_wait_percent,
    r.swap_hours as swap_hours,
    coalesce(r.list_cost, 0) as list_cost
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join clusters as c on c.workspace_id = r.workspace_id and c.cluster_id = r.cluster_id
  where r.rank <= top_n
  order by rank
