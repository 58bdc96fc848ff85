create or replace function {semantic}.get_top_cost_drivers(
  start_date date default {today} - interval 30 days comment 'First UTC day included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  group_by string default 'owner' comment 'What a driver is: owner (the job, warehouse, cluster, pipeline, endpoint, app or notebook billed; default), sku, identity (user or service principal charged) or product (billing origin product).',
  top_n int default 10 comment 'Number of drivers returned (rank 1..top_n). Default 10.'
)
returns table (
  rank int comment 'Position by list cost, 1 = most expensive.',
  driver_type string comment 'Kind of driver: job, warehouse, cluster, pipeline, serving_endpoint, app, notebook, unallocated, sku, identity or product.',
  driver_id string comment 'Id of the driver (job id, warehouse id, SKU name, identity, product ...).',
  driver_name string comment 'Readable name of the driver when known (job, warehouse, cluster or pipeline name), else the id.',
  workspace_id string comment 'Workspace of the driver.',
  workspace_name string comment 'Current workspace name.',
  dbus decimal(38,6) comment 'Net units consumed (DBUs for compute).',
  list_cost decimal(38,6) comment 'Net cost at list price (account currency).',
  effective_cost decimal(38,6) comment 'Net cost after the configured discount (account currency).',
  share_of_total double comment 'list_cost / list cost of everything in the period and workspace filter (0..1).'
)
comment 'The most expensive things in a period: jobs, warehouses, clusters, pipelines, endpoints (or SKUs, identities, products) ranked by cost. BEST FOR: "what are our top 10 cost drivers this month?", "which users spend the most?", "which job costs the most in workspace dev?". NOT FOR: jobs run on all-purpose clusters (their cost sits with the cluster here; use get_job_cost), cost per tag (get_tag_chargeback), day-by-day totals (get_daily_cost_summary). Money in the account currency; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  usage as (
    select
      u.workspace_id as workspace_id,
      case lower(group_by)
        when 'sku' then 'sku'
        when 'identity' then 'identity'
        when 'product' then 'product'
        else u.owner_type
      end as driver_type,
      case lower(group_by)
        when 'sku' then u.sku_name
        when 'identity' then u.identity
        when 'product' then u.billing_origin_product
        else u.owner_id
      end as driver_id,
      u.usage_quantity as usage_quantity,
      u.list_cost as list_cost,
      u.effective_cost as effective_cost
    from {gold.fct_usage_daily} as u
    left join ws as w on w.workspace_id = u.workspace_id and workspace is not null
    where u.usage_date between start_date and end_date
      and (workspace is null or u.workspace_id = workspace or w.workspace_name = workspace)
  ),
  drivers as (
    select workspace_id, driver_type, driver_id,
      sum(usage_quantity) as dbus, sum(list_cost) as list_cost, sum(effective_cost) as effective_cost
    from usage
    group by workspace_id, driver_type, driver_id
  ),
  names as (
    select workspace_id, 'job' as driver_type, job_id as driver_id, job_name as driver_name from {gold.dim_job} where is_current
    union all
    select workspace_id, 'warehouse', warehouse_id, warehouse_name from {gold.dim_warehouse} where is_current
    union all
    select workspace_id, 'cluster', cluster_id, cluster_name from {gold.dim_cluster} where is_current
    union all
    select workspace_id, 'pipeline', pipeline_id, pipeline_name from {gold.dim_pipeline} where is_current
  ),
  ranked as (
    select d.*,
      try_divide(cast(d.list_cost as double), cast(sum(d.list_cost) over () as double)) as share_of_total,
      row_number() over (order by d.list_cost desc nulls last, d.driver_id) as rank
    from drivers as d
  )
  select
    r.rank as rank,
    r.driver_type as driver_type,
    r.driver_id as driver_id,
    coalesce(max(n.driver_name), r.driver_id) as driver_name,
    r.workspace_id as workspace_id,
    coalesce(max(w.workspace_name), r.workspace_id) as workspace_name,
    r.dbus as dbus,
    r.list_cost as list_cost,
    r.effective_cost as effective_cost,
    r.share_of_total as share_of_total
  from ranked as r
  left join names as n on n.workspace_id = r.workspace_id and n.driver_type = r.driver_type and n.driver_id = r.driver_id
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  group by r.rank, r.driver_type, r.driver_id, r.workspace_id, r.dbus, r.list_cost, r.effective_cost, r.share_of_total
  order by rank
