create or replace function {semantic}.get_idle_clusters(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  cpu_threshold double default 10 comment 'An hour counts as idle when the average CPU busy percent of all the cluster nodes is below this. Default 10.',
  min_idle_hours int default 6 comment 'Minimum idle hours in the period for a cluster to be returned (LakeSentry severity: 2 medium, 6 high, 12 critical). Default 6.'
)
returns table (
  rank int comment 'Position by idle hours, 1 = most idle cluster.',
  workspace_id string comment 'Workspace of the cluster.',
  workspace_name string comment 'Current workspace name.',
  cluster_id string comment 'Cluster id.',
  cluster_name string comment 'Current cluster name.',
  owned_by string comment 'Owner of the cluster.',
  compute_kind string comment 'ALL_PURPOSE, JOB, PIPELINE or OTHER.',
  auto_termination_minutes bigint comment 'Configured idle minutes before auto-termination; 0 or NULL means never.',
  hours_up bigint comment 'Clock hours with utilisation data.',
  idle_hours bigint comment 'Hours with average CPU below cpu_threshold.',
  idle_share double comment 'idle_hours / hours_up (0..1).',
  longest_idle_streak_hours bigint comment 'Longest run of consecutive idle hours.',
  avg_cpu_percent double comment 'Average CPU busy percent over the period.',
  list_cost decimal(38,6) comment 'List cost billed to the cluster in the period (account currency).',
  idle_list_cost decimal(38,6) comment 'Cost of the idle hours: list_cost x idle_share (account currency).',
  severity string comment 'critical (12 h or more of consecutive idle time), high (6 h or more), medium (2 h or more) or low.'
)
comment 'Clusters that stay up while doing almost nothing: hours with average CPU below a threshold, the longest idle streak, auto-termination setting and the cost of the idle time. BEST FOR: "which clusters are idle?", "how much do idle clusters cost us?", "clusters without auto-termination that run all night". NOT FOR: clusters with too many workers (use get_oversized_clusters), overall utilisation (get_cluster_utilization), SQL warehouses (get_compute_uptime). Money in the account currency; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  hours as (
    select u.workspace_id as workspace_id, u.cluster_id as cluster_id, u.hour_start as hour_start,
      try_divide(sum(u.avg_cpu_percent * u.node_minutes), sum(u.node_minutes)) as cpu_percent
    from {gold.fct_node_utilization_hourly} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.usage_date between start_date and end_date
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
    group by u.workspace_id, u.cluster_id, u.hour_start
  ),
  marked as (
    select h.*, coalesce(h.cpu_percent < cpu_threshold, false) as is_idle,
      row_number() over (partition by h.workspace_id, h.cluster_id order by h.hour_start)
        - row_number() over (partition by h.workspace_id, h.cluster_id, coalesce(h.cpu_percent < cpu_threshold, false) order by h.hour_start) as streak_group
    from hours as h
  ),
  streaks as (
    select workspace_id, cluster_id, is_idle, count(*) as hours, sum(cpu_percent) as cpu_sum, count(cpu_percent) as cpu_hours
    from marked
    group by workspace_id, cluster_id, streak_group, is_idle
  ),
  per_cluster as (
    select workspace_id, cluster_id, sum(hours) as hours_up, sum(case when is_idle then hours else 0 end) as idle_hours,
      max(case when is_idle then hours end) as longest_idle_streak_hours,
      try_divide(sum(cpu_sum), sum(cpu_hours)) as avg_cpu_percent
    from streaks
    group by workspace_id, cluster_id
    having sum(case when is_idle then hours else 0 end) >= min_idle_hours
  ),
  costs as (
    select h.workspace_id as workspace_id, h.cluster_id as cluster_id, sum(h.list_cost) as list_cost
    from {gold.fct_usage_hourly} as h
    where h.usage_date between start_date and end_date and h.cluster_id is not null
    group by h.workspace_id, h.cluster_id
  ),
  ranked as (
    select p.*, coalesce(k.list_cost, 0) as list_cost, row_number() over (order by p.idle_hours desc, p.cluster_id) as rank
    from per_cluster as p
    left join costs as k on k.workspace_id = p.workspace_id and k.cluster_id = p.cluster_id
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.cluster_id as cluster_id,
    c.cluster_name as cluster_name,
    c.owned_by as owned_by,
    c.compute_kind as compute_kind,
    c.auto_termination_minutes as auto_termination_minutes,
    r.hours_up as hours_up,
    r.idle_hours as idle_hours,
    try_divide(cast(r.idle_hours as double), cast(r.hours_up as double)) as idle_share,
    r.longest_idle_streak_hours as longest_idle_streak_hours,
    r.avg_cpu_percent as avg_cpu_percent,
    r.list_cost as list_cost,
    cast(r.list_cost * try_divide(cast(r.idle_hours as double), cast(r.hours_up as double)) as decimal(38,6)) as idle_list_cost,
    case when r.longest_idle_streak_hours >= 12 then 'critical' when r.longest_idle_streak_hours >= 6 then 'high'
      when r.longest_idle_streak_hours >= 2 then 'medium' else 'low' end as severity
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.dim_cluster} as c on c.workspace_id = r.workspace_id and c.cluster_id = r.cluster_id and c.is_current
  order by rank
