create or replace function {semantic}.get_workspace_cost_trend(
  start_date date default {today} - interval 90 days comment 'First UTC day included. Default: 90 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  grain string default 'week' comment 'Period length: day, week (default, weeks start on Monday) or month.'
)
returns table (
  period_start date comment 'First day of the period (Monday for weeks, the 1st for months).',
  workspace_id string comment 'Workspace id.',
  workspace_name string comment 'Current workspace name.',
  days_with_usage int comment 'Days of the period with usage (a partial first or last period has fewer).',
  list_cost decimal(38,6) comment 'Net list cost in the period (account currency).',
  effective_cost decimal(38,6) comment 'Net cost after the configured discount in the period (account currency).',
  previous_list_cost decimal(38,6) comment 'list_cost of the previous period of the same workspace; NULL for the first one.',
  change_pct double comment 'Change against the previous period in percent (e.g. 12.5 = +12.5 %); NULL without a previous period.'
)
comment 'Cost of each workspace per day, week or month with the change against the previous period. BEST FOR: "how is spend trending per workspace?", "monthly cost of each workspace this quarter", "which workspace grows fastest?". NOT FOR: single unusual days (use get_cost_anomalies), a two-period comparison by SKU family (get_cost_week_over_week), what drives the cost (get_top_cost_drivers). Money in the account currency; ordered by workspace and period.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  periods as (
    select
      cast(date_trunc(case lower(grain) when 'day' then 'DAY' when 'month' then 'MONTH' else 'WEEK' end, c.usage_date) as date) as period_start,
      c.workspace_id as workspace_id,
      cast(size(collect_set(c.usage_date)) as bigint) as days_with_usage,
      sum(c.list_cost) as list_cost,
      sum(c.effective_cost) as effective_cost
    from {gold.agg_daily_cost} as c
    left join ws as w on w.workspace_id = c.workspace_id and workspace is not null
    where c.usage_date between start_date and end_date
      and (workspace is null or c.workspace_id = workspace or w.workspace_name = workspace)
    group by 1, 2
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */
    p.period_start as period_start,
    p.workspace_id as workspace_id,
    coalesce(w.workspace_name, p.workspace_id) as workspace_name,
    cast(p.days_with_usage as int) as days_with_usage,
    p.list_cost as list_cost,
    p.effective_cost as effective_cost,
    lag(p.list_cost) over (partition by p.workspace_id order by p.period_start) as previous_list_cost,
    100 * try_divide(cast(p.list_cost - lag(p.list_cost) over (partition by p.workspace_id order by p.period_start) as double),
      cast(lag(p.list_cost) over (partition by p.workspace_id order by p.period_start) as double)) as change_pct
  from periods as p
  left join ws as w on w.workspace_id = p.workspace_id
  order by workspace_name, period_start
