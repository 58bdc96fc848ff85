create or replace function {semantic}.get_tag_chargeback(
  start_date date default {today} - interval 30 days comment 'First UTC day included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  tag_key string default 'team' comment 'Tag key to charge back by, one of params gold.tag_keys (team, cost_center, env, project). Default team.'
)
returns table (
  rank int comment 'Position by list cost, 1 = largest bucket (the unallocated bucket is ranked like any other).',
  tag_key string comment 'Tag key charged back by.',
  tag_value string comment 'Tag value; unallocated for spend that carries no value for the key.',
  is_unallocated boolean comment 'True for the unallocated bucket (spend without the tag).',
  list_cost decimal(38,6) comment 'Net list cost of the bucket (account currency).',
  effective_cost decimal(38,6) comment 'Net cost after the configured discount (account currency).',
  backfilled_list_cost decimal(38,6) comment 'Part of list_cost whose tag value was back-filled from the job or pipeline definition (not billed).',
  share_of_total double comment 'list_cost / all spend in the period for this key (0..1); the shares of a key sum to 1.',
  unallocated_share double comment 'Share of all spend for this key that is unallocated (same value on every row; 0..1).'
)
comment 'Chargeback/showback by one tag key: spend per tag value with an explicit unallocated bucket and the unallocated share. Tags are the billed custom tags completed with the job or pipeline tags. BEST FOR: "how much did each team spend last month?", "what share of spend has no cost_center tag?", "chargeback by project". NOT FOR: spend per job or warehouse (use get_top_cost_drivers), untagged spend per day (get_daily_cost_summary). Use one key per call: the buckets of a key add up to the whole spend. Money in the account currency.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  buckets as (
    select t.tag_key as tag_key, t.tag_value as tag_value, bool_or(t.is_unallocated) as is_unallocated,
      sum(t.list_cost) as list_cost, sum(t.effective_cost) as effective_cost,
      coalesce(sum(case when t.tag_source in ('job', 'pipeline') then t.list_cost end), 0) as backfilled_list_cost
    from {gold.fct_cost_by_tag} as t
    left join ws as w on w.workspace_id = t.workspace_id and workspace is not null
    where t.usage_date between start_date and end_date
      and t.tag_key = get_tag_chargeback.tag_key
      and (workspace is null or t.workspace_id = workspace or w.workspace_name = workspace)
    group by t.tag_key, t.tag_value
  )
  select
    cast(row_number() over (order by b.list_cost desc nulls last, b.tag_value) as int) as rank,
    b.tag_key as tag_key,
    b.tag_value as tag_value,
    b.is_unallocated as is_unallocated,
    b.list_cost as list_cost,
    b.effective_cost as effective_cost,
    b.backfilled_list_cost as backfilled_list_cost,
    try_divide(cast(b.list_cost as double), cast(sum(b.list_cost) over () as double)) as share_of_total,
    try_divide(cast(sum(case when b.is_unallocated then b.list_cost else 0 end) over () as double),
      cast(sum(b.list_cost) over () as double)) as unallocated_share
  from buckets as b
  order by rank
