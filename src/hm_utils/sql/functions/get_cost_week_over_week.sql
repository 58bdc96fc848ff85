create or replace function {semantic}.get_cost_week_over_week(
  start_date date default {today} - interval 6 days comment 'First UTC day of the current period. Default: 6 days ago (a 7-day week ending end_date).',
  end_date date default {today} comment 'Last UTC day of the current period. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  rank int comment 'Position by absolute change in list cost, 1 = biggest move up or down.',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name.',
  sku_family string comment 'Product family: ALL_PURPOSE, JOBS, DLT, SQL, MODEL_SERVING, ...',
  current_start date comment 'First day of the current period (start_date).',
  previous_start date comment 'First day of the previous period (same length, immediately before).',
  current_list_cost decimal(38,6) comment 'List cost in the current period (account currency).',
  previous_list_cost decimal(38,6) comment 'List cost in the previous period (account currency).',
  change_list_cost decimal(38,6) comment 'current_list_cost - previous_list_cost.',
  change_pct double comment 'Change in percent of the previous period (e.g. 25.0 = +25 %); NULL when the previous period cost nothing.',
  current_effective_cost decimal(38,6) comment 'Cost after the configured discount in the current period.',
  previous_effective_cost decimal(38,6) comment 'Cost after the configured discount in the previous period.'
)
comment 'Week over week (or any period over the previous period of the same length) cost per workspace and SKU family, ranked by the size of the change. BEST FOR: "how did spend change this week vs last week?", "which workspace or product grew most week over week?", "period over period comparison". NOT FOR: longer trends (use get_workspace_cost_trend), single-day spikes (get_cost_anomalies). Money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  bounds as (
    select start_date as current_start, date_sub(start_date, datediff(end_date, start_date) + 1) as previous_start
  ),
  costs as (
    select c.workspace_id as workspace_id, c.sku_family as sku_family,
      coalesce(sum(case when c.usage_date >= b.current_start then c.list_cost end), 0) as current_list_cost,
      coalesce(sum(case when c.usage_date < b.current_start then c.list_cost end), 0) as previous_list_cost,
      coalesce(sum(case when c.usage_date >= b.current_start then c.effective_cost end), 0) as current_effective_cost,
      coalesce(sum(case when c.usage_date < b.current_start then c.effective_cost end), 0) as previous_effective_cost
    from {gold.agg_daily_cost} as c
    cross join bounds as b
    left join ws as w on w.workspace_id = c.workspace_id and workspace is not null
    where c.usage_date between b.previous_start and end_date
      and (workspace is null or c.workspace_id = workspace or w.workspace_name = workspace)
    group by c.workspace_id, c.sku_family
  )
  select
    cast(row_number() over (order by abs(c.current_list_cost - c.previous_list_cost) desc, c.workspace_id, c.sku_family) as int) as rank,
    c.workspace_id as workspace_id,
    coalesce(w.workspace_name, c.workspace_id) as workspace_name,
    c.sku_family as sku_family,
    b.current_start as current_start,
    b.previous_start as previous_start,
    c.current_list_cost as current_list_cost,
    c.previous_list_cost as previous_list_cost,
    c.current_list_cost - c.previous_list_cost as change_list_cost,
    100 * try_divide(cast(c.current_list_cost - c.previous_list_cost as double), cast(c.previous_list_cost as double)) as change_pct,
    c.current_effective_cost as current_effective_cost,
    c.previous_effective_cost as previous_effective_cost
  from costs as c
  cross join bounds as b
  left join ws as w on w.workspace_id = c.workspace_id
  order by rank
