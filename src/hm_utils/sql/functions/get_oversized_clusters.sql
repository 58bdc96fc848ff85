create or replace function {semantic}.get_oversized_clusters(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  cpu_threshold double default 25 comment 'A cluster is oversized when its workers average CPU busy percent stays below this. Default 25.',
  min_workers int default 4 comment 'Only clusters that ran with at least this many worker instances in some hour. Default 4.',
  target_cpu_percent double default 60 comment 'CPU busy percent a right-sized cluster should run at; used for the suggested worker count. Default 60.'
)
returns table (
  rank int comment 'Position by excess workers, 1 = most oversized.',
  workspace_id string comment 'Workspace of the cluster.',
  workspace_name string comment 'Current workspace name.',
  cluster_id string comment 'Cluster id.',
  cluster_name string comment 'Current cluster name.',
  owned_by string comment 'Owner of the cluster.',
  compute_kind string comment 'ALL_PURPOSE, JOB, PIPELINE or OTHER.',
  worker_node_type string comment 'Worker instance type.',
  worker_cores double comment 'vCPU cores of one worker instance.',
  configured_workers bigint comment 'Configured fixed worker count, or the autoscale maximum.',
  max_workers bigint comment 'Most worker instances seen in one hour.',
  avg_workers double comment 'Average worker instances per hour up.',
  avg_worker_cpu_percent double comment 'Average CPU busy percent of the workers.',
  peak_worker_cpu_percent double comment 'Highest per-minute CPU busy percent of the workers.',
  avg_mem_used_percent double comment 'Average memory used percent of the workers.',
  suggested_workers bigint comment 'Workers that would have run at target_cpu_percent: ceil(avg_workers x avg CPU / target), at least 1.',
  excess_workers double comment 'avg_workers - suggested_workers.',
  list_cost decimal(38,6) comment 'List cost billed to the cluster in the period (account currency).',
  estimated_saving decimal(38,6) comment 'list_cost x excess_workers / avg_workers: rough saving from right-sizing (account currency).'
)
comment 'Over-provisioned clusters: many workers with low CPU, with the worker count that would have been enough and the rough saving. BEST FOR: "which clusters have too many workers?", "right-sizing recommendations", "where do we waste money on big clusters?". NOT FOR: clusters that sit idle (use get_idle_clusters), utilisation of every cluster (get_cluster_utilization), jobs on all-purpose clusters (get_all_purpose_job_clusters). Money in the account currency; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  workers as (
    select u.workspace_id as workspace_id, u.cluster_id as cluster_id,
      cast(size(collect_set(u.hour_start)) as bigint) as hours_up,
      avg(u.instance_count) as avg_workers,
      max(u.instance_count) as max_workers,
      try_divide(sum(u.avg_cpu_percent * u.node_minutes), sum(u.node_minutes)) as avg_worker_cpu_percent,
      max(u.peak_cpu_percent) as peak_worker_cpu_percent,
      try_divide(sum(u.avg_mem_used_percent * u.node_minutes), sum(u.node_minutes)) as avg_mem_used_percent
    from {gold.fct_node_utilization_hourly} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.usage_date between start_date and end_date
      and not u.is_driver
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
    group by u.workspace_id, u.cluster_id
    having max(u.instance_count) >= min_workers
      and try_divide(sum(u.avg_cpu_percent * u.node_minutes), sum(u.node_minutes)) < cpu_threshold
  ),
  sized as (
    select v.*, greatest(cast(ceil(v.avg_workers * v.avg_worker_cpu_percent / target_cpu_percent) as bigint), 1) as suggested_workers
    from workers as v
  ),
  costs as (
    select h.workspace_id as workspace_id, h.cluster_id as cluster_id, sum(h.list_cost) as list_cost
    from {gold.fct_usage_hourly} as h
    where h.usage_date between start_date and end_date and h.cluster_id is not null
    group by h.workspace_id, h.cluster_id
  ),
  ranked as (
    select s.*, s.avg_workers - s.suggested_workers as excess_workers, coalesce(k.list_cost, 0) as list_cost,
      row_number() over (order by s.avg_workers - s.suggested_workers desc, s.cluster_id) as rank
    from sized as s
    left join costs as k on k.workspace_id = s.workspace_id and k.cluster_id = s.cluster_id
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.cluster_id as cluster_id,
    c.cluster_name as cluster_name,
    c.owned_by as owned_by,
    c.compute_kind as compute_kind,
    c.worker_node_type as worker_node_type,
    n.core_count as worker_cores,
    coalesce(c.worker_count, c.max_autoscale_workers) as configured_workers,
    r.max_workers as max_workers,
    r.avg_workers as avg_workers,
    r.avg_worker_cpu_percent as avg_worker_cpu_percent,
    r.peak_worker_cpu_percent as peak_worker_cpu_percent,
    r.avg_mem_used_percent as avg_mem_used_percent,
    r.suggested_workers as suggested_workers,
    r.excess_workers as excess_workers,
    r.list_cost as list_cost,
    cast(r.list_cost * greatest(try_divide(r.excess_workers, r.avg_workers), 0) as decimal(38,6)) as estimated_saving
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.dim_cluster} as c on c.workspace_id = r.workspace_id and c.cluster_id = r.cluster_id and c.is_current
  left join {gold.dim_node_type} as n on n.node_type = c.worker_node_type
  order by rank
