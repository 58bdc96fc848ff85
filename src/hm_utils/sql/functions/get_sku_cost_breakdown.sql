create or replace function {semantic}.get_sku_cost_breakdown(
  start_date date default {today} - interval 30 days comment 'First UTC day included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.'
)
returns table (
  rank int comment 'Position by list cost, 1 = most expensive SKU.',
  sku_name string comment 'SKU billed, e.g. PREMIUM_JOBS_COMPUTE.',
  sku_family string comment 'Product family: ALL_PURPOSE, JOBS, DLT, SQL, MODEL_SERVING, APPS, NETWORKING, STORAGE or OTHER.',
  usage_unit string comment 'Unit of usage_quantity, usually DBU.',
  currency_code string comment 'Currency of the money columns, e.g. USD.',
  usage_quantity decimal(38,6) comment 'Net units consumed (DBUs for compute).',
  list_cost decimal(38,6) comment 'Net cost at list price (account currency).',
  effective_cost decimal(38,6) comment 'Net cost after the configured discount (account currency).',
  avg_unit_price decimal(38,6) comment 'list_cost / usage_quantity: average list price paid per unit.',
  share_of_total double comment 'list_cost / list cost of all SKUs in the period and workspace filter (0..1).',
  workspaces int comment 'Number of workspaces that used the SKU.'
)
comment 'Spend per SKU (and product family) with units, average unit price and share of the total. BEST FOR: "which SKUs do we pay for?", "how much goes to serverless SQL vs jobs compute?", "what share of spend is all-purpose compute?". NOT FOR: spend per job or warehouse (use get_top_cost_drivers), spend over time (get_workspace_cost_trend), tag chargeback (get_tag_chargeback). Money in the account currency; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  skus as (
    select u.sku_name as sku_name, max(u.sku_family) as sku_family, u.usage_unit as usage_unit,
      coalesce(max(u.currency_code), 'UNPRICED') as currency_code,
      sum(u.usage_quantity) as usage_quantity, sum(u.list_cost) as list_cost, sum(u.effective_cost) as effective_cost,
      cast(size(collect_set(u.workspace_id)) as bigint) as workspaces
    from {gold.fct_usage_daily} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.usage_date between start_date and end_date
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
    group by u.sku_name, u.usage_unit
  )
  select
    cast(row_number() over (order by s.list_cost desc nulls last, s.sku_name) as int) as rank,
    s.sku_name as sku_name,
    s.sku_family as sku_family,
    s.usage_unit as usage_unit,
    s.currency_code as currency_code,
    s.usage_quantity as usage_quantity,
    s.list_cost as list_cost,
    s.effective_cost as effective_cost,
    try_divide(s.list_cost, s.usage_quantity) as avg_unit_price,
    try_divide(cast(s.list_cost as double), cast(sum(s.list_cost) over () as double)) as share_of_total,
    cast(s.workspaces as int) as workspaces
  from skus as s
  order by rank
