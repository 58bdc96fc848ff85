create or replace function {semantic}.get_daily_cost_summary(
  start_date date default {today} - interval 30 days comment 'First UTC day included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  usage_date date comment 'UTC day of the usage.',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name (the id when the name is unknown).',
  currency_code string comment 'Currency of the money columns, e.g. USD (UNPRICED for usage without a list price).',
  dbus decimal(38,6) comment 'Net DBUs consumed that day.',
  list_cost decimal(38,6) comment 'Net cost at list price (account currency).',
  effective_cost decimal(38,6) comment 'Net cost after the configured discount (account currency).',
  unallocated_list_cost decimal(38,6) comment 'Part of list_cost with no owner (job, warehouse, cluster, ...).',
  untagged_list_cost decimal(38,6) comment 'Part of list_cost without any tag, even after back-filling job and pipeline tags.',
  untagged_share double comment 'untagged_list_cost / list_cost (0..1); NULL when list_cost is 0.'
)
comment 'Daily spend per workspace: DBUs, list and effective cost, and how much is unallocated or untagged. BEST FOR: "what did we spend each day last month?", "daily cost of workspace prod", "how much of our spend is untagged per day?". NOT FOR: spend by job, SKU or tag (use get_top_cost_drivers, get_sku_cost_breakdown, get_tag_chargeback), trends by week or month (get_workspace_cost_trend), unusual days (get_cost_anomalies). Money columns are in the account currency (currency_code), exact to 6 decimals; one row per day, workspace and currency, ordered by day.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */
    c.usage_date as usage_date,
    c.workspace_id as workspace_id,
    coalesce(max(w.workspace_name), c.workspace_id) as workspace_name,
    c.currency_code as currency_code,
    sum(c.dbus) as dbus,
    sum(c.list_cost) as list_cost,
    sum(c.effective_cost) as effective_cost,
    sum(c.unallocated_list_cost) as unallocated_list_cost,
    sum(c.untagged_list_cost) as untagged_list_cost,
    try_divide(cast(sum(c.untagged_list_cost) as double), cast(sum(c.list_cost) as double)) as untagged_share
  from {gold.agg_daily_cost} as c
  left join ws as w on w.workspace_id = c.workspace_id
  where c.usage_date between start_date and end_date
    and (workspace is null or c.workspace_id = workspace or w.workspace_name = workspace)
  group by c.usage_date, c.workspace_id, c.currency_code
  order by usage_date, workspace_name
