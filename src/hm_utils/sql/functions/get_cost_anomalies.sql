create or replace function {semantic}.get_cost_anomalies(
  start_date date default {today} - interval 30 days comment 'First UTC day checked for anomalies. Default: 30 days ago (the baseline reaches further back).',
  end_date date default {today} comment 'Last UTC day checked. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  z_threshold double default 3.0 comment 'Minimum z-score (standard deviations above the trailing mean) for a day to be returned. Default 3.',
  baseline_days int default 28 comment 'Number of calendar days before each day that form its baseline (days with usage of the same workspace and SKU). Default 28.',
  min_baseline_days int default 7 comment 'Baseline days with usage needed before a day can be judged (fewer = skipped). Default 7.'
)
returns table (
  rank int comment 'Position by z-score, 1 = most unusual.',
  usage_date date comment 'UTC day whose cost is unusual.',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name.',
  sku_name string comment 'SKU whose daily cost is unusual.',
  sku_family string comment 'Product family of the SKU (ALL_PURPOSE, JOBS, SQL, DLT, MODEL_SERVING, ...).',
  list_cost decimal(38,6) comment 'List cost of the SKU in the workspace that day (account currency).',
  baseline_mean_cost decimal(38,6) comment 'Mean daily list cost over the baseline days before it.',
  baseline_stddev_cost decimal(38,6) comment 'Standard deviation of the daily list cost over the baseline days.',
  baseline_days_used int comment 'Baseline days actually available.',
  z_score double comment '(list_cost - baseline mean) / baseline standard deviation.',
  ratio_to_baseline double comment 'list_cost / baseline mean (e.g. 6.0 = six times the usual cost).',
  excess_cost decimal(38,6) comment 'list_cost - baseline mean: what the day cost above normal (account currency).'
)
comment 'Days whose cost for a workspace and SKU is far above its own trailing baseline (z-score of the daily list cost against the mean and standard deviation of the previous baseline_days days). Simple statistics until the ML layer replaces them. BEST FOR: "were there any cost spikes last month?", "which day and SKU cost unusually much?", "why did spend jump on a day?". NOT FOR: slow upward trends (use get_workspace_cost_trend or get_cost_week_over_week), what drives the cost (get_top_cost_drivers). Only days at or above z_threshold are returned; money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  daily as (
    select u.usage_date as usage_date, u.workspace_id as workspace_id, u.sku_name as sku_name,
      max(u.sku_family) as sku_family, sum(u.list_cost) as list_cost
    from {gold.fct_usage_daily} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.usage_date between date_sub(start_date, baseline_days) and end_date
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
    group by u.usage_date, u.workspace_id, u.sku_name
  ),
  scored as (
    select d.usage_date as usage_date, d.workspace_id as workspace_id, d.sku_name as sku_name,
      d.sku_family as sku_family, d.list_cost as list_cost,
      avg(b.list_cost) as baseline_mean, stddev_samp(b.list_cost) as baseline_stddev, count(b.list_cost) as baseline_n
    from daily as d
    left join daily as b
      on b.workspace_id = d.workspace_id and b.sku_name = d.sku_name
      and b.usage_date between date_sub(d.usage_date, baseline_days) and date_sub(d.usage_date, 1)
    where d.usage_date between start_date and end_date
    group by d.usage_date, d.workspace_id, d.sku_name, d.sku_family, d.list_cost
  ),
  flagged as (
    select s.*,
      try_divide(cast(s.list_cost - s.baseline_mean as double), cast(s.baseline_stddev as double)) as z_score
    from scored as s
    where s.baseline_n >= min_baseline_days
  )
  select
    cast(row_number() over (order by f.z_score desc) as int) as rank,
    f.usage_date as usage_date,
    f.workspace_id as workspace_id,
    coalesce(w.workspace_name, f.workspace_id) as workspace_name,
    f.sku_name as sku_name,
    f.sku_family as sku_family,
    f.list_cost as list_cost,
    f.baseline_mean as baseline_mean_cost,
    f.baseline_stddev as baseline_stddev_cost,
    cast(f.baseline_n as int) as baseline_days_used,
    f.z_score as z_score,
    try_divide(cast(f.list_cost as double), cast(f.baseline_mean as double)) as ratio_to_baseline,
    f.list_cost - f.baseline_mean as excess_cost
  from flagged as f
  left join ws as w on w.workspace_id = f.workspace_id
  where f.z_score >= z_threshold
  order by rank
