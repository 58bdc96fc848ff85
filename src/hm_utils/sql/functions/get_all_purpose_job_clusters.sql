create or replace function {semantic}.get_all_purpose_job_clusters(
  start_date date default {today} - interval 30 days comment 'First UTC day included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  top_n int default 20 comment 'Number of clusters returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by estimated saving, 1 = biggest saving.',
  workspace_id string comment 'Workspace of the cluster.',
  workspace_name string comment 'Current workspace name.',
  cluster_id string comment 'All-purpose cluster that ran job runs.',
  cluster_name string comment 'Current cluster name.',
  owned_by string comment 'Owner of the cluster.',
  jobs bigint comment 'Distinct jobs that ran on the cluster.',
  job_runs bigint comment 'Distinct job runs that used the cluster.',
  ap_sku_name string comment 'All-purpose SKU the cluster is billed with (the most expensive one in the period).',
  jobs_sku_name string comment 'Jobs-compute SKU that would replace it (ALL_PURPOSE replaced by JOBS in the SKU name).',
  ap_rate decimal(38,6) comment 'Current list price per DBU of the all-purpose SKU.',
  jobs_rate decimal(38,6) comment 'Current list price per DBU of the jobs-compute SKU.',
  saving_ratio double comment '1 - jobs_rate / ap_rate: the share of the cost saved by job compute (0..1).',
  job_run_list_cost decimal(38,6) comment 'All-purpose cost attributed to the job runs on this cluster (their share of the cluster time; account currency).',
  cluster_list_cost decimal(38,6) comment 'Whole list cost of the cluster in the period (job runs, interactive and idle time).',
  estimated_saving decimal(38,6) comment 'job_run_list_cost x saving_ratio: what moving these jobs to job clusters would have saved (account currency).'
)
comment 'All-purpose (interactive) clusters that run scheduled jobs, with the cost of those job runs and the saving from running them on job compute instead: ratio = 1 - jobs_rate / ap_rate, pairing each all-purpose SKU with the jobs SKU of the same tier. BEST FOR: "which jobs run on all-purpose clusters?", "how much would job clusters save us?", "cost optimisation quick wins". NOT FOR: idle clusters (use get_idle_clusters), over-provisioned clusters (get_oversized_clusters), total job cost (get_job_cost). Money in the account currency; rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  shares as (
    select a.workspace_id as workspace_id, a.cluster_id as cluster_id,
      cast(size(collect_set(a.job_id)) as bigint) as jobs, cast(size(collect_set(a.job_run_id)) as bigint) as job_runs,
      sum(a.list_cost) as job_run_list_cost
    from {gold.fct_cost_allocation} as a
    left join ws as w on w.workspace_id = a.workspace_id and workspace is not null
    where a.usage_date between start_date and end_date
      and a.allocation_rule = 'cluster_time_share'
      and a.cluster_id is not null
      and (workspace is null or a.workspace_id = workspace or w.workspace_name = workspace)
    group by a.workspace_id, a.cluster_id
  ),
  cluster_skus as (
    select u.workspace_id as workspace_id, u.owner_id as cluster_id, u.sku_name as sku_name, u.cloud as cloud,
      u.usage_unit as usage_unit, sum(u.list_cost) as list_cost
    from {gold.fct_usage_daily} as u
    where u.usage_date between start_date and end_date and u.owner_type = 'cluster' and u.sku_family = 'ALL_PURPOSE'
    group by u.workspace_id, u.owner_id, u.sku_name, u.cloud, u.usage_unit
  ),
  cluster_main as (
    select c.*,
      sum(c.list_cost) over (partition by c.workspace_id, c.cluster_id) as cluster_list_cost,
      row_number() over (partition by c.workspace_id, c.cluster_id order by c.list_cost desc, c.sku_name) as sku_order
    from cluster_skus as c
  ),
  prices as (
    -- current list prices by (sku, cloud, unit) in one map: both rates of a cluster are looked up in it
    select map_from_entries(collect_list(struct(concat_ws('|', sku_name, cloud, usage_unit), list_price))) as rate
    from (
      select sku_name, cloud, usage_unit, max(list_price) as list_price
      from {gold.dim_sku} where is_current group by sku_name, cloud, usage_unit
    ) as p
  ),
  rated as (
    select s.*, m.sku_name as ap_sku_name, replace(m.sku_name, 'ALL_PURPOSE', 'JOBS') as jobs_sku_name,
      p.rate[concat_ws('|', m.sku_name, m.cloud, m.usage_unit)] as ap_rate,
      p.rate[concat_ws('|', replace(m.sku_name, 'ALL_PURPOSE', 'JOBS'), m.cloud, m.usage_unit)] as jobs_rate,
      m.cluster_list_cost as cluster_list_cost
    from shares as s
    left join cluster_main as m on m.workspace_id = s.workspace_id and m.cluster_id = s.cluster_id and m.sku_order = 1
    cross join prices as p
  ),
  savings as (
    select r.*, 1 - try_divide(cast(r.jobs_rate as double), cast(r.ap_rate as double)) as saving_ratio
    from rated as r
  ),
  ranked as (
    select v.*, cast(v.job_run_list_cost * v.saving_ratio as decimal(38,6)) as estimated_saving,
      row_number() over (order by v.job_run_list_cost * v.saving_ratio desc nulls last, v.job_run_list_cost desc, v.cluster_id) as rank
    from savings as v
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.cluster_id as cluster_id,
    c.cluster_name as cluster_name,
    c.owned_by as owned_by,
    r.jobs as jobs,
    r.job_runs as job_runs,
    r.ap_sku_name as ap_sku_name,
    r.jobs_sku_name as jobs_sku_name,
    r.ap_rate as ap_rate,
    r.jobs_rate as jobs_rate,
    r.saving_ratio as saving_ratio,
    r.job_run_list_cost as job_run_list_cost,
    r.cluster_list_cost as cluster_list_cost,
    r.estimated_saving as estimated_saving
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  left join {gold.dim_cluster} as c on c.workspace_id = r.workspace_id and c.cluster_id = r.cluster_id and c.is_current
  where r.rank <= top_n
  order by rank
